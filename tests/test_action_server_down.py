"""Action server faults: down, hung, and back again, with one Rasa server throughout.

Crisis replies come from the domain and need no action server. Knowledge questions get
a short "having trouble" reply with the crisis line while the action server is down or
hung (``ACTION_TIMEOUT`` bounds the wait), and answers resume as soon as it is back,
without restarting Rasa.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, Tuple

import pytest

from bot.crisis.regions import REGIONS
from tests.support import OUTPUT, ROOT, RestClient, free_port, rasa_alone, topics_of, wait_for_http

pytestmark = pytest.mark.service

#: Seconds Rasa waits for the action server in this test (the default is 10).
ACTION_TIMEOUT = 3
#: Far longer than any client here waits: a reply can only come from the timeout.
HUNG_SECONDS = 120


@pytest.fixture(scope="module")
def rasa_and_action_port() -> Iterator[Tuple[str, int]]:
    """A Rasa server whose action endpoint is a port where nothing listens yet."""
    port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
        "ACTION_TIMEOUT": str(ACTION_TIMEOUT),
        "DATA_DIR": tempfile.mkdtemp(prefix="no-actions-"),
    }
    with rasa_alone(port, env, OUTPUT / "rasa-no-actions.log") as url:
        yield url, action_port


def _client(base_url: str) -> RestClient:
    return RestClient(base_url, f"down-{uuid.uuid4().hex[:8]}")


def test_crisis_reply_needs_no_action_server(rasa_and_action_port: Tuple[str, int]) -> None:
    base_url, _ = rasa_and_action_port
    reply = _client(base_url).say("i want to kill myself")
    assert reply[0]["custom"] == {
        "topic": "crisis", "kind": "self", "region": "US", "links": REGIONS["US"].link_dicts(),
    }
    assert "988" in reply[0]["text"] and "911" in reply[0]["text"]
    assert "116 123" in _client(base_url).say("i want to end my life", metadata={"region": "GB"})[0]["text"]


def test_a_disclosure_with_a_question_still_gets_the_crisis_reply_first(rasa_and_action_port: Tuple[str, int]) -> None:
    base_url, _ = rasa_and_action_port
    reply = _client(base_url).say("How much does therapy cost? I want to kill myself.")
    assert reply[0]["custom"]["topic"] == "crisis" and reply[0]["custom"]["kind"] == "self"
    assert "988" in reply[0]["text"]
    assert all(m["custom"]["topic"] != "cost" for m in reply), "the question cannot be answered without actions"


def test_the_check_in_and_its_answers_need_no_action_server(rasa_and_action_port: Tuple[str, int]) -> None:
    base_url, _ = rasa_and_action_port
    client = _client(base_url)
    reply = client.say("/affirm")
    assert reply[-1]["custom"]["topic"] in {"unavailable", "crisis_line"}
    client = _client(base_url)
    client.say("i want to kill myself")
    followup = client.say("yes")[0]["custom"]
    assert (followup["topic"], followup["region"]) == ("crisis", "US")


def test_knowledge_question_gets_a_trouble_reply_with_the_crisis_line(rasa_and_action_port: Tuple[str, int]) -> None:
    base_url, _ = rasa_and_action_port
    reply = _client(base_url).say("how long is a therapy session?")
    assert len(reply) == 1
    assert reply[0]["custom"]["topic"] == "unavailable"
    assert "trouble answering" in reply[0]["text"] and "988" in reply[0]["text"]
    assert "1737" in _client(base_url).say("what is cbt?", metadata={"region": "NZ"})[0]["text"]


class _HungActionServer(BaseHTTPRequestHandler):
    """Accepts the action request and never answers in time."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        time.sleep(HUNG_SECONDS)

    def log_message(self, *_: object) -> None:
        """Keeps the test output quiet."""


def test_hung_then_restored_action_server(rasa_and_action_port: Tuple[str, int]) -> None:
    base_url, action_port = rasa_and_action_port
    hung = ThreadingHTTPServer(("127.0.0.1", action_port), _HungActionServer)
    hung.daemon_threads = True
    threading.Thread(target=hung.serve_forever, daemon=True).start()
    try:
        bot = _client(base_url)
        # post_json waits 30 s at most: without ACTION_TIMEOUT Rasa would wait five minutes.
        reply = bot.say("how long is a therapy session?")
        assert topics_of(reply) == ["unavailable"]
        assert "988" in reply[0]["text"]
        assert topics_of(bot.say("i want to die")) == ["crisis"], "a crisis reply is not held up"
    finally:
        hung.shutdown()
        hung.server_close()

    env = {**os.environ, "SANIC_HOST": "127.0.0.1"}
    with open(OUTPUT / "actions-restored.log", "wb") as log:
        actions = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "rasa_sdk", "--actions", "actions",
             "--port", str(action_port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{action_port}/health", timeout=120, process=actions)
            bot = _client(base_url)
            assert topics_of(bot.say("how long is a therapy session?")) == ["session_length"]
            assert topics_of(bot.say("tell me more")) == ["session_length"]
        finally:
            actions.terminate()
            actions.wait(timeout=60)
