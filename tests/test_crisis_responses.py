"""The crisis responses in the domain: every region, every kind, every variant safe."""

from __future__ import annotations

import re
from typing import Any, Dict, List

import pytest

from bot.crisis import KINDS
from bot.crisis.regions import REGIONS, US_SPECIALIST_NUMBERS, deployment_region, normalise_region

pytestmark = pytest.mark.unit


def _variants(domain_dict: Dict[str, Any], name: str) -> List[Dict[str, Any]]:
    return domain_dict["responses"][name]


def _conditions(variant: Dict[str, Any]) -> Dict[str, str]:
    return {c["name"]: c["value"] for c in variant.get("condition", [])}


def test_every_region_and_kind_has_exactly_one_variant(domain_dict: Dict[str, Any]) -> None:
    seen = [
        (c.get("region"), c.get("crisis_kind"))
        for c in map(_conditions, _variants(domain_dict, "utter_crisis"))
        if c
    ]
    assert sorted(seen) == sorted((r, k) for r in REGIONS for k in KINDS)


def test_unconditional_fallback_is_the_us_suicide_reply(domain_dict: Dict[str, Any]) -> None:
    """If the slots were somehow unset, the reply still carries 988 and 911."""
    fallback = [v for v in _variants(domain_dict, "utter_crisis") if "condition" not in v]
    assert len(fallback) == 1
    assert "988" in fallback[0]["text"] and "911" in fallback[0]["text"]


@pytest.mark.parametrize("name", ["utter_crisis", "utter_crisis_line"])
def test_every_variant_carries_its_regions_numbers(domain_dict: Dict[str, Any], name: str) -> None:
    for variant in _variants(domain_dict, name):
        region = _conditions(variant).get("region", "US")
        for number in REGIONS[region].required_numbers:
            assert number in variant["text"], (region, number, variant["text"])
        assert variant["custom"]["region"] == region


def test_us_specialist_lines(domain_dict: Dict[str, Any]) -> None:
    for variant in _variants(domain_dict, "utter_crisis"):
        cond = _conditions(variant)
        if cond.get("region") == "US" and cond.get("crisis_kind") in US_SPECIALIST_NUMBERS:
            assert US_SPECIALIST_NUMBERS[cond["crisis_kind"]] in variant["text"]
            assert "911" in variant["text"]


def test_us_replies_offer_spanish_and_chat(domain_dict: Dict[str, Any]) -> None:
    for variant in _variants(domain_dict, "utter_crisis"):
        cond = _conditions(variant)
        if cond.get("region", "US") == "US" and cond.get("crisis_kind", "self") == "self":
            assert "988lifeline.org" in variant["text"]
            assert "AYUDA" in variant["text"] and "marca 2" in variant["text"]


def test_safe_messaging_elements(domain_dict: Dict[str, Any]) -> None:
    for variant in _variants(domain_dict, "utter_crisis"):
        text = variant["text"]
        lower = text.lower()
        kind = _conditions(variant).get("crisis_kind", "self")
        assert variant["custom"]["topic"] == "crisis" and variant["custom"]["kind"] == kind
        assert "commit suicide" not in lower
        assert not re.search(r"\b(successful|failed) attempt", lower)
        assert "keep talking" in lower, "offers to keep talking"
        assert "danger" in lower, "says what to do in immediate danger"
        if kind == "self":
            assert "glad you told me" in lower or "sorry" in lower, "empathy first"
            assert "24/7" in text or "any time" in lower or "day and night" in lower or "any hour" in lower
            assert "someone you trust" in lower, "encourages a person to be with them"
            assert "distance" in lower, "suggests distance from means"
        if kind == "other_person":
            assert "friends and family" in lower


def test_region_normalisation() -> None:
    assert normalise_region("gb") == "GB"
    assert normalise_region(" uk ") == "GB"
    assert normalise_region("XX") is None
    assert normalise_region(42) is None


def test_deployment_region_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRISIS_REGION", raising=False)
    assert deployment_region() == "US"
    monkeypatch.setenv("CRISIS_REGION", "nz")
    assert deployment_region() == "NZ"
    monkeypatch.setenv("CRISIS_REGION", "Atlantis")
    assert deployment_region() == "US"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.replace("default: US", "default: XX"), "default region"),
        (lambda t: t.replace("{call: \"Call 988\"", "{phone: \"Call 988\"", 1), "a link is"),
        (lambda t: t.replace("    banner:", "    baner:", 1), "expected exactly name"),
    ],
    ids=["unknown-default", "unknown-link-kind", "misspelt-key"],
)
def test_a_malformed_regions_table_is_refused(tmp_path, change, message: str) -> None:
    from bot.crisis import regions

    broken = tmp_path / "regions.yml"
    broken.write_text(change(regions.TABLE.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        regions._load(broken)
