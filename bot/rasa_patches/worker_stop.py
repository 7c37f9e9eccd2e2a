"""A Sanic worker told to stop while it is still starting stops, instead of serving on forever.

Sanic replaced: ``sanic.server.runners.serve``, which each worker runs when Rasa starts
several (``SANIC_WORKERS`` > 1, Sanic 21.12 as Rasa 3.6 pins it). A worker installs its
stop handler only once it listens, after Rasa has loaded the model (several seconds).
Until then it keeps the Python signal handler it inherited from the main process, so a
SIGTERM sent while it loads (``make run`` stopped early, a container restarted, a
supervisor's stop) is spent on that handler: the worker then starts serving, the main
process waits for it for ever, and ``scripts/run.sh`` never exits. Seen in CI as a test
that timed out stopping the bot, with the second worker still up.

The replacement runs Sanic's own ``serve`` with SIGTERM and SIGINT blocked while the
worker starts, so a stop request waits as a pending signal instead of being lost. Twice
(once the model is loaded, and once the worker listens with Sanic's handler in place) it
looks for one: if a stop is pending, the worker exits before it serves anyone; otherwise
the signals are unblocked just after the second look, and Sanic's own handler stops the
worker gracefully from then on. A single-process server (one worker) is left as it is: SIGTERM
still ends it at once. Gain: ``make run`` with several workers stops whenever it is
told to; no cost per turn. Not closed: a stop in the few milliseconds between a worker's
fork and the first line of this wrapper is still lost, as Sanic's main process has its
own gap between starting a worker and listing it; the seconds of loading are covered.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any, Callable, FrozenSet

import sanic.server.runners

from bot.rasa_patches.base import Patch, Target

logger = logging.getLogger(__name__)

#: The signals that stop a Sanic worker (the main process forwards both as SIGTERM).
STOP_SIGNALS: FrozenSet[signal.Signals] = frozenset({signal.SIGTERM, signal.SIGINT})


def stop_if_asked(*_listener_args: Any) -> None:
    """Exits this worker (before it serves) if a stop signal arrived while it started.

    A Sanic listener; ``SystemExit`` ends the worker process with status 0 and the main
    process, which is waiting for its workers, then exits too.
    """
    if STOP_SIGNALS & signal.sigpending():
        logger.info("A Sanic worker was asked to stop while it was starting; it stops before serving.")
        sys.exit(0)


def serve_when_started(app: Any, loop: asyncio.AbstractEventLoop) -> None:
    """The last look for a stop request, then Sanic's own stop handler takes over (a listener).

    The signals are unblocked one turn of the event loop later, when Sanic has left the
    startup and is serving: a stop handled while the startup still runs the loop would
    stop that run, not the serving one, and the worker would serve on for ever.
    """
    stop_if_asked(app, loop)
    loop.call_soon(signal.pthread_sigmask, signal.SIG_UNBLOCK, STOP_SIGNALS)


def patched(serve: Callable[..., Any]) -> Callable[..., Any]:
    """Sanic's ``serve`` that keeps a worker's stop request until the worker can act on it."""

    def serve_keeping_stop_requests(*args: Any, **settings: Any) -> Any:
        if not settings.get("run_multiple"):
            return serve(*args, **settings)
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        app = settings["app"]
        # Registered in the worker, after Rasa's own model loader, so they run after it.
        app.register_listener(stop_if_asked, "before_server_start")
        app.register_listener(serve_when_started, "after_server_start")
        return serve(*args, **settings)

    return serve_keeping_stop_requests


def apply() -> None:
    """Every later Sanic worker runs through ``serve_keeping_stop_requests``."""
    sanic.server.runners.serve = patched(sanic.server.runners.serve)


PATCH = Patch(
    name="worker_stop",
    targets=(Target("sanic.server.runners:serve", used_by="sanic.server.runners:serve_multiple"),),
    summary="a Sanic worker asked to stop while it loads the model stops, instead of serving on for ever",
    apply=apply,
)
