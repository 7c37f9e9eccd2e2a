"""The lock store named in ``endpoints.yml``: Redis when ``REDIS_URL``/``REDIS_HOST`` is set.

Rasa handles one conversation's messages one at a time by taking a lock per conversation.
The default lock lives in the server's memory, which is enough for one process; several
Sanic workers or several Rasa servers sharing a database need the lock in Redis, or two
of them could answer the same person at once and store interleaved turns.

``scripts/run.sh`` starts extra Sanic workers (``SANIC_WORKERS``) only when Redis is
configured: Rasa allows several workers with any custom lock store class, this one
included, even when it falls back to memory.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

from bot.storage.settings import redis_settings

logger = logging.getLogger(__name__)


class ConfiguredLockStore(LockStore):
    """Builds Rasa's ``RedisLockStore`` or ``InMemoryLockStore`` from the environment.

    Rasa instantiates a custom lock store class from ``endpoints.yml``; returning one of
    its stock stores from ``__new__`` keeps their tested behaviour (and Rasa's
    ``isinstance`` checks) instead of re-implementing or wrapping them.
    """

    def __new__(cls, endpoint_config: Any = None) -> LockStore:  # type: ignore[misc]
        """The stock lock store the environment asks for; ``endpoint_config`` is unused."""
        settings = redis_settings()
        if settings is None:
            return InMemoryLockStore()
        logger.info("Conversation locks are kept in Redis at %s:%s", settings["host"], settings["port"])
        return RedisLockStore(**settings)
