"""Retention: ``python -m bot.storage.purge --days N`` (or ``make purge DAYS=N``).

Deletes from the tracker store the assistant uses (same ``DB_URL``/``DATA_DIR`` as the
server) every conversation with no message for N days, and, of conversations that are
still going, the events older than N days that belong to earlier sessions. The current
session of an active conversation is never cut, so "tell me more" keeps working; Rasa
starts a new session after 60 idle minutes (``session_config`` in ``domain.yml``), so in
practice nothing older than N days outlives a purge.

Safe to run while the assistant is serving: it deletes only rows a live turn never reads
or writes. Run it daily (cron, a systemd timer, a Kubernetes CronJob) to enforce the
retention period. It prints counts only, never conversation ids or contents.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List

import sqlalchemy as sa
import sqlalchemy.exc

from bot.storage.errors import describe_error
from bot.storage.settings import StorageConfigError, database_url, describe_database

SECONDS_PER_DAY = 24 * 60 * 60
#: The columns of Rasa's ``SQLTrackerStore`` table that a purge needs, declared here so
#: the command does not import Rasa (seconds of start-up); a test holds them to Rasa's.
EVENTS = sa.table("events", sa.column("sender_id"), sa.column("type_name"), sa.column("timestamp"))
SESSION_STARTED = "session_started"


@dataclass(frozen=True)
class PurgeResult:
    """What a purge deleted."""

    conversations: int
    old_session_events: int
    events: int


def purge(engine: sa.engine.Engine, days: int, now: float | None = None) -> PurgeResult:
    """Deletes what is older than ``days`` days, in one transaction.

    ``conversations`` counts conversations deleted whole; ``old_session_events`` counts
    events of earlier sessions of conversations that are still active; ``events`` is
    the total number of rows deleted.
    """
    cutoff = (time.time() if now is None else now) - days * SECONDS_PER_DAY
    if not sa.inspect(engine).has_table(EVENTS.name):
        return PurgeResult(0, 0, 0)
    idle = (
        sa.select(EVENTS.c.sender_id)
        .group_by(EVENTS.c.sender_id)
        .having(sa.func.max(EVENTS.c.timestamp) < cutoff)
    )
    sessions = EVENTS.alias("sessions")
    latest_session_start = (
        sa.select(sa.func.max(sessions.c.timestamp))
        .where(sessions.c.sender_id == EVENTS.c.sender_id, sessions.c.type_name == SESSION_STARTED)
        .scalar_subquery()
    )
    with engine.begin() as connection:
        conversations = connection.execute(sa.select(sa.func.count()).select_from(idle.subquery())).scalar_one()
        whole = connection.execute(sa.delete(EVENTS).where(EVENTS.c.sender_id.in_(idle))).rowcount
        older_sessions = connection.execute(
            sa.delete(EVENTS).where(EVENTS.c.timestamp < cutoff, EVENTS.c.timestamp < latest_session_start)
        ).rowcount
    return PurgeResult(conversations, older_sessions, whole + older_sessions)


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number of days") from None
    if days < 1:
        raise argparse.ArgumentTypeError("must be at least 1 (a purge never deletes today's conversations)")
    return days


def main(argv: List[str] | None = None) -> int:
    """Runs a purge against the configured store and reports counts; 1 if it failed."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.storage.purge",
        description="Delete conversations older than N days from the tracker store (DB_URL, or SQLite in DATA_DIR).",
    )
    parser.add_argument("--days", type=_days, required=True, help="keep the last N days (N >= 1)")
    args = parser.parse_args(argv)
    try:
        url = database_url()
    except StorageConfigError as problem:
        print(f"purge: {problem}", file=sys.stderr)
        return 2
    location = describe_database(url)
    if url.startswith("sqlite:") and not Path(sa.engine.make_url(url).database or "").is_file():
        print(f"Nothing to purge: there is no {location} yet.")
        return 0
    engine = sa.create_engine(url)
    try:
        result = purge(engine, args.days)
    except sqlalchemy.exc.SQLAlchemyError as error:
        print(f"purge: could not purge the {location}: {describe_error(error)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(
        f"Purged the {location}: {result.events} events older than {args.days} days "
        f"({result.conversations} whole conversations, {result.old_session_events} events of earlier sessions)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
