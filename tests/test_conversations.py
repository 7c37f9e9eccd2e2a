"""Multi-turn conversations over REST: follow-ups, buttons, and crisis at any point."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest

from actions.knowledge import KnowledgeBase
from bot.crisis.regions import REGIONS, crisis_links
from tests.conftest import ServedBot
from tests.support import RestClient, test_story_user_turns, topics_of

pytestmark = pytest.mark.service

CRISIS_MESSAGE = "i don't want to wake up tomorrow"


def new_client(bot: ServedBot) -> RestClient:
    return RestClient(bot.base_url, f"conv-{uuid.uuid4().hex[:12]}")


def assert_crisis(reply: List[Dict[str, Any]], region: str = "US", kind: str = "self") -> None:
    assert len(reply) == 1, reply
    assert reply[0]["custom"] == {
        "topic": "crisis", "kind": kind, "region": region, "links": crisis_links(region, kind),
    }
    for number in REGIONS[region].required_numbers:
        assert number in reply[0]["text"]


def test_followups_use_the_last_topic(served_bot: ServedBot, kb: KnowledgeBase) -> None:
    bot = new_client(served_bot)
    assert topics_of(bot.say("how long is a session?"))[0] == "session_length"
    reply = bot.say("and how often?")
    assert reply[0]["custom"]["topic"] == "session_frequency"
    reply = bot.say("tell me more")
    assert reply[0]["text"] == kb.topic("session_frequency").long


def test_aspect_of_the_last_topic(served_bot: ServedBot, kb: KnowledgeBase) -> None:
    bot = new_client(served_bot)
    bot.say("how much does therapy cost?")
    reply = bot.say("what about online?")
    assert reply[0]["text"] == kb.topic("cost").aspects["online"]
    assert reply[0]["custom"]["aspect"] == "online"


def test_related_topic_button_gives_that_topic(served_bot: ServedBot, kb: KnowledgeBase) -> None:
    bot = new_client(served_bot)
    first = bot.say("what happens in the first session?")[0]
    button = first["buttons"][0]
    reply = bot.say(button["payload"])
    assert reply[0]["custom"]["topic"] == button["payload"].lstrip("/").split("{")[0]
    assert reply[0]["text"] in {reply_topic.short for reply_topic in kb.topics.values()}


def test_therapy_type_button_and_followup(served_bot: ServedBot, kb: KnowledgeBase) -> None:
    bot = new_client(served_bot)
    overview = bot.say("what types of therapy are there?")[0]
    dbt = next(b for b in overview["buttons"] if "dbt" in b["payload"])
    assert bot.say(dbt["payload"])[0]["text"] == kb.topic("therapy_types").variants["dbt"].short
    assert bot.say("tell me more")[0]["text"] == kb.topic("therapy_types").variants["dbt"].long


def test_crisis_first_message_twice_in_a_row_then_normal(served_bot: ServedBot, kb: KnowledgeBase) -> None:
    bot = new_client(served_bot)
    assert_crisis(bot.say("I want to kill myself"))
    assert_crisis(bot.say("kms"))
    reply = bot.say("how long is a session?")
    assert reply[0]["text"] == kb.topic("session_length").short


def test_crisis_after_a_fallback(served_bot: ServedBot) -> None:
    bot = new_client(served_bot)
    assert topics_of(bot.say("asdf qwerty zxcv"))[0] in {"out_of_scope", "help"}
    assert_crisis(bot.say(CRISIS_MESSAGE))


def test_crisis_keeps_the_follow_up_topic(served_bot: ServedBot, kb: KnowledgeBase) -> None:
    bot = new_client(served_bot)
    bot.say("how long is a session?")
    assert_crisis(bot.say(CRISIS_MESSAGE))
    assert bot.say("tell me more")[0]["text"] == kb.topic("session_length").long


@pytest.mark.parametrize("text", ["/greet I want to die", '/greet{"x":1} I want to die', "/restart kms"])
def test_typed_payloads_still_get_crisis_resources(served_bot: ServedBot, text: str) -> None:
    assert_crisis(new_client(served_bot).say(text))


def test_typed_restart_does_not_reset_the_conversation(served_bot: ServedBot, kb: KnowledgeBase) -> None:
    bot = new_client(served_bot)
    bot.say("how much does therapy cost?")
    bot.say("/restart")
    assert bot.say("tell me more")[0]["text"] == kb.topic("cost").long


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_region_from_metadata(served_bot: ServedBot, region: str) -> None:
    bot = new_client(served_bot)
    assert_crisis(bot.say("i want to end my life", metadata={"region": region}), region=region)
    # the region sticks for the rest of the conversation
    assert_crisis(bot.say("i want to die"), region=region)


@pytest.mark.parametrize(
    "text,kind",
    [
        ("my friend told me she wants to kill herself", "other_person"),
        ("i was raped last night", "sexual_assault"),
        ("my husband hits me when he gets angry", "domestic_violence"),
        ("my stepdad hits me and i'm 12", "child_abuse"),
    ],
)
def test_other_urgent_disclosures(served_bot: ServedBot, text: str, kind: str) -> None:
    assert_crisis(new_client(served_bot).say(text), kind=kind)


STORIES = test_story_user_turns()


@pytest.mark.parametrize("story_index", range(len(STORIES)))
def test_crisis_at_every_turn_of_every_test_story(served_bot: ServedBot, story_index: int) -> None:
    turns = STORIES[story_index]
    for position in range(len(turns) + 1):
        bot = new_client(served_bot)
        for text, _ in turns[:position]:
            assert bot.say(text), "every message is answered"
        assert_crisis(bot.say(CRISIS_MESSAGE))
        for text, intent in turns[position:]:
            reply = bot.say(text)
            if intent == "crisis":
                assert_crisis(reply)
            else:
                assert reply and all(m["custom"]["topic"] != "crisis" for m in reply), (text, reply)


def test_deployment_region_applies_to_every_conversation() -> None:
    """`CRISIS_REGION=GB make run`: crisis replies and the greeting's crisis line are British."""
    from tests.conftest import start_bot, stop_bot

    bot = start_bot("run-gb.log", CRISIS_REGION="GB")
    try:
        client = RestClient(bot.base_url, f"gb-{uuid.uuid4().hex[:8]}")
        greeting = client.say("hello")
        assert greeting[-1]["custom"] == {"topic": "crisis_line", "region": "GB", "links": REGIONS["GB"].link_dicts()}
        assert "116 123" in greeting[-1]["text"]
        assert_crisis(client.say("i want to die"), region="GB")
        # a channel can still override it for one conversation
        other = RestClient(bot.base_url, f"gb-{uuid.uuid4().hex[:8]}")
        assert_crisis(other.say("kms", metadata={"region": "AU"}), region="AU")
    finally:
        stop_bot(bot)
