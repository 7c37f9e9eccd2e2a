"""The tracker store and lock store chosen from the environment, retention, and restarts.

Unit tests run the store in-process on SQLite files and on a PostgreSQL started by
``scripts/services.sh``; the restart test runs the bot as ``make run`` does, twice, on
the same ``DATA_DIR``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.knowledge import KnowledgeBase
from bot.storage.lock_store import ConfiguredLockStore
from bot.storage.settings import StorageConfigError, database_url, redact_enabled, redis_settings
from bot.storage.tracker_store import ConfiguredTrackerStore, TrackerStoreUnavailable
from tests.conftest import start_bot, stop_bot
from tests.storage_services import Services, child_pids, rasa_server_pids
from tests.support import OUTPUT, ROOT, RestClient, free_port, sqlite_store_bytes, topics_of

DAY = 24 * 60 * 60
STORAGE_VARIABLES = ("DB_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD",
                     "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASSWORD", "PRIVACY_MODE")


# --- settings ---------------------------------------------------------------------------

@pytest.mark.unit
def test_without_a_database_url_conversations_go_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    assert database_url({"DATA_DIR": str(tmp_path / "d")}) == f"sqlite:///{tmp_path / 'd' / 'tracker.db'}"
    assert database_url({}) == f"sqlite:///{Path('var').resolve() / 'tracker.db'}"


@pytest.mark.unit
def test_db_url_and_the_separate_database_variables() -> None:
    assert database_url({"DB_URL": "postgresql://u:p@db:5432/rasa", "DB_HOST": "x"}) == "postgresql://u:p@db:5432/rasa"
    assert database_url({"DB_URL": "postgres://u@db/rasa"}) == "postgresql://u@db/rasa"
    url = sa.engine.make_url(database_url(
        {"DB_HOST": "db.internal", "DB_USER": "bot", "DB_PASSWORD": "p@ss/word:1", "DB_NAME": "chats"}
    ))
    assert (url.drivername, url.host, url.port, url.database, url.username, url.password) == (
        "postgresql", "db.internal", 5432, "chats", "bot", "p@ss/word:1")


@pytest.mark.unit
@pytest.mark.parametrize("env", [{"DB_URL": "not a url with secret-pw"}, {"DB_HOST": "db", "DB_PORT": "70000"},
                                 {"DB_HOST": "db", "DB_PORT": "five"}])
def test_unusable_database_settings_are_refused_without_echoing_them(env: Dict[str, str]) -> None:
    with pytest.raises(StorageConfigError) as refused:
        database_url(env)
    assert "secret-pw" not in str(refused.value)
    assert "DB_" in str(refused.value)


@pytest.mark.unit
def test_redis_settings_from_url_or_host() -> None:
    assert redis_settings({}) is None
    assert redis_settings({"REDIS_URL": "redis://:s%40cret@cache:6380/3"}) == {
        "host": "cache", "port": 6380, "db": 3, "username": None, "password": "s@cret", "use_ssl": False}
    assert redis_settings({"REDIS_URL": "rediss://user:pw@cache"}) == {
        "host": "cache", "port": 6379, "db": 1, "username": "user", "password": "pw", "use_ssl": True}
    assert redis_settings({"REDIS_HOST": "cache", "REDIS_PASSWORD": "pw"}) == {
        "host": "cache", "port": 6379, "db": 1, "password": "pw"}


@pytest.mark.unit
@pytest.mark.parametrize("url", ["http://cache:6379", "redis://cache:port/1", "redis://cache/first"])
def test_unusable_redis_urls_are_refused(url: str) -> None:
    with pytest.raises(StorageConfigError, match="REDIS_URL"):
        redis_settings({"REDIS_URL": url})


@pytest.mark.unit
def test_privacy_mode_is_redact_or_nothing() -> None:
    assert redact_enabled({"PRIVACY_MODE": "redact"}) and redact_enabled({"PRIVACY_MODE": " Redact "})
    assert not redact_enabled({}) and not redact_enabled({"PRIVACY_MODE": ""})
    with pytest.raises(StorageConfigError, match="PRIVACY_MODE"):
        redact_enabled({"PRIVACY_MODE": "redcat"})


@pytest.mark.unit
def test_lock_store_is_redis_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in STORAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert type(ConfiguredLockStore()) is InMemoryLockStore
    monkeypatch.setenv("REDIS_URL", "redis://:pw@127.0.0.1:6390/4")
    store = ConfiguredLockStore()
    assert isinstance(store, RedisLockStore)
    connection = store.red.connection_pool.connection_kwargs
    assert (connection["host"], connection["port"], connection["db"], connection["password"]) == (
        "127.0.0.1", 6390, 4, "pw")


# --- the store, in-process --------------------------------------------------------------

@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def postgres() -> Iterator[Services]:
    services = Services("tracker-store")
    services.start()
    yield services
    services.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Dict[str, str]:
    """What selects each database: a DATA_DIR (SQLite) or a DB_URL (PostgreSQL)."""
    if request.param == "sqlite":
        return {"DATA_DIR": str(tmp_path / "data")}
    return {"DB_URL": request.getfixturevalue("postgres").env["DB_URL"]}


def make_store(monkeypatch: pytest.MonkeyPatch, domain: Domain, **env: str) -> ConfiguredTrackerStore:
    for name in STORAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ConfiguredTrackerStore(domain=domain)


def rows(store: ConfiguredTrackerStore, sender_id: str) -> List[Dict[str, Any]]:
    with store.engine.connect() as connection:
        result = connection.execute(
            sa.text("SELECT type_name, timestamp, data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender_id}
        )
        return [{"type": row[0], "timestamp": row[1], "data": json.loads(row[2])} for row in result]


def conversation(start: float, question: str, topic: str) -> List[Event]:
    """One session: the events Rasa stores for one question and its answer.

    As in Rasa, ``session_started`` is stamped just before the ``action_session_start``
    that logs it: Rasa reads a session back from that timestamp on.
    """
    return [
        ActionExecuted("action_session_start", timestamp=start + 1),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start + 2),
        UserUttered(question, intent={"name": topic, "confidence": 0.9}, timestamp=start + 3),
        ActionExecuted("action_answer_topic", timestamp=start + 4),
        BotUttered("A curated answer.", timestamp=start + 5),
        SlotSet("topic", topic, timestamp=start + 6),
        ActionExecuted("action_listen", timestamp=start + 7),
    ]


def save(store: Any, sender_id: str, events: List[Event], domain: Domain) -> DialogueStateTracker:
    tracker = DialogueStateTracker.from_events(sender_id, events, domain.slots)
    asyncio.run(store.save(tracker))
    return tracker


@pytest.mark.unit
def test_sqlite_store_is_created_in_data_dir_and_keeps_conversations(
    monkeypatch: pytest.MonkeyPatch, domain: Domain, tmp_path: Path
) -> None:
    data_dir = tmp_path / "not" / "yet"
    store = make_store(monkeypatch, domain, DATA_DIR=str(data_dir))
    assert (data_dir / "tracker.db").is_file()
    assert data_dir.stat().st_mode & 0o777 == 0o700, "only the bot's user may read conversations"
    tracker = save(store, "alice", conversation(time.time(), "how long is a session?", "session_length"), domain)
    assert len(rows(store, "alice")) == len(tracker.events)
    # The next turn, as Rasa handles it: read back, add events, save only the new ones.
    tracker = asyncio.run(store.retrieve("alice"))
    tracker.update(UserUttered("tell me more", intent={"name": "tell_me_more", "confidence": 1.0}))
    asyncio.run(store.save(tracker))
    assert [row["type"] for row in rows(store, "alice")] == [event.type_name for event in tracker.events]
    assert [row["type"] for row in rows(store, "alice")].count("user") == 2
    # A new store on the same folder (a restarted server) reads the conversation back.
    again = make_store(monkeypatch, domain, DATA_DIR=str(data_dir))
    restored = asyncio.run(again.retrieve("alice"))
    assert restored.get_slot("topic") == "session_length"
    assert restored.latest_message.text == "tell me more"


@pytest.mark.unit
def test_sqlite_store_pools_a_connection_with_a_write_ahead_log_synced_at_every_commit(
    monkeypatch: pytest.MonkeyPatch, domain: Domain, tmp_path: Path
) -> None:
    store = make_store(monkeypatch, domain, DATA_DIR=str(tmp_path))
    connects: List[object] = []
    sa.event.listen(store.engine, "connect", lambda connection, record: connects.append(connection))
    save(store, "bob", conversation(time.time(), "is therapy confidential?", "confidentiality"), domain)
    for _ in range(3):
        tracker = asyncio.run(store.retrieve("bob"))
        asyncio.run(store.save(tracker))
    assert len(connects) == 1, "turns reuse a pooled connection instead of opening the file again"
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2, "FULL: durable at every commit"
    # The journal mode is a property of the file: any other reader sees it too.
    with contextlib.closing(sqlite3.connect(tmp_path / "tracker.db")) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT count(*) FROM events WHERE sender_id = 'bob'").fetchone()[0] == 8


@pytest.mark.service
def test_postgresql_store_shares_conversations_between_stores(
    monkeypatch: pytest.MonkeyPatch, domain: Domain, postgres: Services
) -> None:
    first = make_store(monkeypatch, domain, DB_URL=postgres.env["DB_URL"])
    second = make_store(monkeypatch, domain, DB_URL=postgres.env["DB_URL"])
    sender = f"pg-{uuid.uuid4().hex[:8]}"
    save(first, sender, conversation(time.time(), "what does therapy cost?", "cost"), domain)
    assert asyncio.run(second.retrieve(sender)).get_slot("topic") == "cost"
    assert "postgresql database 'rasa' on 127.0.0.1" in second.location


SECRET = "my neighbour Hortensia Quillby hurts me"


@pytest.mark.unit
def test_a_failing_save_is_reported_without_the_users_words(
    monkeypatch: pytest.MonkeyPatch, domain: Domain, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store(monkeypatch, domain, DATA_DIR=str(tmp_path))
    with store.engine.begin() as connection:
        connection.execute(sa.text(
            "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk is full'); END"
        ))
    # The user's message first, so that the INSERT that fails is the one holding the text.
    tracker = DialogueStateTracker.from_events(
        "bob", [UserUttered(SECRET, intent={"name": "greet", "confidence": 0.9})], domain.slots
    )
    with pytest.raises(TrackerStoreUnavailable) as raised:
        asyncio.run(store.save(tracker))
    assert SECRET in str(raised.value.__context__), "SQLAlchemy's own message quotes the INSERT"
    assert SECRET not in str(raised.value)
    assert "Could not save a conversation to the SQLite file" in str(raised.value)
    # Rasa wraps the store like this: it logs the error and keeps the turn in memory.
    caplog.set_level(logging.ERROR)
    asyncio.run(FailSafeTrackerStore(store).save(tracker))
    assert "Could not save a conversation to the SQLite file" in caplog.text
    assert SECRET not in caplog.text
    assert "Hortensia" not in caplog.text


@pytest.mark.unit
def test_a_failing_read_names_the_problem(
    monkeypatch: pytest.MonkeyPatch, domain: Domain, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store(monkeypatch, domain, DATA_DIR=str(tmp_path))
    with store.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE events RENAME TO moved"))
    with pytest.raises(TrackerStoreUnavailable, match="OperationalError: no such table: events"):
        asyncio.run(store.retrieve("carol"))
    caplog.set_level(logging.ERROR)
    assert asyncio.run(FailSafeTrackerStore(store).retrieve("carol")) is None
    assert "Could not read a conversation from the SQLite file" in caplog.text


@pytest.mark.unit
def test_a_turn_answered_without_its_history_is_not_merged_into_it(
    monkeypatch: pytest.MonkeyPatch, domain: Domain, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store(monkeypatch, domain, DATA_DIR=str(tmp_path))
    failsafe = FailSafeTrackerStore(store)  # as Rasa wraps it
    save(store, "dave", conversation(time.time() - 60, "what does therapy cost?", "cost"), domain)
    before = rows(store, "dave")
    with store.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE events RENAME TO moved"))
    fresh = asyncio.run(failsafe.get_or_create_tracker("dave"))  # unreadable: Rasa starts afresh
    with store.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE moved RENAME TO events"))  # back before the turn ends
    for event in conversation(time.time(), "how long is a session?", "session_length"):
        fresh.update(event)
    caplog.set_level(logging.ERROR)
    asyncio.run(failsafe.save(fresh))
    assert rows(store, "dave") == before, "the stored conversation is left as it was"
    assert "Did not save a turn to the SQLite file" in caplog.text
    # The next turn reads the history again, and is stored.
    tracker = asyncio.run(failsafe.retrieve("dave"))
    assert tracker.get_slot("topic") == "cost"
    tracker.update(UserUttered("tell me more", intent={"name": "tell_me_more", "confidence": 1.0}))
    asyncio.run(failsafe.save(tracker))
    assert len(rows(store, "dave")) == len(before) + 1


# --- retention --------------------------------------------------------------------------

def run_purge(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in STORAGE_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "bot.storage.purge", *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=300,
    )


@pytest.mark.service
def test_prepared_statements_read_and_count_what_rasas_queries_do(
    monkeypatch: pytest.MonkeyPatch, domain: Domain, store_env: Dict[str, str]
) -> None:
    """Our statements replace Rasa's ORM queries; on every shape of conversation they agree."""
    store = make_store(monkeypatch, domain, **store_env)
    now = time.time()
    tag = uuid.uuid4().hex[:8]
    no_session = [UserUttered("hi", intent={"name": "greet", "confidence": 1.0}, timestamp=now - 50),
                  ActionExecuted("action_listen", timestamp=now - 49)]
    shapes = {
        f"one-{tag}": conversation(now - 100, "what is cbt?", "therapy_types"),
        f"two-{tag}": conversation(now - 9000, "what is cbt?", "therapy_types")
        + conversation(now - 100, "what does therapy cost?", "cost"),
        f"none-{tag}": no_session,
        f"missing-{tag}": [],
    }
    for sender, events in shapes.items():
        if events:
            save(store, sender, events, domain)
    for sender in shapes:
        ours = asyncio.run(store.retrieve(sender))
        rasas = asyncio.run(SQLTrackerStore._retrieve(store, sender, False))
        assert (ours is None) == (rasas is None) == (sender.startswith("missing"))
        if ours is not None:
            assert ours.current_state() == rasas.current_state()
            assert [e.as_dict() for e in ours.events] == [e.as_dict() for e in rasas.events]
        with store.engine.connect() as connection, store.session_scope() as session:
            counted = connection.execute(store._statements.count_session, {"sender_id": sender}).scalar_one()
            assert counted == store._event_query(session, sender, fetch_events_from_all_sessions=False).count()
    assert len(asyncio.run(store.retrieve(f"two-{tag}")).events) == 8, "only the latest session"


@pytest.mark.service
def test_purge_deletes_what_is_older_than_the_retention_period(
    monkeypatch: pytest.MonkeyPatch, domain: Domain, store_env: Dict[str, str]
) -> None:
    store = make_store(monkeypatch, domain, **store_env)
    now = time.time()
    tag = uuid.uuid4().hex[:8]
    gone, active, recent = f"gone-{tag}", f"active-{tag}", f"recent-{tag}"
    save(store, gone, conversation(now - 40 * DAY, "what is cbt?", "therapy_types"), domain)
    save(store, active, conversation(now - 40 * DAY, "what is cbt?", "therapy_types")
         + conversation(now - 3600, "what does therapy cost?", "cost"), domain)
    save(store, recent, conversation(now - 2 * DAY, "how long is a session?", "session_length"), domain)
    recent_rows = rows(store, recent)

    result = run_purge(store_env, "--days", "30")

    assert result.returncode == 0, result.stderr
    assert "16 events older than 30 days (1 whole conversations, 8 events of earlier sessions)" in result.stdout
    assert tag not in result.stdout + result.stderr, "the purge prints counts, not conversation ids"
    assert rows(store, gone) == []
    kept = rows(store, active)
    assert len(kept) == 8 and all(row["timestamp"] >= now - 3600 for row in kept)
    assert asyncio.run(store.retrieve(active)).get_slot("topic") == "cost"
    assert rows(store, recent) == recent_rows
    assert ": 0 events older than 30 days" in run_purge(store_env, "--days", "30").stdout, "nothing left to purge"


@pytest.mark.unit
def test_purge_knows_rasas_table() -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    from bot.storage.purge import EVENTS, SESSION_STARTED

    rasa_table = SQLTrackerStore.SQLEvent.__table__
    assert EVENTS.name == rasa_table.name
    assert set(EVENTS.c.keys()) <= set(rasa_table.c.keys())
    assert SESSION_STARTED == SessionStarted.type_name


@pytest.mark.service
@pytest.mark.parametrize("days", ["0", "-3", "thirty"])
def test_purge_refuses_a_retention_period_that_is_not_a_positive_number(days: str, tmp_path: Path) -> None:
    result = run_purge({"DATA_DIR": str(tmp_path)}, "--days", days)
    assert result.returncode == 2
    assert "--days" in result.stderr


@pytest.mark.service
def test_purge_reports_an_unreachable_database_clearly() -> None:
    result = run_purge({"DB_URL": f"postgresql://rasa@127.0.0.1:{free_port()}/rasa"}, "--days", "30")
    assert result.returncode == 1
    assert "could not purge the postgresql database 'rasa'" in result.stderr
    assert "OperationalError" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.service
def test_purge_without_a_database_yet_does_nothing(tmp_path: Path) -> None:
    result = run_purge({"DATA_DIR": str(tmp_path / "empty")}, "--days", "30")
    assert result.returncode == 0 and "Nothing to purge" in result.stdout
    assert not (tmp_path / "empty").exists()


# --- the served bot ----------------------------------------------------------------------

@pytest.mark.service
def test_a_conversation_continues_after_a_restart(tmp_path: Path, kb: KnowledgeBase) -> None:
    data_dir = tmp_path / "fresh" / "data"  # run.sh creates it
    sender = f"restart-{uuid.uuid4().hex[:8]}"
    bot = start_bot("restart-before.log", DATA_DIR=str(data_dir), SANIC_WORKERS="2")
    try:
        reply = RestClient(bot.base_url, sender).say("how long is a session?")
        assert topics_of(reply)[0] == "session_length", reply
        rasa = rasa_server_pids(bot.process.pid)
        assert len(rasa) == 1 and child_pids(rasa[0]) == [], "without Redis, one Sanic worker"
    finally:
        stop_bot(bot)
    assert "SANIC_WORKERS=2 needs a Redis lock store" in (OUTPUT / "restart-before.log").read_text()
    assert data_dir.stat().st_mode & 0o777 == 0o700
    # Without PRIVACY_MODE the store keeps the words (test_privacy checks the opposite).
    assert b"how long is a session?" in sqlite_store_bytes(data_dir)

    bot = start_bot("restart-after.log", DATA_DIR=str(data_dir))
    try:
        reply = RestClient(bot.base_url, sender).say("tell me more")
    finally:
        stop_bot(bot)
    assert reply[0]["text"] == kb.topic("session_length").long
