"""The crisis evaluator counts what it should and never prints a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.crisis.tiers import Assessment
from evaluation import corpus, crisis, eval_real

pytestmark = pytest.mark.unit


def _judge(text: str) -> Assessment:
    """Escalates by the first word, so the expected counts are known."""
    word = text.split()[0]
    if word == "crisis":
        return Assessment("crisis", text.split()[1])
    if word == "check":
        return Assessment("check_in", "self")
    return Assessment("none")


ROWS = [
    ("self", "crisis self one"),
    ("self", "check two"),
    ("self", "nothing three"),
    ("abuse", "crisis domestic_violence four"),
    ("abuse", "crisis self five"),
    ("none", "crisis self six"),
    ("none", "check seven"),
    ("none", "nothing eight"),
]


def test_tallies_per_label_and_tier() -> None:
    result = crisis.score("made-up", ROWS, judge=_judge)
    self_, abuse, none = result.by_label["self"], result.by_label["abuse"], result.by_label["none"]
    assert (self_.n, self_.crisis, self_.safe, self_.right_kind) == (3, 1, 2, 1)
    assert (abuse.n, abuse.crisis, abuse.right_kind) == (2, 2, 1), "self resources for abuse are the wrong kind"
    assert (none.n, none.tiers["crisis"], none.tiers["check_in"]) == (3, 1, 1)
    assert result.total(True).n == 5 and result.total(False).n == 3


def test_the_table_prints_counts_never_messages() -> None:
    lines = crisis.table([crisis.score("made-up", ROWS, judge=_judge)])
    text = "\n".join(lines)
    for _, message in ROWS:
        assert message not in text
    assert "| made-up | self | 3 | 1 (33.3%) | 2 (66.7%) | 1 of 1 |" in text


def test_an_unknown_label_is_an_error_not_a_skipped_row() -> None:
    with pytest.raises(ValueError, match="unknown label"):
        crisis.score("made-up", [("maybe", "crisis self x")], judge=_judge)


def test_without_the_eval_real_folder_the_report_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(eval_real.ENV_VAR, str(tmp_path / "absent"))
    assert eval_real.directory() is None
    assert crisis.eval_real_sets() == []


def test_eval_real_rows_load_with_their_labels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "two.tsv").write_text("self\tfirst\nnone\tsecond\n", encoding="utf-8")
    (tmp_path / "one.tsv").write_text("only text\n", encoding="utf-8")
    monkeypatch.setenv(eval_real.ENV_VAR, str(tmp_path))
    assert eval_real.load("two.tsv").rows == (("self", "first"), ("none", "second"))
    assert eval_real.load("one.tsv", default_label="none").rows == (("none", "only text"),)
    with pytest.raises(ValueError):
        eval_real.load("one.tsv")


def test_batches_are_strict_about_their_shape(tmp_path: Path) -> None:
    good = tmp_path / "good.tsv"
    good.write_text("self\ti want to die\nnone\thow long is a session\n", encoding="utf-8")
    assert corpus.load_batch(good).rows == (("self", "i want to die"), ("none", "how long is a session"))
    bad = tmp_path / "bad.tsv"
    bad.write_text("suicidal\ti want to die\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        corpus.load_batch(bad)


def test_every_first_contact_batch_is_recorded_in_the_generalisation_table() -> None:
    table = (corpus.ROOT / "docs" / "crisis-generalisation.md").read_text(encoding="utf-8")
    for batch in corpus.load_first_contact():
        assert f"| {batch.name} |" in table, f"{batch.name} joined the corpus without a first-contact figure"
