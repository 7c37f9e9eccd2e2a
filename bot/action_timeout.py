"""A bounded wait for the action server, which Rasa 3.6 has no setting for.

Rasa waits up to five minutes (``DEFAULT_REQUEST_TIMEOUT``) for a custom action. A person
whose question hits a hung action server should hear back in seconds, with the crisis
line, not stare at a typing indicator. ``apply()`` lowers the wait for this process to
``ACTION_TIMEOUT`` seconds (default 10); the failed action then produces no reply and the
channel sends its "having trouble answering" message.
"""

from __future__ import annotations

from bot.env import positive_number

DEFAULT_ACTION_TIMEOUT_SECONDS = 10.0


def action_timeout_seconds() -> float:
    """``ACTION_TIMEOUT`` if it is a positive number of seconds, else the default."""
    return positive_number("ACTION_TIMEOUT", DEFAULT_ACTION_TIMEOUT_SECONDS)


def apply() -> None:
    """Sets the wait Rasa uses when it calls the action server (read at each call)."""
    import rasa.core.actions.action as rasa_action

    rasa_action.DEFAULT_REQUEST_TIMEOUT = action_timeout_seconds()
