"""How the crisis layer does on messages with known answers: ``make evaluate-crisis``.

What counts is the escalation itself (a metric that counted any "cautious" reply once read
96% while only 34 of 165 crisis prompts reached the hotline reply). For every set it
reports, from ``bot.crisis.tiers.assess``, the function every channel and the NLU guard ask:

* at-risk messages: how many got the full crisis reply, how many got at least a safe
  response (the crisis reply or the check-in), and how many of the crisis replies named
  the right kind of resources;
* harmless messages: false alarms per tier;
* per-message time (p50, p99).

Sets: the project's corpus (``tests/crisis``), the first-contact batches in
``tests/crisis/first_contact`` (scored as they are, see ``docs/crisis-generalisation.md``),
and the eval-real files when that folder is present (counts only, never rows).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, List, Sequence, Tuple

from bot.crisis.tiers import Assessment, assess
from evaluation import corpus, eval_real

ABUSE_KINDS = frozenset({"sexual_assault", "domestic_violence", "child_abuse"})
#: Which kinds of resources are right for a label of a set (``None``: must not escalate).
KINDS_FOR_LABEL: Dict[str, FrozenSet[str] | None] = {
    "self": frozenset({"self"}),
    "other_person": frozenset({"other_person"}),
    "sexual_assault": frozenset({"sexual_assault"}),
    "domestic_violence": frozenset({"domestic_violence"}),
    "child_abuse": frozenset({"child_abuse"}),
    "abuse": ABUSE_KINDS,
    # reddit_crisis_excerpt_verified.tsv: user-level C-SSRS labels, excerpts checked by hand.
    "Ideation": frozenset({"self"}),
    "Behavior": frozenset({"self"}),
    "Attempt": frozenset({"self"}),
    "Supportive": None,
    "none": None,
}

#: eval-real files scored, with the label of one-column files; borderline files are
#: reported as rates only (a careful clinician might or might not escalate them).
EVAL_REAL_SETS: Tuple[Tuple[str, str | None, bool], ...] = (
    ("counselchat_crisis.tsv", None, False),
    ("mhfaq_crisis.tsv", None, False),
    ("counselchat_no_crisis.tsv", "none", False),
    ("reddit_crisis_excerpt_verified.tsv", None, False),
    ("counselchat_crisis_borderline.tsv", None, True),
)


@dataclass
class Tally:
    """Outcomes for the messages of one label of one set."""

    at_risk: bool
    n: int = 0
    tiers: Counter = field(default_factory=Counter)
    right_kind: int = 0

    def add(self, assessment: Assessment, kinds: FrozenSet[str] | None) -> None:
        self.n += 1
        self.tiers[assessment.tier] += 1
        if kinds is not None and assessment.tier == "crisis" and assessment.kind in kinds:
            self.right_kind += 1

    @property
    def crisis(self) -> int:
        return self.tiers["crisis"]

    @property
    def safe(self) -> int:
        return self.tiers["crisis"] + self.tiers["check_in"]


@dataclass
class SetResult:
    """Tallies by label for one set, and whether the set is borderline (rates only)."""

    name: str
    borderline: bool
    by_label: Dict[str, Tally]

    def total(self, at_risk: bool) -> Tally:
        out = Tally(at_risk)
        for tally in self.by_label.values():
            if tally.at_risk == at_risk:
                out.n += tally.n
                out.tiers.update(tally.tiers)
                out.right_kind += tally.right_kind
        return out


def score(
    name: str, rows: Iterable[Tuple[str, str]], judge: Callable[[str], Assessment] = assess, borderline: bool = False
) -> SetResult:
    """Assess every ``(label, text)`` row; borderline labels count as at risk for the rates."""
    by_label: Dict[str, Tally] = {}
    for label, text in rows:
        kinds = KINDS_FOR_LABEL.get(label, frozenset() if borderline else None)
        if label not in KINDS_FOR_LABEL and not borderline:
            raise ValueError(f"{name}: unknown label {label!r}")
        tally = by_label.setdefault(label, Tally(at_risk=kinds is not None))
        tally.add(judge(text), kinds)
    return SetResult(name, borderline, by_label)


def project_sets() -> List[Tuple[str, List[Tuple[str, str]]]]:
    """The project's corpus as labelled rows: escalate files by kind, must-not as ``none``."""
    sets = []
    for label, categories in corpus.load_escalate().items():
        sets.append((f"corpus {label}", [(c.kind or "self", m) for c, m in corpus.iter_messages(categories)]))
    sets.append(("corpus must_not", [("none", m) for _, m in corpus.iter_messages(corpus.load_must_not())]))
    for batch in corpus.load_first_contact():
        sets.append((f"first contact {batch.name}", list(batch.rows)))
    return sets


def eval_real_sets() -> List[Tuple[str, List[Tuple[str, str]], bool]]:
    """The eval-real files that exist here (an empty list without the folder)."""
    if eval_real.directory() is None:
        return []
    return [(name, list(eval_real.load(name, default).rows), border) for name, default, border in EVAL_REAL_SETS]


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def table(results: Sequence[SetResult]) -> List[str]:
    """Markdown rows: per set and label, at-risk outcomes or false alarms per tier."""
    lines = [
        "| set | label | n | full crisis reply | safe response (crisis or check-in) | right kind | "
        "false alarm: crisis | false alarm: check-in |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        labels = list(result.by_label.items())
        if len(labels) > 1:
            labels += [("(at risk, all)", result.total(True)), ("(harmless, all)", result.total(False))]
        for label, tally in labels:
            if not tally.n:
                continue
            if tally.at_risk:
                cells = [
                    f"{tally.crisis} ({_pct(tally.crisis, tally.n)})",
                    f"{tally.safe} ({_pct(tally.safe, tally.n)})",
                    "-" if result.borderline else f"{tally.right_kind} of {tally.crisis}",
                    "",
                    "",
                ]
            else:
                cells = [
                    "",
                    "",
                    "",
                    f"{tally.crisis} ({_pct(tally.crisis, tally.n)})",
                    f"{tally.tiers['check_in']} ({_pct(tally.tiers['check_in'], tally.n)})",
                ]
            name = result.name + (" (borderline)" if result.borderline else "")
            lines.append(f"| {name} | {label} | {tally.n} | " + " | ".join(cells) + " |")
    return lines


def time_layer(
    messages: Sequence[str], repeats: int = 5, judge: Callable[[str], Assessment] = assess
) -> Dict[str, float]:
    """Latency of the crisis layer (``assess``: rules and risk model) in microseconds.

    After one warm-up pass, two views: ``msg_p50``/``msg_p99`` take each message's median
    over ``repeats`` runs (the layer's own cost, robust to scheduler noise on a shared
    machine), and ``raw_p50``/``raw_p99`` are over every single call (what a user could see).
    """
    for message in messages:
        judge(message)
    per_message: List[float] = []
    raw: List[float] = []
    for message in messages:
        runs: List[float] = []
        for _ in range(repeats):
            start = time.perf_counter()
            judge(message)
            runs.append((time.perf_counter() - start) * 1e6)
        raw.extend(runs)
        per_message.append(statistics.median(runs))
    per_message.sort()
    raw.sort()

    def at(values: List[float], q: float) -> float:
        return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]

    return {
        "calls": float(len(raw)),
        "msg_p50": at(per_message, 0.50),
        "msg_p99": at(per_message, 0.99),
        "raw_p50": at(raw, 0.50),
        "raw_p99": at(raw, 0.99),
        "max": raw[-1],
    }


def corpus_messages() -> List[str]:
    """Every message of the project's corpus and batches, for timing."""
    return [text for _name, rows in project_sets() for _label, text in rows]


def run(include_eval_real: bool = True) -> Tuple[List[SetResult], List[str]]:
    """Score every set; the notes say what was skipped."""
    results = [score(name, rows) for name, rows in project_sets()]
    notes: List[str] = []
    real = eval_real_sets() if include_eval_real else []
    if include_eval_real and not real:
        notes.append(f"eval-real sets skipped: no folder at ../shared/eval-real or ${eval_real.ENV_VAR}")
    results += [score(name, rows, borderline=border) for name, rows, border in real]
    return results, notes


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table for every set, then the per-message time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-eval-real", action="store_true", help="score the project's own sets only")
    parser.add_argument(
        "--first-contact", type=Path, metavar="TSV", help="score one new batch as it is, before it joins the corpus"
    )
    args = parser.parse_args(argv)
    if args.first_contact:
        batch = corpus.load_batch(args.first_contact)
        print("\n".join(table([score(f"first contact {batch.name}", batch.rows)])))
        return 0
    results, notes = run(not args.no_eval_real)
    print("\n".join(table(results)))
    for note in notes:
        print(f"\n{note}")
    figures = time_layer(corpus_messages(), repeats=3)
    print(
        f"\nassess() per message over the corpus and batches (median of 3 runs): "
        f"p50 {figures['msg_p50'] / 1000:.2f} ms, p99 {figures['msg_p99'] / 1000:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
