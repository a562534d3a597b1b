"""Rasa policy: listen for the merchant once the rules have nothing more to do.

The dialogue is written as rules (data/dialogue/rules.yml) and one form. A rule ends with
an action whose slot events are chosen by the action at run time (``pending_question``
becomes ``rating``, ``ticket_offer``, ...), while the rule itself, by our convention, lists
that slot as null. So the state after the action never equals the rule's end state, and
RulePolicy does not predict the ``action_listen`` that ends every rule. TEDPolicy used to
fill that gap: a transformer forward pass on every prediction, minutes of training, and a
cost that grew with the conversation, to learn "after a bot action, wait for the merchant".

This policy says exactly that and nothing more: after any bot action it predicts
``action_listen`` with a confidence above RulePolicy's core-fallback threshold and below a
matching rule (1.0), so a rule that continues (``action_start_ticket_form`` -> the form, the
form's own loop) always wins. After a merchant message it predicts nothing, and rules,
memoized stories or the core fallback decide. It reads only the latest action: constant
cost, no featurisation, nothing to train.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class ListenAfterActionPolicy(Policy):
    """``action_listen`` after every bot action, with a fixed confidence."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Above RulePolicy's core_fallback_threshold (config.yml: 0.3), below a rule (1.0).
            "confidence": 0.6,
            "priority": 1,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any | None = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.confidence = float(config.get("confidence", 0.6))

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        latest = tracker.latest_action_name
        if latest and latest != ACTION_LISTEN_NAME:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = self.confidence
        return self._prediction(probabilities)
