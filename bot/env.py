"""Reading numeric settings from the environment without letting a typo stop the server."""

from __future__ import annotations

import os


def positive_number(name: str, default: float) -> float:
    """``name`` as a positive number, or ``default`` when it is unset, not a number or not positive.

    A mistyped limit should leave the assistant running with its documented default
    rather than refuse every conversation.
    """
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default
