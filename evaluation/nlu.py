"""The NLU as people meet it: which reply each question gets, scored per set.

Every message goes through the trained model's whole NLU pipeline (classifier, fallback and
crisis guard, as in the served bot), then through ``actions.decide.decide``, the function the
action server uses to choose between an answer, a "Did you mean…" choice, two answers and
out of scope. Labels are a topic id, ``out_of_scope_mh`` (a mental-health question the
topics do not answer), ``out_of_scope`` (anything else) or ``compound:a+b``.

Figures per set, in-domain (a topic or compound) and out-of-domain separately:

* strict: the right topic answered (both, for a compound; out of scope for out-of-domain);
* reach: the right topic answered or offered as a "Did you mean" button in the same reply;
* clarify: the share that got a "Did you mean" choice;
* wrong: a topic answered that was not asked (for out-of-domain: any knowledge answer, the
  "answer that does not fit").

``python -m evaluation.nlu --batch FILE`` scores one first-contact batch; ``--eval-real``
the eval-real sets (counts only: this module never prints a message).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from actions.decide import Decision, Thresholds, decide, decide_legacy
from actions.knowledge import KNOWLEDGE_TOPICS
from bot.env import set_process_defaults

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "therapy-bot.tar.gz"
TEST_DATA = ROOT / "tests" / "nlu_test_data.yml"
FIRST_CONTACT = ROOT / "tests" / "nlu" / "first_contact"


def in_training_data(batch: Path) -> bool:
    """Whether a first-contact batch joined the training data (``data/nlu_batch_<x>.yml``).

    Joined batches score high by construction; the report must not call them held out.
    """
    return (ROOT / "data" / f"nlu_batch_{batch.stem.rsplit('_', 1)[-1].lower()}.yml").exists()
OUT_OF_DOMAIN = ("out_of_scope_mh", "out_of_scope")
#: The eval-real files with questions about the topics (rows labelled ``none`` left out) and
#: the mental-health questions outside them (one column: every row out of scope).
EVAL_REAL_SETS: Tuple[Tuple[str, str | None], ...] = (
    ("counselchat_therapy_process.tsv", None),
    ("mhfaq_topics.tsv", None),
    ("mhfaq_other.tsv", "out_of_scope_mh"),
)


@dataclass
class Tally:
    """Counts for one group of messages."""

    n: int = 0
    strict: int = 0
    reach: int = 0
    clarify: int = 0
    wrong: int = 0
    out_of_scope: int = 0
    crisis: int = 0

    def add(self, other: Tally) -> None:
        for name in ("n", "strict", "reach", "clarify", "wrong", "out_of_scope", "crisis"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class SetScore:
    """One set's tallies, in-domain and out-of-domain, and per label."""

    name: str
    in_domain: Tally = field(default_factory=Tally)
    out_of_domain: Tally = field(default_factory=Tally)
    per_label: Dict[str, Tally] = field(default_factory=dict)


def is_in_domain(label: str) -> bool:
    """Whether a label names topics the assistant answers."""
    return label not in OUT_OF_DOMAIN


def asked_topics(label: str) -> Tuple[str, ...]:
    """The topics a label asks (two for ``compound:a+b``)."""
    if label.startswith("compound:"):
        return tuple(label.split(":", 1)[1].split("+"))
    return (label,)


def score_one(label: str, decision: Decision) -> Tally:
    """How one reply scores against its label (see the module docstring)."""
    tally = Tally(n=1)
    answered = list(decision.topics) if decision.kind in ("answer", "compound", "other") else []
    if decision.kind == "crisis":
        answered = ["crisis"]
    knowledge_answered = [t for t in answered if t in KNOWLEDGE_TOPICS]
    tally.clarify = int(decision.kind == "clarify")
    tally.out_of_scope = int(decision.kind == "out_of_scope")
    tally.crisis = int(decision.kind == "crisis")
    if not is_in_domain(label):
        tally.strict = tally.reach = tally.out_of_scope
        tally.wrong = int(bool(knowledge_answered))
        return tally
    asked = set(asked_topics(label))
    tally.strict = int(asked <= set(answered))
    tally.reach = int(asked <= set(answered) | set(decision.candidates))
    tally.wrong = int(bool(answered) and not asked & set(answered))
    return tally


def score(name: str, rows: Sequence[Tuple[str, str]], decisions: Sequence[Decision]) -> SetScore:
    """Tallies of a labelled set."""
    result = SetScore(name)
    for (label, _text), decision in zip(rows, decisions, strict=True):
        tally = score_one(label, decision)
        (result.in_domain if is_in_domain(label) else result.out_of_domain).add(tally)
        result.per_label.setdefault(label.split(":")[0], Tally()).add(tally)
    return result


def load_agent(model: Path = MODEL) -> Any:
    """The trained model, with Rasa's logging quiet (it would print parsed text at debug)."""
    set_process_defaults()
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    return Agent.load(str(model))


def parse_all(agent: Any, texts: Sequence[str]) -> List[Dict[str, Any]]:
    """Parse data of every text through the model's full NLU pipeline."""

    async def run() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(run())


def read_batch(path: Path) -> List[Tuple[str, str]]:
    """``label<TAB>text`` rows of a first-contact batch."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(f"{path.name} line {number}: expected 2 columns")
        rows.append((fields[0].strip(), fields[1]))
    return rows


def test_set_rows() -> List[Tuple[str, str]]:
    """``(label, text)`` of tests/nlu_test_data.yml; conversational intents count as in-domain."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(TEST_DATA))
    return [(m.get("intent"), m.get("text")) for m in data.intent_examples]


def eval_real_rows() -> List[Tuple[str, List[Tuple[str, str]]]] | None:
    """The eval-real sets (rows labelled ``none`` left out), or ``None`` when absent."""
    from evaluation import eval_real

    if eval_real.directory() is None:
        return None
    return [
        (name, [row for row in eval_real.load(name, default).rows if row[0] != "none"])
        for name, default in EVAL_REAL_SETS
    ]


Decider = Callable[[Mapping[str, Any]], Decision]


def run_set(agent: Any, name: str, rows: Sequence[Tuple[str, str]], decider: Decider) -> SetScore:
    """Parse and score one set."""
    parsed = parse_all(agent, [text for _label, text in rows])
    return score(name, rows, [decider(p) for p in parsed])


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "–"


def table(scores: Sequence[SetScore]) -> List[str]:
    """Markdown rows: per set, in-domain then out-of-domain (counts and rates only)."""
    lines = [
        "| set | part | n | strict | reach | clarify | wrong answer | out of scope | crisis reply |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        for part, t in (("in-domain", s.in_domain), ("out-of-domain", s.out_of_domain)):
            if not t.n:
                continue
            lines.append(
                f"| {s.name} | {part} | {t.n} | {t.strict} ({_pct(t.strict, t.n)}) | {t.reach} ({_pct(t.reach, t.n)}) "
                f"| {t.clarify} ({_pct(t.clarify, t.n)}) | {t.wrong} ({_pct(t.wrong, t.n)}) "
                f"| {t.out_of_scope} ({_pct(t.out_of_scope, t.n)}) | {t.crisis} |"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table for the chosen sets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--batch", type=Path, action="append", default=[], help="a first-contact TSV")
    parser.add_argument("--test-set", action="store_true", help="tests/nlu_test_data.yml")
    parser.add_argument("--eval-real", action="store_true", help="the eval-real sets (counts only)")
    parser.add_argument("--legacy", action="store_true", help="the reply rule before issue 14")
    parser.add_argument("--per-label", action="store_true")
    args = parser.parse_args(argv)
    decider: Decider = decide_legacy if args.legacy else (lambda p: decide(p, Thresholds()))
    agent = load_agent(args.model)
    scores = [run_set(agent, path.name, read_batch(path), decider) for path in args.batch]
    if args.test_set:
        scores.append(run_set(agent, "nlu_test_data.yml", test_set_rows(), decider))
    if args.eval_real:
        sets = eval_real_rows()
        if sets is None:
            print("eval-real sets skipped: no folder", file=sys.stderr)
        for name, rows in sets or []:
            scores.append(run_set(agent, name, rows, decider))
    print("\n".join(table(scores)))
    if args.per_label:
        for s in scores:
            for label, t in sorted(s.per_label.items()):
                print(f"{s.name}\t{label}\tn={t.n}\tstrict={t.strict}\treach={t.reach}\tclarify={t.clarify}\twrong={t.wrong}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
