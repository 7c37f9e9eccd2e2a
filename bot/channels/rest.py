"""The REST channel: Rasa's ``/webhooks/rest/webhook`` with one message per reply.

Stock Rasa splits a reply with text, buttons and a custom payload into separate list
entries and logs the user's text at ERROR level when handling fails. This channel keeps
each bot message whole (``text``, ``buttons`` and ``custom`` together, the contract in
docs/api.md), validates the request body (bot/channels/inputs.py: any nesting, sender ids
that every store can hold, metadata reduced to ``region``), answers a crisis on the fast
path and bounds every turn (bot/channels/fastpath.py), and never logs what the user wrote.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import metrics_hooks
from bot.channels.fastpath import (
    UNAVAILABLE_TEXT,
    WholeMessageOutputChannel,
    describe_failure,
    respond,
    unavailable_reply,
)
from bot.channels.inputs import MAX_SENDER_ID_CHARS, BadInput, clean_metadata, load_body, sender_problem
from bot.rasa_patches.endpoint_sessions import close_sessions

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_SENDER_ID_CHARS", "UNAVAILABLE_TEXT", "RestInput", "WholeMessageOutputChannel",
    "describe_failure", "parse_request_body", "unavailable_reply",
]


def _error(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


def parse_request_body(body: Any) -> Dict[str, Any]:
    """Validates a decoded webhook body; raises ``ValueError`` with a client-facing reason.

    ``metadata`` comes back reduced to what the project uses (``{"region": code}``).
    """
    if not isinstance(body, dict):
        raise ValueError("The body must be a JSON object.")
    sender, message = body.get("sender"), body.get("message")
    problem = sender_problem(sender)
    if problem:
        raise ValueError(problem)
    if not isinstance(message, str):
        raise ValueError("'message' must be a string.")
    return {"sender": sender, "message": message, "metadata": clean_metadata(body.get("metadata"))}


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
        # The kept-alive sessions to the action server (bot/rasa_patches/endpoint_sessions.py) close
        # with the server; every Rasa server here has this channel (credentials.yml).
        webhook.listener("after_server_stop")(close_sessions)
        # With METRICS_PORT: the server's info line and the crisis response check (bot/metrics_hooks.py).
        metrics_hooks.attach(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = parse_request_body(load_body(request.body or b""))
            except BadInput as problem:
                status = 413 if "at most" in str(problem) and "bytes" in str(problem) else 400
                return _error(status, str(problem))
            except ValueError as problem:
                return _error(400, str(problem))
            output = WholeMessageOutputChannel()
            try:
                outcome = await respond(
                    body["sender"], body["message"], body["metadata"], self.name(), on_new_message, output
                )
            except asyncio.CancelledError:
                logger.error("REST message handling was cancelled (sender hidden)")
                return _error(503, "The assistant is busy; please try again.")
            except Exception as error:  # a bug here must still answer the person
                logger.error("REST message handling failed: %s", describe_failure(error))
                return response.json(unavailable_reply(body["sender"], body["metadata"]))
            return response.json(output.messages + outcome.messages)

        return webhook

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        """Metadata (e.g. ``{"region": "GB"}``) comes from the validated body instead."""
        return None
