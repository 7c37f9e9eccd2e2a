"""Custom actions: thin Rasa glue around ``actions.answers``.

Each action reads the tracker, asks ``answers`` which curated entry applies, sends it
and remembers the topic in the ``topic`` and ``variant`` slots for follow-ups.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import (
    OUT_OF_SCOPE_TOPIC,
    Answer,
    answer_for_followup,
    answer_for_intent,
    answer_for_more,
    remembers,
    render,
    render_clarify,
)
from actions.decide import decide
from actions.knowledge import CONVERSATIONAL_TOPICS, load_knowledge
from bot.metrics_hooks import apply_action_server


def _latest_entities(tracker: Tracker) -> Dict[str, str]:
    """Entities of the latest message only: earlier ones must not leak into this answer.

    An entity named with several different values ("couples, family or group") picks
    none of them: the message asks about the topic as a whole.
    """
    values: Dict[str, set] = {}
    for entity in tracker.latest_message.get("entities", []):
        if entity.get("entity") and entity.get("value") is not None:
            values.setdefault(entity["entity"], set()).add(str(entity["value"]))
    return {name: next(iter(found)) for name, found in values.items() if len(found) == 1}


def _send(dispatcher: CollectingDispatcher, answer: Answer) -> List[EventType]:
    dispatcher.utter_message(**render(load_knowledge(), answer))
    if not remembers(answer):
        return []
    variant = answer.variant.key if answer.variant else None
    return [SlotSet("topic", answer.topic.id), SlotSet("variant", variant)]


class ActionAnswerTopic(Action):
    """Answers a question with the curated entry for its intent, or asks which one was meant.

    ``actions.decide`` chooses: one answer when the classifier is sure, two answers (each
    with its own ``custom.topic``) when the message asks two topics, "Did you mean…" with
    the likely topics as buttons in the middle band, out of scope below the floor.
    """

    def name(self) -> str:
        return "action_answer_topic"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        kb = load_knowledge()
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        entities = _latest_entities(tracker)
        decision = decide(message)
        if decision.kind == "clarify":
            dispatcher.utter_message(**render_clarify(kb, list(decision.candidates)))
            return []
        if decision.kind == "out_of_scope":
            return _send(dispatcher, Answer(topic=kb.topic(OUT_OF_SCOPE_TOPIC)))
        if decision.kind == "compound":
            events: List[EventType] = []
            for topic in decision.topics:
                events = _send(dispatcher, answer_for_intent(kb, topic, {})) or events
            return events
        if decision.kind == "answer":
            intent = decision.topics[0]
        return _send(dispatcher, answer_for_intent(kb, intent, entities))


class ActionAnswerFollowup(Action):
    """Answers "and how often?"-style questions in the light of the last topic."""

    def name(self) -> str:
        return "action_answer_followup"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        answer = answer_for_followup(
            load_knowledge(), tracker.get_slot("topic"), _latest_entities(tracker)
        )
        return _send(dispatcher, answer)


class ActionTellMeMore(Action):
    """Gives the longer answer of the last topic."""

    def name(self) -> str:
        return "action_tell_me_more"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        answer = answer_for_more(
            load_knowledge(), tracker.get_slot("topic"), tracker.get_slot("variant")
        )
        return _send(dispatcher, answer)

class ActionAnswerQuestion(Action):
    """After the crisis reply, answers the question the same message asked.

    CrisisGuard names the question's intent in the ``question_topic`` entity. Only a
    knowledge topic is answered: anything else adds nothing after the crisis reply.
    """

    def name(self) -> str:
        return "action_answer_question"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        kb = load_knowledge()
        topic = _latest_entities(tracker).get("question_topic")
        if topic not in kb.topics or topic in CONVERSATIONAL_TOPICS:
            return []
        return _send(dispatcher, answer_for_intent(kb, topic, {}))


# Validate the knowledge file when the action server imports this module, so a broken
# entry stops start-up loudly instead of failing one answer at a time.
load_knowledge()
# With METRICS_PORT (scripts/run.sh): count the actions run and their failures.
apply_action_server()
