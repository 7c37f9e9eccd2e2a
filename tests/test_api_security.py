"""Rasa's HTTP API: off in the bot `make run` starts, and token-protected when ENABLE_API=true.

The API can read every conversation (trackers) and replace the model, so the default bot
must not serve it at all, and scripts/run.sh must refuse to switch it on without a token.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Iterator, Tuple

import pytest

from tests.conftest import ServedBot, start_bot, stop_bot
from tests.support import ROOT, RestClient, free_port

#: Routes of Rasa's HTTP API that expose conversations, the model or the domain.
API_ROUTES = [
    ("GET", "/conversations/{id}/tracker"),
    ("POST", "/conversations/{id}/tracker/events"),
    ("POST", "/conversations/{id}/messages"),
    ("POST", "/conversations/{id}/trigger_intent"),
    ("GET", "/status"),
    ("GET", "/domain"),
    ("PUT", "/model"),
    ("DELETE", "/model"),
    ("POST", "/model/parse"),
    ("POST", "/model/train"),
]


def call(method: str, url: str, body: Any = None) -> Tuple[int, bytes]:
    """One request; returns the status and the raw body, error statuses included."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def route_url(bot: ServedBot, path: str, conversation_id: str) -> str:
    return bot.base_url + path.format(id=conversation_id)


def assert_no_conversation_in(body: bytes) -> None:
    """A refused request must not carry tracker data (error messages may quote the URL)."""
    assert b'"events"' not in body and b'"sender_id"' not in body and b'"slots"' not in body, body[:300]


@pytest.mark.service
@pytest.mark.parametrize("method,path", API_ROUTES)
def test_default_bot_does_not_serve_the_api(served_bot: ServedBot, method: str, path: str) -> None:
    conversation_id = f"api-{uuid.uuid4().hex[:10]}"
    RestClient(served_bot.base_url, conversation_id).say("hello")
    status, body = call(method, route_url(served_bot, path, conversation_id), {"text": "hello"})
    assert status in (403, 404), (method, path, status)
    assert_no_conversation_in(body)


@pytest.mark.service
def test_default_bot_still_answers_its_channels(served_bot: ServedBot) -> None:
    reply = RestClient(served_bot.base_url, f"api-{uuid.uuid4().hex[:10]}").say("hello")
    assert reply and "988" in reply[-1]["text"]


# --- ENABLE_API=true ------------------------------------------------------------------------

TOKEN = secrets.token_hex(32)


@pytest.fixture(scope="module")
def api_bot() -> Iterator[ServedBot]:
    bot = start_bot("api-enabled.log", ENABLE_API="true", RASA_AUTH_TOKEN=TOKEN)
    yield bot
    stop_bot(bot)


@pytest.mark.service
@pytest.mark.parametrize("method,path", API_ROUTES)
def test_api_without_token_is_refused(api_bot: ServedBot, method: str, path: str) -> None:
    conversation_id = f"api-{uuid.uuid4().hex[:10]}"
    RestClient(api_bot.base_url, conversation_id).say("hello")
    status, body = call(method, route_url(api_bot, path, conversation_id), {"text": "hello"})
    assert status in (401, 403), (method, path, status)
    assert_no_conversation_in(body)


@pytest.mark.service
@pytest.mark.parametrize("method,path", [("GET", "/conversations/{id}/tracker"), ("GET", "/status"), ("PUT", "/model")])
def test_api_with_a_wrong_token_is_refused(api_bot: ServedBot, method: str, path: str) -> None:
    conversation_id = f"api-{uuid.uuid4().hex[:10]}"
    RestClient(api_bot.base_url, conversation_id).say("hello")
    wrong = secrets.token_hex(32)
    status, body = call(method, route_url(api_bot, path, conversation_id) + f"?token={wrong}", {})
    assert status in (401, 403), (method, path, status)
    assert_no_conversation_in(body)


@pytest.mark.service
def test_api_with_the_token_reads_a_conversation(api_bot: ServedBot) -> None:
    conversation_id = f"api-{uuid.uuid4().hex[:10]}"
    RestClient(api_bot.base_url, conversation_id).say("hello")
    status, body = call("GET", route_url(api_bot, "/conversations/{id}/tracker", conversation_id) + f"?token={TOKEN}")
    assert status == 200
    tracker: Dict[str, Any] = json.loads(body)
    assert tracker["sender_id"] == conversation_id
    assert any(event.get("event") == "user" for event in tracker["events"])


@pytest.mark.service
def test_api_with_the_token_reports_the_model(api_bot: ServedBot) -> None:
    status, body = call("GET", f"{api_bot.base_url}/status?token={TOKEN}")
    assert status == 200
    assert json.loads(body)["model_file"].endswith("therapy-bot.tar.gz")


@pytest.mark.service
def test_channels_need_no_token_when_the_api_is_on(api_bot: ServedBot) -> None:
    reply = RestClient(api_bot.base_url, f"api-{uuid.uuid4().hex[:10]}").say("how long is a session?")
    assert reply[0]["custom"]["topic"] == "session_length"


# --- run.sh refuses unsafe settings before it starts anything --------------------------------


def run_script(**env_overrides: str) -> subprocess.CompletedProcess:
    """Runs scripts/run.sh on free ports, expecting it to stop by itself."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENABLE_API", "RASA_AUTH_TOKEN")}
    rasa_port, actions_port = free_port(), free_port()
    env.update(RASA_PORT=str(rasa_port), ACTIONS_PORT=str(actions_port), **env_overrides)
    process = subprocess.Popen(
        ["scripts/run.sh"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("scripts/run.sh started the servers instead of refusing")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.unit
@pytest.mark.parametrize("token", [None, "", "too-short-a-secret"])
def test_run_refuses_the_api_without_a_strong_token(token: str | None) -> None:
    env = {"ENABLE_API": "true"} if token is None else {"ENABLE_API": "true", "RASA_AUTH_TOKEN": token}
    result = run_script(**env)
    assert result.returncode == 2
    assert "RASA_AUTH_TOKEN" in result.stderr and "32 characters" in result.stderr
    assert "Starting" not in result.stdout
    if token:
        assert token not in result.stderr + result.stdout


@pytest.mark.unit
@pytest.mark.parametrize("value", ["yes", "1", "TRUE"])
def test_run_refuses_an_unclear_enable_api(value: str) -> None:
    result = run_script(ENABLE_API=value)
    assert result.returncode == 2
    assert "ENABLE_API must be 'true' or 'false'" in result.stderr
