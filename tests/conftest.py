"""Session fixtures: the knowledge, the domain, the trained model, and a running bot.

``make test`` trains the model before pytest starts; the tests reuse that one model.
The running bot is started by ``scripts/run.sh``, exactly as ``make run`` starts it, and
the tests themselves run with the Rasa patches installed, as the servers do.

Every test belongs to one tier, a marker registered in pyproject.toml: ``unit`` (nothing
beyond .venv: no trained model, no servers; ``make test-fast``), ``model`` (a trained
model in-process), ``service`` (servers or programs started for the test) or ``browser``.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import signal
import subprocess
import tempfile
from typing import Any, Dict, Iterator, List

import pytest
from hypothesis import settings as hypothesis_settings

from bot.env import set_process_defaults

set_process_defaults()  # before anything imports Rasa (and so TensorFlow)

from actions.knowledge import KnowledgeBase, load_knowledge  # noqa: E402
from bot import rasa_patches  # noqa: E402
from tests.support import MODEL, OUTPUT, ROOT, free_port, wait_for_http  # noqa: E402

rasa_patches.install()
# Conversations that test servers store (SQLite in DATA_DIR) go to a temporary folder,
# never to the developer's var/; start_bot gives each bot its own folder inside it.
TEST_DATA_ROOT = tempfile.mkdtemp(prefix="therapy-bot-test-data-")
atexit.register(shutil.rmtree, TEST_DATA_ROOT, ignore_errors=True)
os.environ.setdefault("DATA_DIR", os.path.join(TEST_DATA_ROOT, "default"))

# Hypothesis: the same examples on every run of `make test` and `make test-fast` (the "ci"
# profile), so a red build is reproducible and never a matter of luck; `make fuzz` chooses
# the "fuzz" profile (HYPOTHESIS_PROFILE) for fresh random examples, and more of them.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("fuzz", deadline=None, print_blob=True, max_examples=1000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TIERS = ("unit", "model", "service", "browser")
#: Fixtures that load the trained model or start servers: never for a unit test.
HEAVY_FIXTURES = frozenset({"nlu_agent", "parse", "served_bot", "widget_bot"})


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Refuses a test without exactly one tier, or a unit test that asks for the model or a server."""
    problems = []
    for item in items:
        tiers = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
        if len(tiers) != 1:
            problems.append(f"{item.nodeid}: tiers {sorted(tiers)}, needs exactly one of {', '.join(TIERS)}")
        elif tiers == {"unit"} and HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())):
            problems.append(f"{item.nodeid}: a unit test may not use {sorted(HEAVY_FIXTURES & set(item.fixturenames))}")
    if problems:
        raise pytest.UsageError("test tiers (tests/conftest.py):\n  " + "\n  ".join(problems))


def _require_model() -> None:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run the tests through `make test`, which trains it")


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def detector() -> Any:
    """The crisis detector with the project's rules, built once: building one compiles every rule."""
    from bot.crisis.engine import CrisisDetector

    return CrisisDetector()


@pytest.fixture(scope="session")
def domain_dict() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml")).as_dict()


@pytest.fixture(scope="session")
def event_loop_for_agent() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def nlu_agent(event_loop_for_agent: asyncio.AbstractEventLoop) -> Any:
    """The trained model loaded in-process, for parsing many messages quickly."""
    _require_model()
    from rasa.core.agent import Agent

    return Agent.load(str(MODEL))


@pytest.fixture(scope="session")
def parse(nlu_agent: Any, event_loop_for_agent: asyncio.AbstractEventLoop) -> Any:
    """``parse(text) -> parse data`` through the full NLU pipeline of the model."""

    def _parse(text: str) -> Dict[str, Any]:
        return event_loop_for_agent.run_until_complete(nlu_agent.parse_message(text))

    return _parse


class ServedBot:
    """The action server and Rasa server started by ``scripts/run.sh``."""

    def __init__(self, process: subprocess.Popen, rasa_port: int, actions_port: int) -> None:
        self.process = process
        self.base_url = f"http://127.0.0.1:{rasa_port}"
        self.actions_url = f"http://127.0.0.1:{actions_port}"


def new_data_dir(log_name: str) -> str:
    """An empty ``DATA_DIR`` of its own for one served bot, removed with the test session's."""
    return tempfile.mkdtemp(prefix=f"{log_name}-", dir=TEST_DATA_ROOT)


def _default_interrupt() -> None:
    """Ctrl-C does what it does at a terminal, however pytest was started.

    A shell runs a background job (``make test &`` without job control) with SIGINT
    ignored, children inherit that, and bash cannot trap a signal ignored on entry: run.sh
    then never heard the SIGINT that the stop test sends, and the test timed out.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run_sh(log_name: str, env: Dict[str, str], *args: str) -> subprocess.Popen:
    """``scripts/run.sh ARGS`` with ``env``, in a session of its own, its output in tests/output/LOG_NAME."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with open(OUTPUT / log_name, "wb") as log:
        return subprocess.Popen(
            ["scripts/run.sh", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_default_interrupt,
        )


def start_bot(log_name: str, **env_overrides: str) -> ServedBot:
    """Starts ``scripts/run.sh`` on free ports and waits until both servers answer.

    Each bot gets its own empty ``DATA_DIR`` unless the caller passes one, so bots of
    different tests never share an SQLite tracker store.
    """
    _require_model()
    rasa_port, actions_port = free_port(), free_port()
    env = {
        **os.environ,
        "RASA_PORT": str(rasa_port),
        "ACTIONS_PORT": str(actions_port),
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "DATA_DIR": new_data_dir(log_name),
        **env_overrides,
    }
    process = start_run_sh(log_name, env)
    bot = ServedBot(process, rasa_port, actions_port)
    try:
        wait_for_http(f"{bot.actions_url}/health", timeout=120, process=process)
        wait_for_http(f"{bot.base_url}/webhooks/rest/", timeout=240, process=process)
    except Exception:
        stop_bot(bot)
        raise
    return bot


def stop_bot(bot: ServedBot, sig: int = signal.SIGTERM) -> int:
    """Signals run.sh as Ctrl-C or a supervisor would, and returns its exit code."""
    if bot.process.poll() is None:
        bot.process.send_signal(sig)
        try:
            return bot.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(bot.process.pid, signal.SIGKILL)
            raise
    return bot.process.returncode


@pytest.fixture(scope="session")
def served_bot() -> Iterator[ServedBot]:
    bot = start_bot("run.log")
    yield bot
    stop_bot(bot)


#: The other website the widget tests embed the widget in (ALLOWED_ORIGINS of widget_bot).
#: A localhost origin, so Chromium treats the page as local; nothing listens on the port,
#: the browser test supplies the page itself.
WIDGET_ALLOWED_ORIGIN = "http://localhost:8765"


@pytest.fixture(scope="session")
def widget_bot() -> Iterator[ServedBot]:
    """The bot with one other website allowed, shared by the socket.io and browser tests."""
    bot = start_bot("widget.log", ALLOWED_ORIGINS=WIDGET_ALLOWED_ORIGIN)
    yield bot
    stop_bot(bot)
