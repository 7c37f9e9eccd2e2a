"""The REST channel: Rasa's ``/webhooks/rest/webhook`` with one message per reply.

Stock Rasa splits a reply with text, buttons and a custom payload into separate list
entries and logs the user's text at ERROR level when handling fails. This channel keeps
each bot message whole (``text``, ``buttons`` and ``custom`` together, the contract in
the README), validates the request body, and never logs what the user wrote.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.limits import admit, channel_reply
from bot.endpoint_sessions import close_sessions

logger = logging.getLogger(__name__)

MAX_SENDER_ID_CHARS = 128
UNAVAILABLE_TEXT = (
    "Sorry, I'm having trouble answering right now. Please try again in a moment."
)


def unavailable_reply(recipient_id: str, metadata: Dict[str, Any] | None) -> list[Dict[str, Any]]:
    """What to send when a turn produced no reply (e.g. the action server is down).

    Every turn must be answered, and the crisis line for the person's region is always
    shown with it, because the person may be struggling to ask for help.
    """
    return channel_reply(recipient_id, "unavailable", UNAVAILABLE_TEXT, metadata)


class WholeMessageOutputChannel(CollectingOutputChannel):
    """Collects each bot message as one dict instead of one per part."""

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """Stores the message with only the keys a client renders."""
        whole = {"recipient_id": recipient_id}
        for key in ("text", "buttons", "custom", "image", "attachment"):
            if message.get(key):
                whole[key] = message[key]
        if message.get("quick_replies") and "buttons" not in whole:
            whole["buttons"] = message["quick_replies"]
        await self._persist_message(whole)


def describe_failure(error: BaseException) -> str:
    """The exception's type and where it was raised, for the log.

    Not its message: database drivers quote the statement and its parameters, which
    contain what the person wrote.
    """
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}{where}"


def _error(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


def parse_request_body(body: Any) -> Dict[str, Any]:
    """Validates a webhook body; raises ``ValueError`` with a client-facing reason."""
    if not isinstance(body, dict):
        raise ValueError("The body must be a JSON object.")
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip():
        raise ValueError("'sender' must be a non-empty string.")
    if len(sender) > MAX_SENDER_ID_CHARS:
        raise ValueError(f"'sender' must be at most {MAX_SENDER_ID_CHARS} characters.")
    if not isinstance(message, str):
        raise ValueError("'message' must be a string.")
    metadata = body.get("metadata")
    return {
        "sender": sender,
        "message": message,
        "metadata": metadata if isinstance(metadata, dict) else None,
    }


class RestInput(InputChannel):
    """``POST /webhooks/rest/webhook`` with ``{"sender", "message", "metadata"?}``."""

    @classmethod
    def name(cls) -> str:
        """Keeps Rasa's URL, so clients of the stock REST channel work unchanged."""
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The health and webhook routes."""
        webhook = Blueprint("therapy_rest_webhook", __name__)
        # The kept-alive sessions to the action server (bot/endpoint_sessions.py) close
        # with the server; every Rasa server here has this channel (credentials.yml).
        webhook.listener("after_server_stop")(close_sessions)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = parse_request_body(request.json)
            except ValueError as problem:
                return _error(400, str(problem))
            except Exception:  # sanic raises on a body that is not valid JSON
                return _error(400, "The body must be valid JSON.")
            admission = admit(body["sender"], body["message"], body["metadata"])
            if admission.reply is not None:
                return response.json(admission.reply)
            collector = WholeMessageOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        admission.text,
                        collector,
                        body["sender"],
                        input_channel=self.name(),
                        metadata=body["metadata"],
                    )
                )
            except asyncio.CancelledError:
                logger.error("REST message handling was cancelled (sender hidden)")
                return _error(503, "The assistant is busy; please try again.")
            except Exception as error:  # a store, lock or pipeline failure: the person still gets a reply
                logger.error("REST message handling failed: %s", describe_failure(error))
                return response.json(unavailable_reply(body["sender"], body["metadata"]))
            if not collector.messages:
                return response.json(unavailable_reply(body["sender"], body["metadata"]))
            return response.json(collector.messages)

        return webhook

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        """Metadata (e.g. ``{"region": "GB"}``) comes from the validated body instead."""
        return None
