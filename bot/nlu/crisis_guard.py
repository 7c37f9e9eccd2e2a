"""``CrisisGuard``: the NLU component that makes crisis escalation unconditional.

It must be the last component of the pipeline in ``config.yml`` (a test checks this), so
no classifier, keyword matcher or fallback after it can replace its decision. For every
message it:

1. neutralises user-typed ``/intent{...}`` text. Rasa always appends
   ``RegexMessageHandler`` after the pipeline, and that node would replace the intent of
   any text shaped like ``/greet{"x":1} I want to die``. Only the exact button payloads the
   assistant itself sends (a trained intent, optionally with a JSON object of known
   entities, and nothing else) pass through; any other leading ``/`` is dropped so the
   words are treated as words;
2. asks the crisis layer for the message's tier (``bot.crisis.tiers.assess``: the rules,
   then the risk model), and also honours the intent classifier when its best non-fallback
   guess is ``crisis`` with confidence of at least 0.8, unless the rules found risk wording and
   ruled it out: the speaker negated it ("I'm not suicidal, just curious") or a rule's
   exception held ("I don't want to live in this city anymore"). The crisis tier makes the
   intent ``crisis``, the check-in tier ``crisis_check_in`` (confidence 1.0 either way),
   with the entity ``crisis_kind`` for the domain's conditional responses; an unsure
   classifier guess of crisis becomes ``nlu_fallback``, so the crisis rules only ever
   follow this component's decision;
3. adds the ``region`` entity when the message metadata (``{"region": "GB"}``) or the
   deployment (``CRISIS_REGION``) names a region; the ``region`` slot defaults to US.

It records the decision in the parse data (``crisis``: tier, kind, rule, region and the risk
model's score, for every message, so weaker signals can add up over a conversation) and in
one log line per escalation or check-in; it never logs or stores the text anywhere itself.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Set

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.crisis.regions import DEFAULT_REGION, deployment_region, normalise_region
from bot.crisis.tiers import Assessment, assess, shared_risk_model

logger = logging.getLogger(__name__)

CRISIS_INTENT = "crisis"
CHECK_IN_INTENT = "crisis_check_in"
#: A question asked beside a crisis disclosure is answered after the crisis reply when
#: the classifier names its intent with at least this confidence (``question_topic``).
QUESTION_MIN_CONFIDENCE = 0.5
#: Intents only this component may set: never accepted from a typed ``/payload``.
_GUARD_INTENTS = frozenset({CRISIS_INTENT, CHECK_IN_INTENT})
CLASSIFIER_RULE = "classifier.crisis_intent"
#: The classifier alone escalates only when it is this sure. The detector is the primary
#: net (100% recall on its corpus); the classifier catches wording the rules lack, but it
#: cannot read idioms ("I'm dead 😂"). Measured on the must-not corpus: 11.6% false
#: alarms at 0.5, 6.3% at 0.7, 3.5% at 0.8, with every held-out crisis example caught.
#: Since the risk model exists, the classifier's guess also needs the model to see at
#: least a weak signal in the message: trained on more ordinary questions, the classifier
#: named crisis with 0.8 or more for "i want to dye my hair blue" (3.7% of the must-not
#: corpus alone), while of the 13 at-risk messages of batches H and I that the rules and the
#: model still miss it caught none.
CLASSIFIER_MIN_CONFIDENCE = 0.8
_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]{1,64})(?P<entities>\{[^{}]{0,400}\})?$")
_STATE_FILE = "crisis_guard.json"


def _payload_is_allowed(text: str, intents: Set[str], entity_values: Set[str]) -> bool:
    """Whether ``text`` is exactly a button payload the assistant could have sent."""
    match = _PAYLOAD.match(text)
    if not match or match.group("intent") not in intents:
        return False
    if not match.group("entities"):
        return True
    try:
        entities = json.loads(match.group("entities"))
    except ValueError:
        return False
    return isinstance(entities, dict) and all(
        f"{key}={value}" in entity_values for key, value in entities.items()
    )


def neutralise_payload(text: str, intents: Set[str], entity_values: Set[str]) -> str:
    """``text`` with any leading ``/`` removed unless it is an allowed button payload.

    ``entity_values`` holds ``"entity=value"`` pairs seen in training, so a payload can
    name only values the assistant knows, never free text.
    """
    stripped = text.strip()
    if not stripped.startswith("/") or _payload_is_allowed(stripped, intents, entity_values):
        return text
    return stripped.lstrip("/ ")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class CrisisGuard(GraphComponent):
    """Escalates every message that shows risk to the ``crisis`` intent."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No options: the guard's behaviour is not meant to be tuned per deployment."""
        return {}

    def __init__(
        self,
        model_storage: ModelStorage,
        resource: Resource,
        intents: Set[str] | None = None,
        entity_values: Set[str] | None = None,
    ) -> None:
        """Keeps the payload vocabulary; the crisis layer is shared by the whole process."""
        self._model_storage = model_storage
        self._resource = resource
        self._intents = set(intents or ()) - _GUARD_INTENTS
        self._entity_values = set(entity_values or ())

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CrisisGuard:
        """Creates an untrained guard (it learns only which payloads are allowed)."""
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Records the trained intents and annotated entity values: the payload vocabulary."""
        intents = set(training_data.intents)
        entity_values = {
            f"{entity['entity']}={entity['value']}"
            for example in training_data.entity_examples
            for entity in example.get(ENTITIES) or []
        }
        with self._model_storage.write_to(self._resource) as directory:
            state = {"intents": sorted(intents), "entity_values": sorted(entity_values)}
            (directory / _STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CrisisGuard:
        """Loads the payload vocabulary saved by ``train``, and the crisis layer with it.

        Building the rules and reading the risk model take a few seconds; doing it here,
        while the server starts, keeps that pause from falling on the first message (whose
        screening runs on the event loop and would hold up every conversation, crisis
        replies included), and a missing risk model stops start-up with a clear error.
        """
        with model_storage.read_from(resource) as directory:
            state = json.loads((directory / _STATE_FILE).read_text(encoding="utf-8"))
        assess("a first message, read once at start-up")
        return cls(model_storage, resource, set(state["intents"]), set(state["entity_values"]))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data passes through unchanged."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Neutralises payloads, escalates risk and sets the region of each message."""
        for message in messages:
            self._process_one(message)
        return messages

    def _process_one(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        safe_text = neutralise_payload(text, self._intents, self._entity_values)
        if safe_text != text:
            message.set(TEXT, safe_text)
        asked_region = normalise_region((message.get("metadata") or {}).get("region"))
        region = asked_region or deployment_region()
        # The `region` slot starts as the US default; say the region only when something
        # asked for one, so a conversation keeps a region it was given earlier.
        if asked_region or region != DEFAULT_REGION:
            self._add_entity(message, "region", region, 0, 0)
        assessment = assess(safe_text)
        if (
            assessment.tier != "crisis"
            and not assessment.considered
            and assessment.score >= shared_risk_model().thresholds.signal
            and self._classifier_is_sure(message)
        ):
            assessment = Assessment("crisis", assessment.kind or "self", CLASSIFIER_RULE, assessment.score)
        if assessment.shows_risk:
            self._escalate(message, assessment, region)
            return
        message.set("crisis", {"tier": "none", "score": round(assessment.score, 4)}, add_to_output=True)
        if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) in _GUARD_INTENTS:
            self._demote_unsure_crisis_guess(message)

    @staticmethod
    def _classifier_is_sure(message: Message) -> bool:
        """Whether the classifier's confident best guess, ignoring fallback, is crisis."""
        ranking = [
            entry
            for entry in message.get(INTENT_RANKING_KEY) or [message.get(INTENT) or {}]
            if entry.get(INTENT_NAME_KEY) != DEFAULT_NLU_FALLBACK_INTENT_NAME
        ]
        if not ranking or ranking[0].get(INTENT_NAME_KEY) != CRISIS_INTENT:
            return False
        return (ranking[0].get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= CLASSIFIER_MIN_CONFIDENCE

    @staticmethod
    def _question_topic(message: Message) -> str | None:
        """The intent of the surest question asked beside the disclosure, if any is sure enough.

        "Is online therapy private? I want to die" gets the crisis reply first, then the
        answer to its question (rule "crisis with a question" in ``data/rules.yml``).
        """
        asked = [
            q
            for q in message.get("questions") or []
            if q.get(INTENT_NAME_KEY) not in _GUARD_INTENTS | {DEFAULT_NLU_FALLBACK_INTENT_NAME}
            and (q.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= QUESTION_MIN_CONFIDENCE
        ]
        if not asked:
            return None
        return max(asked, key=lambda q: q[PREDICTED_CONFIDENCE_KEY])[INTENT_NAME_KEY]

    @staticmethod
    def _demote_unsure_crisis_guess(message: Message) -> None:
        """An unsure classifier guess of crisis becomes ``nlu_fallback``.

        The crisis rule must fire only on escalations this component decided; the
        fallback answer still ends with the region's crisis line.
        """
        confidence = (message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0
        fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: confidence}
        message.set(INTENT, fallback, add_to_output=True)
        ranking = message.get(INTENT_RANKING_KEY) or []
        message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)

    def _escalate(self, message: Message, assessment: Assessment, region: str) -> None:
        name = CRISIS_INTENT if assessment.tier == "crisis" else CHECK_IN_INTENT
        intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [
            entry
            for entry in message.get(INTENT_RANKING_KEY) or []
            if entry.get(INTENT_NAME_KEY) not in _GUARD_INTENTS
        ]
        kind = assessment.kind or "self"
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
        message.set(
            "crisis",
            {
                "tier": assessment.tier,
                "rule": assessment.source,
                "kind": kind,
                "region": region,
                "score": round(assessment.score, 4),
            },
            add_to_output=True,
        )
        # The kind spans the whole message: it is a property of what was said as a whole.
        text = message.get(TEXT) or ""
        self._add_entity(message, "crisis_kind", kind, 0, len(text))
        topic = self._question_topic(message) if assessment.tier == "crisis" else None
        if topic is not None:
            self._add_entity(message, "question_topic", topic, 0, len(text))
        logger.info(
            "crisis %s rule=%s kind=%s region=%s",
            "escalation" if assessment.tier == "crisis" else "check-in",
            assessment.source,
            kind,
            region,
        )

    def _add_entity(self, message: Message, entity: str, value: str, start: int, end: int) -> None:
        entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") != entity]
        entities.append(
            {"entity": entity, "value": value, "start": start, "end": end, "extractor": type(self).__name__}
        )
        message.set(ENTITIES, entities, add_to_output=True)
