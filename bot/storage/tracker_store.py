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
* stale pooled connections are tested before use (``pool_pre_ping``), so the first turn
  after PostgreSQL comes back is stored instead of failing once more, and connecting gives
  up after ``CONNECT_TIMEOUT_SECONDS`` instead of hanging on an unreachable host.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any, Dict, Iterable, Iterator, Set

import sqlalchemy as sa
import sqlalchemy.exc
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

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
        self.engine = sa.create_engine(url, pool_pre_ping=True, **_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        logger.info(
            "Conversations are stored in the %s%s",
            self.location,
            " without the users' words (PRIVACY_MODE=redact)" if self.redact else "",
        )

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session of a conversation, or ``None`` if there is none."""
        try:
            with self._unavailable_on_error("read a conversation from"):
                tracker = await super().retrieve(sender_id)
        except TrackerStoreUnavailable:
            self._unread.add(sender_id)
            raise
        self._unread.discard(sender_id)
        return tracker

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Every session of a conversation (used by the HTTP API)."""
        with self._unavailable_on_error("read a conversation from"):
            return await super().retrieve_full_tracker(conversation_id)

    async def keys(self) -> Iterable[str]:
        """The ids of all stored conversations."""
        with self._unavailable_on_error("list the conversations in"):
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
        with self._unavailable_on_error("save a conversation to"), self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                stored = redact_event(data) if self.redact else data
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=(data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(stored),
                    )
                )
            session.commit()

    @contextlib.contextmanager
    def _unavailable_on_error(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlalchemy.exc.SQLAlchemyError as error:
            raise TrackerStoreUnavailable(
                f"Could not {doing} the {self.location}: {describe_error(error)}. "
                "Replies continue without the conversation's history until it is reachable again"
            ) from None


def _engine_kwargs(url: str) -> Dict[str, Any]:
    """Rasa's engine options (PostgreSQL schema) plus a connect timeout for PostgreSQL."""
    kwargs = create_engine_kwargs(url)
    if sa.engine.make_url(url).get_backend_name() == "postgresql":
        connect_args = dict(kwargs.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
        kwargs["connect_args"] = connect_args
    return kwargs
