"""The bot started as `make run` starts it, asked over the REST channel."""

from __future__ import annotations

import signal
import subprocess
import uuid

import pytest

from actions.knowledge import CONVERSATIONAL_TOPICS, KNOWLEDGE_TOPICS, KnowledgeBase
from bot import rasa_patches
from tests.conftest import ServedBot, start_bot, stop_bot
from tests.support import OUTPUT, RestClient, installed_patches, post_json, topics_of

pytestmark = pytest.mark.service


def client(bot: ServedBot) -> RestClient:
    return RestClient(bot.base_url, f"it-{uuid.uuid4().hex[:12]}")


def test_the_served_bot_installs_the_rasa_patches(served_bot: ServedBot) -> None:
    log = (OUTPUT / "run.log").read_text(encoding="utf-8", errors="replace")
    assert installed_patches(log) == [patch.name for patch in rasa_patches.PATCHES]


def test_the_readme_example(served_bot: ServedBot, kb: KnowledgeBase) -> None:
    reply = client(served_bot).say("how long is a session?")
    assert reply[0]["text"] == kb.topic("session_length").short
    assert reply[0]["custom"]["topic"] == "session_length"
    assert reply[0]["custom"]["sources"] == kb.source_titles_of(kb.topic("session_length"))
    assert reply[0]["custom"]["related"] == list(kb.topic("session_length").related)
    assert [b["payload"] for b in reply[0]["buttons"]] == [f"/{r}" for r in kb.topic("session_length").related]


@pytest.mark.parametrize("topic_id", KNOWLEDGE_TOPICS + CONVERSATIONAL_TOPICS)
def test_canonical_question_of_every_topic(served_bot: ServedBot, kb: KnowledgeBase, topic_id: str) -> None:
    topic = kb.topic(topic_id)
    reply = client(served_bot).say(topic.question)
    assert reply, "every message is answered"
    first = reply[0]
    assert first["custom"]["topic"] == topic_id, (topic.question, first["custom"])
    assert first["text"] == topic.short
    assert first["custom"]["sources"] == kb.source_titles_of(topic)
    assert first["custom"]["related"] == list(topic.related)
    for message in reply:
        assert "custom" in message, "every reply message carries the payload"


def test_greeting_ends_with_the_crisis_line(served_bot: ServedBot) -> None:
    reply = client(served_bot).say("hello")
    assert topics_of(reply) == ["greet", "crisis_line"]
    assert "988" in reply[-1]["text"]


@pytest.mark.parametrize(
    "body", [[], "text", {"sender": "a"}, {"message": "hi"}, {"sender": 5, "message": "hi"},
             {"sender": "a", "message": 5}, {"sender": "x" * 500, "message": "hi"}],
)
def test_malformed_requests_get_a_json_400(served_bot: ServedBot, body: object) -> None:
    status, reply = post_json(f"{served_bot.base_url}/webhooks/rest/webhook", body)
    assert status == 400 and isinstance(reply, dict) and reply["error"]


def test_invalid_json_gets_a_json_400(served_bot: ServedBot) -> None:
    status, reply = post_json(f"{served_bot.base_url}/webhooks/rest/webhook", b"{not json")
    assert status == 400 and "JSON" in reply["error"]


def test_servers_listen_on_loopback_only(served_bot: ServedBot) -> None:
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    ports = {served_bot.base_url.rsplit(":", 1)[1], served_bot.actions_url.rsplit(":", 1)[1]}
    listening = [line.split()[3] for line in out.splitlines() if line.split()[3].rsplit(":", 1)[1] in ports]
    assert len(listening) == 2, listening
    assert all(address.startswith("127.0.0.1:") for address in listening), listening


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_both_processes_stop_together(sig: int) -> None:
    bot = start_bot(f"run-stop-{sig}.log")
    children = subprocess.run(["pgrep", "-g", str(bot.process.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) >= 3, "run.sh, the action server and Rasa"
    stop_bot(bot, sig)
    left = subprocess.run(["pgrep", "-g", str(bot.process.pid)], capture_output=True, text=True).stdout.split()
    assert left == []


# --- issue 14: a choice when unsure, two answers for two questions --------------------


def test_an_unsure_question_gets_did_you_mean_buttons_and_a_press_answers(
    served_bot: ServedBot, kb: KnowledgeBase
) -> None:
    sender = client(served_bot)
    reply = sender.say("therapy sessions")
    assert len(reply) == 1
    custom = reply[0]["custom"]
    assert custom["topic"] == "clarify"
    assert 2 <= len(custom["candidates"]) <= 3
    assert [b["payload"] for b in reply[0]["buttons"]] == [f"/{c}" for c in custom["candidates"]]
    pressed = sender.say(reply[0]["buttons"][1]["payload"])
    assert pressed[0]["custom"]["topic"] == custom["candidates"][1]
    assert pressed[0]["text"] == kb.topic(custom["candidates"][1]).short


def test_two_questions_in_one_message_get_two_answers(served_bot: ServedBot, kb: KnowledgeBase) -> None:
    reply = client(served_bot).say("How long is a therapy session and how much does it cost?")
    assert topics_of(reply) == ["session_length", "cost"]
    assert [m["text"] for m in reply] == [kb.topic("session_length").short, kb.topic("cost").short]


def test_a_question_about_a_condition_gets_no_topic_answer(served_bot: ServedBot) -> None:
    reply = client(served_bot).say("what is borderline personality disorder")
    assert topics_of(reply)[0] in ("out_of_scope", "clarify")
