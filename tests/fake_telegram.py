"""A fake Telegram Bot API on loopback that records every call the bot makes.

The Telegram channel reads its API base from ``TELEGRAM_API_URL``, so the tests point
it here: nothing leaves the machine. The fake answers like the real API (``ok`` and a
``result``), checks the bot token in the path, and can be told to fail a method.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List

from aiohttp import web

from tests.support import free_port


@dataclass
class ApiCall:
    """One Bot API request as the fake received it."""

    method: str
    params: Dict[str, Any]


class FakeTelegramApi:
    """An aiohttp app serving ``/bot<token>/<method>`` in a thread with its own loop."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._calls: List[ApiCall] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._next_message_id = 1
        #: method name -> (HTTP status, description) to answer instead of success.
        self.failures: Dict[str, tuple[int, str]] = {}

    def start(self) -> FakeTelegramApi:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await request.json() if request.can_read_body else {}
        with self._lock:
            self._calls.append(ApiCall(method, params))
        if method in self.failures:
            status, description = self.failures[method]
            return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _result(self, method: str, params: Dict[str, Any]) -> Any:
        if method != "sendMessage":
            return True
        with self._lock:
            message_id, self._next_message_id = self._next_message_id, self._next_message_id + 1
        return {"message_id": message_id, "date": int(time.time()), "chat": {"id": params.get("chat_id")},
                "text": params.get("text")}

    def calls(self, method: str | None = None) -> List[ApiCall]:
        """The calls so far, optionally only those of one method."""
        with self._lock:
            return [call for call in self._calls if method is None or call.method == method]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> None:
        """Waits until ``condition()`` holds; raises ``TimeoutError`` if it never does."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the fake Telegram API did not see the expected calls: {self.calls()}")
            time.sleep(0.2)
