"""Turning knowledge entries into replies: pure functions, no Rasa imports.

A reply is a dict with the keys Rasa's ``dispatcher.utter_message`` takes: ``text``,
``buttons`` and ``json_message`` (the custom payload). Keeping this free of Rasa makes
the answer logic testable on its own and keeps the actions themselves thin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping

from actions.knowledge import (
    ASPECT_DEFAULT_TOPIC,
    KNOWLEDGE_TOPICS,
    VARIANT_ENTITIES,
    KnowledgeBase,
    Topic,
    Variant,
)

Reply = Dict[str, Any]

#: What the assistant says when it has no earlier topic to follow up on.
FALLBACK_TOPIC = "help"
#: The topic used for messages NLU could not place (low confidence or off-topic).
OUT_OF_SCOPE_TOPIC = "out_of_scope"


@dataclass(frozen=True)
class Answer:
    """Which entry answers a message, and how much of it to say."""

    topic: Topic
    variant: Variant | None = None
    aspect: str | None = None
    detailed: bool = False


def topic_payload(topic_id: str, entities: Mapping[str, str] | None = None) -> str:
    """The button payload that asks for a topic: an intent with optional entities.

    The crisis guard in the NLU pipeline accepts exactly this shape from users and
    treats any other text that starts with ``/`` as ordinary words.
    """
    if not entities:
        return f"/{topic_id}"
    return f"/{topic_id}{json.dumps(dict(entities), separators=(',', ':'))}"


def _buttons(kb: KnowledgeBase, topic: Topic, variant: Variant | None) -> List[Dict[str, str]]:
    buttons = []
    if variant is None and topic.variants:
        entity = next(e for e, t in VARIANT_ENTITIES.items() if t == topic.id)
        buttons = [
            {"title": v.title, "payload": topic_payload(topic.id, {entity: v.key})}
            for v in topic.variants.values()
        ]
    buttons += [
        {"title": kb.topic(related).title, "payload": topic_payload(related)}
        for related in topic.related
    ]
    return buttons


def render(kb: KnowledgeBase, answer: Answer) -> Reply:
    """Builds the reply for an answer: curated text, related-topic buttons, payload."""
    topic, variant = answer.topic, answer.variant
    if answer.aspect is not None:
        text = topic.aspects[answer.aspect]
    elif variant is not None:
        text = variant.long if answer.detailed else variant.short
    else:
        text = topic.long if answer.detailed else topic.short
    payload: Dict[str, Any] = {
        "topic": topic.id,
        "sources": kb.source_titles_of(topic),
        "related": list(topic.related),
    }
    if variant is not None:
        payload["variant"] = variant.key
    if answer.aspect is not None:
        payload["aspect"] = answer.aspect
    return {"text": text, "buttons": _buttons(kb, topic, variant), "json_message": payload}


def _variant_from_entities(
    kb: KnowledgeBase, entities: Mapping[str, str], topic_id: str | None = None
) -> Answer | None:
    for entity, value in entities.items():
        found = kb.variant_topic_for(entity, value)
        if found and (topic_id is None or found[0].id == topic_id):
            return Answer(topic=found[0], variant=found[1])
    return None


def answer_for_intent(kb: KnowledgeBase, intent: str | None, entities: Mapping[str, str]) -> Answer:
    """The answer to a question NLU classified as ``intent``.

    Anything that is not a known topic (``nlu_fallback``, an intent missing from the
    knowledge) gets the out-of-scope answer: the assistant never guesses.
    """
    if intent not in kb.topics:
        return Answer(topic=kb.topic(OUT_OF_SCOPE_TOPIC))
    return _variant_from_entities(kb, entities, intent) or Answer(topic=kb.topic(intent))


def answer_for_followup(
    kb: KnowledgeBase, last_topic: str | None, entities: Mapping[str, str]
) -> Answer:
    """Resolves an elliptical follow-up ("and how often?") against the last topic.

    A named therapy type or format picks that variant. An aspect picks the last topic's
    own answer for it when the knowledge has one ("what about online?" after a question
    on cost), otherwise the topic the aspect means on its own.
    """
    variant_answer = _variant_from_entities(kb, entities)
    if variant_answer is not None:
        return variant_answer
    aspect = entities.get("aspect")
    if aspect in ASPECT_DEFAULT_TOPIC:
        if last_topic in kb.topics and aspect in kb.topic(last_topic).aspects:
            return Answer(topic=kb.topic(last_topic), aspect=aspect)
        return Answer(topic=kb.topic(ASPECT_DEFAULT_TOPIC[aspect]))
    if last_topic in kb.topics:
        return Answer(topic=kb.topic(last_topic), detailed=True)
    return Answer(topic=kb.topic(FALLBACK_TOPIC))


def answer_for_more(
    kb: KnowledgeBase, last_topic: str | None, last_variant: str | None
) -> Answer:
    """The longer answer of the last topic (and variant) for "tell me more"."""
    if last_topic not in kb.topics:
        return Answer(topic=kb.topic(FALLBACK_TOPIC))
    topic = kb.topic(last_topic)
    return Answer(topic=topic, variant=topic.variants.get(last_variant or ""), detailed=True)


#: The "Did you mean…" reply: a fixed sentence, then one button per likely topic.
CLARIFY_TEXT = "I am not sure which of these you mean. Did you mean:"
CLARIFY_TOPIC = "clarify"


def render_clarify(kb: KnowledgeBase, candidates: List[str]) -> Reply:
    """The "Did you mean…" reply: the likely topics as buttons; a press answers that topic."""
    return {
        "text": CLARIFY_TEXT,
        "buttons": [{"title": kb.topic(c).title, "payload": topic_payload(c)} for c in candidates],
        "json_message": {"topic": CLARIFY_TOPIC, "candidates": list(candidates)},
    }


def remembers(answer: Answer) -> bool:
    """Whether an answer becomes the topic that later follow-ups refer to."""
    return answer.topic.id in KNOWLEDGE_TOPICS
