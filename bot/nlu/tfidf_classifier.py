"""``TfidfIntentClassifier``: logistic regression on TF-IDF word and character n-grams.

Word vectors cannot be downloaded on these machines, so the classifier must generalise
from the training sentences alone. Rasa's featurizers only count n-grams; weighting them
by TF-IDF (sublinear term frequency) measured 0.86-0.87 on the held-out set against
0.82 for Rasa's ``LogisticRegressionClassifier`` on counts and 0.76-0.77 for DIET, and it
trains in a few seconds.

The trained model is stored as data, not as Python objects: the analyzer settings and
vocabularies as JSON, the IDF weights and coefficients as a NumPy ``.npz`` read with
``allow_pickle=False``. Loading it can therefore run no code, and it needs neither
scikit-learn's estimators nor ``skops``, whose import alone cost about 2 s of the
server's start-up (it scans every loaded module) and whose load another 1.4 s.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.pipeline import Pipeline

from bot.nlu.questions import asked_text, question_clauses, question_sentences
from bot.nlu.tfidf_scorer import TfidfScorer, build_pipeline, fit_single_threaded

logger = logging.getLogger(__name__)

#: The crisis guard's intent: a reading with it on top is never replaced (see ``process``).
CRISIS_INTENT = "crisis"
#: Intents of short replies and small talk, and when a long message may not have them.
SHORT_INTENTS = frozenset(
    {"followup", "tell_me_more", "affirm", "deny", "unsure", "thanks", "greet", "goodbye", "help", "bot_challenge"}
)
SHORT_INTENT_MAX_WORDS = 8
SHORT_INTENT_SURE = 0.7

@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class TfidfIntentClassifier(GraphComponent, IntentClassifier):
    """Predicts the intent and a ranking of the most likely intents."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Regularisation and ranking length; tuned on the held-out set (see module doc).

        ``tol`` 1e-2 instead of scikit-learn's 1e-4: the fit stops after about 116 iterations
        instead of 171 (a quarter of the training time), with the same top-1 on the held-out
        batches A, D, F, J and the test set and the same answers on the held-out batches
        through the whole pipeline (bench/tried.md).

        Character n-grams seen in at least two training texts (``char_min_df``): the fit took
        39 s instead of 47 s, with the same top-1 on the test set (0.952) and the held-out
        batches within a point each way. Character 3-5-grams as well would save another 8 s
        but cost two questions of the test set (bench/tried.md).
        """
        return {"C": 30.0, "ranking_length": 10, "max_iter": 3000, "tol": 1e-2, "char_ngrams": [2, 5], "char_min_df": 2}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        scorer: TfidfScorer | None = None,
    ) -> None:
        """Wraps a trained model (``None`` before training)."""
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._scorer = scorer

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TfidfIntentClassifier:
        """Creates an untrained classifier."""
        return cls(config, model_storage, resource)

    def _build_pipeline(self) -> Pipeline:
        config = self._config
        return build_pipeline(
            config["C"], config["max_iter"], tuple(config["char_ngrams"]), config["tol"], config["char_min_df"]
        )

    def train(self, training_data: TrainingData) -> Resource:
        """Fits on every intent example and stores the model."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        pipeline = self._build_pipeline()
        fit_single_threaded(pipeline, [m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples])
        self._scorer = TfidfScorer.from_pipeline(pipeline)
        with self._model_storage.write_to(self._resource) as directory:
            self._scorer.save(directory)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TfidfIntentClassifier:
        """Loads a stored model (numbers and text only; see the module docstring)."""
        with model_storage.read_from(resource) as directory:
            scorer = TfidfScorer.load(directory)
        return cls(config, model_storage, resource, scorer)

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets ``intent`` and ``intent_ranking`` on each message with text.

        A message of several sentences that asks something is ranked by its question
        sentences (``asked_text``), not by its whole text, unless either reading has crisis
        on top: then the whole text's ranking stays, so the crisis guard sees exactly what
        it saw before (its decisions must not change). ``clauses`` holds the ranking of each
        separate question of a message that asks two or more (compound questions).
        """
        if self._scorer is None:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            ranking = self._ranking(self._scorer.predict_proba([text])[0])
            asked = asked_text(text)
            if asked is not None and ranking[0]["name"] != CRISIS_INTENT:
                asked_ranking = self._ranking(self._scorer.predict_proba([asked])[0])
                if asked_ranking[0]["name"] != CRISIS_INTENT:
                    ranking = asked_ranking
            ranking = self._demote_short_intents(ranking, text)[: self._config["ranking_length"]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            self._rank_questions(message)
            self._rank_clauses(message)
        return messages

    @staticmethod
    def _demote_short_intents(ranking: List[Dict[str, Any]], text: str) -> List[Dict[str, Any]]:
        """A long message is not a bare "yes", "thanks" or "tell me more".

        When such an intent is on top, unsure, of a message of more than
        ``SHORT_INTENT_MAX_WORDS`` words, the best other intent goes first (never crisis:
        the crisis guard reads the ranking and must see what it saw before).
        """
        top = ranking[0]
        if top["name"] not in SHORT_INTENTS or top["confidence"] >= SHORT_INTENT_SURE:
            return ranking
        if len(text.split()) <= SHORT_INTENT_MAX_WORDS:
            return ranking
        rest = [e for e in ranking if e["name"] not in SHORT_INTENTS]
        if not rest or rest[0]["name"] == CRISIS_INTENT:
            return ranking
        return rest + [e for e in ranking if e["name"] in SHORT_INTENTS]

    def _rank_clauses(self, message: Message) -> None:
        """The three best intents of each separate question (``clauses``); names and numbers only."""
        clauses = question_clauses(message.get(TEXT) or "")
        if not clauses:
            return
        rows = self._scorer.predict_proba(clauses)
        message.set("clauses", [self._ranking(row)[:3] for row in rows], add_to_output=True)

    def _ranking(self, row: Any) -> List[Dict[str, Any]]:
        classes = self._scorer.classes
        entries = ({"name": str(name), "confidence": float(p)} for name, p in zip(classes, row, strict=True))
        return sorted(entries, key=lambda entry: -entry["confidence"])

    def _rank_questions(self, message: Message) -> None:
        """The best intent of each question in a message of several sentences (``questions``).

        A message that tells a story or carries a disclosure and also asks something is
        answered by what it asks: the crisis guard uses this to answer the question after
        the crisis reply. Intent names and confidences only, never the sentences.
        """
        questions = question_sentences(message.get(TEXT) or "")
        if not questions:
            return
        rows = self._scorer.predict_proba(questions)
        message.set("questions", [self._ranking(row)[0] for row in rows], add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data passes through unchanged."""
        return training_data
