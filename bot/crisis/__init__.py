"""Crisis safety layer: detection of suicide, self-harm and abuse disclosures.

``CrisisDetector``, ``Detection`` and ``KINDS`` are exported lazily (PEP 562) so that
importing a light sibling module such as ``bot.crisis.regions`` does not pay for
loading spaCy; the detector is only imported when one of these names is used.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from bot.crisis.detector import KINDS, CrisisDetector, Detection

__all__ = ["CrisisDetector", "Detection", "KINDS"]


@lru_cache(maxsize=1)
def shared_detector() -> CrisisDetector:
    """The one detector of this process, shared by the NLU guard and the channels.

    Building one loads spaCy's lookup tables, so every user in a process shares it.
    """
    from bot.crisis.detector import CrisisDetector

    return CrisisDetector()


def __getattr__(name: str) -> Any:
    """Load the detector module on first use of one of its public names."""
    if name in __all__:
        from bot.crisis import detector

        return getattr(detector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
