"""Tests of the crisis rule files, their strict loader and the generated review document.

Every rule carries its own evidence: ``examples`` that must fire with the stated kind (and
the rule's tier) and ``not`` examples that must not. A malformed rule file must stop the
assistant at start-up with an error naming the file and the rule.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import List

import pytest

from bot.crisis.engine import CrisisDetector, Detection
from bot.crisis.rules_loader import RULES_DIR, Rule, RuleError, load
from docgen import crisis_rules

pytestmark = pytest.mark.unit

RULES: List[Rule] = [rule for lang in load() for rule in lang.rules]


def rule_fires(detector: CrisisDetector, rule_id: str, text: str) -> List[Detection]:
    """The detections of one rule alone in ``text``."""
    return [d for d in detector.analyse(text) if d.rule == rule_id]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_examples_fire_and_not_examples_do_not(detector: CrisisDetector, rule: Rule) -> None:
    problems = []
    for text, kind in rule.examples:
        got = rule_fires(detector, rule.id, text)
        if not any(d.kind == kind and d.tier == rule.tier for d in got):
            problems.append(f"should fire as {kind}/{rule.tier}: {text!r} -> {got or detector.analyse(text)}")
    for text in rule.not_examples:
        if rule_fires(detector, rule.id, text):
            problems.append(f"should not fire: {text!r}")
    assert not problems, f"{rule.file}: {rule.id}\n" + "\n".join(problems)


def test_every_category_file_exists_and_ids_match_their_file() -> None:
    names = {p.stem for p in (RULES_DIR / "en").glob("*.yml")}
    for category in ("direct", "indirect", "method_seeking", "self_harm", "other_person", "sexual_assault",
                     "domestic_violence", "child_abuse", "check_in", "vocab"):  # fmt: skip
        assert category in names
    for rule in RULES:
        prefix = Path(rule.file).stem if rule.lang == "en" else f"{rule.lang}.{Path(rule.file).stem}"
        assert rule.id.startswith(prefix + "."), (rule.file, rule.id)
        assert (rule.tier == "check_in") == (Path(rule.file).stem == "check_in"), rule.id


def test_engine_knows_no_rule_by_name() -> None:
    """No rule id, and no rule-id prefix test, appears in the engine's Python code."""
    code = "\n".join(p.read_text(encoding="utf-8") for p in RULES_DIR.parent.glob("*.py"))
    for rule in RULES:
        assert rule.id not in code, rule.id
    assert not re.search(r"startswith\(\s*[\"'](direct|indirect|method|self_harm|slang|other_person)", code)


def test_a_failing_condition_does_not_hide_risk(detector: CrisisDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    """An internal error while judging a rule escalates on the pattern alone, never crashes."""
    from bot.crisis import conditions

    def broken(*_args: object) -> bool:
        raise RuntimeError("broken condition")

    monkeypatch.setattr(conditions, "negation", broken)
    monkeypatch.setattr("bot.crisis.engine.negation", broken)
    result, negated, considered = detector.screen("i want to kill myself")
    assert result is not None and result.kind == "self" and not negated and not considered


def test_the_rules_say_when_they_ruled_risk_wording_out(detector: CrisisDetector) -> None:
    """Negated or excepted wording is reported, so a word-counting classifier cannot overrule it."""
    assert detector.screen("i'm not suicidal, just curious") == (None, True, True)
    assert detector.screen("i don't want to live in this city anymore") == (None, False, True)
    assert detector.screen("how long is a first session?") == (None, False, False)


# --------------------------------------------------------------------------- the strict loader


def _tree(tmp_path: Path, rule_yaml: str, vocab_extra: str = "") -> Path:
    """A rules folder with the real English vocabulary and one test rule file."""
    root = tmp_path / "rules"
    (root / "en").mkdir(parents=True)
    shutil.copy(RULES_DIR / "en" / "vocab.yml", root / "en" / "vocab.yml")
    if vocab_extra:
        vocab = root / "en" / "vocab.yml"
        vocab.write_text(vocab.read_text(encoding="utf-8").replace("\nwords:\n", "\nwords:\n" + vocab_extra), "utf-8")
    (root / "en" / "test.yml").write_text(rule_yaml, encoding="utf-8")
    return root


GOOD = """rules:
  - id: test.good
    kind: self
    conditions: [not_negated]
    patterns:
      - [{LOWER: {IN: $kill}}, {LOWER: everything}]
    examples: [kill everything]
"""


def test_a_good_file_loads(tmp_path: Path) -> None:
    (lang,) = load(_tree(tmp_path, GOOD))
    assert [r.id for r in lang.rules] == ["test.good"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("conditions: [not_negated]", "condtions: [not_negated]"), "unknown key(s) ['condtions']"),
        (("not_negated]", "not_negatd]"), "unknown condition 'not_negatd'"),
        (("$kill", "$kil"), "undefined vocabulary reference '$kil'"),
        (("kind: self", "kind: selfish"), "unknown kind 'selfish'"),
        (("kind: self", "kind: self\n    tier: urgent"), "unknown tier 'urgent'"),
        (("kind: self", "kind: infer"), "kind `infer` needs a `subject` condition"),
        (("[not_negated]", "[subject: everyone]"), "expects one of"),
        (("[not_negated]", "[next_word_in: {word: [a]}]"), "unknown parameter(s) ['word']"),
        (("[not_negated]", "[context_has: {words: [a], scope: paragraph}]"), "scope must be one of"),
        (("{LOWER: everything}", "{LOWR: everything}"), "unknown token attribute(s) ['LOWR']"),
        (("    examples: [kill everything]\n", ""), "needs at least one example"),
        (("- [{LOWER", "- regex: '('\n      - [{LOWER"), "invalid regex"),
    ],
)
def test_malformed_rules_are_rejected_with_file_and_rule(tmp_path: Path, change: tuple, message: str) -> None:
    root = _tree(tmp_path, GOOD.replace(*change))
    with pytest.raises(RuleError) as error:
        load(root)
    text = str(error.value)
    assert message in text, text
    assert "test.yml" in text and "test.good" in text, text


def test_a_pattern_spacy_rejects_or_with_no_required_word_fails_at_start_up(tmp_path: Path) -> None:
    for i, pattern in enumerate(("[{LIKE_NUM: maybe}]", '[{LOWER: everything, OP: "?"}]')):
        root = _tree(tmp_path / str(i), GOOD.replace("[{LOWER: {IN: $kill}}, {LOWER: everything}]", pattern))
        with pytest.raises(RuleError, match=r"test.yml.*test.good"):
            CrisisDetector(rules_dir=root)


def test_bad_vocabulary_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"vocab.yml.*undefined vocabulary reference '\$nothing'"):
        load(_tree(tmp_path, GOOD, "  bad_list: [$nothing]\n"))


def test_duplicate_rule_ids_are_rejected(tmp_path: Path) -> None:
    root = _tree(tmp_path, GOOD)
    (root / "en" / "test2.yml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(RuleError, match="already defined"):
        load(root)


def test_a_new_language_needs_no_python(tmp_path: Path) -> None:
    root = tmp_path / "rules"
    shutil.copytree(RULES_DIR / "en", root / "en")
    (root / "fr").mkdir()
    (root / "fr" / "direct.yml").write_text(
        """rules:
  - id: fr.direct.envie_de_mourir
    kind: self
    conditions: [not_negated]
    patterns:
      - [{LOWER: envie}, {LOWER: de}, {LOWER: mourir}]
    examples: ["j'ai envie de mourir"]
""",
        encoding="utf-8",
    )
    detector = CrisisDetector(rules_dir=root)
    result = detector.detect("J'ai envie de mourir")
    assert result is not None and result.rule == "fr.direct.envie_de_mourir"


# --------------------------------------------------------------------------- the review document


def test_generated_rules_document_is_up_to_date() -> None:
    assert crisis_rules.DOC_PATH.exists(), "run: python -m docgen.crisis_rules"
    assert crisis_rules.DOC_PATH.read_text(encoding="utf-8") == crisis_rules.render(), (
        "docs/crisis-rules.md is stale: run python -m docgen.crisis_rules"
    )


def test_every_condition_has_its_meaning_and_its_test(tmp_path: Path) -> None:
    """conditions.yml and the tests in conditions.py name the same conditions, or loading stops."""
    from bot.crisis import conditions

    table = (Path(conditions.__file__).parent / "conditions.yml").read_text(encoding="utf-8")
    broken = tmp_path / "conditions.yml"
    broken.write_text(table.replace("after_loss:", "after_a_loss:"), encoding="utf-8")
    with pytest.raises(ValueError, match="exactly those implemented"):
        conditions._load_conditions(broken)
    broken.write_text(table.replace("  param: count", "  param: number"), encoding="utf-8")
    with pytest.raises(ValueError, match="quantity_at_least needs"):
        conditions._load_conditions(broken)
