"""Evaluate the crisis detector on the labelled corpus: ``python -m bot.crisis.evaluate``.

What it measures, and why this way: the only thing that matters for safety is whether
the *escalation itself* happens (a metric that counts a merely "cautious" reply as a
success once read 96% while only 34 of 165 crisis prompts reached the hotline). So it
reports, per corpus file and category:

* recall on must-escalate messages (did the detector fire?),
* kind accuracy (did it pick the right resources: suicide line, RAINN, DV, Childhelp?),
* the false-positive rate on clearly harmless messages,
* every miss, wrong kind and false positive verbatim, and
* per-message latency p50/p99.

Exit status 1 when recall is below 100%, any kind is wrong, or the false-positive rate
is above 5% (the hard limit; the aim is 2% or less).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from typing import Dict, List, Sequence, Tuple

from bot.crisis import corpus
from bot.crisis.detector import CrisisDetector, Detection

#: Hard limit on the false-positive rate on the must-not corpus.
MAX_FP_RATE = 0.05
#: Target false-positive rate (reported, not enforced).
TARGET_FP_RATE = 0.02


def _pct(numerator: int, denominator: int) -> str:
    return f"{100.0 * numerator / denominator:6.2f}%" if denominator else "   n/a"


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


def evaluate_escalate(
    detector: CrisisDetector, label: str, categories: List[corpus.Category]
) -> Tuple[int, int, int, List[str]]:
    """Print recall and kind accuracy for one must-escalate file.

    Returns ``(total, detected, kind_correct, problem_lines)``.
    """
    total = detected = kind_ok = 0
    problems: List[str] = []
    print(f"\n== must-escalate [{label}] ==")
    print(f"{'category':<20} {'n':>4} {'recall':>8} {'kind ok':>8}")
    for category in categories:
        n = hit = good = 0
        for message in category.messages:
            n += 1
            result: Detection | None = detector.detect(message)
            if result is None:
                problems.append(f"MISS  [{label}/{category.name}] {message!r}")
                continue
            hit += 1
            if result.kind == category.kind:
                good += 1
            else:
                problems.append(
                    f"KIND  [{label}/{category.name}] expected {category.kind}, got {result.kind} "
                    f"({result.rule}): {message!r}"
                )
        print(f"{category.name:<20} {n:>4} {_pct(hit, n):>8} {_pct(good, n):>8}")
        total, detected, kind_ok = total + n, detected + hit, kind_ok + good
    print(f"{'TOTAL':<20} {total:>4} {_pct(detected, total):>8} {_pct(kind_ok, total):>8}")
    return total, detected, kind_ok, problems


def evaluate_must_not(
    detector: CrisisDetector, categories: List[corpus.Category]
) -> Tuple[int, int, List[str]]:
    """Print the false-positive rate per category. Returns ``(total, false_positives, lines)``."""
    total = fps = 0
    lines: List[str] = []
    print("\n== must-not-escalate ==")
    print(f"{'category':<26} {'n':>4} {'FP rate':>8}")
    for category in categories:
        n = fp = 0
        for message in category.messages:
            n += 1
            result = detector.detect(message)
            if result is not None:
                fp += 1
                lines.append(f"FP    [{category.name}] {result.kind} ({result.rule}): {message!r}")
        print(f"{category.name:<26} {n:>4} {_pct(fp, n):>8}")
        total, fps = total + n, fps + fp
    print(f"{'TOTAL':<26} {total:>4} {_pct(fps, total):>8}")
    return total, fps, lines


def time_detector(detector: CrisisDetector, messages: Sequence[str], repeats: int = 5) -> Dict[str, float]:
    """Latency of ``detect`` in microseconds, after one warm-up pass.

    Two views: ``msg_p50``/``msg_p99`` take each message's median over ``repeats`` runs
    (the detector's own cost, robust to scheduler noise on a shared machine), and
    ``raw_p50``/``raw_p99`` are over every single call (what a user could see).
    """
    for message in messages:
        detector.detect(message)
    clock = time.perf_counter
    per_message: List[float] = []
    raw: List[float] = []
    for message in messages:
        runs: List[float] = []
        for _ in range(repeats):
            start = clock()
            detector.detect(message)
            runs.append((clock() - start) * 1e6)
        raw.extend(runs)
        per_message.append(statistics.median(runs))
    return {
        "calls": float(len(raw)),
        "msg_p50": _percentile(per_message, 0.50),
        "msg_p99": _percentile(per_message, 0.99),
        "raw_p50": _percentile(raw, 0.50),
        "raw_p99": _percentile(raw, 0.99),
        "max": max(raw),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timing passes over the corpus (default 5)")
    parser.add_argument("--no-holdout", action="store_true", help="skip the held-out must-escalate file")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    detector = CrisisDetector()
    build_ms = (time.perf_counter() - started) * 1e3
    print(f"detector built in {build_ms:.0f} ms")

    escalate = corpus.load_escalate(include_holdout=not args.no_holdout)
    must_not = corpus.load_must_not()

    problems: List[str] = []
    grand_total = grand_detected = grand_kind = 0
    for label, categories in escalate.items():
        total, detected, kind_ok, lines = evaluate_escalate(detector, label, categories)
        grand_total, grand_detected, grand_kind = (
            grand_total + total,
            grand_detected + detected,
            grand_kind + kind_ok,
        )
        problems.extend(lines)
    nn_total, fps, fp_lines = evaluate_must_not(detector, must_not)
    problems.extend(fp_lines)

    rules: Counter = Counter()
    for categories in escalate.values():
        for _category, message in corpus.iter_messages(categories):
            result = detector.detect(message)
            if result is not None:
                rules[result.rule] += 1

    messages = [m for cats in escalate.values() for _c, m in corpus.iter_messages(cats)]
    messages += [m for _c, m in corpus.iter_messages(must_not)]
    timing = time_detector(detector, messages, repeats=args.repeats)

    print("\n== misses, wrong kinds and false positives ==")
    print("\n".join(problems) if problems else "(none)")
    print(f"\n== rules that fired on must-escalate ({len(rules)} distinct) ==")
    for rule, count in sorted(rules.items()):
        print(f"  {rule:<40} {count}")

    recall = grand_detected / grand_total if grand_total else 0.0
    kind_acc = grand_kind / grand_total if grand_total else 0.0
    fp_rate = fps / nn_total if nn_total else 0.0
    print("\n== summary ==")
    print(f"recall (all must-escalate files): {grand_detected}/{grand_total} = {100 * recall:.2f}%")
    print(f"kind accuracy:                    {grand_kind}/{grand_total} = {100 * kind_acc:.2f}%")
    print(
        f"false-positive rate:              {fps}/{nn_total} = {100 * fp_rate:.2f}% "
        f"(target <= {100 * TARGET_FP_RATE:.0f}%, limit {100 * MAX_FP_RATE:.0f}%)"
    )
    print(
        f"latency per message (median of {args.repeats} runs): p50 {timing['msg_p50']:.0f} us, "
        f"p99 {timing['msg_p99']:.0f} us"
    )
    print(
        f"latency per call (all {int(timing['calls'])} calls):   p50 {timing['raw_p50']:.0f} us, "
        f"p99 {timing['raw_p99']:.0f} us, max {timing['max']:.0f} us"
    )
    failed = recall < 1.0 or kind_acc < 1.0 or fp_rate > MAX_FP_RATE
    print("RESULT: FAIL" if failed else "RESULT: PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
