"""The three tiers end to end over REST: the check-in, answers to it, and risk that adds up.

Which message the crisis layer puts in which tier is the rules' and the risk model's
business (their own tests pin that); these tests take messages by the NLU pipeline's
verdict (the ``parse`` fixture runs the trained pipeline, CrisisGuard included) and hold
the dialogue to what each tier must bring.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest

from actions.knowledge import KnowledgeBase
from bot.crisis.regions import REGIONS
from bot.crisis.tiers import shared_risk_model
from tests.conftest import ServedBot
from tests.support import RestClient

pytestmark = pytest.mark.service

#: Candidates for each verdict, written for these tests; the first one that has it is used.
CHECK_IN_CANDIDATES = [
    "i wrote letters to my family",
    "everything feels pointless and i can't see it getting better",
    "i don't think i can keep going like this",
    "lately it's all been so dark in my head",
    "honestly i'm just done with everything",
    "i feel like giving up on everything",
    "i can't see a way forward anymore",
    # check-ins of the rules with a low risk-model score, so a retrained model rarely moves them
    "i'm in a really dark place right now",
    "i feel hopeless about everything",
    "i've been having dark thoughts",
]
WEAK_SIGNAL_CANDIDATES = [
    "i don't really talk to anyone anymore",
    "i gave my cat to my neighbour yesterday, she'll take better care of her than me",
    "what's the point of making plans",
    "i'm so tired of everything",
    "i've stopped answering my friends",
    "nothing i do seems to matter",
]


def _first_with(parse: Any, candidates: List[str], predicate: Any, count: int = 1) -> List[str]:
    found = [text for text in candidates if predicate(parse(text))]
    assert len(found) >= count, "the crisis layer no longer puts enough candidates in this tier"
    return found[:count]


@pytest.fixture(scope="module")
def check_in_message(parse: Any) -> str:
    return _first_with(parse, CHECK_IN_CANDIDATES, lambda p: p["intent"]["name"] == "crisis_check_in")[0]


@pytest.fixture(scope="module")
def weak_signals(parse: Any) -> List[str]:
    signal = shared_risk_model().thresholds.signal

    def weak(parsed: Dict[str, Any]) -> bool:
        return parsed["crisis"]["tier"] == "none" and parsed["crisis"]["score"] >= signal

    return _first_with(parse, WEAK_SIGNAL_CANDIDATES, weak, 2)


def _without_links(custom: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in custom.items() if key != "links"}


def client(bot: ServedBot) -> RestClient:
    return RestClient(bot.base_url, f"tier-{uuid.uuid4().hex[:12]}")


def assert_check_in(reply: List[Dict[str, Any]], region: str = "US") -> None:
    assert len(reply) == 1, reply
    assert _without_links(reply[0]["custom"]) == {"topic": "crisis_check", "region": region}
    assert reply[0]["custom"]["links"][0]["href"].startswith(("tel:", "https:"))
    assert "suicide" in reply[0]["text"]
    assert [b["payload"] for b in reply[0]["buttons"]] == ["/affirm", "/deny"]
    for number in REGIONS[region].required_numbers:
        assert number in reply[0]["text"]


def assert_crisis(reply: List[Dict[str, Any]], region: str = "US") -> None:
    assert _without_links(reply[0]["custom"]) == {"topic": "crisis", "kind": "self", "region": region}, reply
    for number in REGIONS[region].required_numbers:
        assert number in reply[0]["text"]


@pytest.mark.parametrize("answer", ["yes", "/affirm", "i don't know"])
def test_yes_or_not_sure_after_the_check_in_gets_the_crisis_reply(
    served_bot: ServedBot, check_in_message: str, answer: str
) -> None:
    bot = client(served_bot)
    assert_check_in(bot.say(check_in_message))
    assert_crisis(bot.say(answer))


@pytest.mark.parametrize("answer", ["no", "/deny"])
def test_no_after_the_check_in_is_acknowledged_and_the_conversation_goes_on(
    served_bot: ServedBot, kb: KnowledgeBase, check_in_message: str, answer: str
) -> None:
    bot = client(served_bot)
    assert_check_in(bot.say(check_in_message))
    reply = bot.say(answer)
    assert _without_links(reply[0]["custom"]) == {"topic": "crisis_check_no", "region": "US"}
    assert "988" in reply[0]["text"]
    assert bot.say("how long is a session?")[0]["text"] == kb.topic("session_length").short


def test_the_check_in_carries_the_region_line(served_bot: ServedBot, check_in_message: str) -> None:
    for region in ("GB", "AU", "OTHER"):
        reply = client(served_bot).say(check_in_message, metadata={"region": region})
        assert_check_in(reply, region)


@pytest.mark.parametrize("answer", ["yes", "i don't know", "no"])
def test_a_bare_answer_after_the_crisis_reply_gets_support_and_the_line(served_bot: ServedBot, answer: str) -> None:
    bot = client(served_bot)
    assert_crisis(bot.say("i want to kill myself"))
    reply = bot.say(answer)
    assert len(reply) == 1
    assert _without_links(reply[0]["custom"]) == {"topic": "crisis", "region": "US"}
    assert "988" in reply[0]["text"] and "911" in reply[0]["text"]


def test_a_bare_yes_with_nothing_asked_is_out_of_scope_with_the_line(served_bot: ServedBot) -> None:
    reply = client(served_bot).say("yes")
    assert reply[0]["custom"]["topic"] == "out_of_scope"
    assert _without_links(reply[-1]["custom"]) == {"topic": "crisis_line", "region": "US"}


def test_weak_signals_add_up_to_a_check_in(served_bot: ServedBot, weak_signals: List[str]) -> None:
    first, second = weak_signals
    bot = client(served_bot)
    assert all(m["custom"]["topic"] != "crisis_check" for m in bot.say(first))
    bot.say("how long is a session?")
    assert_check_in(bot.say(second))


def test_one_weak_signal_among_questions_is_not_a_check_in(served_bot: ServedBot, weak_signals: List[str]) -> None:
    signal = weak_signals[0]
    bot = client(served_bot)
    for text in ("how much does therapy cost?", signal, "is it confidential?", "what is cbt?"):
        assert all(m["custom"]["topic"] != "crisis_check" for m in bot.say(text)), text


def test_after_a_check_in_the_count_starts_again(served_bot: ServedBot, weak_signals: List[str]) -> None:
    first, second = weak_signals
    bot = client(served_bot)
    bot.say(first)
    assert_check_in(bot.say(second))
    bot.say("no")
    assert all(m["custom"]["topic"] != "crisis_check" for m in bot.say(first))


@pytest.mark.parametrize(
    "text,topic",
    [
        ("How long does a therapy session last? I want to die and don't know who else to tell", "session_length"),
        ("i keep thinking about killing myself. how much does a therapist cost without insurance?", "cost"),
    ],
)
def test_a_question_beside_a_disclosure_is_answered_after_the_crisis_reply(
    served_bot: ServedBot, text: str, topic: str
) -> None:
    reply = client(served_bot).say(text)
    assert_crisis(reply[:1])
    assert [m["custom"]["topic"] for m in reply[1:]] == [topic]


def test_a_disclosure_without_a_question_gets_the_crisis_reply_alone(served_bot: ServedBot) -> None:
    reply = client(served_bot).say("I can't stop thinking about killing myself. Everything hurts.")
    assert len(reply) == 1
    assert_crisis(reply)
