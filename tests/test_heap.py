"""After the model loads, the garbage collector's full passes skip it (bot/rasa_patches/heap.py)."""

from __future__ import annotations

import asyncio
import gc
from typing import Iterator

import pytest
import rasa.core.agent

from bot import rasa_patches
from bot.rasa_patches import heap
from tests.support import MODEL


@pytest.fixture()
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.unit
def test_install_wraps_rasas_loader_once() -> None:
    wrapped = rasa.core.agent.load_agent
    rasa_loader = rasa_patches.original("rasa.core.agent:load_agent")
    assert wrapped is not rasa_loader and wrapped.__wrapped__ is rasa_loader
    rasa_patches.install()
    assert rasa.core.agent.load_agent is wrapped


@pytest.mark.model
def test_loading_the_model_leaves_full_passes_only_new_objects(
    unfrozen: None, event_loop_for_agent: asyncio.AbstractEventLoop
) -> None:
    assert gc.get_freeze_count() == 0
    agent = event_loop_for_agent.run_until_complete(rasa.core.agent.load_agent(model_path=str(MODEL)))
    assert agent.is_ready()
    frozen = gc.get_freeze_count()
    assert frozen > 100_000  # Rasa, TensorFlow and the model
    # What a full pass still walks: objects made after the load, not the frozen ones.
    assert len(gc.get_objects()) < frozen / 10
    parsed = event_loop_for_agent.run_until_complete(agent.parse_message("how long is a session?"))
    assert parsed["intent"]["name"] == "session_length"  # the frozen model still answers


@pytest.mark.unit
def test_freeze_counts_what_it_froze(unfrozen: None) -> None:
    kept = [[i] for i in range(1000)]  # lists are tracked by the collector
    assert heap.freeze() == gc.get_freeze_count() >= len(kept)
