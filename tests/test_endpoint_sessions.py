"""Requests to an endpoint reuse one kept-alive session (bot/rasa_patches/endpoint_sessions.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List

import pytest
import uvloop
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_patches import endpoint_sessions, original
from tests.support import free_port

pytestmark = pytest.mark.unit


class _Recorder(BaseHTTPRequestHandler):
    """Answers every POST with JSON over HTTP/1.1 keep-alive and records who asked."""

    protocol_version = "HTTP/1.1"
    seen: List[Dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append({"port": self.client_address[1], "headers": dict(self.headers), "path": self.path,
                                "body": json.loads(body or b"null")})
        payload = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        """Keeps the test output quiet."""


class _TrackingServer(ThreadingHTTPServer):
    """Remembers its open connections, so stopping it closes kept-alive ones too."""

    daemon_threads = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.connections: List[socket.socket] = []

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.append(request)
        super().process_request(request, client_address)


class _Server:
    def __init__(self, port: int) -> None:
        _Recorder.seen = []
        self.httpd = _TrackingServer(("127.0.0.1", port), _Recorder)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """As a stopped action server: no listener, and every connection closed."""
        self.httpd.shutdown()
        self.httpd.server_close()
        for connection in self.httpd.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


@pytest.fixture()
def port() -> int:
    return free_port()


def _calls(endpoint: EndpointConfig, count: int, between: Any = None, loop: str = "asyncio") -> List[Any]:
    """``count`` requests in a row on one event loop (uvloop is what Sanic runs)."""

    async def scenario() -> List[Any]:
        replies = []
        for index in range(count):
            replies.append(await endpoint.request(method="post", json={"n": index}, timeout=5))
            if between is not None and index == 0:
                between()  # at once, without giving the loop a turn: the worst case
        await endpoint_sessions.close_sessions()
        return replies

    event_loop = uvloop.new_event_loop() if loop == "uvloop" else asyncio.new_event_loop()
    try:
        return event_loop.run_until_complete(scenario())
    finally:
        event_loop.close()


def test_calls_share_one_connection(port: int) -> None:
    server = _Server(port)
    try:
        replies = _calls(EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"), 5)
    finally:
        server.stop()
    assert replies == [{"ok": True}] * 5
    assert [r["body"] for r in _Recorder.seen] == [{"n": i} for i in range(5)]
    assert len({r["port"] for r in _Recorder.seen}) == 1, "one TCP connection for all five calls"


def _recorded(port: int, endpoint: EndpointConfig, count: int) -> List[Dict[str, Any]]:
    server = _Server(port)
    try:
        _calls(endpoint, count)
    finally:
        server.stop()
    return _Recorder.seen


def test_rasas_own_session_opens_a_connection_for_every_call(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EndpointConfig, "session", original("rasa.utils.endpoints:EndpointConfig.session"))
    seen = _recorded(port, EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"), 3)
    assert len({r["port"] for r in seen}) == 3  # what the patch saves


def test_headers_token_and_basic_auth_are_sent_as_rasa_sends_them(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = EndpointConfig(
        url=f"http://127.0.0.1:{port}/webhook", headers={"X-Bot": "therapy"}, token="s3cret",
        basic_auth={"username": "rasa", "password": "pw"},
    )
    kept = _recorded(port, endpoint, 2)
    with monkeypatch.context() as rasas_own:
        rasas_own.setattr(EndpointConfig, "session", original("rasa.utils.endpoints:EndpointConfig.session"))
        by_rasa = _recorded(port, endpoint, 2)

    def sent(request: Dict[str, Any]) -> Any:
        return request["path"], request["body"], {k: v for k, v in request["headers"].items() if k != "Host"}

    assert [sent(r) for r in kept] == [sent(r) for r in by_rasa]
    for request in kept:
        assert request["headers"]["X-Bot"] == "therapy"
        assert request["headers"]["Authorization"].startswith("Basic ")
        assert request["path"] == "/webhook?token=s3cret"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_restarted_server_is_reached_on_a_new_connection(port: int, loop: str) -> None:
    servers = [_Server(port)]

    def restart() -> None:
        servers[0].stop()
        servers.append(_Server(port))

    try:
        replies = _calls(EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"), 3, between=restart, loop=loop)
    finally:
        servers[-1].stop()
    assert replies == [{"ok": True}] * 3  # no call failed on the connection the old server closed
    assert len(_Recorder.seen) == 2 and len({r["port"] for r in _Recorder.seen}) == 1  # the new server's


def test_each_endpoint_and_loop_has_its_own_session_and_stop_closes_them(port: int) -> None:
    first, second = EndpointConfig(url="http://127.0.0.1:1/a"), EndpointConfig(url="http://127.0.0.1:1/b")

    async def scenario() -> List[Any]:
        sessions = [await s.__aenter__() for s in (first.session(), first.session(), second.session())]
        await endpoint_sessions.close_sessions()
        return sessions

    a, a_again, b = asyncio.run(scenario())
    assert a is a_again and a is not b
    assert a.closed and b.closed
    (c,) = asyncio.run(asyncio.wait_for(_enter(first), 5))  # a new loop gets a new session
    assert c is not a


async def _enter(endpoint: EndpointConfig) -> List[Any]:
    session = await endpoint.session().__aenter__()
    await endpoint_sessions.close_sessions()
    return [session]


def test_rasa_uses_the_kept_sessions_once_the_patches_are_installed() -> None:
    assert EndpointConfig.session is endpoint_sessions.kept_session
