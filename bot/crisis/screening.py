"""Screening a message of any length for risk, in full, at a bounded cost.

Why: beyond ``detector.MAX_CHARS``, ``bot.crisis.tiers.assess`` reads only the head, the
tail and windows around risk keywords, up to a budget that earlier keywords can use up (a
grief text repeating "death", or an idiom repeated many times, hid a crisis sentence later
on). The channels therefore never call ``assess`` on a long message; they call ``screen``,
which runs ``assess`` over overlapping windows across the whole text:

* each window is at most ``WINDOW_CHARS`` characters, well under ``MAX_CHARS`` (so it is
  read in full), and consecutive windows overlap by ``OVERLAP_CHARS``, so any sentence of
  up to that length lies whole inside one window wherever it sits;
* text not in NFKC form is windowed after NFKC, the only step of the detector's
  normalisation that can lengthen text much (one character can become 18), so a window
  cannot grow past the detector's limit;
* the most urgent verdict wins: a crisis in any window (kinds ranked as the detector ranks
  them, the person's own life first), else a check-in.

Bounded cost: at most ``MAX_SCREENED_CHARS`` characters in ``MAX_WINDOWS`` (57) windows.
Measured on a 2-core machine: 0.16-0.29 s for 199,000 characters dense with idioms and
grief words, 0.13-0.17 s when a crisis sentence sits in the middle (reading stops at the
first ``self`` crisis); ``screen_async`` yields to the event loop between windows, so other
conversations wait at most one window (3-9 ms). A longer message, or one on which
``assess`` raises (the error is logged by type only), cannot be screened in full: its
verdict is the full crisis reply (kind ``self``, source ``screening.unscreened`` or
``screening.failed``), so whatever is in the unread part, nobody in crisis goes unanswered.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from dataclasses import dataclass
from typing import Iterator, Tuple

from bot.crisis import PRIORITY
from bot.crisis.tiers import NONE, Assessment, assess

logger = logging.getLogger(__name__)

#: Longest window handed to ``assess``: far below the detector's 10,000-character limit.
WINDOW_CHARS = 4_000
#: How much consecutive windows share: a sentence up to this long is whole in some window.
OVERLAP_CHARS = 500
#: Longest message screened in full (characters, after NFKC).
MAX_SCREENED_CHARS = 200_000
#: Most windows one message costs: enough for ``MAX_SCREENED_CHARS``.
MAX_WINDOWS = 1 + -(-(MAX_SCREENED_CHARS - WINDOW_CHARS) // (WINDOW_CHARS - OVERLAP_CHARS))
#: Source named in the verdict on a message too long to screen in full.
UNSCREENED_SOURCE = "screening.unscreened"
#: Source named when ``assess`` failed on a part of the message (it cannot be screened in full).
FAILED_SOURCE = "screening.failed"


@dataclass(frozen=True)
class Screening:
    """The verdict on a whole message, and what was read to reach it.

    ``excerpt`` is the window that decided a ``crisis`` or ``check_in`` verdict (the
    whole text when it fits one window): what a channel passes on to the assistant when
    the message is too long to pass whole. ``complete`` is False when the message was
    too long to be read in full (then the verdict is the full crisis reply).
    """

    assessment: Assessment
    windows: int
    complete: bool
    excerpt: str

    @property
    def tier(self) -> str:
        return self.assessment.tier


def _prepared(text: str) -> str:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text


def windows(text: str) -> Iterator[str]:
    """The overlapping windows of ``text`` (already prepared), in order; the last one reaches the end."""
    for start in range(0, max(len(text) - OVERLAP_CHARS, 1), WINDOW_CHARS - OVERLAP_CHARS):
        yield text[start : start + WINDOW_CHARS]


def _rank(found: Assessment) -> Tuple[int, int]:
    tier = 0 if found.tier == "crisis" else 1 if found.tier == "check_in" else 2
    kind = PRIORITY.index(found.kind) if found.kind in PRIORITY else len(PRIORITY)
    return tier, kind


def _unscreened(text: str, source: str = UNSCREENED_SOURCE, windows_read: int = 0) -> Screening:
    return Screening(Assessment("crisis", "self", source), windows_read, False, text[:WINDOW_CHARS])


def _assess(window: str) -> Assessment | None:
    """``assess`` on one window, or ``None`` if it failed (logged by type, never the text)."""
    try:
        return assess(window)
    except Exception as error:  # a failing risk layer must not cost a crisis reply
        logger.warning("Screening failed on a window: %s; answering with the crisis reply", type(error).__name__)
        return None


def _screening(text: str) -> Iterator[Screening | None]:
    """Reads ``text`` window by window, yielding ``None`` between windows and the verdict last.

    The most urgent window's verdict wins; reading stops at a crisis of kind ``self``, as
    nothing can be more urgent.
    """
    text = _prepared(text)
    if len(text) > MAX_SCREENED_CHARS:
        yield _unscreened(text)
        return
    best, excerpt, negated, considered, read = NONE, "", False, False, 0
    for window in windows(text):
        if read:
            yield
        found = _assess(window)
        if found is None:
            yield _unscreened(text, FAILED_SOURCE, read)
            return
        read += 1
        negated = negated or found.negated
        considered = considered or found.considered
        if found.shows_risk and _rank(found) < _rank(best):
            best, excerpt = found, window
        if best.tier == "crisis" and best.kind == PRIORITY[0]:
            break
    if not best.shows_risk and considered:
        best = Assessment("none", negated=negated, considered=True)
    yield Screening(best, read, True, excerpt)


def screen(text: str) -> Screening:
    """The verdict on ``text`` of any length (see the module docstring for the bounds)."""
    *_, verdict = _screening(text)
    return verdict


async def screen_async(text: str) -> Screening:
    """``screen`` for the server's event loop: other conversations run between windows."""
    steps = _screening(text)
    while (verdict := next(steps)) is None:
        await asyncio.sleep(0)
    return verdict
