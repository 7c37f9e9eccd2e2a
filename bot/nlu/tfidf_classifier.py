"""``TfidfIntentClassifier``: logistic regression on TF-IDF word and character n-grams.

Word vectors cannot be downloaded on these machines, so the classifier must generalise
from the training sentences alone. Rasa's featurizers only count n-grams; weighting them
by TF-IDF (sublinear term frequency) measured 0.86-0.87 on the held-out set against
0.82 for Rasa's ``LogisticRegressionClassifier`` on counts and 0.76-0.77 for DIET, and it
trains in a few seconds.

Since stop 19 the ranking of what a message asks is blended with a logistic regression
over MiniLM sentence embeddings (``bot/nlu/encoder_head.py``, ``bot/nlu/minilm.py``): it
carries what was learnt to wording the training data never used. ``encoder_weight`` 0
turns that off.

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

from bot.nlu import minilm
from bot.nlu.encoder_head import EncoderHead, blend
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

        ``encoder_weight``: the sentence encoder's share of the blend (0 leaves TF-IDF alone);
        ``encoder_C`` its head's regularisation, as measured in the experiment (``encoder_head``).
        ``encoder_below``: the encoder is consulted only when TF-IDF's best intent is less sure
        than this. On the held-out batches A to S, U and the test set, 0.9 gave the same
        replies as always consulting it within one question in a thousand (strict 0.814 vs
        0.813, reach 0.907 vs 0.908, wrong 0.027 vs 0.026) while running it for 35% of the
        questions, so a busy server pays its ~10 ms only where TF-IDF is unsure.
        """
        return {
            "C": 30.0, "ranking_length": 10, "max_iter": 3000, "tol": 1e-2, "char_ngrams": [2, 5], "char_min_df": 2,
            "encoder_weight": 0.5, "encoder_C": 10.0, "encoder_below": 0.9,
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        scorer: TfidfScorer | None = None,
    ) -> None:
        """Wraps a trained model (``None`` before training); ``load`` adds the encoder head."""
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._scorer = scorer
        self._head: EncoderHead | None = None
        if not 0.0 <= float(self._config["encoder_weight"]) < 1.0:
            raise ValueError("encoder_weight must be at least 0 and below 1")

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

    @property
    def _uses_encoder(self) -> bool:
        return float(self._config["encoder_weight"]) > 0.0

    def train(self, training_data: TrainingData) -> Resource:
        """Fits on every intent example and stores the model (and the encoder head)."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        texts, labels = [m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples]
        pipeline = self._build_pipeline()
        fit_single_threaded(pipeline, texts, labels)
        self._scorer = TfidfScorer.from_pipeline(pipeline)
        if self._uses_encoder:
            self._head = EncoderHead.fit(minilm.encoder().encode(texts), labels, float(self._config["encoder_C"]))
            self._check_classes()
        with self._model_storage.write_to(self._resource) as directory:
            self._scorer.save(directory)
            if self._head is not None:
                self._head.save(directory)
        return self._resource

    def _check_classes(self) -> None:
        if self._head is not None and self._head.classes != [str(c) for c in self._scorer.classes]:
            raise ValueError("the encoder head and the TF-IDF model were trained on different intents")

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
        classifier = cls(config, model_storage, resource)
        with model_storage.read_from(resource) as directory:
            classifier._scorer = TfidfScorer.load(directory)
            if classifier._uses_encoder:
                classifier._head = EncoderHead.load(directory)
        if classifier._uses_encoder:
            minilm.encoder()  # loaded (and its hash checked) at start-up, not on the first message
        classifier._check_classes()
        return classifier

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets ``intent`` and ``intent_ranking`` on each message with text.

        A message of several sentences that asks something is ranked by its question
        sentences (``asked_text``), not by its whole text, unless either reading has crisis
        on top: then the whole text's ranking stays, so the crisis guard sees exactly what
        it saw before (its decisions must not change). The reading that stays is blended
        with the sentence encoder's head (``_with_encoder``). ``clauses`` holds the ranking
        of each separate question of a message that asks two or more (compound questions).
        """
        if self._scorer is None:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            read, probabilities = text, self._scorer.predict_proba([text])[0]
            asked = asked_text(text)
            if asked is not None and not self._crisis_on_top(probabilities):
                asked_probabilities = self._scorer.predict_proba([asked])[0]
                if not self._crisis_on_top(asked_probabilities):
                    read, probabilities = asked, asked_probabilities
            if not self._crisis_on_top(probabilities):
                probabilities = self._with_encoder(probabilities, read)
            ranking = self._ranking(probabilities)
            ranking = self._demote_short_intents(ranking, text)[: self._config["ranking_length"]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            self._rank_questions(message)
            self._rank_clauses(message)
        return messages

    def _crisis_on_top(self, probabilities: Any) -> bool:
        return str(self._scorer.classes[int(probabilities.argmax())]) == CRISIS_INTENT

    def _with_encoder(self, probabilities: Any, text: str) -> Any:
        """TF-IDF's probabilities blended with the encoder head's (crisis's left as it is)."""
        if self._head is None or probabilities.max() >= float(self._config["encoder_below"]):
            return probabilities
        head = self._head.predict_proba(minilm.encoder().encode([text]))[0]
        classes = list(self._head.classes)
        keep = classes.index(CRISIS_INTENT) if CRISIS_INTENT in classes else None
        return blend(probabilities, head, float(self._config["encoder_weight"]), keep)

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
