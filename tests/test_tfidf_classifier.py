"""The intent classifier's direct scorer gives scikit-learn's probabilities, before and after storage."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.tfidf_classifier import TfidfIntentClassifier
from bot.nlu.tfidf_scorer import TfidfScorer

pytestmark = pytest.mark.unit

TRAINING = {
    "session_length": ["how long is a session", "how many minutes does therapy last", "session duration"],
    "confidentiality": ["is therapy confidential", "will my therapist tell anyone", "is it private"],
    "first_session": ["what happens at the first appointment", "my first session", "first visit to a therapist"],
    "cost": ["how much does therapy cost", "is it expensive", "price of a session"],
}
UNSEEN = [
    "how long do sessions go on for?",
    "Will they tell my parents what I say",
    "",
    "   ",
    "🙂🙂",
    "qwertyuiop zxcvbnm",
    "what happens at the first appointment",
    "ça coûte combien une séance",
]


def _pipeline(classes: dict[str, list[str]], tmp_path):
    classifier = TfidfIntentClassifier(
        TfidfIntentClassifier.get_default_config(), LocalModelStorage(tmp_path), Resource("tfidf")
    )
    pipeline = classifier._build_pipeline()
    texts = [text for examples in classes.values() for text in examples]
    labels = [intent for intent, examples in classes.items() for _ in examples]
    return pipeline.fit(texts, labels)


@pytest.mark.parametrize("stored", [False, True], ids=["fitted", "saved-and-loaded"])
def test_scorer_matches_the_pipeline_probabilities(tmp_path, stored: bool) -> None:
    pipeline = _pipeline(TRAINING, tmp_path)
    scorer = TfidfScorer.from_pipeline(pipeline)
    if stored:
        scorer.save(tmp_path)
        scorer = TfidfScorer.load(tmp_path)
    expected = pipeline.predict_proba(UNSEEN)
    got = scorer.predict_proba(UNSEEN)
    assert list(scorer.classes) == list(pipeline.classes_)
    assert got.shape == expected.shape == (len(UNSEEN), len(TRAINING))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    # One message at a time (as Rasa calls it) gives the same rows as a batch.
    for index, text in enumerate(UNSEEN):
        np.testing.assert_allclose(scorer.predict_proba([text])[0], expected[index], rtol=1e-9, atol=1e-12)


def test_scorer_refuses_a_two_class_model(tmp_path) -> None:
    """With two classes scikit-learn uses a logistic, not a softmax, so the scorer would be wrong."""
    two = {intent: TRAINING[intent] for intent in ("cost", "confidentiality")}
    with pytest.raises(ValueError):
        TfidfScorer.from_pipeline(_pipeline(two, tmp_path))


def test_the_component_trains_stores_and_loads_the_same_model(tmp_path) -> None:
    """TF-IDF alone (``encoder_weight`` 0); tests/test_encoder_head.py covers the blend."""
    from rasa.shared.nlu.training_data.training_data import TrainingData

    storage, resource = LocalModelStorage(tmp_path), Resource("tfidf")
    config = {**TfidfIntentClassifier.get_default_config(), "encoder_weight": 0.0}
    trained = TfidfIntentClassifier(config, storage, resource)
    examples = [Message(data={"text": t, "intent": i}) for i, texts in TRAINING.items() for t in texts]
    trained.train(TrainingData(training_examples=examples))
    loaded = TfidfIntentClassifier.load(config, storage, resource, execution_context=None)
    for text in UNSEEN:
        a, b = trained.process([Message(data={"text": text})])[0], loaded.process([Message(data={"text": text})])[0]
        assert a.get("intent") == b.get("intent") and a.get("intent_ranking") == b.get("intent_ranking")
    message = loaded.process([Message(data={"text": "is my therapy private"})])[0]
    assert message.get("intent")["name"] == "confidentiality"


def _stored(tmp_path):
    directory = tmp_path / "model"
    directory.mkdir()
    TfidfScorer.from_pipeline(_pipeline(TRAINING, tmp_path)).save(directory)
    return directory


def test_loading_never_unpickles(tmp_path) -> None:
    directory = _stored(tmp_path)
    with np.load(directory / "tfidf_intent_classifier.npz") as weights:
        arrays = dict(weights)
    arrays["intercept"] = np.array([object()] * 4, dtype=object)  # would need pickle to read back
    np.savez(directory / "tfidf_intent_classifier.npz", **arrays, allow_pickle=True)
    with pytest.raises(ValueError, match="pickle"):
        TfidfScorer.load(directory)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s["analyzers"][0].update(analyzer="callable"),
        lambda s: s["analyzers"][0].update(preprocessor="os.system"),
        lambda s: s["classes"].pop(),
        lambda s: s["vocabularies"][1].popitem(),
    ],
    ids=["unknown analyzer", "extra setting", "missing class", "short vocabulary"],
)
def test_a_model_that_does_not_fit_together_is_refused(tmp_path, tamper) -> None:
    directory = _stored(tmp_path)
    path = directory / "tfidf_intent_classifier.json"
    settings = json.loads(path.read_text())
    tamper(settings)
    path.write_text(json.dumps(settings))
    with pytest.raises(ValueError):
        TfidfScorer.load(directory)
