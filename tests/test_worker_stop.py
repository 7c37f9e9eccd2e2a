"""Stopping the bot while its Sanic workers still load the model (bot/rasa_patches/worker_stop.py).

Sanic 21.12 lost a SIGTERM that reached a worker before it listened, and ``scripts/run.sh``
then waited for that worker for ever. The unit tests run the patch's listeners in a
child process with a signal pending or not; the service test stops a two-worker bot
while both workers are loading and expects it gone in seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from bot.rasa_patches import worker_stop
from tests.conftest import new_data_dir, start_run_sh
from tests.storage_services import Services, child_pids, rasa_server_pids
from tests.support import OUTPUT, RASA_UP, ROOT, free_port, wait_for_log

STOPPED_EARLY = "A Sanic worker was asked to stop while it was starting; it stops before serving."


def _child(body: str) -> subprocess.CompletedProcess:
    """Runs ``body`` in a fresh Python with the patch module imported as ``ws``.

    The stop signals are blocked first, as in a newly forked worker, so that every thread
    started by the imports (TensorFlow starts some) blocks them too.
    """
    code = (
        "import asyncio, os, signal\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})\n"
        "from bot.rasa_patches import worker_stop as ws\n"
    ) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.unit
def test_a_stop_that_arrived_while_starting_ends_the_worker_before_it_serves() -> None:
    ran = _child("""
        os.kill(os.getpid(), signal.SIGTERM)
        ws.stop_if_asked(None, None)
        print("served")
    """)
    assert ran.returncode == 0, ran.stderr
    assert "served" not in ran.stdout


@pytest.mark.unit
def test_without_a_stop_the_worker_serves_and_sanics_handler_hears_the_next_one() -> None:
    ran = _child("""
        loop = asyncio.new_event_loop()
        heard = []
        loop.add_signal_handler(signal.SIGTERM, lambda: (heard.append("stop"), loop.stop()))
        ws.serve_when_started(None, loop)
        print("blocked while starting:", signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, []))
        loop.call_soon(os.kill, os.getpid(), signal.SIGTERM)
        loop.run_forever()
        print("heard:", heard)
    """)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["blocked while starting: True", "heard: ['stop']"]


@pytest.mark.unit
def test_one_worker_runs_sanics_own_serve_untouched() -> None:
    calls: list = []
    serve = worker_stop.patched(lambda **settings: calls.append(settings) or "served")
    assert serve(app=None, run_multiple=False) == "served"
    assert calls == [{"app": None, "run_multiple": False}]
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


@contextlib.contextmanager
def two_worker_bot(name: str) -> Iterator[Tuple[subprocess.Popen, Path]]:
    """``scripts/run.sh`` with two Sanic workers on PostgreSQL and Redis, and its log; killed if still running."""
    services = Services(name)
    env = services.start()
    try:
        process = start_run_sh(f"{name}.log", {
            **os.environ, **env, "SANIC_WORKERS": "2", "RASA_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()), "DATA_DIR": new_data_dir(f"{name}.log"),
        })
        try:
            yield process, OUTPUT / f"{name}.log"
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    finally:
        services.stop()


@pytest.mark.service
def test_a_two_worker_bot_stopped_while_loading_the_model_stops() -> None:
    with two_worker_bot("worker-stop") as (process, log):
        # Each worker logs this from its first startup listener, once the patch has blocked the signals.
        wait_for_log(log, "Loading model", 2, timeout=120, process=process)
        rasa = rasa_server_pids(process.pid)
        assert rasa and len(child_pids(rasa[0])) == 2
        assert RASA_UP not in log.read_text(errors="replace"), "a worker had loaded the model before the stop"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 143
    text = log.read_text(errors="replace")
    assert text.count(STOPPED_EARLY) >= 1
    assert "Traceback" not in text


@pytest.mark.service
def test_a_two_worker_bot_that_serves_still_stops_gracefully() -> None:
    with two_worker_bot("worker-stop-serving") as (process, log):
        wait_for_log(log, RASA_UP, 2, timeout=240, process=process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 143
    assert STOPPED_EARLY not in log.read_text(errors="replace")
