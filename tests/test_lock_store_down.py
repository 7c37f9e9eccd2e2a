"""Redis (the lock store) unreachable: every message still gets a kind reply, never a 500.

Rasa cannot take the conversation lock, so no turn can run; the REST channel answers
with its "having trouble" reply, which carries the crisis line, and logs the failure by
type and place only (the exception's message could quote what the person wrote).
"""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from tests.conftest import ServedBot, start_bot, stop_bot
from tests.support import OUTPUT, RestClient, free_port, topics_of

MARKER = "zebrafinch"


@pytest.fixture(scope="module")
def bot_without_redis() -> Iterator[ServedBot]:
    bot = start_bot("redis-down.log", REDIS_URL=f"redis://127.0.0.1:{free_port()}/1")
    yield bot
    stop_bot(bot)


@pytest.mark.parametrize("message", [f"how long is a session, {MARKER}?", f"i want to kill myself {MARKER}"])
def test_a_lock_failure_gets_the_trouble_reply_with_the_crisis_line(bot_without_redis: ServedBot, message: str) -> None:
    reply = RestClient(bot_without_redis.base_url, f"redis-{uuid.uuid4().hex[:8]}").say(message)
    assert topics_of(reply) == ["unavailable"]
    assert "trouble answering" in reply[0]["text"] and "988" in reply[0]["text"]


def test_the_failure_is_logged_without_the_text(bot_without_redis: ServedBot) -> None:
    RestClient(bot_without_redis.base_url, f"redis-{uuid.uuid4().hex[:8]}").say(f"what is cbt {MARKER}")
    log = (OUTPUT / "redis-down.log").read_text(encoding="utf-8", errors="replace")
    assert "REST message handling failed: " in log
    assert MARKER not in log
