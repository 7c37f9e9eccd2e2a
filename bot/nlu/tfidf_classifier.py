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

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.extmath import softmax

logger = logging.getLogger(__name__)

_SETTINGS_FILE = "tfidf_intent_classifier.json"
_WEIGHTS_FILE = "tfidf_intent_classifier.npz"
#: The vectorizer settings that decide how a text becomes n-grams (``build_analyzer``).
_ANALYZER_SETTINGS = ("analyzer", "ngram_range", "lowercase", "strip_accents", "token_pattern")


class _Scorer:
    """The trained pipeline's ``predict_proba``, computed directly from its parts.

    Why: for one short message scikit-learn spends most of its time re-validating input,
    building sparse matrices and dispatching the feature union through joblib: 5.8 ms
    per message against about 0.3 ms for the arithmetic (``make bench``). This applies the
    same fitted vocabularies, IDF weights and coefficients with the same formulas:
    sublinear term frequency times IDF, L2-normalised per vectorizer, then a softmax over
    the linear scores. A test compares the result with ``Pipeline.predict_proba``.
    These parts are also what ``save`` stores and ``load`` reads back.
    """

    def __init__(
        self,
        analyzers: Sequence[Dict[str, Any]],
        vocabularies: Sequence[Dict[str, int]],
        idfs: Sequence[np.ndarray],
        coefficients: np.ndarray,
        intercept: np.ndarray,
        classes: Sequence[str],
    ) -> None:
        """Checks that the parts fit together and prepares one analyzer per vectorizer."""
        if not len(analyzers) == len(vocabularies) == len(idfs):
            raise ValueError("each vectorizer needs its settings, vocabulary and IDF weights")
        features = sum(len(v) for v in vocabularies)
        if coefficients.shape != (len(classes), features) or intercept.shape != (len(classes),) or len(classes) < 3:
            raise ValueError("the coefficients do not match the vocabularies and classes")
        self.analyzer_settings = [dict(settings) for settings in analyzers]
        self._parts: List[Tuple[Callable[[str], List[str]], Dict[str, int], np.ndarray, int]] = []
        offset = 0
        for settings, vocabulary, idf in zip(self.analyzer_settings, vocabularies, idfs, strict=True):
            if idf.shape != (len(vocabulary),) or sorted(vocabulary.values()) != list(range(len(vocabulary))):
                raise ValueError("a vocabulary does not match its IDF weights")
            analyzer = TfidfVectorizer(**{**settings, "ngram_range": tuple(settings["ngram_range"])}).build_analyzer()
            self._parts.append((analyzer, dict(vocabulary), np.asarray(idf, dtype=np.float64), offset))
            offset += len(vocabulary)
        self._coefficients = np.asarray(coefficients, dtype=np.float64)
        self._weights = np.ascontiguousarray(self._coefficients.T)  # one row per feature
        self._intercept = np.asarray(intercept, dtype=np.float64)
        self.classes = np.asarray(classes, dtype=str)

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> _Scorer:
        """The parts of a fitted pipeline of ``_build_pipeline``'s shape."""
        features: FeatureUnion = pipeline.named_steps["features"]
        classifier: LogisticRegression = pipeline.named_steps["classifier"]
        vectorizers = [vectorizer for _, vectorizer in features.transformer_list]
        if (
            features.transformer_weights
            or classifier.coef_.shape[0] < 3
            or not all(
                v.sublinear_tf and v.use_idf and v.norm == "l2" and not v.binary
                and v.preprocessor is None and v.tokenizer is None and v.stop_words is None
                for v in vectorizers
            )
        ):
            raise ValueError("_Scorer covers a multinomial model over sublinear, L2-normalised TF-IDF features")
        return cls(
            analyzers=[{name: getattr(v, name) for name in _ANALYZER_SETTINGS} for v in vectorizers],
            vocabularies=[{term: int(index) for term, index in v.vocabulary_.items()} for v in vectorizers],
            idfs=[v.idf_ for v in vectorizers],
            coefficients=classifier.coef_,
            intercept=classifier.intercept_,
            classes=[str(c) for c in classifier.classes_],
        )

    def save(self, directory: Path) -> None:
        """Writes the settings and vocabularies (JSON) and the weights (``.npz``)."""
        settings = {
            "analyzers": [{**s, "ngram_range": list(s["ngram_range"])} for s in self.analyzer_settings],
            "vocabularies": [vocabulary for _analyze, vocabulary, _idf, _offset in self._parts],
            "classes": [str(c) for c in self.classes],
        }
        (directory / _SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
        weights = {f"idf_{i}": idf for i, (_analyze, _vocabulary, idf, _offset) in enumerate(self._parts)}
        np.savez(directory / _WEIGHTS_FILE, coefficients=self._coefficients, intercept=self._intercept, **weights)

    @classmethod
    def load(cls, directory: Path) -> _Scorer:
        """Reads what ``save`` wrote; only numbers and text, never pickled objects."""
        settings = json.loads((directory / _SETTINGS_FILE).read_text(encoding="utf-8"))
        analyzers = settings["analyzers"]
        if any(set(a) != set(_ANALYZER_SETTINGS) or a["analyzer"] not in ("word", "char_wb") for a in analyzers):
            raise ValueError("the stored analyzer settings are not ones this classifier writes")
        with np.load(directory / _WEIGHTS_FILE, allow_pickle=False) as weights:
            return cls(
                analyzers=analyzers,
                vocabularies=settings["vocabularies"],
                idfs=[weights[f"idf_{i}"] for i in range(len(analyzers))],
                coefficients=weights["coefficients"],
                intercept=weights["intercept"],
                classes=settings["classes"],
            )

    def _scores(self, text: str) -> np.ndarray:
        scores = self._intercept.copy()
        for analyze, vocabulary, idf, offset in self._parts:
            counts = Counter(index for index in map(vocabulary.get, analyze(text)) if index is not None)
            if not counts:
                continue
            indices = np.fromiter(sorted(counts), dtype=np.intp, count=len(counts))
            values = (np.log([counts[i] for i in indices]) + 1.0) * idf[indices]
            values /= np.sqrt(values @ values)
            scores += values @ self._weights[indices + offset]
        return scores

    def predict_proba(self, texts: List[str]) -> np.ndarray:
        """One row of intent probabilities per text, in the order of ``classes``."""
        return softmax(np.array([self._scores(text) for text in texts]), copy=False)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class TfidfIntentClassifier(GraphComponent, IntentClassifier):
    """Predicts the intent and a ranking of the most likely intents."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Regularisation and ranking length; tuned on the held-out set (see module doc)."""
        return {"C": 30.0, "ranking_length": 10, "max_iter": 3000}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        scorer: _Scorer | None = None,
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
        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
            ]
        )
        classifier = LogisticRegression(
            C=self._config["C"], max_iter=self._config["max_iter"], class_weight="balanced"
        )
        return Pipeline([("features", features), ("classifier", classifier)])

    def train(self, training_data: TrainingData) -> Resource:
        """Fits on every intent example and stores the model."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        pipeline = self._build_pipeline()
        pipeline.fit([m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples])
        self._scorer = _Scorer.from_pipeline(pipeline)
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
            scorer = _Scorer.load(directory)
        return cls(config, model_storage, resource, scorer)

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets ``intent`` and ``intent_ranking`` on each message with text."""
        if self._scorer is None:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        probabilities = self._scorer.predict_proba(texts)
        intents = self._scorer.classes
        for message, row in zip(messages, probabilities, strict=True):
            ranking = sorted(
                ({"name": str(name), "confidence": float(p)} for name, p in zip(intents, row, strict=True)),
                key=lambda entry: -entry["confidence"],
            )[: self._config["ranking_length"]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data passes through unchanged."""
        return training_data
