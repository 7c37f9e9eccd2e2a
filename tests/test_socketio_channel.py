"""The website widget's socket.io channel (bot/channels/socketio.py), at the protocol level.

Two kinds of server:
- the channel alone in an in-process Sanic app with a stand-in for Rasa, for what the
  dialogue cannot be made to do on purpose (say nothing, fail) and for fast checks of
  bad payloads, origins and the widget's routes;
- the real bot started by scripts/run.sh (as `make run` does) with ALLOWED_ORIGINS set
  (conftest's ``widget_bot``, shared with the browser test),
  for the conversation itself: a session that continues after a reconnect, crisis
  replies with the region's resources, and the CORS wiring in run.sh.

The test client polls instead of using WebSocket: python-engineio's WebSocket client
needs a newer aiohttp than Rasa 3.6 allows. The browser test covers WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable, Dict

import aiohttp
import pytest
import socketio
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from actions.knowledge import KnowledgeBase
from bot.channels.limits import TOO_LONG_TEXT
from bot.channels.rest import UNAVAILABLE_TEXT
from bot.channels.socketio import EMPTY_TEXT, UNREADABLE_TEXT, WidgetSocketIOInput
from bot.crisis.regions import REGIONS, deployment_region
from tests.conftest import WIDGET_ALLOWED_ORIGIN, ServedBot
from tests.support import free_port

REPLY_TIMEOUT = 90  # generous: the machine is shared and slow, and nothing here measures speed
ALLOWED = WIDGET_ALLOWED_ORIGIN
Message = Dict[str, Any]


class Visitor:
    """One browser tab's socket.io connection: asks for a session and collects replies."""

    def __init__(self, base_url: str, origin: str | None = None) -> None:
        self.base_url = base_url
        self.headers = {"Origin": origin} if origin else {}
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue = asyncio.Queue()
        self.client.on("*", lambda event, data: self.events.put_nowait((event, data)))

    async def connect(self, session_id: str | None = None, request: Any = ...) -> str:
        """Connects and returns the confirmed session id (``request`` overrides the payload)."""
        await self.client.connect(self.base_url, headers=self.headers, transports=["polling"])
        payload = {"session_id": session_id} if request is ... else request
        await self.client.emit("session_request", payload)
        return await self.next("session_confirm")

    async def next(self, event: str, predicate: Callable[[Any], bool] = lambda _: True) -> Any:
        """The next ``event`` whose data satisfies ``predicate``; fails after REPLY_TIMEOUT."""

        async def wait() -> Any:
            while True:
                name, data = await self.events.get()
                if name == event and predicate(data):
                    return data

        return await asyncio.wait_for(wait(), REPLY_TIMEOUT)

    async def say(self, message: Any, session_id: str | None = None, metadata: Dict[str, Any] | None = None) -> None:
        body: Dict[str, Any] = {"message": message, "session_id": session_id}
        if metadata is not None:
            body["metadata"] = metadata
        await self.client.emit("user_uttered", body)

    async def reply_with_topic(self, topic: str) -> Message:
        return await self.next("bot_uttered", lambda m: (m.get("custom") or {}).get("topic") == topic)

    async def close(self) -> None:
        """Leaves at once, like a closed tab (a polite disconnect waits for a long poll)."""
        await self.client.eio.disconnect(abort=True)


def new_session_id() -> str:
    return uuid.uuid4().hex


# --- the channel alone, in process ------------------------------------------------------


@contextlib.asynccontextmanager
async def channel_server(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> AsyncIterator[str]:
    """The channel as credentials.yml configures it, in a Sanic app on a free port."""
    channel = WidgetSocketIOInput.from_credentials({"session_persistence": True})
    # Sanic rewrites some of its own methods when an app starts, which fails the second
    # time in one process unless it is told this is a test (as sanic-testing does).
    was_test_mode, Sanic.test_mode = Sanic.test_mode, True
    try:
        app = Sanic(f"socketio_test_{uuid.uuid4().hex}")
        app.blueprint(channel.blueprint(on_new_message), url_prefix=channel.url_prefix())
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
        await server.startup()
        await server.after_start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await server.before_stop()
            server.close()
            await server.wait_closed()
            await server.after_stop()
    finally:
        Sanic.test_mode = was_test_mode


async def answer_whole(message: UserMessage) -> None:
    """A stand-in for Rasa that answers with one message of text, buttons and a payload."""
    await message.output_channel.send_response(
        message.sender_id,
        {
            "text": f"You said {len(message.text)} characters.",
            "buttons": [{"title": "How often sessions happen", "payload": "/session_frequency"}],
            "custom": {"topic": "echo", "sources": ["A source"], "metadata": message.metadata},
        },
    )


async def say_nothing(_: UserMessage) -> None:
    """A turn that produces no reply, as when the action server is down."""


async def fail(_: UserMessage) -> None:
    raise RuntimeError("the dialogue failed")


@pytest.mark.model
def test_a_bot_message_arrives_whole_in_the_session_room_with_the_metadata() -> None:
    async def scenario() -> None:
        async with channel_server(answer_whole) as url:
            first_tab, second_tab = Visitor(url), Visitor(url)
            session = new_session_id()
            assert await first_tab.connect(session) == session
            assert await second_tab.connect(session) == session
            await first_tab.say("hello", session, {"region": "GB"})
            for tab in (first_tab, second_tab):  # every tab of the conversation sees the reply
                reply = await tab.reply_with_topic("echo")
                assert reply == {
                    "recipient_id": session,
                    "text": "You said 5 characters.",
                    "buttons": [{"title": "How often sessions happen", "payload": "/session_frequency"}],
                    "custom": {"topic": "echo", "sources": ["A source"], "metadata": {"region": "GB"}},
                }
            await first_tab.close()
            await second_tab.close()

    asyncio.run(scenario())


@pytest.mark.model
@pytest.mark.parametrize("dialogue", [say_nothing, fail], ids=["no reply", "failure"])
def test_a_turn_without_a_reply_gets_the_unavailable_reply_with_the_crisis_line(
    dialogue: Callable[[UserMessage], Awaitable[None]],
) -> None:
    async def scenario() -> None:
        async with channel_server(dialogue) as url:
            visitor = Visitor(url)
            session = await visitor.connect(new_session_id())
            await visitor.say("how long is a session?", session)
            reply = await visitor.reply_with_topic("unavailable")
            assert reply["text"] == f"{UNAVAILABLE_TEXT} {REGIONS['US'].banner}"
            await visitor.say("how long is a session?", session, {"region": "NZ"})
            reply = await visitor.reply_with_topic("unavailable")
            assert reply["text"] == f"{UNAVAILABLE_TEXT} {REGIONS['NZ'].banner}"
            assert visitor.client.connected
            await visitor.close()

    asyncio.run(scenario())


@pytest.mark.model
@pytest.mark.parametrize(
    "payload, topic, text",
    [
        (None, "unreadable_message", UNREADABLE_TEXT),
        ("how long is a session?", "unreadable_message", UNREADABLE_TEXT),
        (42, "unreadable_message", UNREADABLE_TEXT),
        (["how long is a session?"], "unreadable_message", UNREADABLE_TEXT),
        ({}, "unreadable_message", UNREADABLE_TEXT),
        ({"message": None}, "unreadable_message", UNREADABLE_TEXT),
        ({"message": 5}, "unreadable_message", UNREADABLE_TEXT),
        ({"message": {"text": "hi"}}, "unreadable_message", UNREADABLE_TEXT),
        ({"message": ""}, "empty_message", EMPTY_TEXT),
        ({"message": " \n\t "}, "empty_message", EMPTY_TEXT),
        ({"message": "so many words " * 1000}, "too_long", TOO_LONG_TEXT),
    ],
)
def test_bad_payloads_get_a_kind_reply_and_the_connection_lives_on(payload: Any, topic: str, text: str) -> None:
    async def scenario() -> None:
        async with channel_server(answer_whole) as url:
            visitor = Visitor(url)
            session = await visitor.connect(new_session_id())
            await visitor.client.emit("user_uttered", payload)
            reply = await visitor.reply_with_topic(topic)
            assert reply["text"].startswith(text) and "988" in reply["text"], reply
            await visitor.say("still there?", session)
            assert (await visitor.reply_with_topic("echo"))["recipient_id"] == session
            await visitor.close()

    asyncio.run(scenario())


@pytest.mark.model
def test_a_message_with_a_wrong_metadata_type_is_answered_without_it() -> None:
    async def scenario() -> None:
        async with channel_server(answer_whole) as url:
            visitor = Visitor(url)
            session = await visitor.connect(new_session_id())
            await visitor.client.emit("user_uttered", {"message": "hi", "session_id": session, "metadata": "GB"})
            # Only the conversation's region reaches Rasa, never what the client sent.
            assert (await visitor.reply_with_topic("echo"))["custom"]["metadata"] == {"region": deployment_region()}
            await visitor.close()

    asyncio.run(scenario())


@pytest.mark.model
@pytest.mark.parametrize(
    "request_payload",
    [None, "abc", 7, [], {}, {"session_id": None}, {"session_id": 12}, {"session_id": ""},
     {"session_id": "../../etc"}, {"session_id": "<script>"}, {"session_id": "x" * 129}],
)
def test_a_bad_session_request_gets_a_fresh_session(request_payload: Any) -> None:
    async def scenario() -> None:
        async with channel_server(answer_whole) as url:
            visitor = Visitor(url)
            session = await visitor.connect(request=request_payload)
            assert re.fullmatch(r"[0-9a-f]{32}", session)
            await visitor.say("hello", session)
            assert (await visitor.reply_with_topic("echo"))["recipient_id"] == session
            await visitor.close()

    asyncio.run(scenario())


@pytest.mark.model
def test_a_message_sent_before_the_session_request_joins_its_session() -> None:
    async def scenario() -> None:
        async with channel_server(answer_whole) as url:
            visitor = Visitor(url)
            await visitor.client.connect(url, transports=["polling"])
            session = new_session_id()
            await visitor.say("hello", session)
            assert (await visitor.reply_with_topic("echo"))["recipient_id"] == session
            await visitor.close()

    asyncio.run(scenario())


@pytest.fixture()
def allowed_origins_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", f" {ALLOWED}/ , https://other.test")


@pytest.mark.model
def test_only_the_own_origin_and_allowed_origins_may_connect(allowed_origins_env: None) -> None:
    async def scenario() -> None:
        async with channel_server(answer_whole) as url:
            for origin in (url, ALLOWED, "https://other.test"):
                visitor = Visitor(url, origin=origin)
                assert await visitor.connect(new_session_id())
                await visitor.close()
            for origin in ("http://evil.test", "http://allowed.test.evil.test", "null"):
                with pytest.raises(socketio.exceptions.ConnectionError):
                    await Visitor(url, origin=origin).connect(new_session_id())

    asyncio.run(scenario())


@pytest.mark.model
def test_without_allowed_origins_other_sites_cannot_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLOWED_ORIGINS", raising=False)

    async def scenario() -> None:
        async with channel_server(answer_whole) as url:
            visitor = Visitor(url, origin=url.replace("127.0.0.1", "localhost"))
            with pytest.raises(socketio.exceptions.ConnectionError):
                await visitor.connect(new_session_id())
            own = Visitor(url, origin=url)
            assert await own.connect(new_session_id())
            await own.close()

    asyncio.run(scenario())


async def fetch(url: str) -> tuple[int, str, str]:
    """``(status, content type, body)`` of a GET."""
    async with aiohttp.ClientSession() as session, session.get(url) as reply:
        return reply.status, reply.headers.get("Content-Type", ""), await reply.text()


@pytest.mark.model
def test_the_widget_routes_serve_the_page_the_files_and_the_regions_banner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISIS_REGION", "AU")

    async def scenario() -> None:
        async with channel_server(answer_whole) as url:
            status, kind, page = await fetch(f"{url}/widget/")
            assert status == 200 and kind.startswith("text/html")
            assert 'src="/widget/widget.js"' in page and 'data-region=""' in page
            status, _, page = await fetch(f"{url}/widget/?region=ie")
            assert 'data-region="IE"' in page
            status, _, page = await fetch(f"{url}/widget/?region=%22%3E%3Cscript%3Ealert(1)%3C/script%3E")
            assert status == 200 and "<script>alert" not in page and 'data-region=""' in page
            for name, expected_kind, marker in [
                ("widget.js", "text/javascript", "attachShadow"),
                ("widget.css", "text/css", ".crisis"),
                ("socket.io.min.js", "text/javascript", "Socket.IO v4"),
            ]:
                status, kind, body = await fetch(f"{url}/widget/{name}")
                assert (status, kind.split(";")[0]) == (200, expected_kind) and marker in body, name
            for asked, region in [("", "AU"), ("gb", "GB"), ("uk", "GB"), ("<b>", "AU"), ("nz", "NZ")]:
                status, _, body = await fetch(f"{url}/widget/config.json?region={asked}")
                assert status == 200
                assert json.loads(body) == {
                    "region": region, "banner": REGIONS[region].banner, "links": REGIONS[region].link_dicts()
                }
            status, _, _ = await fetch(f"{url}/widget/credentials.yml")
            assert status == 404

    asyncio.run(scenario())


# --- the real bot -------------------------------------------------------------------------


@pytest.mark.service
def test_a_reconnect_with_the_same_session_continues_the_conversation(widget_bot: ServedBot, kb: KnowledgeBase) -> None:
    """The issue's proof: stock Rasa 3.6.21 never delivers a reply with session persistence."""
    session_length = kb.topic("session_length")

    async def scenario() -> None:
        session = new_session_id()
        first_visit = Visitor(widget_bot.base_url)
        assert await first_visit.connect(session) == session
        await first_visit.say("how long is a therapy session", session)
        answer = await first_visit.reply_with_topic("session_length")
        assert answer["text"] == session_length.short
        assert answer["custom"]["sources"] == kb.source_titles_of(session_length)
        assert [b["payload"] for b in answer["buttons"]] == [f"/{r}" for r in session_length.related]
        await first_visit.close()

        after_reload = Visitor(widget_bot.base_url)
        assert await after_reload.connect(session) == session
        await after_reload.say("tell me more", session)
        more = await after_reload.reply_with_topic("session_length")
        assert more["text"] == session_length.long
        await after_reload.close()

    asyncio.run(scenario())


@pytest.mark.service
def test_a_related_topic_button_payload_gets_that_topic(widget_bot: ServedBot, kb: KnowledgeBase) -> None:
    async def scenario() -> None:
        visitor = Visitor(widget_bot.base_url)
        session = await visitor.connect(new_session_id())
        await visitor.say("/session_frequency", session)
        assert (await visitor.reply_with_topic("session_frequency"))["text"] == kb.topic("session_frequency").short
        await visitor.close()

    asyncio.run(scenario())


@pytest.mark.service
@pytest.mark.parametrize("region, numbers", [(None, ("988", "911")), ("GB", ("116 123", "999"))])
def test_a_crisis_phrase_gets_the_regions_crisis_resources(
    widget_bot: ServedBot, region: str | None, numbers: tuple[str, ...]
) -> None:
    async def scenario() -> None:
        visitor = Visitor(widget_bot.base_url)
        session = await visitor.connect(new_session_id())
        await visitor.say("i don't want to wake up tomorrow", session, {"region": region} if region else None)
        reply = await visitor.reply_with_topic("crisis")
        assert reply["custom"] == {
            "topic": "crisis", "kind": "self", "region": region or "US",
            "links": REGIONS[region or "US"].link_dicts(),
        }
        assert all(number in reply["text"] for number in numbers), reply["text"]
        await visitor.close()

    asyncio.run(scenario())


@pytest.mark.service
def test_html_in_a_message_is_just_text_to_the_bot(widget_bot: ServedBot) -> None:
    async def scenario() -> None:
        visitor = Visitor(widget_bot.base_url)
        session = await visitor.connect(new_session_id())
        await visitor.say('<script>alert("x")</script><img src=x onerror=alert(1)>', session)
        reply = await visitor.next("bot_uttered")
        assert reply["recipient_id"] == session and reply.get("text")
        await visitor.client.emit("user_uttered", "<b>not even a dict</b>")
        assert (await visitor.reply_with_topic("unreadable_message"))["text"].startswith(UNREADABLE_TEXT)
        await visitor.say("how long is a therapy session", session)
        await visitor.reply_with_topic("session_length")
        await visitor.close()

    asyncio.run(scenario())


@pytest.mark.service
def test_run_sh_applies_allowed_origins_to_sockets_and_http(widget_bot: ServedBot) -> None:
    async def scenario() -> None:
        allowed = Visitor(widget_bot.base_url, origin=ALLOWED)
        assert await allowed.connect(new_session_id())
        await allowed.close()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Visitor(widget_bot.base_url, origin="http://evil.test").connect(new_session_id())

        async with aiohttp.ClientSession() as session:
            config_url = f"{widget_bot.base_url}/widget/config.json"
            for origin, expected in [(ALLOWED, ALLOWED), ("http://evil.test", None)]:
                async with session.get(config_url, headers={"Origin": origin}) as reply:
                    assert reply.status == 200
                    assert reply.headers.get("Access-Control-Allow-Origin") == expected, origin
            # Stock socket.io clients start with HTTP polling: one CORS header, or browsers refuse it.
            polling_url = f"{widget_bot.base_url}/socket.io/?EIO=4&transport=polling"
            async with session.get(polling_url, headers={"Origin": ALLOWED}) as reply:
                assert reply.status == 200
                assert reply.headers.getall("Access-Control-Allow-Origin") == [ALLOWED]

    asyncio.run(scenario())


@pytest.mark.service
def test_the_socketio_health_route_answers(widget_bot: ServedBot) -> None:
    async def scenario() -> None:
        status, _, body = await fetch(f"{widget_bot.base_url}/webhooks/socketio/")
        assert (status, body) == (200, '{"status":"ok"}')

    asyncio.run(scenario())



@pytest.mark.service
def test_widget_gets_did_you_mean_buttons_and_both_answers(widget_bot: ServedBot, kb: KnowledgeBase) -> None:
    """Issue 14 through the widget's socket: a choice when unsure, two answers for two questions."""

    async def scenario() -> None:
        session = new_session_id()
        visitor = Visitor(widget_bot.base_url)
        assert await visitor.connect(session) == session
        await visitor.say("therapy sessions", session)
        choice = await visitor.reply_with_topic("clarify")
        assert [b["payload"] for b in choice["buttons"]] == [f"/{c}" for c in choice["custom"]["candidates"]]
        await visitor.say(choice["buttons"][0]["payload"], session)
        pressed = await visitor.reply_with_topic(choice["custom"]["candidates"][0])
        assert pressed["text"] == kb.topic(choice["custom"]["candidates"][0]).short
        await visitor.say("How long is a therapy session and how much does it cost?", session)
        assert (await visitor.reply_with_topic("session_length"))["text"] == kb.topic("session_length").short
        assert (await visitor.reply_with_topic("cost"))["text"] == kb.topic("cost").short
        await visitor.close()

    asyncio.run(scenario())
