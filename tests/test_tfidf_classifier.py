"""The intent classifier's direct scorer gives the same probabilities as scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource

from bot.nlu.tfidf_classifier import TfidfIntentClassifier, _Scorer

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


def test_scorer_matches_the_pipeline_probabilities(tmp_path) -> None:
    pipeline = _pipeline(TRAINING, tmp_path)
    scorer = _Scorer(pipeline)
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
        _Scorer(_pipeline(two, tmp_path))
