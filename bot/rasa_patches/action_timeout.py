"""A bounded wait for the action server, which Rasa 3.6 has no setting for.

Rasa waits up to five minutes (``DEFAULT_REQUEST_TIMEOUT``) for a custom action. A person
whose question hits a hung action server should hear back in seconds, with the crisis
line, not stare at a typing indicator. The patch lowers the wait for this process to
``ACTION_TIMEOUT`` seconds (default 10).

It also changes what a failed action costs the log and the person: Rasa logs every
failure with a full traceback at ERROR (``Encountered an exception while running
action``), one per timed-out turn. Here a timeout or an unreachable action server is
logged as one WARNING line (exception type, action, duration), the action yields no
events (exactly what Rasa does after logging), and the turn is marked as faulty
(``bot.channels.fastpath.CURRENT_TURN``), so the channel adds its "having trouble" notice
even when the domain produced part of the reply, and counted by cause in the metrics
(``therapy_bot_action_failures_total``: timeout, unreachable, error).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, List

from bot import metrics
from bot.env import positive_number
from bot.rasa_patches.base import Patch, Target

logger = logging.getLogger(__name__)

DEFAULT_ACTION_TIMEOUT_SECONDS = 10.0


def action_timeout_seconds() -> float:
    """``ACTION_TIMEOUT`` if it is a positive number of seconds, else the default."""
    return positive_number("ACTION_TIMEOUT", DEFAULT_ACTION_TIMEOUT_SECONDS)


def _bounded_run(original: Any) -> Any:
    import aiohttp
    from rasa.core.actions.action import ActionExecutionRejection
    from rasa.shared.exceptions import RasaException

    async def run(self: Any, *args: Any, **kwargs: Any) -> List[Any]:
        started = time.monotonic()
        try:
            return await original(self, *args, **kwargs)
        except ActionExecutionRejection:
            raise
        except (asyncio.TimeoutError, aiohttp.ClientError, RasaException) as error:
            from bot.channels.fastpath import CURRENT_TURN

            faults = CURRENT_TURN.get()
            if faults is not None:
                faults.failed_actions.append(self.name())
            cause = error.__cause__ if isinstance(error, RasaException) and error.__cause__ else error
            metrics.record_action_failure(self.name(), cause)
            logger.warning(
                "Action failed: type=%s action=%s duration=%.1fs",
                type(cause).__name__, self.name(), time.monotonic() - started,
            )
            return []

    return run


def apply() -> None:
    """Sets the wait Rasa uses when it calls the action server, and the failure handling."""
    import rasa.core.actions.action as rasa_action

    rasa_action.DEFAULT_REQUEST_TIMEOUT = action_timeout_seconds()
    rasa_action.RemoteAction.run = _bounded_run(rasa_action.RemoteAction.run)  # type: ignore[method-assign]


PATCH = Patch(
    name="action_timeout",
    targets=(
        Target("rasa.core.actions.action:DEFAULT_REQUEST_TIMEOUT", used_by="rasa.core.actions.action:RemoteAction.run"),
        Target("rasa.core.actions.action:RemoteAction.run", used_by="rasa.core.processor:MessageProcessor._run_action"),
    ),
    summary="custom actions wait at most ACTION_TIMEOUT seconds (default 10; Rasa waits 300), "
    "a failed action logs one warning line, not a traceback",
    apply=apply,
)
