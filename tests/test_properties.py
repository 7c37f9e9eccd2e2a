"""Property-based tests (Hypothesis) for the crisis detector and the NLU message path.

The labelled corpus checks the messages someone thought of; these check what nobody
thought of: any Unicode string must be handled without raising, and the crisis decision
must not depend on how a person happens to type (capitals, spacing, punctuation around
the message). Hypothesis shrinks any failure to a minimal counterexample.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.crisis import KINDS
from bot.crisis.engine import CrisisDetector
from evaluation import corpus

ESCALATE = [message for _, message in corpus.iter_messages(corpus.load_escalate()["main"])]
#: Explicit statements: the full crisis reply, never only the check-in.
DIRECT = {m for c, m in corpus.iter_messages(corpus.load_escalate()["main"]) if c.name == "direct"}
MUST_NOT = [message for _, message in corpus.iter_messages(corpus.load_must_not())]

#: Punctuation people put around a message: quotes, ellipses, brackets, repeats.
SURROUNDINGS = st.sampled_from(["", "\"", "'", "...", "!!", "?", "(", ")", "-", "*", "“", "”", " ", "\n"])
#: Whitespace that may replace a single space between words.
GAPS = st.sampled_from([" ", "  ", "   ", "\t", " \t ", "\u00a0", "\n"])
#: Ways of capitalising a whole message.
CASINGS: List[Callable[[str], str]] = [str.lower, str.upper, str.title, str.swapcase, str.capitalize]

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _kind(detector: CrisisDetector, text: str) -> str | None:
    found = detector.detect(text)
    return found.kind if found else None


def _respace(text: str, gaps: List[str]) -> str:
    """Replaces each single space of ``text`` with the next gap (cycling)."""
    words = text.split(" ")
    out = words[0]
    for index, word in enumerate(words[1:]):
        out += gaps[index % len(gaps)] + word
    return out


@pytest.mark.unit
@PROPERTY_SETTINGS
@given(text=st.text(max_size=400))
def test_any_unicode_string_is_handled(detector: CrisisDetector, text: str) -> None:
    found = detector.detect(text)
    assert found is None or found.kind in KINDS


@pytest.mark.unit
@PROPERTY_SETTINGS
@given(text=st.text(alphabet=st.characters(blacklist_categories=()), min_size=1, max_size=50).map(lambda t: t * 400))
def test_long_repetitive_strings_are_handled(detector: CrisisDetector, text: str) -> None:
    found = detector.detect(text)
    assert found is None or found.kind in KINDS


@pytest.mark.unit
@PROPERTY_SETTINGS
@given(
    message=st.sampled_from(ESCALATE + MUST_NOT),
    casing=st.sampled_from(CASINGS),
    gaps=st.lists(GAPS, min_size=1, max_size=4),
    before=SURROUNDINGS,
    after=SURROUNDINGS,
)
def test_detection_ignores_case_spacing_and_surrounding_punctuation(
    detector: CrisisDetector, message: str, casing: Callable[[str], str], gaps: List[str], before: str, after: str
) -> None:
    variant = before + _respace(casing(message), gaps) + after
    assert _kind(detector, variant) == _kind(detector, message), (message, variant)


@pytest.mark.unit
@PROPERTY_SETTINGS
@given(message=st.sampled_from(ESCALATE), filler=st.text(max_size=40))
def test_risk_is_found_after_any_unrelated_opening(detector: CrisisDetector, message: str, filler: str) -> None:
    """A crisis message stays a crisis whatever sentence came before it."""
    assert _kind(detector, f"{filler}.\n\n{message}") is not None or _kind(detector, message) is None


@pytest.mark.model
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_message_path_handles_any_unicode_string(parse: Callable[[str], Dict[str, Any]], text: str) -> None:
    """The whole NLU pipeline (tokenizer, classifier, extractors, crisis guard) never raises."""
    result = parse(text)
    assert isinstance(result["intent"]["name"], str)
    assert 0.0 <= result["intent"]["confidence"] <= 1.0


@pytest.mark.model
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.sampled_from(ESCALATE), casing=st.sampled_from(CASINGS), before=SURROUNDINGS, after=SURROUNDINGS)
def test_message_path_escalates_whatever_the_typing(
    parse: Callable[[str], Dict[str, Any]], message: str, casing: Callable[[str], str], before: str, after: str
) -> None:
    result = parse(before + casing(message) + after)
    wanted = {"crisis"} if message in DIRECT else {"crisis", "crisis_check_in"}
    assert result["intent"]["name"] in wanted, (message, result["intent"])
