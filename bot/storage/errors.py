"""Database errors described for logs without the data they may quote."""

from __future__ import annotations

import sqlalchemy.exc


def describe_error(error: sqlalchemy.exc.SQLAlchemyError) -> str:
    """The kind of database error and, for connection problems, the driver's first line.

    Connection-level messages ("connection refused", "database is locked") are what an
    operator needs and hold no data. Other errors are reduced to their class name, since
    drivers may quote values ("Key (x)=(...) already exists") and SQLAlchemy appends the
    statement with its parameters, which include what people wrote.
    """
    name = type(error).__name__
    if isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
        original = str(getattr(error, "orig", "") or "").strip().splitlines()
        if original:
            return f"{name}: {original[0]}"
    return name
