"""CrisisGuard: its place in the pipeline and its handling of typed `/intent` payloads."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.crisis.tiers import Assessment, shared_risk_model
from bot.nlu import crisis_guard
from bot.nlu.crisis_guard import CrisisGuard, neutralise_payload
from tests.support import ROOT, load_yaml

INTENTS = {"greet", "cost", "therapy_types", "tell_me_more"}
VALUES = {"therapy_type=cbt", "aspect=online"}


@pytest.mark.unit
def test_guard_is_the_last_component() -> None:
    pipeline = load_yaml(ROOT / "config.yml")["pipeline"]
    assert pipeline[-1]["name"] == "bot.nlu.crisis_guard.CrisisGuard"
    names = [c["name"] for c in pipeline]
    assert "KeywordIntentClassifier" not in names, "a keyword matcher may not override the classifier"


@pytest.mark.unit
@pytest.mark.parametrize(
    "text",
    ["/cost", "/tell_me_more", '/therapy_types{"therapy_type":"cbt"}', ' /cost '],
)
def test_button_payloads_pass(text: str) -> None:
    assert neutralise_payload(text, INTENTS, VALUES) == text


@pytest.mark.unit
@pytest.mark.parametrize(
    "text,expected",
    [
        ("/greet I want to die", "greet I want to die"),
        ('/greet{"x":1} I want to die', 'greet{"x":1} I want to die'),
        ("/restart", "restart"),
        ("/crisis", "crisis"),
        ("/session_start", "session_start"),
        ('/cost{"therapy_type":"kill_myself"}', 'cost{"therapy_type":"kill_myself"}'),
        ('/therapy_types{"region":"GB"}', 'therapy_types{"region":"GB"}'),
        ("/cost@0.1", "cost@0.1"),
        ("//greet", "greet"),
        ("/", ""),
    ],
)
def test_other_slash_text_becomes_words(text: str, expected: str) -> None:
    assert neutralise_payload(text, INTENTS, VALUES) == expected


@pytest.mark.unit
def test_text_without_slash_is_untouched() -> None:
    assert neutralise_payload("how long is a session?", INTENTS, VALUES) == "how long is a session?"


class _Storage:
    """The guard only touches model storage in train/load; process needs none."""


_GUARD: list = []


def _guard() -> CrisisGuard:
    """One guard for the module: building its detector is the slow part."""
    if not _GUARD:
        _GUARD.append(CrisisGuard(_Storage(), None, INTENTS, VALUES))  # type: ignore[arg-type]
    return _GUARD[0]


@pytest.mark.model
def test_detector_overrides_any_earlier_intent() -> None:
    message = Message(data={"text": "/greet I want to die", "intent": {"name": "greet", "confidence": 1.0}})
    _guard().process([message])
    assert message.get("intent") == {"name": "crisis", "confidence": 1.0}
    assert message.get("text") == "greet I want to die"
    assert message.get("crisis")["kind"] == "self"
    entities = {e["entity"]: e["value"] for e in message.get("entities")}
    assert entities == {"crisis_kind": "self"}, "no region entity: the slot defaults to US"


def _model_sees(monkeypatch: pytest.MonkeyPatch, score: float) -> None:
    """The rules find nothing and the risk model gives ``score``."""
    monkeypatch.setattr(crisis_guard, "assess", lambda text: Assessment("none", score=score))


@pytest.mark.model
def test_classifier_crisis_under_fallback_escalates_with_a_weak_model_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    _model_sees(monkeypatch, shared_risk_model().thresholds.signal)
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "crisis", "confidence": 0.85},
               {"name": "cost", "confidence": 0.4}]
    message = Message(data={"text": "xyzzy plugh", "intent": ranking[0], "intent_ranking": ranking})
    _guard().process([message])
    assert message.get("intent")["name"] == "crisis"
    assert message.get("crisis")["rule"] == "classifier.crisis_intent"


@pytest.mark.model
def test_classifier_crisis_does_not_overrule_the_rules_judgement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wording a rule saw and ruled out (negated, or an exception held) is not escalated by the classifier."""
    signal = shared_risk_model().thresholds.signal
    ranking = [{"name": "crisis", "confidence": 0.9}, {"name": "out_of_scope", "confidence": 0.05}]
    for considered in (True, False):
        verdict = Assessment("none", score=signal, considered=considered)
        monkeypatch.setattr(crisis_guard, "assess", lambda text, v=verdict: v)
        message = Message(data={"text": "i don't want to live in this city anymore", "intent": ranking[0],
                                "intent_ranking": ranking})
        _guard().process([message])
        assert (message.get("intent")["name"] == "crisis") is not considered


@pytest.mark.model
def test_classifier_crisis_alone_does_not_escalate_without_a_model_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    _model_sees(monkeypatch, shared_risk_model().thresholds.signal / 2)
    ranking = [{"name": "crisis", "confidence": 0.9}, {"name": "out_of_scope", "confidence": 0.05}]
    message = Message(data={"text": "i want to dye my hair blue", "intent": ranking[0], "intent_ranking": ranking})
    _guard().process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
    assert message.get("crisis")["tier"] == "none"


@pytest.mark.model
def test_unsure_classifier_crisis_guess_alone_does_not_escalate() -> None:
    ranking = [{"name": "crisis", "confidence": 0.3}, {"name": "difficult_emotions", "confidence": 0.2}]
    message = Message(data={"text": "my life feels boring", "intent": ranking[0], "intent_ranking": ranking})
    _guard().process([message])
    assert message.get("intent")["name"] == "nlu_fallback", "only the guard may decide crisis"
    assert message.get("crisis")["tier"] == "none"


@pytest.mark.model
def test_ordinary_message_keeps_its_intent() -> None:
    intent = {"name": "cost", "confidence": 0.9}
    message = Message(data={"text": "how much does therapy cost", "intent": intent,
                            "intent_ranking": [intent]})
    _guard().process([message])
    assert message.get("intent") == intent
    assert not message.get("entities")


@pytest.mark.model
def test_region_from_metadata_and_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    message = Message(data={"text": "i want to kill myself", "metadata": {"region": "gb"}})
    _guard().process([message])
    assert {e["entity"]: e["value"] for e in message.get("entities")}["region"] == "GB"
    monkeypatch.setenv("CRISIS_REGION", "AU")
    message = Message(data={"text": "how much does it cost", "intent": {"name": "cost", "confidence": 0.9}})
    _guard().process([message])
    assert {e["entity"]: e["value"] for e in message.get("entities")} == {"region": "AU"}


@pytest.mark.model
def test_guard_does_not_log_the_text(caplog: pytest.LogCaptureFixture) -> None:
    secret = "i want to kill myself tonight zebra42"
    with caplog.at_level("DEBUG"):
        _guard().process([Message(data={"text": secret})])
    assert "crisis escalation rule=" in caplog.text
    assert "zebra42" not in caplog.text and "kill myself" not in caplog.text


@pytest.mark.model
def test_only_the_guard_can_set_the_check_in() -> None:
    guard = CrisisGuard(_Storage(), None, INTENTS | {"crisis_check_in", "affirm"}, VALUES)  # type: ignore[arg-type]
    message = Message(data={"text": "/crisis_check_in", "intent": {"name": "crisis_check_in", "confidence": 1.0}})
    guard.process([message])
    assert message.get("text") == "crisis_check_in", "a typed guard intent is read as words"
    assert message.get("intent")["name"] != "crisis_check_in"
    assert neutralise_payload("/affirm", INTENTS | {"affirm"}, VALUES) == "/affirm", "the Yes button passes"


@pytest.mark.model
def test_a_question_beside_a_disclosure_is_named() -> None:
    message = Message(
        data={
            "text": "How much does therapy cost? I want to kill myself.",
            "questions": [{"name": "cost", "confidence": 0.9}],
        }
    )
    _guard().process([message])
    entities = {e["entity"]: e["value"] for e in message.get("entities")}
    assert message.get("intent")["name"] == "crisis" and entities["question_topic"] == "cost"
    unsure = Message(
        data={"text": "How much? I want to kill myself.", "questions": [{"name": "cost", "confidence": 0.3}]}
    )
    _guard().process([unsure])
    assert "question_topic" not in {e["entity"] for e in unsure.get("entities")}
