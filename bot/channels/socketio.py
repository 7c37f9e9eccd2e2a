"""The socket.io channel for the website widget, with sessions that survive a reload.

Stock Rasa 3.6.21 calls ``sio.enter_room(...)`` without ``await`` when
``session_persistence`` is on. With python-socketio >= 5.10 that call is a coroutine, so
the browser never joins its session's room and no reply is ever delivered. This channel
awaits it, and also:

- keeps each bot message whole (``text``, ``buttons`` and ``custom`` in one event, the
  same shape as the REST channel), so the widget can show an answer with its sources;
- passes the widget's ``metadata`` (e.g. ``{"region": "GB"}``) to Rasa like REST does;
- answers every turn: bad payloads get a kind reply, and a turn that produced nothing,
  failed or passed its deadline gets the "having trouble" reply (with the crisis line);
- answers a crisis on the fast path (bot/channels/fastpath.py): the crisis reply is
  emitted at once, before the turn waits for the conversation's lock;
- checks the ``Origin`` of socket connections against ``ALLOWED_ORIGINS``;
- serves the widget itself under ``/widget/`` (demo page, script, styles, the pinned
  socket.io client and a config endpoint with the region's crisis banner), so no
  extra server or CDN is needed.

It never logs what a person wrote.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Tuple

import engineio
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.fastpath import (
    WholeMessageOutputChannel,
    conversation_region,
    describe_failure,
    respond,
    unavailable_reply,
    with_links,
)
from bot.channels.inputs import DepthSafeJson, clean_metadata
from bot.channels.limits import channel_reply
from bot.crisis.regions import REGIONS, deployment_region, normalise_region

logger = logging.getLogger(__name__)

ALLOWED_ORIGINS_ENV_VAR = "ALLOWED_ORIGINS"
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
SOCKET_IO_CLIENT = WEB_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
#: Session ids a client may choose: what browsers generate, and nothing that needs escaping.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")

EMPTY_TEXT = "It looks like that message was empty. Type your question whenever you're ready."
UNREADABLE_TEXT = "Sorry, I couldn't read that message. Could you type your question and send it again?"

#: The files an embedding page loads: URL name -> (file, content type).
WIDGET_FILES: Mapping[str, Tuple[Path, str]] = {
    "widget.js": (WEB_DIR / "widget.js", "text/javascript; charset=utf-8"),
    "widget.css": (WEB_DIR / "widget.css", "text/css; charset=utf-8"),
    "demo.css": (WEB_DIR / "demo.css", "text/css; charset=utf-8"),
    "socket.io.min.js": (SOCKET_IO_CLIENT, "text/javascript; charset=utf-8"),
}
#: The demo page loads only its own files and talks only to its own server.
DEMO_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def allowed_origins_from_env() -> List[str]:
    """The extra origins (other websites) that may embed the widget, from ``ALLOWED_ORIGINS``.

    Comma-separated, e.g. ``https://example.org,https://www.example.org``; ``*`` allows
    every origin. Unset means none: only pages served by the bot itself may connect.
    """
    raw = os.environ.get(ALLOWED_ORIGINS_ENV_VAR, "")
    return [origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip()]


def origin_checker(allowed: List[str]) -> Callable[[str | None, Dict[str, Any]], bool]:
    """Decides which browser pages may open a socket: the server's own origin and ``allowed``.

    A browser always sends ``Origin`` on a WebSocket handshake, so this is what stops
    any website from talking to the bot in its visitors' names. Clients that are not
    browsers send no ``Origin`` and are not affected.
    """

    def is_allowed(origin: str | None, environ: Dict[str, Any]) -> bool:
        if origin is None or "*" in allowed or origin in allowed:
            return True
        scheme = str(environ.get("wsgi.url_scheme", "http")).split(",")[0].strip()
        hosts = {environ.get("HTTP_HOST"), str(environ.get("HTTP_X_FORWARDED_HOST", "")).split(",")[0].strip()}
        return origin in {f"{scheme}://{host}" for host in hosts if host}

    return is_allowed


def valid_session_id(value: Any) -> str | None:
    """The session id a client asked for, or ``None`` if it is not one we accept."""
    if isinstance(value, str) and SESSION_ID.fullmatch(value):
        return value
    return None


class UnreadableMessage(ValueError):
    """A ``user_uttered`` payload that cannot be a turn; carries the kind reply to send."""

    def __init__(self, topic: str, reply: str) -> None:
        super().__init__(reply)
        self.topic = topic
        self.reply = reply


def parse_user_message(data: Any) -> Tuple[str, Dict[str, Any] | None]:
    """``(text, metadata)`` of a ``user_uttered`` payload.

    Raises ``UnreadableMessage`` for a malformed or empty payload, so that it is answered
    kindly rather than dropped or allowed to raise inside the socket.io server.
    """
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        raise UnreadableMessage("unreadable_message", UNREADABLE_TEXT)
    if not data["message"].strip():
        raise UnreadableMessage("empty_message", EMPTY_TEXT)
    return data["message"], clean_metadata(data.get("metadata"))


def region_config(asked: Any) -> Dict[str, Any]:
    """The region, crisis banner and its links the widget shows, from the one table in ``bot/crisis/regions.yml``."""
    region = normalise_region(asked) or deployment_region()
    return {"region": region, "banner": REGIONS[region].banner, "links": REGIONS[region].link_dicts()}


class OriginCheckingEngineIO(engineio.AsyncServer):
    """Engine.IO that checks origins but writes no CORS headers of its own.

    ``rasa run --cors`` (set from the same ``ALLOWED_ORIGINS`` by scripts/run.sh) already
    adds them to every response; two ``Access-Control-Allow-Origin`` headers would make
    browsers refuse the HTTP long-polling that stock socket.io clients start with.
    """

    def _cors_headers(self, environ: Dict[str, Any]) -> List[Tuple[str, str]]:
        return []


class WidgetSocketServer(AsyncServer):
    """The socket.io server, on top of ``OriginCheckingEngineIO``."""

    def _engineio_server_class(self) -> type:
        return OriginCheckingEngineIO


class SocketIOWholeOutput(WholeMessageOutputChannel):
    """Emits each bot message whole to the conversation's room as soon as it is ready.

    Replies go to the session's room, so every tab of the same conversation sees them;
    ``messages`` still records them so the channel can tell when a turn said nothing.
    """

    def __init__(self, sio: AsyncServer, room: str, bot_message_evt: str, namespace: str | None) -> None:
        super().__init__()
        self.sio = sio
        self.room = room
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace

    @classmethod
    def name(cls) -> str:
        """Responses with ``channel: socketio`` variants apply to this channel."""
        return "socketio"

    async def _persist_message(self, message: Dict[str, Any]) -> None:
        if self.closed:
            return
        await super()._persist_message(message)
        await self.sio.emit(self.bot_message_evt, message, room=self.room, namespace=self.namespace)


class WidgetBlueprint(Blueprint):
    """The channel's blueprint; registering it also attaches socket.io and ``/widget/``."""

    def __init__(self, sio: AsyncServer, socketio_path: str, widget: Blueprint, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio = sio
        self.ctx.socketio_path = socketio_path
        self.ctx.widget = widget

    def register(self, app: Sanic, options: Dict[str, Any]) -> None:
        """Rasa registers channels under ``/webhooks/<name>``; the widget lives at ``/widget``."""
        self.ctx.sio.attach(app, self.ctx.socketio_path)
        app.blueprint(self.ctx.widget)
        super().register(app, options)


def widget_blueprint() -> Blueprint:
    """``GET /widget/`` (demo page) and the files an embedding page loads."""
    widget = Blueprint("therapy_widget", url_prefix="/widget")

    @widget.route("/", methods=["GET"], strict_slashes=False)
    async def demo_page(request: Request) -> HTTPResponse:
        page = (WEB_DIR / "index.html").read_text(encoding="utf-8")
        # Only a known region code can be put into the page, never the raw parameter.
        region = normalise_region(request.args.get("region")) or ""
        page = page.replace('data-region=""', f'data-region="{region}"', 1)
        return response.html(
            page,
            headers={
                "Content-Security-Policy": DEMO_PAGE_CSP,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-cache",
            },
        )

    @widget.route("/config.json", methods=["GET"])
    async def config(request: Request) -> HTTPResponse:
        return response.json(region_config(request.args.get("region")), headers={"Cache-Control": "no-cache"})

    def file_route(path: Path, content_type: str) -> Callable[[Request], Awaitable[HTTPResponse]]:
        async def serve(_: Request) -> HTTPResponse:
            if not path.is_file():  # only the npm-installed client can be missing
                return response.json({"error": "The widget is not installed here; run `make web`."}, status=503)
            return await response.file(
                path, mime_type=content_type, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
            )

        return serve

    for url_name, (path, content_type) in WIDGET_FILES.items():
        serve = file_route(path, content_type)
        widget.add_route(serve, f"/{url_name}", methods=["GET"], name=url_name.replace(".", "_"))

    return widget


class WidgetSocketIOInput(InputChannel):
    """socket.io for the website widget (``credentials.yml``: ``bot.channels.socketio.WidgetSocketIOInput``).

    The protocol is Rasa's: ``session_request`` ``{"session_id"}`` is answered with
    ``session_confirm``; ``user_uttered`` ``{"message", "session_id", "metadata"?}`` is
    answered with one ``bot_uttered`` event per bot message.
    """

    @classmethod
    def name(cls) -> str:
        """Keeps Rasa's name, so ``/webhooks/socketio/`` and stock clients work unchanged."""
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            bool(credentials.get("session_persistence", True)),
            credentials.get("socketio_path", "/socket.io"),
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str | None = None,
        session_persistence: bool = True,
        socketio_path: str = "/socket.io",
    ) -> None:
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.session_persistence = session_persistence
        self.socketio_path = socketio_path

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The socket.io server with its event handlers, plus the health and widget routes."""
        sio = WidgetSocketServer(
            async_mode="sanic", cors_allowed_origins=origin_checker(allowed_origins_from_env()), json=DepthSafeJson
        )
        channel = WidgetBlueprint(sio, self.socketio_path, widget_blueprint(), "therapy_socketio_webhook", __name__)
        namespace = self.namespace

        @channel.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def bind_session(sid: str, session_id: str) -> None:
            """Puts the connection in its session's room, where the replies are sent."""
            previous = (await sio.get_session(sid, namespace=namespace)).get("session_id")
            if previous and previous != session_id:
                await sio.leave_room(sid, previous, namespace=namespace)
            await sio.enter_room(sid, session_id, namespace=namespace)  # the stock channel's missing await
            await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)

        async def conversation_of(sid: str, data: Any) -> str:
            """The conversation (sender id and room) a message belongs to."""
            if not self.session_persistence:
                return sid
            bound = (await sio.get_session(sid, namespace=namespace)).get("session_id")
            if bound:
                return bound
            # A message that arrives before session_request (e.g. buffered while the
            # client reconnected) still names its session; otherwise the socket is one.
            asked = valid_session_id(data.get("session_id")) if isinstance(data, dict) else None
            if asked:
                await bind_session(sid, asked)
                return asked
            return sid

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, *args: Any) -> None:
            data = args[0] if args else None
            asked = valid_session_id(data.get("session_id")) if isinstance(data, dict) else None
            session_id = asked or uuid.uuid4().hex
            if self.session_persistence:
                await bind_session(sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            logger.debug("socket.io session confirmed for sid %s (new: %s)", sid, asked is None)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, *args: Any) -> None:
            data = args[0] if args else None
            conversation = await conversation_of(sid, data)
            try:
                text, metadata = parse_user_message(data)
            except UnreadableMessage as problem:
                for message in channel_reply(
                    conversation, problem.topic, problem.reply, {"region": conversation_region(conversation, None)}
                ):
                    await sio.emit(self.bot_message_evt, with_links(message), room=sid, namespace=namespace)
                return
            output = SocketIOWholeOutput(sio, conversation, self.bot_message_evt, namespace)

            async def emit_all(messages: List[Dict[str, Any]]) -> None:
                for message in messages:
                    await sio.emit(self.bot_message_evt, message, room=conversation, namespace=namespace)

            try:
                outcome = await respond(
                    conversation, text, metadata, self.name(), on_new_message, output, fast_reply=emit_all
                )
            except Exception as error:  # a bug here must still answer the person
                logger.error("socket.io message handling failed: %s", describe_failure(error))
                await emit_all(unavailable_reply(conversation, metadata))
                return
            await emit_all(outcome.messages)

        return channel
