"""Crisis safety layer: detection of suicide, self-harm and abuse disclosures.

Why rules and not only the NLU model: published evaluations of assistants (Miner et al.
2016; Kocaballi et al. 2020; Moore et al. 2025) found that statistical intent models miss
reworded, indirect and method-seeking messages. The rules (``bot.crisis.engine``, with the
reviewed rule files of ``bot/crisis/rules``) are a deterministic, auditable safety net that
runs on *every* message: every escalation names the rule that fired. ``bot.crisis.tiers``
adds the risk model and decides the tier every part of the assistant acts on.

``KINDS`` and ``PRIORITY`` are defined here, light to import: the metrics labels need the
kinds in processes that never load a language model, such as the action server.
``CrisisDetector`` and ``Detection`` are exported lazily (PEP 562) so that importing a
light sibling module such as ``bot.crisis.regions`` does not pay for loading spaCy.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from bot.crisis.engine import CrisisDetector, Detection

__all__ = ["CrisisDetector", "Detection", "KINDS", "PRIORITY"]

#: The kinds of crisis the assistant tells apart; each has its own crisis reply and resources.
KINDS = ("self", "other_person", "sexual_assault", "domestic_violence", "child_abuse")
#: Which kind wins when a message shows several: the person's own life first.
PRIORITY = ("self", "other_person", "child_abuse", "sexual_assault", "domestic_violence")


@lru_cache(maxsize=1)
def shared_detector() -> CrisisDetector:
    """The one detector of this process, shared by the NLU guard and the channels.

    Building one loads spaCy's lookup tables, so every user in a process shares it.
    """
    from bot.crisis.engine import CrisisDetector

    return CrisisDetector()


def __getattr__(name: str) -> Any:
    """Load the detector module on first use of one of its public names."""
    if name in ("CrisisDetector", "Detection"):
        from bot.crisis import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
