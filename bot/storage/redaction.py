"""``PRIVACY_MODE=redact``: what a stored event keeps once the user's words are removed.

People write to this assistant about their mental health, sometimes in crisis. In redact
mode the store keeps what is needed to follow a conversation and to audit the assistant
(intents and their confidences, entity names, the topic slots, crisis kind and region,
the assistant's own curated replies, timestamps) and drops everything the user typed or
a client attached: the text, entity values and positions (copied from the text), message
metadata (a channel may put names or handles there) and the values of any slot not
known to be safe. Lists are allow-lists, so a new field or slot is dropped until someone
decides it is safe.
"""

from __future__ import annotations

from typing import Any, Dict, List

#: Slots whose values are our own labels, never the user's words: knowledge topic and
#: variant ids, the crisis region code and the crisis kind. Any other slot (including
#: Rasa's ``session_started_metadata``, which holds the client's metadata) is stored
#: without its value.
KEPT_SLOT_VALUES = frozenset({"topic", "variant", "region", "crisis_kind"})

#: Metadata keys Rasa itself adds to events (which model and which response answered).
KEPT_METADATA = frozenset({"model_id", "assistant_id", "utter_action"})

#: Per entity: its name and which component found it; not the value or where it was.
KEPT_ENTITY_KEYS = ("entity", "extractor")

#: The crisis decision of ``CrisisGuard`` without the id of the rule that matched
#: (the rule id describes the wording; it is in the INFO log for audits). The tier and
#: the risk model's score are numbers and labels the conversation-level risk adds up.
KEPT_CRISIS_KEYS = ("tier", "kind", "region", "score")


def redact_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of a serialised Rasa event (``Event.as_dict()``) without the user's words."""
    kind = event.get("event")
    redacted = {key: value for key, value in event.items() if key != "metadata"}
    metadata = _kept_metadata(event.get("metadata"))
    if metadata:
        redacted["metadata"] = metadata
    if kind == "user":
        redacted["text"] = None
        redacted["parse_data"] = _redact_parse_data(event.get("parse_data") or {})
    elif kind == "slot" and event.get("name") not in KEPT_SLOT_VALUES:
        redacted["value"] = None
    elif kind == "entities":
        redacted["entities"] = _redact_entities(event.get("entities"))
    return redacted


def _redact_parse_data(parse_data: Dict[str, Any]) -> Dict[str, Any]:
    """Keeps the NLU decision (intent, ranking, entity names, crisis kind), not the text."""
    redacted: Dict[str, Any] = {
        "intent": _name_and_confidence(parse_data.get("intent")),
        "entities": _redact_entities(parse_data.get("entities")),
        "text": None,
        "message_id": parse_data.get("message_id"),
        "metadata": {},
    }
    ranking = parse_data.get("intent_ranking")
    if isinstance(ranking, list):
        redacted["intent_ranking"] = [_name_and_confidence(entry) for entry in ranking]
    crisis = parse_data.get("crisis")
    if isinstance(crisis, dict):
        redacted["crisis"] = {key: crisis[key] for key in KEPT_CRISIS_KEYS if key in crisis}
    return redacted


def _name_and_confidence(intent: Any) -> Dict[str, Any]:
    if not isinstance(intent, dict):
        return {}
    return {key: intent[key] for key in ("name", "confidence") if key in intent}


def _redact_entities(entities: Any) -> List[Dict[str, Any]]:
    """Entity names only; ``value`` stays as ``None`` because Rasa reads that key."""
    if not isinstance(entities, list):
        return []
    return [
        {**{key: entity[key] for key in KEPT_ENTITY_KEYS if key in entity}, "value": None}
        for entity in entities
        if isinstance(entity, dict)
    ]


def _kept_metadata(metadata: Any) -> Dict[str, Any]:
    if not isinstance(metadata, dict):
        return {}
    return {key: value for key, value in metadata.items() if key in KEPT_METADATA}
