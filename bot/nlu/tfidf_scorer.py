"""Scoring with a TF-IDF + logistic-regression model, stored as data and read without pickle.

Shared by the intent classifier (``bot/nlu/tfidf_classifier.py``) and the crisis risk model
(``bot/crisis/risk_model.py``): both fit scikit-learn's pipeline once, then score each
message straight from the fitted vocabularies, IDF weights and coefficients.

Why: for one short message scikit-learn spends most of its time re-validating input,
building sparse matrices and dispatching the feature union through joblib: 5.8 ms per
message against about 0.3 ms for the arithmetic (``make bench``). The stored model is
the analyzer settings and vocabularies as JSON and the IDF weights and coefficients as a
NumPy ``.npz`` read with ``allow_pickle=False``, so loading it can run no code.
"""

from __future__ import annotations

import json
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.extmath import softmax
from threadpoolctl import threadpool_limits

#: File names (without suffix) of a stored model; the intent classifier's is the default.
DEFAULT_STEM = "tfidf_intent_classifier"
#: The vectorizer settings that decide how a text becomes n-grams (``build_analyzer``).
_ANALYZER_SETTINGS = ("analyzer", "ngram_range", "lowercase", "strip_accents", "token_pattern")


class TfidfScorer:
    """The trained pipeline's ``predict_proba``, computed directly from its parts.

    It applies the fitted vocabularies, IDF weights and coefficients with the pipeline's
    own formulas:
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
        self._parts: List[Tuple[Callable[[str], np.ndarray], Dict[str, int], np.ndarray, int]] = []
        offset = 0
        for settings, vocabulary, idf in zip(self.analyzer_settings, vocabularies, idfs, strict=True):
            if idf.shape != (len(vocabulary),) or sorted(vocabulary.values()) != list(range(len(vocabulary))):
                raise ValueError("a vocabulary does not match its IDF weights")
            vocabulary, idf = dict(vocabulary), np.asarray(idf, dtype=np.float64)
            self._parts.append((_feature_ids(settings, vocabulary), vocabulary, idf, offset))
            offset += len(vocabulary)
        self._coefficients = np.asarray(coefficients, dtype=np.float64)
        self._weights = np.ascontiguousarray(self._coefficients.T)  # one row per feature
        self._intercept = np.asarray(intercept, dtype=np.float64)
        self.classes = np.asarray(classes, dtype=str)

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> TfidfScorer:
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
            raise ValueError("TfidfScorer covers a multinomial model over sublinear, L2-normalised TF-IDF features")
        return cls(
            analyzers=[{name: getattr(v, name) for name in _ANALYZER_SETTINGS} for v in vectorizers],
            vocabularies=[{term: int(index) for term, index in v.vocabulary_.items()} for v in vectorizers],
            idfs=[v.idf_ for v in vectorizers],
            coefficients=classifier.coef_,
            intercept=classifier.intercept_,
            classes=[str(c) for c in classifier.classes_],
        )

    def save(self, directory: Path, stem: str = DEFAULT_STEM) -> None:
        """Writes the settings and vocabularies (JSON) and the weights (``.npz``)."""
        settings = {
            "analyzers": [{**s, "ngram_range": list(s["ngram_range"])} for s in self.analyzer_settings],
            "vocabularies": [vocabulary for _analyze, vocabulary, _idf, _offset in self._parts],
            "classes": [str(c) for c in self.classes],
        }
        (directory / f"{stem}.json").write_text(json.dumps(settings), encoding="utf-8")
        weights = {f"idf_{i}": idf for i, (_analyze, _vocabulary, idf, _offset) in enumerate(self._parts)}
        np.savez(directory / f"{stem}.npz", coefficients=self._coefficients, intercept=self._intercept, **weights)

    @classmethod
    def load(cls, directory: Path, stem: str = DEFAULT_STEM) -> TfidfScorer:
        """Reads what ``save`` wrote; only numbers and text, never pickled objects."""
        settings = json.loads((directory / f"{stem}.json").read_text(encoding="utf-8"))
        analyzers = settings["analyzers"]
        if any(set(a) != set(_ANALYZER_SETTINGS) or a["analyzer"] not in ("word", "char_wb") for a in analyzers):
            raise ValueError("the stored analyzer settings are not ones this classifier writes")
        with np.load(directory / f"{stem}.npz", allow_pickle=False) as weights:
            return cls(
                analyzers=analyzers,
                vocabularies=settings["vocabularies"],
                idfs=[weights[f"idf_{i}"] for i in range(len(analyzers))],
                coefficients=weights["coefficients"],
                intercept=weights["intercept"],
                classes=settings["classes"],
            )

    def predict_proba(self, texts: List[str]) -> np.ndarray:
        """One row of probabilities per text, in the order of ``classes``.

        All texts are scored in one pass (the sentences of a long message are many short
        texts, and NumPy's cost per call outweighed the arithmetic of each).
        """
        scores = np.tile(self._intercept, (len(texts), 1))
        rows_of_text = np.arange(len(texts))
        for feature_ids, vocabulary, idf, offset in self._parts:
            ids = [feature_ids(text) for text in texts]
            rows = np.repeat(rows_of_text, [len(i) for i in ids])
            keys, counts = np.unique(rows * len(vocabulary) + np.concatenate([rows[:0], *ids]), return_counts=True)
            rows, indices = np.divmod(keys, len(vocabulary))
            values = (np.log(counts) + 1.0) * idf[indices]
            values /= np.sqrt(np.bincount(rows, values * values, minlength=len(texts)))[rows]
            weighted = values[:, None] * self._weights[indices + offset]
            for column in range(scores.shape[1]):
                scores[:, column] += np.bincount(rows, weighted[:, column], minlength=len(texts))
        return softmax(scores, copy=False)


def _feature_ids(settings: Dict[str, Any], vocabulary: Dict[str, int]) -> Callable[[str], np.ndarray]:
    """The vocabulary index of every n-gram of a text (repeats kept, unknown n-grams dropped).

    The n-grams are the vectorizer's own (``build_analyzer``). Character n-grams of
    ``char_wb`` never cross a space, so a text's are those of its words in turn: they are
    looked up once per word (cached), the costly part of scoring a long message.
    """
    settings = {**settings, "ngram_range": tuple(settings["ngram_range"])}

    def lookup(grams: List[str]) -> np.ndarray:
        ids = np.fromiter(map(vocabulary.get, grams, repeat(-1)), dtype=np.intp, count=len(grams))
        return ids[ids >= 0]

    if settings["analyzer"] != "char_wb":
        analyze = TfidfVectorizer(**settings).build_analyzer()
        return lambda text: lookup(analyze(text))
    preprocess = TfidfVectorizer(**settings).build_preprocessor()
    word_grams = TfidfVectorizer(**{**settings, "lowercase": False, "strip_accents": None}).build_analyzer()
    word_ids = lru_cache(maxsize=20_000)(lambda word: lookup(word_grams(word)))
    empty = np.empty(0, dtype=np.intp)
    return lambda text: np.concatenate([empty, *map(word_ids, preprocess(text).split())])


def build_pipeline(
    C: float, max_iter: int, char_ngrams: Tuple[int, int] = (2, 5), tol: float = 1e-4, char_min_df: int = 1
) -> Pipeline:
    """Word 1-2-grams and character n-grams (robust to typos), logistic regression on top.

    ``char_min_df``: character n-grams seen in fewer training texts are left out.
    """
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            (
                "chars",
                TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, sublinear_tf=True, min_df=char_min_df),
            ),
        ]
    )
    classifier = LogisticRegression(C=C, max_iter=max_iter, tol=tol, class_weight="balanced")
    return Pipeline([("features", features), ("classifier", classifier)])


def fit_single_threaded(pipeline: Pipeline, texts: Sequence[str], labels: Sequence[Any]) -> Pipeline:
    """Fits ``pipeline`` with the BLAS and OpenMP thread pools limited to one thread.

    Why: the multinomial loss multiplies small dense blocks between sparse products, and on
    the 2-core machine the extra BLAS threads mostly wait: the intent model's fit took
    41-43 s with the default pools and 31-34 s with one thread (same solver, same number of
    iterations), which is what brings training from scratch under ``make bench``'s 60 s.
    """
    with threadpool_limits(limits=1):
        return pipeline.fit(texts, labels)
