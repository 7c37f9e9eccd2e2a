"""The changes this project makes to Rasa's own code, installed by ``install()`` and nowhere else.

Rasa 3.6 has no setting for the action server's timeout and spends much of a turn on
bookkeeping (``docs/benchmarks.md``), so a few of its functions are replaced at run time,
one module here per patch; each module's docstring names the Rasa behaviour it replaces
and what that gained. A replacement is an assignment that would still succeed after an
upgrade stopped using the name, silently undoing the patch, so ``install()`` first checks
that the installed Rasa is the version the patches were written for, and that every
replaced name still exists and is still read by the Rasa code that should read it. If a
check fails, nothing is installed and ``PatchError`` says what no longer fits.

``install()`` is called by ``bot.patched_rasa``, the entry point of ``scripts/run.sh``,
``scripts/shell.sh`` and so of the Docker images, by the test fixtures, and by the
channel package, which Rasa imports in every server process it starts. It is idempotent.

``original(path)`` is Rasa's own object at a replaced path, captured when this package is
first imported, which is always before ``install()``: tests compare each patch with it.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

import rasa

from bot.rasa_patches import (
    action_timeout,
    domain_empty,
    endpoint_sessions,
    event_types,
    graph_runner,
    heap,
    schema_validation,
    session_count,
    worker_stop,
)
from bot.rasa_patches.base import Patch, resolve

logger = logging.getLogger(__name__)

#: The Rasa release every patch was written for and checked against.
RASA_VERSION = "3.6.21"

PATCHES: tuple[Patch, ...] = (
    action_timeout.PATCH,
    schema_validation.PATCH,
    event_types.PATCH,
    graph_runner.PATCH,
    heap.PATCH,
    endpoint_sessions.PATCH,
    session_count.PATCH,
    domain_empty.PATCH,
    worker_stop.PATCH,
)


class PatchError(RuntimeError):
    """The installed Rasa no longer fits the patches; the message lists what does not."""


def _capture() -> Dict[str, Any]:
    captured: Dict[str, Any] = {}
    for patch in PATCHES:
        for target in patch.targets:
            for path in (target.path, target.used_by):
                try:
                    captured[path] = resolve(path)
                except (ImportError, AttributeError):
                    pass  # check() reports it
    return captured


_ORIGINALS = _capture()
_installed = False


def original(path: str) -> Any:
    """Rasa's own object at ``path`` (``"module:Class.name"``), as it was before any patch."""
    try:
        return _ORIGINALS[path]
    except KeyError:
        raise AttributeError(f"{path} does not exist in the installed Rasa") from None


def check() -> List[str]:
    """What keeps the patches from fitting the installed Rasa (empty when they all fit)."""
    problems = []
    if rasa.__version__ != RASA_VERSION:
        problems.append(f"Rasa {rasa.__version__} is installed, but the patches were written for Rasa {RASA_VERSION}")
    for patch in PATCHES:
        problems += [f"{patch.name}: {problem}" for target in patch.targets for problem in target.problems(original)]
    return problems


def install() -> None:
    """Checks every patch against the installed Rasa, then installs them all, logging one line each.

    Raises ``PatchError`` (and installs nothing) if a check fails; does nothing when the
    patches are already installed in this process.
    """
    global _installed
    if _installed:
        return
    problems = check()
    if problems:
        raise PatchError(
            "the Rasa patches in bot/rasa_patches/ do not fit the installed Rasa:\n  - "
            + "\n  - ".join(problems)
            + "\nCheck each patch named against the new Rasa (its docstring says what it replaces), "
            "then update its targets and RASA_VERSION."
        )
    for patch in PATCHES:
        patch.apply()
        logger.info("Rasa patch installed: %s: %s", patch.name, patch.summary)
    _installed = True
