"""What to do with a parsed message: answer, ask, answer two questions, or say out of scope.

Pure functions over Rasa's parse data, no Rasa imports.

The action server runs this on every message the rules send to ``action_answer_topic``, and
``evaluation.nlu`` runs the same function on the same parse data, so the figures in
``docs/evaluation.md`` measure exactly what people get.

* **Answer** when the best topic is sure (confidence at least ``answer_min``) and clearly
  ahead of the next topic (by at least ``margin``).
* **Clarify** ("Did you mean…", 2-3 topic buttons) when the best topic is between the floor
  and the answer band, or too close to the runner-up.
* **Out of scope** with topic buttons when nothing reaches the floor or the best guess is
  ``out_of_scope``: never a guess.
* **Compound**: when two parts of the message each ask a different topic surely enough
  (``clauses`` from the classifier), both are answered, at most two.

The thresholds were chosen on the project's own held-out data (``tests/nlu_test_data.yml``
and the first-contact batches A and D); the trade-off is in ``docs/nlu-generalisation.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from actions.knowledge import CONVERSATIONAL_TOPICS, KNOWLEDGE_TOPICS

FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
#: Intents the rules answer with other actions; the decision leaves them alone.
CRISIS_INTENTS = frozenset({"crisis", "crisis_check_in"})


@dataclass(frozen=True)
class Thresholds:
    """The confidence band; see the module docstring and docs/nlu-generalisation.md."""

    floor: float = 0.2
    answer_min: float = 0.6
    margin: float = 0.1
    candidate_min: float = 0.08
    compound_min: float = 0.45
    max_candidates: int = 3


DEFAULT = Thresholds()


@dataclass(frozen=True)
class Decision:
    """``kind`` is answer, compound, clarify, out_of_scope, crisis or other."""

    kind: str
    topics: Tuple[str, ...] = ()
    candidates: Tuple[str, ...] = field(default_factory=tuple)


def _entries(ranking: Sequence[Mapping[str, Any]] | None) -> List[Tuple[str, float]]:
    return [
        (str(entry.get("name")), float(entry.get("confidence") or 0.0))
        for entry in ranking or []
        if entry.get("name") and entry.get("name") != FALLBACK_INTENT
    ]


def _candidates(ranking: List[Tuple[str, float]], t: Thresholds) -> Tuple[str, ...]:
    found = [name for name, conf in ranking if name in KNOWLEDGE_TOPICS and conf >= t.candidate_min]
    return tuple(found[: t.max_candidates])


def _compound(parse: Mapping[str, Any], t: Thresholds) -> Tuple[str, ...]:
    """Distinct knowledge topics that parts of the message ask surely enough (at most two)."""
    topics: List[str] = []
    for clause in parse.get("clauses") or []:
        ranking = _entries(clause)
        if not ranking:
            continue
        name, conf = ranking[0]
        second = ranking[1][1] if len(ranking) > 1 else 0.0
        if name in KNOWLEDGE_TOPICS and conf >= t.compound_min and conf - second >= t.margin / 2 and name not in topics:
            topics.append(name)
    return tuple(topics[:2])


def decide(parse: Mapping[str, Any], t: Thresholds = DEFAULT) -> Decision:
    """The reply a message gets (see the module docstring)."""
    intent = (parse.get("intent") or {}).get("name")
    if intent in CRISIS_INTENTS:
        return Decision("crisis")
    if intent is not None and intent not in KNOWLEDGE_TOPICS and intent not in CONVERSATIONAL_TOPICS \
            and intent != FALLBACK_INTENT:
        return Decision("other", (intent,))
    # A button press ("/cost") comes back with confidence 1.0 and no ranking to doubt.
    compound = _compound(parse, t)
    if len(compound) == 2:
        return Decision("compound", compound)
    ranking = _entries(parse.get("intent_ranking"))
    if not ranking and intent is not None:
        # An intent set without a ranking or a confidence (a story, a test, an injected
        # event) is taken as given.
        ranking = [(intent, float((parse.get("intent") or {}).get("confidence", 1.0) or 0.0))]
    if not ranking:
        return Decision("out_of_scope")
    name, conf = ranking[0]
    runner_up = ranking[1][1] if len(ranking) > 1 else 0.0
    sure = conf >= t.answer_min and conf - runner_up >= t.margin
    candidates = _candidates(ranking, t)
    if intent == FALLBACK_INTENT or conf < t.floor:
        return Decision("out_of_scope")
    if sure:
        if name == OUT_OF_SCOPE:
            return Decision("out_of_scope")
        return Decision("answer", (name,))
    if name in CONVERSATIONAL_TOPICS and name != OUT_OF_SCOPE and not candidates:
        return Decision("answer", (name,))
    if not candidates:
        return Decision("out_of_scope")
    return Decision("clarify", candidates=candidates)


def decide_legacy(parse: Mapping[str, Any]) -> Decision:
    """The behaviour before issue 14: answer the intent, whatever its confidence above 0.2."""
    intent = (parse.get("intent") or {}).get("name")
    if intent in CRISIS_INTENTS:
        return Decision("crisis")
    if intent in (FALLBACK_INTENT, OUT_OF_SCOPE, None):
        return Decision("out_of_scope")
    if intent in KNOWLEDGE_TOPICS or intent in CONVERSATIONAL_TOPICS:
        return Decision("answer", (intent,))
    return Decision("other", (intent,))


def as_dict(decision: Decision) -> Dict[str, Any]:
    """For logs and tests: the decision as plain data (topic ids only, never text)."""
    return {"kind": decision.kind, "topics": list(decision.topics), "candidates": list(decision.candidates)}
