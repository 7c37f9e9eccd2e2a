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


#: What every process of ours that loads Rasa runs with unless its environment says
#: otherwise: no telemetry, and none of TensorFlow's start-up chatter or SQLAlchemy's
#: 2.0 notice in the logs. Set before Rasa (and so NumPy and TensorFlow) is imported.
#: One BLAS thread: the sentence encoder (``bot/nlu/minilm.py``) multiplies small matrices
#: for one message at a time, where extra BLAS threads only wait and spin (10 ms a chat
#: question with one thread, 13 ms with two), and a server already serves several
#: conversations at once on the machine's cores.
PROCESS_DEFAULTS = {
    "OPENBLAS_NUM_THREADS": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


def set_process_defaults() -> None:
    """Puts ``PROCESS_DEFAULTS`` into this process's environment where it sets nothing else."""
    for name, value in PROCESS_DEFAULTS.items():
        os.environ.setdefault(name, value)
