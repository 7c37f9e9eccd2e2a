"""The risk model, the tier decision and conversation-level risk, without a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.crisis import conversation, risk_model, tiers
from bot.crisis.conversation import Turn, needs_check_in, turns_since_reply
from bot.crisis.risk_model import LengthBand, RiskModel, RiskScore, Thresholds, common_scale, segments


@pytest.mark.unit
def test_segments_read_each_sentence_and_a_short_message_whole() -> None:
    text = "I moved to a new city. Work is fine. I want to die."
    pieces = segments(text)
    assert "I want to die." in pieces and text in pieces
    long = "word " * 400 + "i want to die " + "word " * 400
    pieces = segments(long)
    assert long.strip() not in pieces, "a long message is not scored whole"
    assert any("i want to die" in piece for piece in pieces)
    assert all(len(piece) <= 400 for piece in pieces)
    assert segments("   ") == []


@pytest.mark.unit
def test_each_length_band_maps_its_own_thresholds_onto_the_common_ones() -> None:
    common = Thresholds(crisis=0.9, check_in=0.7, signal=0.4)
    bands = [
        LengthBand(3, Thresholds(crisis=0.8, check_in=0.6, signal=0.3)),
        LengthBand(None, Thresholds(crisis=0.95, check_in=0.8, signal=0.5)),
    ]
    assert common_scale(0.6, 2, common, bands) == pytest.approx(0.7)  # a short message at its band's check-in
    assert common_scale(0.6, 9, common, bands) == pytest.approx(0.5)  # the same raw score, long: below check-in
    assert common_scale(0.8, 9, common, bands) == pytest.approx(0.7)
    assert common_scale(0.95, 9, common, bands) == pytest.approx(0.9)
    scores = [common_scale(raw / 100, 9, common, bands) for raw in range(101)]
    assert scores == sorted(scores) and scores[0] == 0.0 and scores[-1] == 1.0, "monotone, ends fixed"
    assert common_scale(0.6, 2, common, []) == 0.6, "no bands: the raw score"


@pytest.mark.model
def test_the_stored_model_calibrates_each_length_band() -> None:
    model = tiers.shared_risk_model()
    assert model.bands and model.bands[-1].max_segments is None
    with pytest.raises(ValueError, match="length bands"):
        RiskModel(model._scorer, model.thresholds, list(reversed(model.bands)))


@pytest.mark.model
def test_one_risky_sentence_in_a_long_story_scores_as_high_as_alone() -> None:
    model = tiers.shared_risk_model()
    story = " ".join(
        [
            "My week started with a flat tyre and my boss shouting at me about the rota.",
            "My sister is visiting next month and I have to clean the flat.",
            "I have been thinking about ending my life.",
            "Anyway the weather has been nice and the cat is fine.",
        ]
    )
    assert model.score(story).score >= model.score("I have been thinking about ending my life.").score - 1e-9


@pytest.mark.model
def test_a_stored_model_loads_and_a_missing_one_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make train"):
        RiskModel.load(tmp_path / "absent")
    source = risk_model.model_dir()
    model = RiskModel.load(source)
    model.save(tmp_path / "copy")
    again = RiskModel.load(tmp_path / "copy")
    for text in ("how long is a session", "i want to end it all tonight"):
        assert again.score(text) == model.score(text)


@pytest.mark.model
def test_thresholds_out_of_order_are_refused(tmp_path: Path) -> None:
    model = RiskModel.load(risk_model.model_dir())
    model.save(tmp_path)
    meta = tmp_path / "risk_model_thresholds.json"
    meta.write_text(json.dumps({"crisis": 0.5, "check_in": 0.9, "signal": 0.2}))
    with pytest.raises(ValueError, match="thresholds"):
        RiskModel.load(tmp_path)


@pytest.mark.model
def test_tier_of_a_score() -> None:
    model = tiers.shared_risk_model()
    t = model.thresholds
    assert 0 < t.signal <= t.check_in <= t.crisis <= 1
    assert model.tier(t.crisis) == "crisis"
    assert model.tier(t.check_in) == "check_in"
    assert model.tier(t.check_in - 1e-6) == "none"


class _FixedModel:
    """A stand-in risk model that scores every message the same."""

    def __init__(self, score: float) -> None:
        self.thresholds = Thresholds(crisis=0.9, check_in=0.6, signal=0.3)
        self._score = score

    def score(self, text: str) -> RiskScore:
        return RiskScore(self._score, "domestic_violence")

    def tier(self, score: float) -> str:
        return RiskModel.tier(self, score)  # type: ignore[arg-type]


@pytest.fixture()
def fixed_model(monkeypatch: pytest.MonkeyPatch):
    def use(score: float) -> None:
        monkeypatch.setattr(tiers, "shared_risk_model", lambda: _FixedModel(score))

    return use


@pytest.mark.unit
def test_the_model_never_removes_a_rules_escalation(fixed_model) -> None:
    fixed_model(0.0)
    verdict = tiers.assess("i want to kill myself")
    assert (verdict.tier, verdict.kind) == ("crisis", "self") and verdict.source != "risk_model"


@pytest.mark.unit
def test_the_model_adds_escalations_and_check_ins(fixed_model) -> None:
    fixed_model(0.95)
    verdict = tiers.assess("an ordinary sentence about the weather")
    assert (verdict.tier, verdict.kind, verdict.source) == ("crisis", "domestic_violence", "risk_model")
    fixed_model(0.7)
    assert tiers.assess("an ordinary sentence about the weather").tier == "check_in"
    fixed_model(0.2)
    assert tiers.assess("an ordinary sentence about the weather").tier == "none"


@pytest.mark.unit
def test_a_negated_statement_gets_at_most_the_check_in_from_the_model(fixed_model) -> None:
    fixed_model(0.95)
    verdict = tiers.assess("i'm not suicidal, just curious how therapy works")
    assert verdict.tier == "check_in" and verdict.source == "risk_model"
    fixed_model(0.1)
    verdict = tiers.assess("i'm not suicidal, just curious how therapy works")
    assert verdict.tier == "none" and verdict.negated


@pytest.mark.model
def test_not_joking_is_no_denial() -> None:
    texts = (
        "i want to kill myself and im not joking",
        "kms im not even joking",
        "I want to die, I'm not being dramatic",
    )
    for text in texts:
        assert tiers.assess(text).tier == "crisis", text


def _turns(*scores: float) -> list:
    return [Turn("none", s) for s in scores]


@pytest.mark.unit
def test_two_weak_signals_in_the_window_ask_for_a_check_in() -> None:
    assert needs_check_in(_turns(0.5, 0.0, 0.0, 0.6), signal_threshold=0.4)
    assert not needs_check_in(_turns(0.5, 0.0, 0.0, 0.1), 0.4), "the latest message must be a signal"
    assert not needs_check_in(_turns(0.0, 0.6), 0.4), "one signal is not enough"
    old = _turns(0.5) + _turns(*[0.0] * conversation.WINDOW) + _turns(0.6)
    assert not needs_check_in(old, 0.4), "signals older than the window do not count"
    assert not needs_check_in([Turn("none", 0.5), Turn("check_in", 0.95)], 0.4), "the guard already asked"


@pytest.mark.unit
def test_turns_restart_after_the_crisis_reply_or_a_check_in() -> None:
    events = [
        {"event": "user", "parse_data": {"crisis": {"tier": "none", "score": 0.5}}},
        {"event": "action", "name": "utter_crisis_check"},
        {"event": "user", "parse_data": {"crisis": {"tier": "none", "score": 0.2}}},
        {"event": "user", "parse_data": {}},
    ]
    turns = turns_since_reply(events, frozenset({"utter_crisis_check"}))
    assert turns == [Turn("none", 0.2), Turn("none", 0.0)]


@pytest.mark.unit
def test_a_bare_yes_or_no_is_never_a_weak_signal() -> None:
    def user(intent: str, score: float) -> dict:
        return {"event": "user", "parse_data": {"intent": {"name": intent}, "crisis": {"tier": "none", "score": score}}}

    events = [user("deny", 0.6), user("affirm", 0.7), user("out_of_scope", 0.6)]
    assert turns_since_reply(events, frozenset()) == [Turn("none", 0.0), Turn("none", 0.0), Turn("none", 0.6)]
    assert not needs_check_in(turns_since_reply(events, frozenset()), 0.4), "one real signal is not enough"


@pytest.mark.unit
def test_redacted_events_keep_the_numbers_conversation_risk_needs() -> None:
    from bot.storage.redaction import redact_event

    event = {
        "event": "user",
        "text": "secret words",
        "parse_data": {"text": "secret words", "crisis": {"tier": "none", "score": 0.42, "rule": "x"}},
    }
    redacted = redact_event(event)
    assert turns_since_reply([redacted], frozenset()) == [Turn("none", 0.42)]
    assert "secret" not in json.dumps(redacted)
