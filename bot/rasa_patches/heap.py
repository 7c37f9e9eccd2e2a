"""Keeping the loaded model out of the garbage collector's full passes.

A Rasa server holds millions of long-lived Python objects once TensorFlow, spaCy, Rasa
and the model are loaded. Python's cyclic garbage collector walks all of them in every
full (generation 2) pass, which it starts on its own every few hundred turns. Timed here
with ``gc.callbacks`` in a served bot, each pass took 350-450 ms, during which the server
answered nobody; after the freeze they take 2-15 ms (``bench/tried.md``). Those
objects live as long as the process, so after the model is loaded they are collected
once and frozen (``gc.freeze``): later passes walk only what turns have allocated since.
Nothing is lost by it: frozen objects are the ones that were going to stay anyway.

The patch wraps ``rasa.core.agent.load_agent``, which the server calls to load its
model at start-up (in every Sanic worker), so the freeze follows each load.
"""

from __future__ import annotations

import functools
import gc
import logging
from typing import Any, Callable, Coroutine

import rasa.core.agent

from bot.rasa_patches.base import Patch, Target

logger = logging.getLogger(__name__)


def freeze() -> int:
    """Collects garbage, then moves every object still alive out of later collections.

    Returns how many objects were frozen in all (the log says so at DEBUG).
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.debug("Froze %d long-lived objects out of garbage collection", frozen)
    return frozen


def _freezing(load: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(load)
    async def load_then_freeze(*args: Any, **kwargs: Any) -> Any:
        agent = await load(*args, **kwargs)
        freeze()
        return agent

    return load_then_freeze


def apply() -> None:
    """Makes every later model load by the Rasa server end with ``freeze()``."""
    rasa.core.agent.load_agent = _freezing(rasa.core.agent.load_agent)


PATCH = Patch(
    name="heap",
    targets=(
        Target(
            "rasa.core.agent:load_agent",
            used_by="rasa.core.run:load_agent_on_start",
        ),
    ),
    summary="the loaded model is frozen out of garbage collection (full passes 350-450 ms -> 2-15 ms)",
    apply=apply,
)
