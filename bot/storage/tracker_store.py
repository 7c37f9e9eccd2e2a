"""The tracker store named in ``endpoints.yml``: Rasa's SQL store, configured from the environment.

Why not ``type: sql`` with ``${VAR}``s in ``endpoints.yml``: Rasa fails on unset variables,
and one file must serve three set-ups. Without ``DB_URL``/``DB_HOST`` conversations go to
an SQLite file in ``DATA_DIR`` (default ``var/``, created here if missing), so a single server keeps
them across restarts with no database server; with them, to PostgreSQL, which several
Rasa servers can share.

What it adds to Rasa's ``SQLTrackerStore``:

* ``PRIVACY_MODE=redact`` stores events without the user's words (``redaction.py``);
* database errors are re-raised as ``TrackerStoreUnavailable`` with a message that says
  which store failed and how, but never the SQL parameters. Rasa wraps every tracker store
  in ``FailSafeTrackerStore``, which logs the error at ERROR and carries on with an
  in-memory tracker, so the person still gets an answer; SQLAlchemy's own message would
  quote the INSERT, including what the person wrote;
* a turn answered without its history (the read failed) is never appended to the stored
  conversation, which stays as it was and continues once the database is back;
* SQLite writes through a write-ahead log, synced at every commit (``_use_write_ahead_log``);
* PostgreSQL's stale pooled connections are tested before use (``pool_pre_ping``), so the first turn
  after PostgreSQL comes back is stored instead of failing once more, and connecting gives
  up after ``CONNECT_TIMEOUT_SECONDS`` instead of hanging on an unreachable host.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from typing import Any, Dict, Iterable, Iterator, Set

import sqlalchemy as sa
import sqlalchemy.exc
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot import metrics
from bot.storage.errors import describe_error
from bot.storage.redaction import redact_event
from bot.storage.settings import data_dir, database_url, describe_database, redact_enabled

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5


class TrackerStoreUnavailable(RuntimeError):
    """The database could not be read or written; the message is safe to log."""


class ConfiguredTrackerStore(SQLTrackerStore):
    """SQLite in ``DATA_DIR`` or the database of ``DB_URL``, with the redact privacy mode."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        """Connects to the configured database and creates the events table if needed.

        ``host`` (the endpoint's ``url``) and other endpoint keys are not used: the
        environment decides, so ``endpoints.yml`` never holds a password.
        """
        url = database_url()
        self.redact = redact_enabled()
        self.location = describe_database(url)
        if url.startswith("sqlite:"):
            # Only this user may read the folder: it holds what people wrote.
            data_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
        #: Conversations whose history could not be read: see ``save``.
        self._unread: Set[str] = set()
        super().__init__(domain=domain, host=url, event_broker=event_broker)
        self.engine.dispose()
        self.engine = sa.create_engine(url, **_engine_kwargs(url))
        if url.startswith("sqlite:"):
            sa.event.listen(self.engine, "connect", _use_write_ahead_log)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._statements = _Statements(self.SQLEvent.__table__)
        logger.info(
            "Conversations are stored in the %s%s",
            self.location,
            " without the users' words (PRIVACY_MODE=redact)" if self.redact else "",
        )

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session of a conversation, or ``None`` if there is none."""
        try:
            with self._unavailable_on_error("read a conversation from", "read"):
                tracker = await super().retrieve(sender_id)
        except TrackerStoreUnavailable:
            self._unread.add(sender_id)
            raise
        self._unread.discard(sender_id)
        return tracker

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        """Rasa's reading of a conversation, the latest session through a prepared statement."""
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.engine.connect() as connection:
            stored = connection.execute(self._statements.read_session, {"sender_id": sender_id}).scalars().all()
        if not (self.domain and stored):
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for data in stored], self.domain.slots)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Every session of a conversation (used by the HTTP API)."""
        with self._unavailable_on_error("read a conversation from", "read"):
            return await super().retrieve_full_tracker(conversation_id)

    async def keys(self) -> Iterable[str]:
        """The ids of all stored conversations."""
        with self._unavailable_on_error("list the conversations in", "list"):
            return await super().keys()

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Appends the tracker's new events, redacted in privacy mode.

        Same rows as Rasa's ``SQLTrackerStore.save``; only the ``data`` column differs.
        Rasa's lock store serialises the turns of one conversation, so counting the
        stored events of the current session tells which events are new.

        A turn whose history could not be read was answered from a fresh tracker (Rasa's
        fallback); if the database came back meanwhile, appending part of that tracker
        would corrupt the stored conversation, so such a turn is not saved.
        """
        if tracker.sender_id in self._unread:
            raise TrackerStoreUnavailable(
                f"Did not save a turn to the {self.location}: it was answered without the "
                "conversation's history, which could not be read"
            )
        await self.stream_events(tracker)
        with self._unavailable_on_error("save a conversation to", "save"), self.engine.begin() as connection:
            stored = connection.execute(self._statements.count_session, {"sender_id": tracker.sender_id}).scalar_one()
            rows = [self._row(tracker.sender_id, event) for event in itertools.islice(tracker.events, stored, None)]
            if rows:
                connection.execute(self._statements.insert, rows)

    def _row(self, sender_id: str, event: Event) -> Dict[str, Any]:
        """The ``events`` row Rasa's ``SQLTrackerStore`` would write, redacted in privacy mode."""
        data = event.as_dict()
        stored = redact_event(data) if self.redact else data
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(stored),
        }

    @contextlib.contextmanager
    def _unavailable_on_error(self, doing: str, operation: str) -> Iterator[None]:
        """Turns a database error into Rasa's ``TrackerStoreUnavailable``, counted by ``operation``."""
        try:
            yield
        except sqlalchemy.exc.SQLAlchemyError as error:
            metrics.record_store_error("tracker", operation)
            raise TrackerStoreUnavailable(
                f"Could not {doing} the {self.location}: {describe_error(error)}. "
                "Replies continue without the conversation's history until it is reachable again"
            ) from None


class _Statements:
    """The three statements of a turn, built once, with the same meaning as Rasa's queries.

    Why: Rasa's ``SQLTrackerStore`` builds an ORM query for every read and every save and
    adds each new event through the ORM's unit of work; that was about 40% of the Rasa
    server's CPU per turn (``make bench``). These are plain SQL statements that SQLAlchemy
    compiles once and caches. The latest session is what Rasa reads too: the events from
    the newest ``session_started`` timestamp on, or all of them if there is none.
    """

    def __init__(self, events: sa.Table) -> None:
        """Prepares the read, count and insert statements for Rasa's ``events`` table."""
        sender = events.c.sender_id == sa.bindparam("sender_id")
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(sender, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        in_session = sa.and_(sender, sa.or_(events.c.timestamp >= session_start, session_start.is_(None)))
        self.read_session = sa.select(events.c.data).where(in_session).order_by(events.c.id)
        self.count_session = sa.select(sa.func.count()).select_from(events).where(in_session)
        self.insert = events.insert()


def _use_write_ahead_log(connection: Any, _record: Any) -> None:
    """Switches an SQLite connection to write-ahead logging, still synced at every commit.

    Why: in SQLite's default rollback-journal mode each commit writes and syncs a journal
    and the database and deletes the journal, about 1.8 ms with the server waiting (Rasa's
    SQL store is synchronous); with the write-ahead log it is one append and one sync,
    about 0.6 ms here, and readers (``python -m bot.storage.purge``, a second Sanic
    worker) no longer block the writer. ``synchronous=FULL`` keeps every answered turn on
    disk when the server or the machine stops.
    """
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _engine_kwargs(url: str) -> Dict[str, Any]:
    """Rasa's engine options plus a pool for SQLite and, for PostgreSQL, stale-connection checks.

    SQLAlchemy 1.4 opens a new SQLite connection for every use of a file database; with
    the pragmas of ``_use_write_ahead_log`` that was about 8% of the Rasa server's CPU per
    turn (``make bench``), so connections are pooled. A pooled connection is used by one
    thread at a time, which is what ``check_same_thread`` would otherwise insist on.
    SQLite is a local file, so it needs no ping before use (a query every turn).
    """
    kwargs = create_engine_kwargs(url)
    backend = sa.engine.make_url(url).get_backend_name()
    if backend == "sqlite":
        kwargs["poolclass"] = sa.pool.QueuePool
        kwargs["connect_args"] = {**(kwargs.get("connect_args") or {}), "check_same_thread": False}
    if backend == "postgresql":
        kwargs["pool_pre_ping"] = True
        connect_args = dict(kwargs.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
        kwargs["connect_args"] = connect_args
    return kwargs
