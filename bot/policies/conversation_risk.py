"""``ConversationRiskPolicy``: a check-in when weak risk signals add up over a conversation.

The NLU guard judges one message at a time; this policy looks back over the person's
latest messages (``bot.crisis.conversation``) and, when weak signals add up, sends the
check-in question from the domain instead of the ordinary answer. It outranks RulePolicy
only where it predicts; it never predicts on a message the guard already escalated or
checked in on, so the crisis rules stay exactly as they are.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.crisis.conversation import needs_check_in, turns_since_reply
from bot.crisis.tiers import shared_risk_model

CHECK_IN_ACTION = "utter_crisis_check"
#: After these the person has just been offered help, so the count starts again.
RESET_ACTIONS = frozenset({CHECK_IN_ACTION, "utter_crisis", "utter_crisis_followup"})


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=False
)
class ConversationRiskPolicy(Policy):
    """Predicts the check-in when the conversation's weak signals add up, else abstains."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Above RulePolicy (4), so its rare prediction wins the tie at confidence 1.0."""
        return {"priority": 5}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        """Nothing to learn: the decision reads the scores the guard stored."""
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to train."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """The check-in after a message that completes enough weak signals; otherwise nothing."""
        probabilities = self._default_predictions(domain)
        if tracker.latest_action_name == ACTION_LISTEN_NAME and tracker.latest_message is not None:
            events = (event.as_dict() for event in tracker.events)
            turns = turns_since_reply(events, RESET_ACTIONS)
            if needs_check_in(turns, shared_risk_model().thresholds.signal):
                probabilities[domain.index_for_action(CHECK_IN_ACTION)] = 1.0
        elif tracker.latest_action_name == CHECK_IN_ACTION:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> ConversationRiskPolicy:
        """Nothing stored: the same policy as a fresh one."""
        return cls(config, model_storage, resource, execution_context)
