"""Soak: many concurrent conversations over REST, counted end to end against the store.

50 senders talk at once, each a conversation of turns drawn from every topic, follow-ups,
crisis messages and odd input, plus malformed requests. Asserted: no errors, every turn
answered, every crisis message escalated, and the SQLite tracker store holds exactly one
user event per turn sent. ``make test`` runs a reduced size; ``make soak`` sets
``SOAK_TURNS=10000``. The count and the per-request client timeout bound its duration.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Tuple

import aiohttp
import pytest
import sqlalchemy as sa

from actions.knowledge import KnowledgeBase
from bot.storage.settings import database_url
from evaluation import corpus
from tests.conftest import ServedBot, start_bot, stop_bot

pytestmark = pytest.mark.service

SENDERS = int(os.environ.get("SOAK_SENDERS", "50"))
TURNS = int(os.environ.get("SOAK_TURNS", "600"))
#: Fractions of turns that are crisis messages and odd input; the rest are questions.
CRISIS_SHARE, ODD_SHARE = 0.05, 0.1
ODD_INPUT = ["", "   ", "🙂", "<script>alert(1)</script>", "/restart", '/greet{"x":1}', "مرحبا", "?" * 300, "\x00\x07"]
MALFORMED = [b"{", b"[]", b'{"sender": 5, "message": "hi"}', b'{"sender": "s"}']


@dataclass
class Outcome:
    """What the soak saw, by sender."""

    turns: Counter = field(default_factory=Counter)
    errors: List[str] = field(default_factory=list)
    unanswered: int = 0
    missed_crises: List[str] = field(default_factory=list)


def _script(kb: KnowledgeBase, rng: random.Random) -> Iterator[Tuple[str, bool]]:
    """Endless (message, is_crisis) turns in a realistic mix."""
    questions = [topic.question for topic in kb.topics.values()] + ["tell me more", "what about online?", "thanks"]
    crises = [message for _, message in corpus.iter_messages(corpus.load_escalate()["main"])]
    while True:
        roll = rng.random()
        if roll < CRISIS_SHARE:
            yield rng.choice(crises), True
        elif roll < CRISIS_SHARE + ODD_SHARE:
            yield rng.choice(ODD_INPUT), False
        else:
            yield rng.choice(questions), False


async def _conversation(
    session: aiohttp.ClientSession, url: str, sender: str, turns: List[Tuple[str, bool]], outcome: Outcome
) -> None:
    for index, (message, is_crisis) in enumerate(turns):
        try:
            async with session.post(url, json={"sender": sender, "message": message}) as response:
                body = await response.json(content_type=None)
                if response.status != 200:
                    outcome.errors.append(f"HTTP {response.status}: {body}")
                    continue
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            outcome.errors.append(f"{type(error).__name__}: {error}")
            continue
        outcome.turns[sender] += 1
        if not body or not all(isinstance(m.get("text"), str) and m["text"] for m in body):
            outcome.unanswered += 1
        topics = [m.get("custom", {}).get("topic") for m in body]
        if is_crisis and "crisis" not in topics:
            outcome.missed_crises.append(message)
        if index % 25 == 0:
            async with session.post(url, data=MALFORMED[index % len(MALFORMED)]) as response:
                if response.status != 400:
                    outcome.errors.append(f"malformed request got HTTP {response.status}")


async def _soak(base_url: str, kb: KnowledgeBase) -> Tuple[Outcome, Dict[str, int]]:
    rng = random.Random(20261123)
    script = _script(kb, rng)
    senders = [f"soak-{uuid.uuid4().hex[:12]}" for _ in range(SENDERS)]
    plans: Dict[str, List[Tuple[str, bool]]] = {sender: [] for sender in senders}
    for index in range(TURNS):
        plans[senders[index % SENDERS]].append(next(script))
    outcome = Outcome()
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=SENDERS)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        url = f"{base_url}/webhooks/rest/webhook"
        await asyncio.gather(*(_conversation(session, url, s, plans[s], outcome) for s in senders))
    return outcome, {sender: len(plan) for sender, plan in plans.items()}


@pytest.fixture(scope="module")
def soak_bot() -> Iterator[Tuple[ServedBot, str]]:
    """A bot of its own (own SQLite store) whose rate limit does not throttle the soak."""
    data_dir = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"soak-{uuid.uuid4().hex[:8]}")
    os.makedirs(data_dir)
    bot = start_bot("soak.log", RATE_LIMIT_PER_MINUTE="100000", DATA_DIR=data_dir)
    yield bot, database_url({"DATA_DIR": data_dir})
    stop_bot(bot)


def _stored_user_events(db_url: str) -> Dict[str, int]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT sender_id, COUNT(*) FROM events WHERE type_name = 'user' GROUP BY sender_id")
            )
            return {sender: count for sender, count in rows}
    finally:
        engine.dispose()


def test_soak(soak_bot: Tuple[ServedBot, str], kb: KnowledgeBase) -> None:
    bot, db_url = soak_bot
    outcome, planned = asyncio.run(_soak(bot.base_url, kb))
    assert outcome.errors == [], outcome.errors[:10]
    assert sum(outcome.turns.values()) == TURNS
    assert outcome.unanswered == 0
    assert outcome.missed_crises == [], outcome.missed_crises[:10]
    # A crisis turn is stored in the background just after its reply (the fast path):
    # give the last ones a moment.
    deadline = time.monotonic() + 15
    while True:
        stored = _stored_user_events(db_url)
        if {sender: stored.get(sender, 0) for sender in planned} == planned or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {sender: stored.get(sender, 0) for sender in planned} == planned

