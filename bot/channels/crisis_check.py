"""The crisis response check: whether this server could give the crisis reply right now.

Why: the one thing operators must hear about at once is that crisis replies can no longer
go out, and counting the replies sent cannot say so (a quiet night sends none). So each
Rasa server process runs the whole fast path on a fixed probe sentence every
``CRISIS_CHECK_SECONDS`` (default 30): the screening must call it a crisis, and the crisis
reply of every region and kind must render from the domain with that region's numbers.
The result and the time of the last pass are the metrics ``therapy_bot_crisis_check_ok``
and ``therapy_bot_crisis_check_timestamp_seconds``; the alert ``CrisisReplyImpossible``
fires when the check fails, stops passing, or no server reports it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot import metrics
from bot.channels.fastpath import crisis_reply
from bot.crisis import KINDS
from bot.crisis.regions import REGIONS
from bot.crisis.screening import screen_async
from bot.env import positive_number

logger = logging.getLogger(__name__)

#: A fixed sentence the crisis rules must always catch; never anything a person wrote.
PROBE = "I want to kill myself"
DEFAULT_CHECK_SECONDS = 30.0


async def crisis_reply_possible() -> bool:
    """Runs the probe through the screening and renders every region's and kind's crisis reply."""
    try:
        if (await screen_async(PROBE)).tier != "crisis":
            return False
        for region in REGIONS.values():
            for kind in KINDS:
                reply = crisis_reply("crisis-check", region.code, kind)[0]
                text = reply.get("text") or ""
                if reply["custom"].get("region") != region.code or not all(n in text for n in region.required_numbers):
                    return False
    except Exception as error:  # a failing check is reported, never raised into the server
        logger.error("Crisis response check raised %s", type(error).__name__)
        return False
    return True


async def check_forever() -> None:
    """Publishes the check's result every ``CRISIS_CHECK_SECONDS`` until cancelled (server stop)."""
    interval = positive_number("CRISIS_CHECK_SECONDS", DEFAULT_CHECK_SECONDS)
    while True:
        ok = await crisis_reply_possible()
        if not ok:
            logger.error("Crisis response check failed: crisis replies may not go out")
        metrics.record_crisis_check(ok, time.time())
        await asyncio.sleep(interval)
