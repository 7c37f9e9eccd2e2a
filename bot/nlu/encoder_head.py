"""Intent probabilities from sentence embeddings, and their blend with TF-IDF's.

Why: TF-IDF knows the project's own words; the MiniLM sentence encoder (``bot/nlu/minilm.py``)
places a paraphrase near the question it paraphrases. A logistic regression on the
embeddings (the "head") is blended with the TF-IDF model's probabilities by a weighted
geometric mean. On the project's held-out question batches (A, D, F, J, N, P, R and S,
``python -m evaluation.embedding_experiment --decide``) the blend at weight 0.5 took right
answers from 0.781 to 0.812, right topics within reach from 0.901 to 0.923 and wrong
answers from 0.049 to 0.031, with the reply band unchanged (``docs/nlu-generalisation.md``).
A geometric mean keeps the confidences as sharp as TF-IDF's, so the band chosen for TF-IDF
still fits; an arithmetic mean flattened them into more "Did you mean" choices.

The crisis intent is never blended: its probability stays TF-IDF's, so the crisis guard
(``bot/nlu/crisis_guard.py``) sees the classifier's crisis confidence exactly as before.

Stored as data (``.npz`` read with ``allow_pickle=False``), like the TF-IDF model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.utils.extmath import softmax

FILE_NAME = "encoder_head.npz"
#: Floor under probabilities before taking logarithms (a class the head rules out entirely
#: must not veto TF-IDF's answer on its own).
_FLOOR = 1e-9


class EncoderHead:
    """A multinomial logistic regression over unit-length sentence embeddings."""

    def __init__(self, coefficients: np.ndarray, intercept: np.ndarray, classes: Sequence[str]) -> None:
        """Checks that the parts fit together."""
        if coefficients.ndim != 2 or coefficients.shape[0] != len(classes) or intercept.shape != (len(classes),):
            raise ValueError("the encoder head's coefficients do not match its classes")
        self._weights = np.ascontiguousarray(np.asarray(coefficients, dtype=np.float32).T)
        self._intercept = np.asarray(intercept, dtype=np.float32)
        self.classes = [str(c) for c in classes]

    @classmethod
    def fit(cls, embeddings: np.ndarray, labels: Sequence[str], C: float) -> EncoderHead:
        """Fits on one embedding per training example (balanced classes, as TF-IDF's model)."""
        model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(embeddings, list(labels))
        return cls(model.coef_, model.intercept_, [str(c) for c in model.classes_])

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """One row of probabilities per embedding, in the order of ``classes``."""
        return softmax(np.atleast_2d(embeddings) @ self._weights + self._intercept, copy=False)

    def save(self, directory: Path) -> None:
        """Writes the weights and class names (numbers and text only)."""
        np.savez(
            directory / FILE_NAME,
            coefficients=self._weights.T,
            intercept=self._intercept,
            classes=np.array(self.classes, dtype=str),
        )

    @classmethod
    def load(cls, directory: Path) -> EncoderHead:
        """Reads what ``save`` wrote with ``allow_pickle=False``."""
        with np.load(directory / FILE_NAME, allow_pickle=False) as data:
            return cls(data["coefficients"], data["intercept"], [str(c) for c in data["classes"]])


def blend(tfidf: np.ndarray, head: np.ndarray, weight: float, keep: int | None = None) -> np.ndarray:
    """Weighted geometric mean of two probability rows, renormalised.

    ``keep``: the index of a class whose probability stays exactly TF-IDF's (crisis); the
    other classes share the rest of the mass in the blend's proportions.
    """
    logs = (1.0 - weight) * np.log(np.maximum(tfidf, _FLOOR)) + weight * np.log(np.maximum(head, _FLOOR))
    blended = np.exp(logs - logs.max())
    if keep is None:
        return blended / blended.sum()
    blended[keep] = 0.0
    blended *= (1.0 - tfidf[keep]) / max(blended.sum(), _FLOOR)
    blended[keep] = tfidf[keep]
    return blended
