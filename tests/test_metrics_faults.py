"""Store failures in the metrics: a lock store (Redis) and a tracker store (PostgreSQL) that are down.

Nothing listens on the ports the stores are given, so every lock or database call fails
at once; the person still gets a reply, and the metrics count the failure by store and
operation.
"""

from __future__ import annotations

import uuid
from typing import Iterator, Tuple

import pytest

from tests.conftest import ServedBot
from tests.support import RestClient, free_port, topics_of
from tests.test_metrics import delta, metered_bot, scrape

pytestmark = [pytest.mark.metrics, pytest.mark.service]


@pytest.fixture(scope="module")
def without_redis() -> Iterator[Tuple[ServedBot, str]]:
    yield from metered_bot("metrics-redis-down.log", REDIS_URL=f"redis://127.0.0.1:{free_port()}/1")


@pytest.fixture(scope="module")
def without_database() -> Iterator[Tuple[ServedBot, str]]:
    yield from metered_bot("metrics-db-down.log", DB_URL=f"postgresql://rasa:x@127.0.0.1:{free_port()}/rasa")


def test_a_lock_store_failure_is_counted(without_redis: Tuple[ServedBot, str]) -> None:
    bot, url = without_redis
    before = scrape(url)
    reply = RestClient(bot.base_url, f"m-{uuid.uuid4().hex[:8]}").say("how long is a session?")
    assert topics_of(reply) == ["unavailable"]
    after = scrape(url)
    assert delta(before, after, "therapy_bot_store_errors_total", store="lock", operation="lock") == 1
    assert delta(before, after, "therapy_bot_replies_total", topic="unavailable") == 1


def test_a_tracker_store_failure_is_counted(without_database: Tuple[ServedBot, str]) -> None:
    bot, url = without_database
    before = scrape(url)
    RestClient(bot.base_url, f"m-{uuid.uuid4().hex[:8]}").say("how long is a session?")
    after = scrape(url)
    assert delta(before, after, "therapy_bot_store_errors_total", store="tracker", operation="read") >= 1
    assert delta(before, after, "therapy_bot_store_errors_total", store="lock") == 0
