"""The curated knowledge base: loading and validating ``knowledge.yml``.

Every answer the assistant gives lives once, in ``knowledge.yml`` beside this module.
The actions, the tests and ``make topics`` (docgen/topics.py) read it through this module, so
the file is validated once at load time: a broken entry stops the action server at
start-up instead of surfacing as a half-answer to someone who needs it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

import yaml

KNOWLEDGE_FILE = Path(__file__).with_name("knowledge.yml")

#: Small-talk topics; also intents of the same name. Their rules are written by hand in
#: ``data/rules.yml`` because some add the crisis line; every other topic is a knowledge topic.
CONVERSATIONAL_TOPICS: Tuple[str, ...] = (
    "greet",
    "goodbye",
    "thanks",
    "bot_challenge",
    "help",
    "out_of_scope",
)

#: Follow-up aspects ("and how often?") and the topic each one means on its own.
ASPECT_DEFAULT_TOPIC: Mapping[str, str] = {
    "frequency": "session_frequency",
    "length": "session_length",
    "online": "online_therapy",
    "cost": "cost",
    "duration": "treatment_duration",
    "confidentiality": "confidentiality",
}

#: Entities that pick a variant, and the topic whose variants they pick.
VARIANT_ENTITIES: Mapping[str, str] = {
    "therapy_type": "therapy_types",
    "therapy_format": "therapy_formats",
}

#: Editorial limit for short answers, held by the tests rather than at load time.
SHORT_ANSWER_MAX_WORDS = 90

#: A topic id becomes an intent name and a button payload (``/id``), so it must be one word.
TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class KnowledgeError(ValueError):
    """The knowledge file is incomplete or inconsistent."""


@dataclass(frozen=True)
class Variant:
    """A specific answer inside a topic, e.g. CBT inside ``therapy_types``."""

    key: str
    title: str
    short: str
    long: str


@dataclass(frozen=True)
class Topic:
    """One curated answer with its provenance and its neighbours."""

    id: str
    title: str
    question: str
    short: str
    long: str
    sources: Tuple[str, ...]
    related: Tuple[str, ...]
    reviewed: dt.date
    aspects: Mapping[str, str] = field(default_factory=dict)
    variants: Mapping[str, Variant] = field(default_factory=dict)


@dataclass(frozen=True)
class KnowledgeBase:
    """All topics plus the titles of the seed documents they cite."""

    topics: Mapping[str, Topic]
    source_titles: Mapping[str, str]

    def topic(self, topic_id: str) -> Topic:
        """Returns a topic; raises ``KeyError`` for an unknown id."""
        return self.topics[topic_id]

    def source_titles_of(self, topic: Topic) -> List[str]:
        """The human-readable titles of a topic's sources, in the file's order."""
        return [self.source_titles[source] for source in topic.sources]

    def variant_topic_for(self, entity: str, value: str) -> Tuple[Topic, Variant] | None:
        """The topic and variant an entity value selects, if the knowledge has it."""
        topic_id = VARIANT_ENTITIES.get(entity)
        if topic_id is None:
            return None
        topic = self.topics[topic_id]
        variant = topic.variants.get(value)
        return (topic, variant) if variant else None


def _require(entry: Mapping, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(f"{where}: '{key}' is missing or empty")
    return " ".join(value.split())


def _parse_topic(topic_id: str, entry: Mapping, source_ids: set) -> Topic:
    where = f"topic '{topic_id}'"
    short = _require(entry, "short", where)
    sources = tuple(entry.get("sources") or ())
    unknown = [s for s in sources if s not in source_ids]
    if unknown:
        raise KnowledgeError(f"{where}: unknown sources {unknown}")
    reviewed = entry.get("reviewed")
    if not isinstance(reviewed, dt.date):
        raise KnowledgeError(f"{where}: 'reviewed' must be a date (YYYY-MM-DD)")
    aspects = {
        aspect: " ".join(str(text).split())
        for aspect, text in (entry.get("aspects") or {}).items()
    }
    unknown_aspects = set(aspects) - set(ASPECT_DEFAULT_TOPIC)
    if unknown_aspects:
        raise KnowledgeError(f"{where}: unknown aspects {sorted(unknown_aspects)}")
    if entry.get("variants") and topic_id not in VARIANT_ENTITIES.values():
        raise KnowledgeError(f"{where}: only {sorted(VARIANT_ENTITIES.values())} have variants")
    variants = {
        key: Variant(
            key=key,
            title=_require(value, "title", f"{where} variant '{key}'"),
            short=_require(value, "short", f"{where} variant '{key}'"),
            long=_require(value, "long", f"{where} variant '{key}'"),
        )
        for key, value in (entry.get("variants") or {}).items()
    }
    return Topic(
        id=topic_id,
        title=_require(entry, "title", where),
        question=_require(entry, "question", where),
        short=short,
        long=_require(entry, "long", where),
        sources=sources,
        related=tuple(entry.get("related") or ()),
        reviewed=reviewed,
        aspects=aspects,
        variants=variants,
    )


def parse_knowledge(raw: Mapping) -> KnowledgeBase:
    """Builds and cross-checks a knowledge base from the file's parsed YAML."""
    source_titles: Dict[str, str] = dict(raw.get("sources") or {})
    entries = raw.get("topics") or {}
    topics = {
        topic_id: _parse_topic(topic_id, entry or {}, set(source_titles))
        for topic_id, entry in entries.items()
    }
    bad_ids = [t for t in topics if not isinstance(t, str) or not TOPIC_ID.match(t)]
    if bad_ids:
        raise KnowledgeError(f"topic ids must be lower-case words (a-z, 0-9, _): {bad_ids}")
    named_by_code = (*CONVERSATIONAL_TOPICS, *ASPECT_DEFAULT_TOPIC.values(), *VARIANT_ENTITIES.values())
    missing = [t for t in dict.fromkeys(named_by_code) if t not in topics]
    if missing:
        raise KnowledgeError(f"missing topics: {missing}")
    for topic in topics.values():
        dangling = [r for r in topic.related if r not in topics]
        if dangling:
            raise KnowledgeError(f"topic '{topic.id}': unknown related topics {dangling}")
        if topic.id not in CONVERSATIONAL_TOPICS and not topic.sources:
            raise KnowledgeError(f"topic '{topic.id}': a knowledge answer needs sources")
    return KnowledgeBase(topics=topics, source_titles=source_titles)


@cache
def load_knowledge(path: Path = KNOWLEDGE_FILE) -> KnowledgeBase:
    """Loads the knowledge file once per process (it is read-only at run time)."""
    return parse_knowledge(_read(path))


@cache
def _read(path: Path) -> Mapping:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def knowledge_topic_ids(raw: Mapping) -> Tuple[str, ...]:
    """The knowledge topics of a parsed knowledge file, in the file's order.

    Read from the file rather than listed in code, so that a new topic is one entry in
    ``knowledge.yml``: its intent, rule and README row are derived from it (``make topics``).
    """
    return tuple(t for t in (raw.get("topics") or {}) if t not in CONVERSATIONAL_TOPICS)


#: Topics about therapy itself (every topic of the knowledge file but small talk); each is
#: also an NLU intent of the same name.
KNOWLEDGE_TOPICS: Tuple[str, ...] = knowledge_topic_ids(_read(KNOWLEDGE_FILE))
