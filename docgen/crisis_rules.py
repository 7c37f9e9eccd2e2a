"""Write ``docs/crisis-rules.md``, the clinician-readable view of every crisis rule.

Why generated: the rule files are the source of truth, and a hand-written review document
would drift from them. ``python -m docgen.crisis_rules`` rewrites the document, and a test
fails when the committed copy is out of date, so what a clinician reviews is what runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List

import yaml

from bot.crisis.conditions import CONDITIONS
from bot.crisis.rules_loader import ROOT_DIR, RULES_DIR, load

DOC_PATH = ROOT_DIR / "docs" / "crisis-rules.md"
_TITLE = "# Crisis rules (generated from bot/crisis/rules: do not edit)"



def _value(value: Any, lemma: bool) -> str:
    if isinstance(value, dict):
        if "IN" in value:
            return _value(value["IN"], lemma)
        return "not " + _value(value.get("NOT_IN"), lemma)
    if isinstance(value, str) and value.startswith("$"):
        return f"<{value[1:]}>"
    if isinstance(value, list):
        parts = [_value(v, False) for v in value]
        text = " | ".join(parts)
        return f"[{text}]" if lemma else (text if len(parts) == 1 else f"({text})")
    return f"[{value}]" if lemma else str(value)


def pattern_text(pattern: Any) -> str:
    """One pattern in the readable notation explained in the document's header."""
    if isinstance(pattern, dict):
        return f"regex: `{pattern['regex']}`"
    words = []
    for token in pattern:
        attr = next((k for k in ("LOWER", "LEMMA", "TEXT", "ORTH") if k in token), None)
        text = _value(token[attr], attr == "LEMMA") if attr else ("#" if token.get("LIKE_NUM") else "_")
        words.append(text + (token["OP"] if token.get("OP") in ("?", "*", "+") else ""))
    return "`" + " ".join(words) + "`"


def _flow(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and len(item) == 1:
        name, param = next(iter(item.items()))
        return f"{name}: {_flow(param)}"
    return yaml.safe_dump(item, default_flow_style=True, allow_unicode=True, width=10_000).strip()


def render() -> str:
    """The whole document as text."""
    header = (RULES_DIR / "README.md").read_text(encoding="utf-8").replace("# Crisis rules", _TITLE, 1)
    out: List[str] = [header, "## Conditions\n"]
    for name, spec in CONDITIONS.items():
        out.append(f"* `{name}`: {spec.doc}")
    languages = load(RULES_DIR)
    out.append("\n## Summary\n\n| rule | tier | kind | what it catches |\n|---|---|---|---|")
    for rule in (rule for lang in languages for rule in lang.rules):
        out.append(f"| `{rule.id}` | {rule.tier} | {rule.kind} | {rule.why.replace('|', '/')} |")
    for lang in languages:
        out.append(f"\n## Language `{lang.code}`\n")
        current = ""
        for rule in lang.rules:
            if rule.file != current:
                current = rule.file
                out.append(f"### `{Path(current).relative_to(ROOT_DIR)}`\n")
            out.append(f"#### `{rule.id}` ({rule.tier}, {rule.kind})\n")
            if rule.why:
                out.append(rule.why + "\n")
            out.append("Patterns:\n")
            out.extend(f"* {pattern_text(p)}" for p in rule.source["patterns"])
            if rule.source.get("conditions"):
                out.append("\nConditions:\n")
                out.extend(f"* `{_flow(c)}`" for c in rule.source["conditions"])
            out.append("\nFires on:\n")
            out.extend(f"* {text!r} ({kind})" for text, kind in rule.examples)
            if rule.not_examples:
                out.append("\nMust not fire on:\n")
                out.extend(f"* {text!r}" for text in rule.not_examples)
            out.append("")
    out.append("## Vocabularies\n")
    for lang in languages:
        path = RULES_DIR / lang.code / "vocab.yml"
        own = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}
        for name in own.get("words") or {}:
            out.append(f"* `{lang.code}` `<{name}>`: {', '.join(lang.words[name])}")
    return "\n".join(out) + "\n"


def main(argv: List[str] | None = None) -> int:
    """Write the document (or, with ``--check``, fail if the committed copy is stale)."""
    text = render()
    if "--check" in (argv if argv is not None else sys.argv[1:]):
        return 0 if DOC_PATH.exists() and DOC_PATH.read_text(encoding="utf-8") == text else 1
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
