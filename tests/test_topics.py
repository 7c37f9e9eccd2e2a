"""A topic lives in one place: its knowledge entry, plus the examples only a person can write.

Everything else a topic implies (its intent, its rule, its row in docs/topics.md and the
README) is written from the entry by ``make topics``. These tests fail naming the topic,
the file and the fix, so adding a topic is: write the entry and the examples, run
``make topics``, run the tests.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List

import pytest
import yaml

from actions.knowledge import CONVERSATIONAL_TOPICS, KNOWLEDGE_TOPICS, KnowledgeBase, KnowledgeError, parse_knowledge
from docgen.topics import (
    HELD_OUT_DATA,
    MIN_HELD_OUT_EXAMPLES,
    MIN_TRAINING_EXAMPLES,
    ROOT,
    TRAINING_DATA,
    example_counts,
    expected_files,
    missing_examples,
    render_domain_intents,
    render_rules,
)
from tests.support import load_yaml

pytestmark = pytest.mark.unit

#: Intents that are not topics: they resolve against the last topic, or are the crisis.
DIALOGUE_INTENTS = {"tell_me_more", "followup", "crisis", "crisis_check_in", "affirm", "deny", "unsure"}
#: Bare answers to the check-in: after it they lead to the crisis replies, elsewhere to out of scope.
ANSWER_INTENTS = {"affirm", "deny", "unsure"}


def _rules() -> List[Dict[str, Any]]:
    return [rule for path in sorted((ROOT / "data").glob("rules*.yml")) for rule in load_yaml(path)["rules"]]


def test_derived_files_match_the_knowledge(kb: KnowledgeBase) -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, content in expected_files(kb).items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]
    assert not stale, f"{stale} do not match actions/knowledge.yml: run `make topics` (then `make train`)"


def test_every_topic_has_its_examples() -> None:
    problems = missing_examples(KNOWLEDGE_TOPICS, example_counts(TRAINING_DATA), example_counts(HELD_OUT_DATA))
    assert not problems, "\n".join(problems)


def test_a_new_topic_is_told_what_is_missing() -> None:
    """A topic with an entry and nothing else gets one sentence per missing file, and its rule."""
    assert missing_examples(["sleep"], Counter(), Counter({"sleep": 3})) == [
        f"topic 'sleep' has 0 training examples in data/nlu.yml (under '- intent: sleep'); "
        f"it needs at least {MIN_TRAINING_EXAMPLES}",
        f"topic 'sleep' has 3 held-out examples in tests/nlu_test_data.yml; it needs at least "
        f"{MIN_HELD_OUT_EXAMPLES}, worded differently from the training ones",
    ]
    assert "  - sleep" in render_domain_intents(["sleep"]).splitlines()
    rule = yaml.safe_load(render_rules(["sleep"]))["rules"]
    assert rule == [{"rule": "answer sleep", "steps": [{"intent": "sleep"}, {"action": "action_answer_topic"}]}]


def test_a_new_topic_entry_is_checked_when_loaded() -> None:
    raw = load_yaml(ROOT / "actions" / "knowledge.yml")
    raw["topics"]["sleep"] = dict(raw["topics"]["cost"], sources=[])
    with pytest.raises(KnowledgeError, match="'sleep': a knowledge answer needs sources"):
        parse_knowledge(raw)
    raw["topics"]["Sleep and therapy"] = raw["topics"].pop("sleep")
    with pytest.raises(KnowledgeError, match="lower-case words"):
        parse_knowledge(raw)


def test_domain_intents_are_the_topics_and_dialogue_intents(domain_dict: Dict[str, Any], kb: KnowledgeBase) -> None:
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain_dict["intents"]}
    topics = set(KNOWLEDGE_TOPICS + CONVERSATIONAL_TOPICS)
    assert not topics - intents, f"{sorted(topics - intents)} have no intent in domain.yml: run `make topics`"
    extra = intents - DIALOGUE_INTENTS - topics
    assert not extra, f"domain.yml has intents {sorted(extra)} with no entry in actions/knowledge.yml"
    assert set(kb.topics) == topics


def test_every_trained_intent_is_in_the_domain(domain_dict: Dict[str, Any]) -> None:
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain_dict["intents"]}
    for path in (TRAINING_DATA, ROOT / "data" / "nlu_people.yml", HELD_OUT_DATA):
        unknown = set(example_counts(path)) - intents
        assert not unknown, (
            f"{path.relative_to(ROOT)} has examples of {sorted(unknown)}, which no topic in "
            "actions/knowledge.yml names: add the entry and run `make topics`, or fix the intent name"
        )


def test_every_topic_intent_has_a_rule() -> None:
    rules = _rules()
    answered = {
        rule["steps"][0]["intent"]
        for rule in rules
        if rule["steps"][1].get("action") == "action_answer_topic"
    }
    expected = set(KNOWLEDGE_TOPICS + CONVERSATIONAL_TOPICS) | {"nlu_fallback"} | ANSWER_INTENTS
    assert not expected - answered, f"no rule answers {sorted(expected - answered)}: run `make topics`"
    assert answered == expected
    with_line = {r["steps"][0]["intent"] for r in rules if {"action": "utter_crisis_line"} in r["steps"]}
    assert with_line == {"greet", "help", "out_of_scope", "nlu_fallback"} | ANSWER_INTENTS
