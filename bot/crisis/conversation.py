"""Risk that adds up over a conversation: signals too weak alone, together a check-in.

Crisis counsellors (and Crisis Text Line's own analyses) see risk build across messages:
someone mentions being alone all the time, later that they gave their cat to a neighbour.
Neither message alone warrants a question about suicide; together they do. This module
holds the pure decision; ``bot/policies/conversation_risk.py`` applies it to a tracker.

It reads only numbers the NLU guard stored with each message (the tier and the risk
model's score), never text, so it works the same when the store keeps no words
(``PRIVACY_MODE=redact``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

#: How many of the person's latest messages are read.
WINDOW = 6
#: How many weak signals among them ask for a check-in.
SIGNALS_FOR_CHECK_IN = 2
#: Bare answers ("yes", "no") to the assistant's question: never a signal of their own. The
#: risk model reads words, and "no" opens many risk phrases ("no way out", "no one"), so it
#: scored a bare "no" above the signal threshold; a "no" to the check-in then counted
#: towards the next one.
ANSWER_INTENTS = frozenset({"affirm", "deny"})


@dataclass(frozen=True)
class Turn:
    """What the guard recorded about one user message."""

    tier: str
    score: float


def needs_check_in(turns: Sequence[Turn], signal_threshold: float) -> bool:
    """Whether the latest turns add up to a check-in.

    ``turns`` are the person's messages since the assistant last sent the crisis reply or
    a check-in (those reset the count: the person has just been asked), oldest first. The
    latest message must itself be a weak signal, so the question follows what was just
    said rather than arriving out of the blue after an ordinary question.
    """
    recent = list(turns)[-WINDOW:]
    if not recent or recent[-1].tier != "none" or recent[-1].score < signal_threshold:
        return False
    return sum(turn.score >= signal_threshold for turn in recent) >= SIGNALS_FOR_CHECK_IN


def turns_since_reply(events: Iterable[dict], reset_actions: frozenset) -> list:
    """The ``Turn`` of each user message after the latest of ``reset_actions`` (event dicts).

    A bare answer (``ANSWER_INTENTS``) keeps its place in the window with no signal.
    """
    turns: list = []
    for event in events:
        kind = event.get("event")
        if kind == "session_started" or (kind == "action" and event.get("name") in reset_actions):
            turns = []
        elif kind == "user":
            parse_data = event.get("parse_data") or {}
            crisis = parse_data.get("crisis") or {}
            tier, score = str(crisis.get("tier", "none")), float(crisis.get("score") or 0.0)
            if tier == "none" and (parse_data.get("intent") or {}).get("name") in ANSWER_INTENTS:
                score = 0.0
            turns.append(Turn(tier, score))
    return turns
