"""``make evaluate``: how well the trained model does on data it never trained on.

Writes ``docs/evaluation.md`` with three parts, each from the project's own test data:

* NLU: intent precision, recall and F1 per intent on the held-out set
  (``tests/nlu_test_data.yml``), with a confusion-matrix picture and every mistake;
  the model is loaded in-process and each message goes through the full pipeline, crisis
  guard and fallback included, exactly as the served bot parses it;
* stories: ``rasa test core`` on ``tests/test_stories.yml``, once with the stories'
  intent labels (the dialogue alone) and once ``--e2e`` (the user text goes through NLU);
* replies (issue 14): what people get, an answer, a "Did you mean" choice, two answers or out
  of scope (``evaluation.nlu``): strict accuracy, reach, clarify and wrong-answer rates,
  in-domain and out-of-domain, for the held-out set, the first-contact batches and the
  eval-real questions (counts only; skipped with a note when the folder is absent);
* crisis: the crisis layer's figures per set and tier (``python -m evaluation.crisis``) and the
  same corpus through the whole trained pipeline.

A report, not a test: it exits 0 whatever the figures are (the tests hold the limits)
and non-zero only when something could not be run. ``--model`` evaluates another
model, e.g. a candidate configuration, so any change can be checked for lost accuracy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import yaml

from bot.env import PROCESS_DEFAULTS
from docgen import markdown

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "nlu_test_data.yml"
TEST_STORIES = ROOT / "tests" / "test_stories.yml"
_PREDICTED = re.compile(r"^\s*- intent: (?P<gold>\S+)\s+# predicted: (?P<predicted>[^:]+): (?P<text>.*)$")

Prediction = Tuple[str, str, str, float]  # text, expected intent, predicted intent, confidence


def held_out_examples() -> List[Tuple[str, str]]:
    """``(text, intent)`` of every held-out NLU example, with entity markup removed."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(TEST_DATA))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


async def _parse_all(agent: Any, texts: Sequence[str]) -> List[Dict[str, Any]]:
    return [await agent.parse_message(text) for text in texts]


def parse_texts(agent: Any, texts: Sequence[str]) -> List[Dict[str, Any]]:
    """Parse data of every text through the model's full NLU pipeline."""
    return asyncio.run(_parse_all(agent, texts))


def intent_report(predictions: Sequence[Prediction]) -> Dict[str, Any]:
    """Per-intent precision/recall/F1/support plus accuracy and averages (scikit-learn)."""
    from sklearn.metrics import classification_report

    gold = [p[1] for p in predictions]
    predicted = [p[2] for p in predictions]
    return classification_report(gold, predicted, output_dict=True, zero_division=0)


def confusion_labels(predictions: Sequence[Prediction]) -> List[str]:
    """Expected intents in test-file order, then labels only ever predicted (e.g. nlu_fallback)."""
    labels: List[str] = []
    for _text, gold, _predicted, _confidence in predictions:
        if gold not in labels:
            labels.append(gold)
    extra = sorted({p[2] for p in predictions} - set(labels))
    return labels + extra


def plot_confusion(predictions: Sequence[Prediction], path: Path) -> None:
    """Confusion matrix of expected (rows) against predicted (columns) intents."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = confusion_labels(predictions)
    matrix = confusion_matrix([p[1] for p in predictions], [p[2] for p in predictions], labels=labels)
    size = max(6.0, 0.32 * len(labels) + 2.5)
    figure, axes = plt.subplots(figsize=(size + 1.0, size))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels=labels, rotation=90, fontsize=7)
    axes.set_yticks(range(len(labels)), labels=labels, fontsize=7)
    axes.set_xlabel("predicted intent")
    axes.set_ylabel("expected intent")
    axes.set_title(f"Held-out NLU test set: {len(predictions)} messages")
    threshold = matrix.max() / 2 if matrix.size else 0
    for row in range(matrix.shape[0]):
        for column in range(matrix.shape[1]):
            if matrix[row, column]:
                axes.text(column, row, str(matrix[row, column]), ha="center", va="center", fontsize=6,
                          color="white" if matrix[row, column] > threshold else "black")
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


#: Intents of a safe response: the full crisis reply and the check-in.
SAFE_INTENTS = frozenset({"crisis", "crisis_check_in"})


def crisis_through_pipeline(agent: Any) -> Dict[str, Any]:
    """The labelled crisis corpus through the trained pipeline: escalations and kinds.

    "Escalated" counts the crisis reply and the check-in alike (the safe responses);
    the kind is that of either.
    """
    from evaluation import corpus

    figures: Dict[str, Any] = {}
    for label, categories in corpus.load_escalate().items():
        pairs = list(corpus.iter_messages(categories))
        parsed = parse_texts(agent, [text for _category, text in pairs])
        escalated = right_kind = 0
        for (category, _text), data in zip(pairs, parsed, strict=True):
            if data["intent"]["name"] in SAFE_INTENTS:
                escalated += 1
                right_kind += (data.get("crisis") or {}).get("kind") == category.kind
        figures[f"must-escalate [{label}]"] = {"n": len(pairs), "escalated": escalated, "right_kind": right_kind}
    texts = [text for _category, text in corpus.iter_messages(corpus.load_must_not())]
    false_alarms = sum(data["intent"]["name"] in SAFE_INTENTS for data in parse_texts(agent, texts))
    figures["must-not-escalate"] = {"n": len(texts), "escalated": false_alarms}
    return figures


def _env() -> Dict[str, str]:
    return {
        **os.environ,
        **PROCESS_DEFAULTS,
        "PYTHONWARNINGS": "ignore",
        "ACTION_ENDPOINT_URL": os.environ.get("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook"),
    }


def story_results(model: Path, out: Path, e2e: bool) -> Dict[str, Any]:
    """Run ``rasa test core`` on the test stories; summarise the conversation and action levels.

    Actions are predicted, not executed, so no action server is needed.
    """
    out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "bot.patched_rasa", "test", "core", "--model", str(model), "--stories", str(TEST_STORIES),
        "--out", str(out), "--endpoints", "endpoints.yml", "--successes", *(["--e2e"] if e2e else []),
    ]
    # endpoints.yml names the project's tracker store; keep its SQLite file out of var/.
    env = {**_env(), "DATA_DIR": str(out / "data")}
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    (out / "rasa-test-core.log").write_text(finished.stdout + finished.stderr, encoding="utf-8")
    if finished.returncode != 0:
        raise RuntimeError(f"rasa test core failed (exit {finished.returncode}); see {out / 'rasa-test-core.log'}")
    report = json.loads((out / "story_report.json").read_text(encoding="utf-8"))
    return {
        "command": "rasa test core" + (" --e2e" if e2e else "") + " --stories tests/test_stories.yml",
        "conversations": report["conversation_accuracy"],
        "report": report,
        "failed": failed_stories(out / "failed_test_stories.yml"),
        "confusion_png": out / "story_confusion_matrix.png",
    }


def failed_stories(path: Path) -> List[Dict[str, Any]]:
    """Each failed story with the turns Rasa marked: wrong intents, wrong actions, entity differences."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    names = [re.sub(r"\s*\(.*\)$", "", s["story"]) for s in (yaml.safe_load(text) or {}).get("stories") or []]
    stories = [{"name": name, "marks": []} for name in names]
    current = -1
    for line in text.splitlines():
        if line.startswith("- story:"):
            current += 1
        if "# predicted:" not in line or not 0 <= current < len(stories):
            continue
        match = _PREDICTED.match(line)
        if match and match["gold"] != match["predicted"]:
            mark = f"wrong intent: {match['gold']} → {match['predicted']}: {match['text'].strip()}"
        elif match:
            mark = f"right intent, entities differ from the story: {match['text'].strip()}"
        else:
            step, predicted = (part.strip().lstrip("- ") for part in line.split("# predicted:", 1))
            mark = f"wrong action: {step} → {predicted}"
        stories[current]["marks"].append(mark)
    return stories


def reply_tables(agent: Any) -> Tuple[List[str], List[str]]:
    """The reply figures per set (``evaluation.nlu``): held-out set, first-contact batches, eval-real."""
    from actions.decide import decide
    from evaluation import nlu

    notes: List[str] = []
    scores = [nlu.run_set(agent, "tests/nlu_test_data.yml", nlu.test_set_rows(), decide)]
    for path in sorted(nlu.FIRST_CONTACT.glob("*.tsv")):
        status = "in the training data" if nlu.in_training_data(path) else "held out"
        scores.append(nlu.run_set(agent, f"first contact {path.stem} ({status})", nlu.read_batch(path), decide))
    real = nlu.eval_real_rows()
    if real is None:
        notes.append("eval-real sets skipped: no folder at ../shared/eval-real or $EVAL_REAL_DIR")
    for name, rows in real or []:
        scores.append(nlu.run_set(agent, f"eval-real {name}", rows, decide))
    if real:
        combined = nlu.SetScore("eval-real topics (both files)")
        for s in scores[-len(real):]:
            if s.name.endswith(("counselchat_therapy_process.tsv", "mhfaq_topics.tsv")):
                combined.in_domain.add(s.in_domain)
        scores.append(combined)
    return nlu.table(scores), notes


def crisis_layer_tables() -> Tuple[List[str], List[str], Dict[str, float]]:
    """The crisis layer per set and tier (``make evaluate-crisis``), its notes, and its timing."""
    from evaluation import crisis

    results, notes = crisis.run()
    return crisis.table(results), notes, crisis.time_layer(crisis.corpus_messages(), repeats=3)


def _pct(numerator: float, denominator: float) -> str:
    return f"{100 * numerator / denominator:.1f} %" if denominator else "n/a"


def render(
    model: str,
    predictions: Sequence[Prediction],
    intents: Dict[str, Any],
    stories: Dict[str, Dict[str, Any]],
    pipeline_crisis: Dict[str, Any],
    layer: Tuple[List[str], List[str], Dict[str, float]],
    pictures: Dict[str, str],
    replies: Tuple[List[str], List[str]] | None = None,
) -> str:
    """The Markdown evaluation report."""
    wrong = [p for p in predictions if p[1] != p[2]]
    labels = [k for k in intents if k not in {"accuracy", "macro avg", "weighted avg", "micro avg"}]
    per_intent = [k for k in labels if intents[k]["support"]]
    only_predicted = Counter(p[2] for p in predictions if p[2] not in per_intent)
    lines = [
        "# Evaluation",
        "",
        f"Generated by `make evaluate` (`python -m evaluation.report`) for `{model}`; do not edit by hand.",
        "",
        "## NLU: intents on the held-out test set",
        "",
        f"`tests/nlu_test_data.yml`: {len(predictions)} messages that are not in the training data, "
        "each parsed by the trained model's whole pipeline (crisis guard and fallback included, as in "
        f"the served bot). **Accuracy {intents['accuracy']:.3f}** ({len(predictions) - len(wrong)} of "
        f"{len(predictions)}); macro F1 {intents['macro avg']['f1-score']:.3f}, weighted F1 "
        f"{intents['weighted avg']['f1-score']:.3f}.",
        "",
    ]
    lines += markdown.table(
        ["intent", "precision", "recall", "F1", "support"],
        [
            [name, f"{intents[name]['precision']:.3f}", f"{intents[name]['recall']:.3f}",
             f"{intents[name]['f1-score']:.3f}", int(intents[name]["support"])]
            for name in sorted(per_intent)
        ],
    )
    if only_predicted:
        named = ", ".join(f"`{label}` {count} times" for label, count in sorted(only_predicted.items()))
        lines += ["", f"Predicted although no test message expects it: {named} (`nlu_fallback` is answered as "
                  "out of scope)."]
    lines += ["", f"![Intent confusion matrix]({pictures['intents']})", ""]
    lines += [f"### The {len(wrong)} misclassified messages", ""]
    confusions = Counter((p[1], p[2]) for p in wrong)
    if wrong:
        lines += markdown.table(
            ["expected", "predicted", "confidence", "message"],
            [[p[1], p[2], f"{p[3]:.2f}", p[0].replace("|", "\\|")] for p in sorted(wrong, key=lambda p: (p[1], p[2]))],
        )
        repeated = [(pair, count) for pair, count in confusions.most_common() if count > 1]
        if repeated:
            common = ", ".join(f"{gold} → {predicted} ({count})" for (gold, predicted), count in repeated)
            lines += ["", f"Confusions that occur more than once: {common}."]
        lines.append("")
    else:
        lines += ["None.", ""]

    if replies is not None:
        table, notes = replies
        lines += [
            "## Replies: what people get (issue 14)", "",
            "Each message through the whole pipeline, then `actions.decide` (the action server's reply "
            "rule): an answer when the best topic is sure and clearly ahead, \"Did you mean…\" with 2-3 "
            "topic buttons in the middle band, two answers for two questions, out of scope with topic "
            "buttons below the floor. **strict** = the right topic answered (both for a compound; out of "
            "scope for out-of-domain); **reach** = answered or offered as a button in the same reply; "
            "**wrong answer** = a topic answered that was not asked (out-of-domain: any knowledge answer, "
            "an answer that does not fit). In-domain = a topic (conversational intents included for the "
            "test set) or a compound; out-of-domain = `out_of_scope_mh` and `out_of_scope`. eval-real: "
            "rows labelled `none` left out, counts only. First-contact figures (before a batch could "
            "influence anything) are in [nlu-generalisation.md](nlu-generalisation.md).",
            "", *table, "", *[f"{note}." for note in notes], "",
            "Targets (issue 14): eval-real strict ≥ 0.80, reach ≥ 0.95, wrong topic ≤ 5 %; "
            "`mhfaq_other.tsv` knowledge answers that do not fit ≤ 10 %; test set strict ≥ 0.95. "
            "See the table: they are not met where the figures say so.", "",
        ]

    lines += ["## Stories", ""]
    lines += [
        "`rasa test core` on `tests/test_stories.yml`, in two ways: with the intents the stories name "
        "(the dialogue policies alone; `make test` requires every story to pass this way), and with "
        "`--e2e`, where each user message goes through NLU first, so a wrong intent or an entity the "
        "story does not annotate also counts as a failure.",
        "",
    ]
    rows = []
    for label, result in stories.items():
        conversations = result["conversations"]
        report = result["report"]
        rows.append([
            label, f"{conversations['correct']} / {conversations['total']}",
            f"{report['weighted avg']['precision']:.3f}", f"{report['weighted avg']['recall']:.3f}",
            f"{report['weighted avg']['f1-score']:.3f}",
        ])
    lines += markdown.table(
        ["run", "stories correct", "precision (weighted)", "recall (weighted)", "F1 (weighted)"], rows
    )
    lines += ["", "Precision, recall and F1 are Rasa's, over every predicted action (and, with `--e2e`, intent "
              "and entity).", ""]
    for label, result in stories.items():
        if not result["failed"]:
            lines += [f"{label}: every story passed.", ""]
            continue
        lines += [f"{label}: failed stories, with the turns Rasa marked:", ""]
        for story in result["failed"]:
            lines.append(f"- **{story['name']}**")
            lines += [f"  - {mark}" for mark in story["marks"]]
        lines.append("")
    if pictures.get("stories"):
        lines += [f"![Story confusion matrix (--e2e)]({pictures['stories']})", ""]

    lines += ["## Crisis", "", "### The whole trained pipeline", ""]
    lines += [
        "Every message of the labelled corpus in `tests/crisis/` parsed by the trained model (detector, "
        "classifier and crisis guard together); \"escalated\" means the intent became `crisis` or "
        "`crisis_check_in` (a safe response).",
        "",
    ]
    rows = []
    for label, figures in pipeline_crisis.items():
        if "right_kind" in figures:
            rows.append([label, figures["n"], _pct(figures["escalated"], figures["n"]),
                         _pct(figures["right_kind"], figures["n"]), ""])
        else:
            rows.append([label, figures["n"], "", "", _pct(figures["escalated"], figures["n"])])
    lines += markdown.table(["corpus", "messages", "escalated", "with the right resources", "false alarms"], rows)
    table, notes, timing = layer
    lines += [
        "", "### The crisis layer alone (`make evaluate-crisis`)", "",
        "`bot.crisis.tiers.assess` (the rules, then the risk model) on the project's corpus, the "
        "first-contact batches (after they joined; their first-contact figures are in "
        "[crisis-generalisation.md](crisis-generalisation.md)) and the eval-real sets (text real people "
        "wrote, for evaluation only; counts, never rows). \"Safe response\" is the crisis reply or the "
        "check-in; \"right kind\" counts crisis replies whose resources fit the label.",
        "",
        *table,
        "",
        *[f"{note}." for note in notes],
        f"Per message over the corpus and batches: p50 {timing['msg_p50'] / 1000:.2f} ms, "
        f"p99 {timing['msg_p99'] / 1000:.2f} ms (median of 3 runs each).",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate the model and write the report; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "therapy-bot.tar.gz")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="where the report and PNGs go")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "evaluate", help="intermediate output")
    args = parser.parse_args(argv)
    model = args.model.resolve()
    if not model.exists():
        print(f"{model} does not exist: run `make train` first", file=sys.stderr)
        return 2
    os.environ.update({k: v for k, v in _env().items() if k != "PYTHONWARNINGS"})
    docs, out = args.docs.resolve(), args.out.resolve()
    docs.mkdir(parents=True, exist_ok=True)

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # Rasa's structured logger prints every parsed text at debug level unless configured;
    # this report must not echo messages, so only warnings and errors are shown.
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    print(">> NLU on the held-out test set", flush=True)
    agent = Agent.load(str(model))
    examples = held_out_examples()
    parsed = parse_texts(agent, [text for text, _intent in examples])
    predictions: List[Prediction] = [
        (text, gold, data["intent"]["name"], float(data["intent"].get("confidence") or 0.0))
        for (text, gold), data in zip(examples, parsed, strict=True)
    ]
    intents = intent_report(predictions)
    pictures = {"intents": "evaluation-intents.png"}
    plot_confusion(predictions, docs / pictures["intents"])
    print(">> replies (evaluation.nlu)", flush=True)
    replies = reply_tables(agent)
    print(">> crisis corpus through the pipeline", flush=True)
    pipeline_crisis = crisis_through_pipeline(agent)
    print(">> stories (rasa test core, twice)", flush=True)
    stories = {
        "intents from the stories": story_results(model, out / "stories", e2e=False),
        "end to end (--e2e)": story_results(model, out / "stories-e2e", e2e=True),
    }
    e2e_png = stories["end to end (--e2e)"]["confusion_png"]
    if e2e_png.exists():
        pictures["stories"] = "evaluation-stories.png"
        shutil.copyfile(e2e_png, docs / pictures["stories"])
    print(">> crisis layer per set (make evaluate-crisis)", flush=True)
    layer = crisis_layer_tables()

    shown_model = str(model.relative_to(ROOT)) if model.is_relative_to(ROOT) else str(model)
    report = render(shown_model, predictions, intents, stories, pipeline_crisis, layer, pictures, replies)
    (docs / "evaluation.md").write_text(report, encoding="utf-8")
    print(f">> wrote {docs / 'evaluation.md'}: intent accuracy {intents['accuracy']:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
