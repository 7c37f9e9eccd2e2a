"""Storage settings, read from the environment.

``endpoints.yml`` cannot hold them: Rasa fails on an unset ``${VAR}`` there, and the same
file must work with no database server (SQLite in ``DATA_DIR``), with PostgreSQL
(``DB_URL``) and with Redis locks (``REDIS_URL``). A value we cannot use stops start-up
with a message that names the variable, never the value (it may contain a password).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Mapping
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATA_DIR = "var"
SQLITE_FILE = "tracker.db"
REDACT = "redact"
#: Rasa's own default database number for the Redis lock store.
DEFAULT_REDIS_DB = 1


class StorageConfigError(ValueError):
    """A storage variable is set to something the assistant cannot use."""


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The folder for runtime data (``DATA_DIR``, default ``var/``), made absolute."""
    return Path(env.get("DATA_DIR") or DEFAULT_DATA_DIR).resolve()


def database_url(env: Mapping[str, str] = os.environ) -> str:
    """The SQLAlchemy URL of the tracker store.

    ``DB_URL`` wins; otherwise ``DB_HOST`` (with ``DB_PORT``, ``DB_NAME``, ``DB_USER``,
    ``DB_PASSWORD``) names a PostgreSQL server, which keeps the password out of a URL;
    otherwise an SQLite file in ``DATA_DIR``, so a single server needs no database server.
    """
    url = (env.get("DB_URL") or "").strip()
    if url:
        if url.startswith("postgres://"):  # the spelling of Heroku and others; SQLAlchemy 1.4 rejects it
            url = "postgresql://" + url[len("postgres://"):]
        try:
            make_url(url)
        except ArgumentError:
            raise StorageConfigError(
                "DB_URL is not a database URL; expected e.g. postgresql://user:password@host:5432/rasa"
            ) from None
        return url
    host = (env.get("DB_HOST") or "").strip()
    if host:
        return URL.create(
            "postgresql",
            username=env.get("DB_USER") or None,
            password=env.get("DB_PASSWORD") or None,
            host=host,
            port=_port(env.get("DB_PORT"), 5432, "DB_PORT"),
            database=env.get("DB_NAME") or "rasa",
        ).render_as_string(hide_password=False)
    return f"sqlite:///{data_dir(env) / SQLITE_FILE}"


def describe_database(url: str) -> str:
    """Where conversations are stored, for log lines: never the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return f"{parsed.get_backend_name()} database '{parsed.database}' on {parsed.host}:{parsed.port or 'default port'}"


def redis_settings(env: Mapping[str, str] = os.environ) -> Dict[str, Any] | None:
    """Keyword arguments for Rasa's ``RedisLockStore``, or ``None`` without Redis.

    ``REDIS_URL`` (``redis://[user:password@]host[:port][/db]``, ``rediss://`` for TLS)
    or ``REDIS_HOST`` with ``REDIS_PORT``, ``REDIS_DB`` and ``REDIS_PASSWORD``.
    """
    url = (env.get("REDIS_URL") or "").strip()
    if url:
        parsed = urlsplit(url)
        if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
            raise StorageConfigError("REDIS_URL must look like redis://[:password@]host[:port][/db]")
        try:
            port = parsed.port or 6379
        except ValueError:
            raise StorageConfigError("REDIS_URL has a port that is not a number") from None
        return {
            "host": parsed.hostname,
            "port": port,
            "db": _number(parsed.path.lstrip("/"), DEFAULT_REDIS_DB, "the database in REDIS_URL"),
            "username": unquote(parsed.username) if parsed.username else None,
            "password": unquote(parsed.password) if parsed.password else None,
            "use_ssl": parsed.scheme == "rediss",
        }
    host = (env.get("REDIS_HOST") or "").strip()
    if host:
        return {
            "host": host,
            "port": _port(env.get("REDIS_PORT"), 6379, "REDIS_PORT"),
            "db": _number(env.get("REDIS_DB"), DEFAULT_REDIS_DB, "REDIS_DB"),
            "password": env.get("REDIS_PASSWORD") or None,
        }
    return None


def redact_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Whether ``PRIVACY_MODE=redact`` is set.

    Any other non-empty value stops start-up: a typo must not silently store what
    people wrote when the operator meant to keep it out.
    """
    mode = (env.get("PRIVACY_MODE") or "").strip().lower()
    if mode and mode != REDACT:
        raise StorageConfigError("PRIVACY_MODE must be 'redact' or unset")
    return mode == REDACT


def _number(value: str | None, default: int, name: str) -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise StorageConfigError(f"{name} must be a whole number") from None
    if number < 0:
        raise StorageConfigError(f"{name} must not be negative")
    return number


def _port(value: str | None, default: int, name: str) -> int:
    port = _number(value, default, name)
    if not 0 < port < 65536:
        raise StorageConfigError(f"{name} must be a port number between 1 and 65535")
    return port
