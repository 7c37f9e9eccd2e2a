"""Redis (the lock store) unreachable: every message still gets a kind reply, never a 500.

Rasa cannot take the conversation lock, so no turn can run; the REST channel answers
with its "having trouble" reply, which carries the crisis line, and logs the failure by
type and place only (the exception's message could quote what the person wrote). A
crisis message needs no lock: it gets the full crisis reply from the fast path.
"""

from __future__ import annotations

import time
import uuid
from typing import Iterator

import pytest

from tests.conftest import ServedBot, start_bot, stop_bot
from tests.support import OUTPUT, RestClient, free_port, topics_of

pytestmark = pytest.mark.service

MARKER = "zebrafinch"


@pytest.fixture(scope="module")
def bot_without_redis() -> Iterator[ServedBot]:
    bot = start_bot("redis-down.log", REDIS_URL=f"redis://127.0.0.1:{free_port()}/1")
    yield bot
    stop_bot(bot)


def test_a_lock_failure_gets_the_trouble_reply_with_the_crisis_line(bot_without_redis: ServedBot) -> None:
    reply = RestClient(bot_without_redis.base_url, f"redis-{uuid.uuid4().hex[:8]}").say(
        f"how long is a session, {MARKER}?"
    )
    assert topics_of(reply) == ["unavailable"]
    assert "trouble answering" in reply[0]["text"] and "988" in reply[0]["text"]


def test_a_crisis_message_gets_the_crisis_reply_without_the_lock(bot_without_redis: ServedBot) -> None:
    reply = RestClient(bot_without_redis.base_url, f"redis-{uuid.uuid4().hex[:8]}").say(
        f"i want to kill myself {MARKER}"
    )
    assert topics_of(reply) == ["crisis"]
    assert "988" in reply[0]["text"] and "911" in reply[0]["text"]


def test_the_failure_is_logged_without_the_text(bot_without_redis: ServedBot) -> None:
    RestClient(bot_without_redis.base_url, f"redis-{uuid.uuid4().hex[:8]}").say(f"what is cbt {MARKER}")
    RestClient(bot_without_redis.base_url, f"redis-{uuid.uuid4().hex[:8]}").say(f"i want to die {MARKER}")
    time.sleep(0.5)  # the crisis turn's record fails in the background
    log = (OUTPUT / "redis-down.log").read_text(encoding="utf-8", errors="replace")
    assert "Message handling failed: LockError" in log
    assert "Crisis turn not recorded: LockError" in log
    assert MARKER not in log
