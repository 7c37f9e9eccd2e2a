"""The knowledge file is complete and consistent (its derived files: tests/test_topics.py)."""

from __future__ import annotations

import re
from typing import Any, Dict

import pytest

from actions.knowledge import (
    ASPECT_DEFAULT_TOPIC,
    CONVERSATIONAL_TOPICS,
    KNOWLEDGE_TOPICS,
    SHORT_ANSWER_MAX_WORDS,
    KnowledgeBase,
    KnowledgeError,
    parse_knowledge,
)
from tests.support import ROOT, load_yaml

pytestmark = pytest.mark.unit

THERAPY_TYPES = {"cbt", "dbt", "psychodynamic", "interpersonal", "act", "humanistic",
                 "motivational_interviewing", "supportive"}
THERAPY_FORMATS = {"individual", "couples", "family", "group"}


def _syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    count = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(count, 1)


def flesch_kincaid_grade(text: str) -> float:
    """US school grade needed to follow ``text`` (Flesch-Kincaid)."""
    sentences = max(len(re.findall(r"[.!?]+(?:\s|$)", text)), 1)
    words = re.findall(r"[A-Za-z']+", text)
    syllables = sum(_syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59


@pytest.mark.parametrize("topic_id", KNOWLEDGE_TOPICS + CONVERSATIONAL_TOPICS)
def test_every_topic_is_complete(kb: KnowledgeBase, topic_id: str) -> None:
    topic = kb.topic(topic_id)
    assert topic.short and topic.long and topic.title and topic.question
    assert len(topic.short.split()) <= SHORT_ANSWER_MAX_WORDS, len(topic.short.split())
    assert len(topic.long.split()) > len(topic.short.split())
    if topic_id in KNOWLEDGE_TOPICS:
        assert topic.sources, "knowledge answers cite their seed documents"
        assert 2 <= len(topic.related) <= 5
        assert all(r in KNOWLEDGE_TOPICS for r in topic.related)
        assert topic_id not in topic.related


@pytest.mark.parametrize("topic_id", KNOWLEDGE_TOPICS)
def test_short_answers_are_plain_language(kb: KnowledgeBase, topic_id: str) -> None:
    """A 14-year-old (US grade 8-9) can follow the short answers."""
    grade = flesch_kincaid_grade(kb.topic(topic_id).short)
    assert grade <= 9.0, f"{topic_id} reads at grade {grade:.1f}"


def test_readability_measure_can_fail() -> None:
    dense = ("Psychotherapeutic interventions necessitate comprehensive biopsychosocial "
             "conceptualisation incorporating multidimensional considerations.")
    assert flesch_kincaid_grade(dense) > 9.0


def test_every_source_has_a_title(kb: KnowledgeBase) -> None:
    for topic in kb.topics.values():
        assert all(kb.source_titles[s].strip() for s in topic.sources)
    used = {s for t in kb.topics.values() for s in t.sources}
    assert used == set(kb.source_titles), "every listed seed document supports some answer"


def test_variants_cover_every_type_and_format(kb: KnowledgeBase) -> None:
    assert set(kb.topic("therapy_types").variants) == THERAPY_TYPES
    assert set(kb.topic("therapy_formats").variants) == THERAPY_FORMATS


def test_aspects_point_at_real_topics(kb: KnowledgeBase) -> None:
    assert all(topic in kb.topics for topic in ASPECT_DEFAULT_TOPIC.values())
    pairs = [(t.id, a) for t in kb.topics.values() for a in t.aspects]
    assert len(pairs) >= 8, pairs


def test_no_numbers_or_links_in_curated_text(kb: KnowledgeBase) -> None:
    """Crisis numbers come from the domain per region; curated text must not hard-code them."""
    for topic in kb.topics.values():
        texts = [topic.short, topic.long, *topic.aspects.values()]
        texts += [v.short for v in topic.variants.values()] + [v.long for v in topic.variants.values()]
        for text in texts:
            assert not re.search(r"\b988\b|\b911\b|https?://|www\.", text), (topic.id, text)
            assert "commit suicide" not in text.lower()


def test_no_orphan_responses(domain_dict: Dict[str, Any]) -> None:
    """Every domain response is used by a rule or a story (`rasa data validate` agrees)."""
    dialogue = [*(ROOT / "data").glob("rules*.yml"), ROOT / "data" / "stories.yml"]
    used = "".join(path.read_text() for path in dialogue)
    for response in domain_dict["responses"]:
        assert response in used, response


def test_broken_knowledge_is_rejected() -> None:
    raw = load_yaml(ROOT / "actions" / "knowledge.yml")
    del raw["topics"]["cost"]
    with pytest.raises(KnowledgeError, match="cost"):
        parse_knowledge(raw)
    raw = load_yaml(ROOT / "actions" / "knowledge.yml")
    raw["topics"]["session_length"]["related"] = ["no_such_topic"]
    with pytest.raises(KnowledgeError, match="no_such_topic"):
        parse_knowledge(raw)
    raw = load_yaml(ROOT / "actions" / "knowledge.yml")
    raw["topics"]["cost"]["variants"] = raw["topics"]["therapy_types"]["variants"]
    with pytest.raises(KnowledgeError, match="variants"):
        parse_knowledge(raw)
