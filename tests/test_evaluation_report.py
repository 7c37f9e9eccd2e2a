"""The helpers of the evaluation report (evaluation/report.py, ``make evaluate``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation import report

pytestmark = pytest.mark.unit


def test_intent_report_and_confusion_labels() -> None:
    predictions = [("a", "cost", "cost", 0.9), ("b", "cost", "nlu_fallback", 0.2),
                   ("c", "greet", "greet", 0.9), ("d", "greet", "cost", 0.5)]
    scores = report.intent_report(predictions)
    assert scores["accuracy"] == 0.5
    assert scores["cost"]["precision"] == 0.5 and scores["cost"]["recall"] == 0.5
    assert scores["greet"]["precision"] == 1.0 and scores["greet"]["recall"] == 0.5
    assert report.confusion_labels(predictions) == ["cost", "greet", "nlu_fallback"]


def test_failed_stories_are_split_by_cause(tmp_path: Path) -> None:
    failed = tmp_path / "failed_test_stories.yml"
    failed.write_text(
        'version: "3.1"\nstories:\n'
        "- story: one (/x/tests/test_stories.yml)\n  steps:\n"
        "  - intent: medication  # predicted: confidentiality: can my therapist prescribe?\n"
        "  - action: action_answer_topic\n"
        "- story: two (/x/tests/test_stories.yml)\n  steps:\n"
        '  - intent: cost  # predicted: cost: how much does it [cost](aspect)?\n'
        "  - action: action_answer_topic  # predicted: action_listen\n"
    )
    stories = report.failed_stories(failed)
    assert [s["name"] for s in stories] == ["one", "two"]
    assert stories[0]["marks"] == ["wrong intent: medication → confidentiality: can my therapist prescribe?"]
    assert stories[1]["marks"] == [
        "right intent, entities differ from the story: how much does it [cost](aspect)?",
        "wrong action: action: action_answer_topic → action_listen",
    ]
    assert report.failed_stories(tmp_path / "missing.yml") == []


def test_report_tells_batches_in_the_training_data_from_held_out_ones() -> None:
    from evaluation import nlu

    status = {path.stem: nlu.in_training_data(path) for path in nlu.FIRST_CONTACT.glob("*.tsv")}
    # docs/nlu-generalisation.md: C, E, G, H, I, K, L, M, O, Q and U joined the training data;
    # A, D, F, J, N, P, R, S and T are held out.
    assert status == {
        "questions_A": False, "questions_C": True, "questions_D": False, "questions_E": True,
        "questions_F": False, "questions_G": True, "questions_H": True, "questions_I": True,
        "questions_J": False, "questions_K": True, "questions_L": True, "questions_M": True,
        "questions_N": False, "questions_O": True, "questions_P": False, "questions_Q": True,
        "questions_R": False, "questions_S": False, "questions_T": False, "questions_U": True,
    }
