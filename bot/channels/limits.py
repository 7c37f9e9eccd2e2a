"""The length and rate limits every channel applies before a message reaches the assistant.

Why in the channels: a 100,000-character paste or a burst of hundreds of messages from
one sender should not cost the NLU pipeline, the tracker store and the action server
what a normal question costs, and the person deserves to be told what happened instead
of silence. Neither limit may get in the way of the crisis duty: every message is
screened in full first (``bot.crisis.screening``, which runs ``assess`` over the whole
text). A crisis never reaches these limits (the channels answer it on the fast path,
bot/channels/fastpath.py); a message that shows any other risk (a check-in) goes to the
assistant whatever the limits say, reduced to the part that showed it if it is too long.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Deque, Dict, List

from bot.crisis.regions import REGIONS, deployment_region, normalise_region
from bot.crisis.screening import Screening, screen
from bot.env import positive_number

#: Longest message answered as a question. Longer ones get a reply asking for a shorter one.
MAX_MESSAGE_CHARS = 4_000
#: Default number of messages one sender may send per minute (``RATE_LIMIT_PER_MINUTE``).
DEFAULT_RATE_LIMIT_PER_MINUTE = 30
#: Senders remembered by the rate limiter; the least recently seen are forgotten first.
MAX_TRACKED_SENDERS = 100_000

TOO_LONG_TEXT = (
    f"That message is longer than I can read: please keep it under {MAX_MESSAGE_CHARS:,} characters, "
    "or ask one question at a time."
)
SLOW_DOWN_TEXT = "You're sending messages faster than I can answer. Please wait a few seconds and try again."


def region_of(metadata: Dict[str, Any] | None) -> str:
    """The region whose crisis line a channel reply shows: the message's, else the deployment's."""
    return normalise_region((metadata or {}).get("region")) or deployment_region()


def channel_reply(recipient_id: str, topic: str, text: str, metadata: Dict[str, Any] | None) -> List[Dict[str, Any]]:
    """A reply produced by the channel itself, always with the crisis line of the region."""
    region = region_of(metadata)
    return [
        {
            "recipient_id": recipient_id,
            "text": f"{text} {REGIONS[region].banner}",
            "custom": {"topic": topic, "region": region},
        }
    ]


def rate_limit_per_minute() -> int:
    """The per-sender limit from ``RATE_LIMIT_PER_MINUTE``, or the default when unset or invalid."""
    return max(1, int(positive_number("RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE)))


class SenderRateLimiter:
    """A sliding one-minute window of message times per sender, bounded in memory.

    Per process: with several Rasa servers each applies its own limit, which is enough to
    stop one sender from monopolising a server.
    """

    def __init__(self, per_minute: int, max_senders: int = MAX_TRACKED_SENDERS) -> None:
        self.per_minute = per_minute
        self.max_senders = max_senders
        self._times: OrderedDict[str, Deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, sender: str, now: float | None = None) -> bool:
        """Records a message from ``sender`` and says whether it is within the limit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._times.pop(sender, None) or deque()
            while times and now - times[0] >= 60.0:
                times.popleft()
            allowed = len(times) < self.per_minute
            if allowed:
                times.append(now)
            self._times[sender] = times
            while len(self._times) > self.max_senders:
                self._times.popitem(last=False)
            return allowed


@dataclass(frozen=True)
class Admission:
    """What a channel does with a message: hand ``text`` to the assistant, or send ``reply``."""

    text: str | None
    reply: List[Dict[str, Any]] | None


@lru_cache(maxsize=1)
def _limiter() -> SenderRateLimiter:
    return SenderRateLimiter(rate_limit_per_minute())


def admit(sender: str, text: str, metadata: Dict[str, Any] | None, screening: Screening | None = None) -> Admission:
    """Applies the rate and length limits to one message, keeping the crisis duty.

    ``screening`` is the message's verdict (computed here when not given). A message that
    shows risk always reaches the assistant; an over-long one is reduced to the window
    that showed it, so its reply and what the tracker stores stay bounded.
    """
    within_rate = _limiter().allow(sender)
    too_long = len(text) > MAX_MESSAGE_CHARS
    if within_rate and not too_long:
        return Admission(text, None)
    verdict = screening if screening is not None else screen(text)
    if verdict.assessment.shows_risk:
        return Admission(verdict.excerpt if too_long else text, None)
    if not within_rate:
        return Admission(None, channel_reply(sender, "rate_limited", SLOW_DOWN_TEXT, metadata))
    return Admission(None, channel_reply(sender, "too_long", TOO_LONG_TEXT, metadata))
