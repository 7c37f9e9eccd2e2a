"""With the action server down, crisis replies still work and nothing goes unanswered."""

from __future__ import annotations

import os
import subprocess
import uuid
from typing import Iterator

import pytest

from tests.support import MODEL, OUTPUT, ROOT, RestClient, free_port, wait_for_http


@pytest.fixture(scope="module")
def rasa_without_actions() -> Iterator[str]:
    """A Rasa server whose action endpoint points at a port where nothing listens."""
    port = free_port()
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}/webhook",
    }
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with open(OUTPUT / "rasa-no-actions.log", "wb") as log:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "rasa"), "run", "--model", str(MODEL), "--endpoints", "endpoints.yml",
             "--credentials", "credentials.yml", "--interface", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/webhooks/rest/", timeout=240, process=process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=60)


def test_crisis_reply_needs_no_action_server(rasa_without_actions: str) -> None:
    bot = RestClient(rasa_without_actions, f"down-{uuid.uuid4().hex[:8]}")
    reply = bot.say("i want to kill myself")
    assert reply[0]["custom"] == {"topic": "crisis", "kind": "self", "region": "US"}
    assert "988" in reply[0]["text"] and "911" in reply[0]["text"]
    gb = RestClient(rasa_without_actions, f"down-{uuid.uuid4().hex[:8]}")
    assert "116 123" in gb.say("i want to end my life", metadata={"region": "GB"})[0]["text"]


def test_knowledge_question_gets_a_trouble_reply_with_the_crisis_line(rasa_without_actions: str) -> None:
    bot = RestClient(rasa_without_actions, f"down-{uuid.uuid4().hex[:8]}")
    reply = bot.say("how long is a therapy session?")
    assert len(reply) == 1
    assert reply[0]["custom"]["topic"] == "unavailable"
    assert "trouble answering" in reply[0]["text"] and "988" in reply[0]["text"]
    nz = RestClient(rasa_without_actions, f"down-{uuid.uuid4().hex[:8]}")
    assert "1737" in nz.say("what is cbt?", metadata={"region": "NZ"})[0]["text"]
