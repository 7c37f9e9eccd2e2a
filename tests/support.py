"""Helpers shared by the tests: ports, waiting for servers, talking REST."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import yaml

from bench.procs import free_port as free_port  # one helper for the benchmark and the tests

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "therapy-bot.tar.gz"
OUTPUT = ROOT / "tests" / "output"


def installed_patches(output: str) -> List[str]:
    """The Rasa patches a process's output says it installed (bot.rasa_patches logs one line each)."""
    from bot.rasa_patches import PATCHES

    return [patch.name for patch in PATCHES if f"Rasa patch installed: {patch.name}: " in output]


def wait_for_http(url: str, timeout: float, process: Any = None) -> None:
    """Waits until ``url`` answers 200, failing early if ``process`` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} was up")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up within {timeout} s")


#: What Rasa logs in each Sanic worker once it has loaded the model and is about to serve.
RASA_UP = "Rasa server is up and running."


def wait_for_log(log: Path, text: str, count: int, timeout: float, process: Any = None) -> None:
    """Waits until the log file holds ``text`` ``count`` times, failing early if ``process`` exited.

    With several Sanic workers the chat port answers as soon as one of them serves; a test
    that needs every worker waits for each one's RASA_UP line.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count(text) >= count:
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {log.name} showed {text!r} x{count}")
        time.sleep(0.5)
    raise TimeoutError(f"{log.name} did not show {text!r} {count} times within {timeout} s")


@contextlib.contextmanager
def rasa_alone(port: int, env: Dict[str, str], log: Path, *args: str) -> Iterator[str]:
    """Rasa without the action server, run as scripts/run.sh runs it (bot.patched_rasa); yields its URL."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "bot.patched_rasa", "run", "--model", str(MODEL),
             "--endpoints", "endpoints.yml", "--credentials", "credentials.yml", "--interface", "127.0.0.1",
             "--port", str(port), *args],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_http(f"{url}/webhooks/rest/", timeout=240, process=process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=60)


def post_json(url: str, body: Any, timeout: float = 30) -> tuple[int, Any]:
    """POSTs JSON and returns the status and the decoded reply (errors included)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class RestClient:
    """A sender talking to the bot through the REST channel, as a website would."""

    def __init__(self, base_url: str, sender: str) -> None:
        self.url = f"{base_url}/webhooks/rest/webhook"
        self.sender = sender

    def say(self, message: str, metadata: Dict[str, Any] | None = None) -> List[Dict[str, Any]]:
        body: Dict[str, Any] = {"sender": self.sender, "message": message}
        if metadata is not None:
            body["metadata"] = metadata
        status, reply = post_json(self.url, body)
        assert status == 200, (status, reply)
        assert isinstance(reply, list)
        return reply


def topics_of(reply: List[Dict[str, Any]]) -> List[str]:
    """The ``topic`` of each message of a reply that carries a payload."""
    return [m["custom"]["topic"] for m in reply if isinstance(m.get("custom"), dict)]


def load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


def test_story_user_turns() -> List[List[Tuple[str, str]]]:
    """``(text, intent)`` of each user turn of every end-to-end test story, in order."""
    stories = load_yaml(ROOT / "tests" / "test_stories.yml")["stories"]
    return [
        [(_ANNOTATION.sub(r"\1", step["user"]).strip(), step["intent"])
         for step in story["steps"] if "user" in step]
        for story in stories
    ]


test_story_user_turns.__test__ = False  # a helper, not a pytest test


def sqlite_store_bytes(data_dir: Path) -> bytes:
    """Everything the SQLite tracker store wrote: the database and its write-ahead log.

    Committed turns sit in ``tracker.db-wal`` until SQLite copies them into the database,
    so a check of what is stored must read both (and the shared-memory index).
    """
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("tracker.db*")) if path.is_file())


def check_in_message() -> str:
    """An English message the crisis layer answers with the check-in question, as the models stand.

    Chosen among the English check-in rules' own examples each run: a retrained risk model
    may raise a fixed wording to the full crisis reply (it did for "i feel hopeless and i
    can't go on anymore"), and a test of the check-in must not break because the model
    grew more certain.
    """
    from bot.crisis.rules_loader import load
    from bot.crisis.tiers import assess

    for language in load():
        for rule in language.rules:
            if language.code == "en" and rule.tier == "check_in":
                for text, _kind in rule.examples:
                    if assess(text).tier == "check_in":
                        return text
    raise AssertionError("no check-in rule example gets the check-in any more")
