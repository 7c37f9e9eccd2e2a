"""One kept-alive HTTP session per endpoint (the action server), not a new one for every call.

Rasa 3.6 opens a new aiohttp ``ClientSession`` for each request to an endpoint
(``EndpointConfig.request``), so every custom action costs a new TCP connection to the
action server, its handshake and its teardown on both sides: about a third of the
action server's CPU per turn and a few percent of the Rasa server's, measured here as
``make bench`` measures CPU per turn (``bench/tried.md``). The patch makes
``EndpointConfig.session`` hand out one session per endpoint and event loop, with the
same headers, authentication and timeout as Rasa's, whose connections stay open between
calls; ``request`` itself is unchanged.

An idle connection is closed by this side after ``IDLE_SECONDS``, before the action
server's own idle timeout (Sanic's ``KEEP_ALIVE_TIMEOUT``, 5 s), so a call never goes out
on a connection the server is closing. A connection the server closed (it stopped or
restarted) is dropped before the next call, which opens a new one. ``close_sessions``
runs when the Rasa server stops (the REST channel registers it).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Dict, Tuple

import aiohttp
import rasa.utils.endpoints
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_patches.base import Patch, Target

#: Seconds an unused connection stays open; below Sanic's 5 s on the action server.
IDLE_SECONDS = 2.0

_Entry = Tuple["weakref.ref[EndpointConfig]", aiohttp.ClientSession]
#: Per event loop: the session of each endpoint (by id, checked against a weak reference).
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[int, _Entry]] = weakref.WeakKeyDictionary()


class _Borrowed:
    """``async with`` gives the kept session and leaves it open (Rasa closes its own at exit)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        # Two turns of the event loop first: the first polls the sockets, the second runs
        # what they reported, so a close the server sent since the last call (it stopped
        # or restarted) is read and aiohttp drops that connection instead of writing the
        # request into it (tests/test_endpoint_sessions.py restarts a server between calls).
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return self._session

    async def __aexit__(self, *_exc: Any) -> None:
        return None


def new_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """A session configured as ``EndpointConfig.session`` configures one, with kept-alive connections."""
    auth = (
        aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
        if endpoint.basic_auth
        else None
    )
    return aiohttp.ClientSession(
        headers=endpoint.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=rasa.utils.endpoints.DEFAULT_REQUEST_TIMEOUT),
        connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_SECONDS),
    )


def kept_session(endpoint: EndpointConfig) -> _Borrowed:
    """``EndpointConfig.session``: this endpoint's session on the running loop, made on first use."""
    per_loop = _sessions.setdefault(asyncio.get_running_loop(), {})
    entry = per_loop.get(id(endpoint))
    if entry is None or entry[0]() is not endpoint or entry[1].closed:
        entry = per_loop[id(endpoint)] = (weakref.ref(endpoint), new_session(endpoint))
    return _Borrowed(entry[1])


async def close_sessions(*_args: Any) -> None:
    """Closes the sessions of the running loop (a Sanic ``after_server_stop`` listener)."""
    for _endpoint, session in _sessions.pop(asyncio.get_running_loop(), {}).values():
        await session.close()


def apply() -> None:
    """Makes every later request to an endpoint go through that endpoint's kept session."""
    EndpointConfig.session = kept_session  # type: ignore[method-assign]


PATCH = Patch(
    name="endpoint_sessions",
    targets=(
        Target(
            "rasa.utils.endpoints:EndpointConfig.session",
            used_by="rasa.utils.endpoints:EndpointConfig.request",
        ),
    ),
    summary="one kept-alive HTTP session per endpoint, not one per call "
    "(action server CPU per turn 1.3 -> 0.5-0.9 ms)",
    apply=apply,
)
