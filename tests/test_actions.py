"""The custom actions, called with a real Tracker, CollectingDispatcher and the domain."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswerFollowup, ActionAnswerTopic, ActionTellMeMore
from actions.answers import topic_payload
from actions.knowledge import (
    ASPECT_DEFAULT_TOPIC,
    CONVERSATIONAL_TOPICS,
    KNOWLEDGE_TOPICS,
    KnowledgeBase,
)

pytestmark = pytest.mark.unit


def make_tracker(
    intent: str,
    entities: Dict[str, Any] | None = None,
    slots: Dict[str, Any] | None = None,
) -> Tracker:
    """A tracker whose latest message has ``intent``; an entity may list several values."""
    pairs = [
        (name, value)
        for name, given in (entities or {}).items()
        for value in (given if isinstance(given, list) else [given])
    ]
    latest = {
        "text": "(text is irrelevant to the action)",
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [{"entity": k, "value": v} for k, v in pairs],
    }
    all_slots = {"topic": None, "variant": None, "region": None, "crisis_kind": None, **(slots or {})}
    return Tracker("tester", all_slots, latest, [], False, None, {}, "action_listen")


def run(action: Any, tracker: Tracker, domain: Dict[str, Any]) -> tuple[List[Dict[str, Any]], list]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain)
    return dispatcher.messages, events


def payload(message: Dict[str, Any]) -> Dict[str, Any]:
    return message["custom"]


@pytest.mark.parametrize("topic_id", KNOWLEDGE_TOPICS)
def test_every_knowledge_topic_is_answered(kb: KnowledgeBase, domain_dict: Dict[str, Any], topic_id: str) -> None:
    messages, events = run(ActionAnswerTopic(), make_tracker(topic_id), domain_dict)
    topic = kb.topic(topic_id)
    assert messages[0]["text"] == topic.short
    assert payload(messages[0]) == {
        "topic": topic_id,
        "sources": kb.source_titles_of(topic),
        "related": list(topic.related),
    }
    button_payloads = [b["payload"] for b in messages[0]["buttons"]]
    for related in topic.related:
        assert topic_payload(related) in button_payloads
    assert SlotSet("topic", topic_id) in events
    assert len(messages) == 1


@pytest.mark.parametrize("topic_id", CONVERSATIONAL_TOPICS)
def test_conversational_topics(kb: KnowledgeBase, domain_dict: Dict[str, Any], topic_id: str) -> None:
    messages, events = run(ActionAnswerTopic(), make_tracker(topic_id), domain_dict)
    assert messages[0]["text"] == kb.topic(topic_id).short
    assert payload(messages[0])["topic"] == topic_id
    assert events == [], "small talk does not replace the topic follow-ups refer to"
    assert len(messages) == 1


def test_bot_challenge_says_it_is_not_a_therapist(kb: KnowledgeBase) -> None:
    text = kb.topic("bot_challenge").short.lower()
    assert "not a therapist" in text or "not a person" in text
    assert "diagnos" in text and "medical advice" in text


def test_greeting_says_it_is_no_substitute_and_points_to_urgent_help(kb: KnowledgeBase) -> None:
    text = kb.topic("greet").short.lower()
    assert "not a substitute" in text or "not a replacement" in text or "doesn't replace" in text
    assert "urgent" in text or "crisis" in text


@pytest.mark.parametrize("intent", ["nlu_fallback", "no_such_intent"])
def test_unknown_or_unsure_gets_out_of_scope_never_a_guess(
    kb: KnowledgeBase, domain_dict: Dict[str, Any], intent: str
) -> None:
    messages, _ = run(ActionAnswerTopic(), make_tracker(intent), domain_dict)
    assert messages[0]["text"] == kb.topic("out_of_scope").short
    assert payload(messages[0])["topic"] == "out_of_scope"
    assert messages[0]["buttons"], "out of scope offers topics"


@pytest.mark.parametrize("entity,topic_id", [("therapy_type", "therapy_types"), ("therapy_format", "therapy_formats")])
def test_variants_are_chosen_by_entity(
    kb: KnowledgeBase, domain_dict: Dict[str, Any], entity: str, topic_id: str
) -> None:
    for key, variant in kb.topic(topic_id).variants.items():
        messages, events = run(ActionAnswerTopic(), make_tracker(topic_id, {entity: key}), domain_dict)
        assert messages[0]["text"] == variant.short
        assert payload(messages[0])["variant"] == key
        assert SlotSet("variant", key) in events


def test_overview_offers_each_variant_as_a_button(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    messages, _ = run(ActionAnswerTopic(), make_tracker("therapy_types"), domain_dict)
    titles = [b["title"] for b in messages[0]["buttons"]]
    for variant in kb.topic("therapy_types").variants.values():
        assert variant.title in titles


def test_tell_me_more_gives_the_long_answer_of_the_last_topic(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    for topic_id in KNOWLEDGE_TOPICS:
        messages, _ = run(ActionTellMeMore(), make_tracker("tell_me_more", slots={"topic": topic_id}), domain_dict)
        assert messages[0]["text"] == kb.topic(topic_id).long
        assert payload(messages[0])["topic"] == topic_id


def test_tell_me_more_about_a_variant(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    tracker = make_tracker("tell_me_more", slots={"topic": "therapy_types", "variant": "dbt"})
    messages, _ = run(ActionTellMeMore(), tracker, domain_dict)
    assert messages[0]["text"] == kb.topic("therapy_types").variants["dbt"].long


def test_tell_me_more_without_a_topic_offers_help(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    messages, events = run(ActionTellMeMore(), make_tracker("tell_me_more"), domain_dict)
    assert payload(messages[0])["topic"] == "help"
    assert events == []


@pytest.mark.parametrize("aspect", sorted(ASPECT_DEFAULT_TOPIC))
def test_followup_aspect_uses_the_last_topic(kb: KnowledgeBase, domain_dict: Dict[str, Any], aspect: str) -> None:
    for last in KNOWLEDGE_TOPICS:
        tracker = make_tracker("followup", {"aspect": aspect}, {"topic": last})
        messages, events = run(ActionAnswerFollowup(), tracker, domain_dict)
        if aspect in kb.topic(last).aspects:
            assert messages[0]["text"] == kb.topic(last).aspects[aspect]
            assert payload(messages[0]) | {"aspect": aspect} == payload(messages[0])
            assert payload(messages[0])["topic"] == last
        else:
            expected = ASPECT_DEFAULT_TOPIC[aspect]
            assert messages[0]["text"] == kb.topic(expected).short
            assert SlotSet("topic", expected) in events


def test_followup_names_another_therapy_type(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    tracker = make_tracker("followup", {"therapy_type": "dbt"}, {"topic": "therapy_types", "variant": "cbt"})
    messages, events = run(ActionAnswerFollowup(), tracker, domain_dict)
    assert messages[0]["text"] == kb.topic("therapy_types").variants["dbt"].short
    assert SlotSet("variant", "dbt") in events


def test_followup_without_any_topic_offers_help(domain_dict: Dict[str, Any]) -> None:
    messages, _ = run(ActionAnswerFollowup(), make_tracker("followup"), domain_dict)
    assert payload(messages[0])["topic"] == "help"


def test_entities_of_earlier_messages_do_not_leak(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    """A later plain 'what types are there?' gets the overview, not the last variant."""
    tracker = make_tracker("therapy_types", slots={"topic": "therapy_types", "variant": "cbt"})
    messages, events = run(ActionAnswerTopic(), tracker, domain_dict)
    assert messages[0]["text"] == kb.topic("therapy_types").short
    assert SlotSet("variant", None) in events


def test_several_variants_named_get_the_overview(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    tracker = make_tracker("therapy_formats", {"therapy_format": ["couples", "family", "group"]})
    messages, events = run(ActionAnswerTopic(), tracker, domain_dict)
    assert messages[0]["text"] == kb.topic("therapy_formats").short
    assert SlotSet("variant", None) in events


def test_rasa_calls_the_actions_without_the_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    """endpoints.yml turns on selective domain: the actions never read it, and sending it
    would serialise every response text with every action call."""
    import asyncio

    from rasa.core.actions.action import RemoteAction
    from rasa.core.utils import read_endpoints_from_path
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa_sdk.executor import ActionExecutor

    from tests.support import ROOT

    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    endpoints = read_endpoints_from_path(str(ROOT / "endpoints.yml"))
    domain = Domain.load(str(ROOT / "domain.yml"))
    tracker = DialogueStateTracker.from_dict(
        "tester",
        [{"event": "user", "text": "how long is a session?", "parse_data": {"intent": {"name": "session_length"}}}],
        domain.slots,
    )
    call = RemoteAction("action_answer_topic", endpoints.action)._action_call_format(tracker, domain)
    assert "domain" not in call and call["tracker"]["latest_message"]["intent"]["name"] == "session_length"
    # The action server answers that very request.
    executor = ActionExecutor()
    executor.register_package("actions")
    reply = asyncio.run(executor.run(call))
    assert reply["responses"][0]["custom"]["topic"] == "session_length"
