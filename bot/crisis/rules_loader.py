"""Strict loader of the crisis rule files (``bot/crisis/rules/<language>/*.yml``).

Why strict: a typo in a safety rule ("condtions:", an unknown condition, a vocabulary
name that does not exist) must stop the assistant at start-up with an error naming the
file and the rule, never silently turn a rule off. Everything a rule may contain is
listed here; anything else is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from bot.crisis import KINDS
from bot.crisis.conditions import CONDITION_WORDS, CONDITIONS, LangWords, compile_words

RULES_DIR = Path(__file__).resolve().parent / "rules"
ROOT_DIR = RULES_DIR.parents[2]
TIERS = ("crisis", "check_in")
RULE_KEYS = {"id", "tier", "kind", "why", "patterns", "conditions", "examples", "not"}
VOCAB_KEYS = {"words", "condition_words", "speaker_age"}
TOKEN_KEYS = {"LOWER", "LEMMA", "TEXT", "ORTH", "LIKE_NUM", "IS_PUNCT", "IS_DIGIT", "IS_ALPHA", "OP"}
SCOPES = ("sentence", "message", "match", "before", "after")
_CONTRACTION_RE = re.compile(r"(?<=\w)(n't|'s|'m|'re|'ve|'ll|'d)\b")


class _Loader(yaml.SafeLoader):
    """YAML without the 1.1 booleans: "no", "on", "off" in a word list are words, not false."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


class RuleError(ValueError):
    """A rule or vocabulary file is malformed; the message names the file and the rule."""


@dataclass
class Rule:
    """One reviewed rule, as loaded (vocabulary references expanded)."""

    id: str
    lang: str
    file: str
    tier: str
    kind: str
    patterns: List[Any]  # token patterns (lists of dicts) or compiled regexes
    conditions: List[Tuple[str, Any]]
    examples: List[Tuple[str, str]]
    not_examples: List[str]
    why: str = ""
    source: Dict[str, Any] = field(default_factory=dict)  # the rule as written, for the docs


@dataclass
class Language:
    """One language folder: its vocabulary, its condition words and its rules."""

    code: str
    words: Dict[str, Tuple[str, ...]]
    condition_words: LangWords
    rules: List[Rule] = field(default_factory=list)


def _fail(where: str, message: str) -> RuleError:
    return RuleError(f"{where}: {message}")


def _require(ok: bool, where: str, message: str) -> None:
    if not ok:
        raise _fail(where, message)


def _only(given: Any, allowed: Any, where: str, what: str) -> None:
    """Refuse anything not in ``allowed``: a misspelt key must not silently switch a check off."""
    unknown = set(given) - set(allowed)
    _require(not unknown, where, f"unknown {what} {sorted(unknown)}; allowed: {sorted(allowed)}")


def _read(path: Path) -> Dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise _fail(str(path), f"not valid YAML: {exc}") from exc
    _require(isinstance(data, dict), str(path), "expected a mapping")
    return data


def _expand(values: Any, words: Dict[str, Tuple[str, ...]], where: str, split: bool = True) -> Tuple[str, ...]:
    """A word list with ``$name`` references replaced by their words (``split``: "didn't" -> "did n't")."""
    if isinstance(values, str):
        values = [values]
    _require(isinstance(values, list) and bool(values), where, f"expected a non-empty word list, got {values!r}")
    out: List[str] = []
    for value in values:
        _require(isinstance(value, (str, int)) and not isinstance(value, bool), where,
                 f"a word must be text, got {value!r}")  # fmt: skip
        value = str(value).lower()
        if value.startswith("$") and len(value) > 1:
            _require(value[1:] in words, where, f"undefined vocabulary reference {value!r}")
            out.extend(words[value[1:]])
        else:
            out.append(_CONTRACTION_RE.sub(r" \1", value) if split else value)
    return tuple(dict.fromkeys(out))


def _load_vocab(path: Path, fallback: Language | None) -> Tuple[Dict[str, Tuple[str, ...]], LangWords]:
    data = _read(path) if path.exists() else {}
    _only(data, VOCAB_KEYS, str(path), "key(s)")
    words: Dict[str, Tuple[str, ...]] = dict(fallback.words) if fallback else {}
    for name, values in (data.get("words") or {}).items():
        words[str(name)] = _expand(values, words, f"{path}: word list {name!r}")
    lists = dict(fallback.condition_words.lists) if fallback else {}
    _only(data.get("condition_words") or {}, CONDITION_WORDS, str(path), "condition word list(s)")
    for name, values in (data.get("condition_words") or {}).items():
        lists[name] = compile_words(_expand(values, words, f"{path}: condition word list {name!r}"))
    missing = [name for name in CONDITION_WORDS if name not in lists]
    _require(not missing, str(path), f"condition word lists missing: {missing}")
    ages = data.get("speaker_age") or {}
    _only(ages, ("age", "minor", "adult"), f"{path}: speaker_age", "key(s)")
    base = fallback.condition_words if fallback else LangWords({})
    compiled = {k: re.compile(v) for k, v in ages.items()}
    return words, LangWords(lists, compiled.get("minor", base.minor), compiled.get("adult", base.adult),
                            compiled.get("age", base.age))  # fmt: skip


def _token(tok: Any, words: Dict[str, Tuple[str, ...]], where: str) -> Dict[str, Any]:
    _require(isinstance(tok, dict), where, f"a token must be a mapping like {{LOWER: word}}, got {tok!r}")
    _only(tok, TOKEN_KEYS, where, "token attribute(s)")
    out: Dict[str, Any] = {}
    for key, value in tok.items():
        if key in ("LOWER", "LEMMA", "TEXT", "ORTH"):
            if isinstance(value, str) and value.startswith("$"):
                value = {"IN": value}
            if isinstance(value, dict):
                _require(bool(value) and set(value) <= {"IN", "NOT_IN"}, where,
                         f"{key} accepts IN or NOT_IN, got {sorted(value)}")  # fmt: skip
                value = {op: list(_expand(vals, words, where, split=False)) for op, vals in value.items()}
            _require(isinstance(value, (str, dict)), where,
                     f"{key} must be a word, {{IN: [...]}} or $vocabulary, got {value!r}")  # fmt: skip
        elif key == "OP":
            _require(value in ("?", "*", "+", "!"), where, f"unknown OP {value!r}")
        out[key] = value
    return out


def _pattern(raw: Any, words: Dict[str, Tuple[str, ...]], where: str) -> Any:
    if isinstance(raw, dict):
        _require(set(raw) == {"regex"}, where, f"a pattern is a token list or {{regex: ...}}, got keys {sorted(raw)}")
        try:
            return re.compile(raw["regex"])
        except re.error as exc:
            raise _fail(where, f"invalid regex: {exc}") from exc
    _require(isinstance(raw, list) and bool(raw), where, f"a pattern must be a non-empty token list, got {raw!r}")
    return [_token(tok, words, where) for tok in raw]


def _condition(raw: Any, words: Dict[str, Tuple[str, ...]], where: str) -> Tuple[str, Any]:
    name, param = (raw, None) if isinstance(raw, str) else next(iter(raw.items())) if (
        isinstance(raw, dict) and len(raw) == 1) else (None, None)  # fmt: skip
    _require(isinstance(name, str), where, f"a condition is a name or {{name: parameter}}, got {raw!r}")
    _require(name in CONDITIONS, where, f"unknown condition {raw!r}; known: {', '.join(CONDITIONS)}")
    spec = CONDITIONS[name]
    where = f"{where}: condition {name}"
    if spec.param == "conditions":
        _require(isinstance(param, list) and bool(param), where, "expects a list of conditions")
        inner = [_condition(c, words, where) for c in param]
        _require(all(n not in ("not_negated", "subject") for n, _ in inner), where,
                 "not_negated and subject cannot be alternatives")  # fmt: skip
        return name, inner
    if spec.param == "choice":
        _require(param in spec.choices, where, f"expects one of {spec.choices}, got {param!r}")
        return name, param
    if param in (None, True):
        _require(spec.param not in ("words", "scoped_words", "count"), where, "needs a parameter")
        return name, {}
    if spec.param == "count" and isinstance(param, int):
        param = {"n": param}
    if spec.param in ("words", "scoped_words") and isinstance(param, list):
        param = {"words": param}
    _require(isinstance(param, dict), where, f"bad parameter {param!r}")
    _only(param, spec.keys, where, "parameter(s)")
    out: Dict[str, Any] = {"within": 6 if spec.param == "scoped_words" else 3, "or_end": False, "scope": "sentence"}
    out.update(param)
    for key in ("words", "also"):
        if key in out:
            out[key] = compile_words(_expand(out[key], words, where))
    _require("words" in out or spec.param not in ("words", "scoped_words"), where, "needs `words`")
    _require(out["scope"] in SCOPES and isinstance(out["within"], int) and isinstance(out["or_end"], bool), where,
             f"scope must be one of {SCOPES}, within a number, or_end true/false")  # fmt: skip
    _require(spec.param != "count" or isinstance(out.get("n"), int), where, "needs a number `n`")
    return name, out


def _rule(raw: Any, lang: Language, path: Path, index: int) -> Rule:
    where = f"{path}: rule #{index + 1}"
    _require(isinstance(raw, dict), where, "a rule must be a mapping")
    rule_id = raw.get("id")
    _require(isinstance(rule_id, str) and "." in rule_id, where, f"needs an id like 'category.name', got {rule_id!r}")
    where = f"{path}: rule {rule_id!r}"
    _only(raw, RULE_KEYS, where, "key(s)")
    tier, kind = raw.get("tier", "crisis"), raw.get("kind")
    _require(tier in TIERS, where, f"unknown tier {tier!r}; allowed: {TIERS}")
    _require(kind in KINDS + ("infer",), where, f"unknown kind {kind!r}; allowed: {KINDS + ('infer',)}")
    patterns = raw.get("patterns")
    _require(isinstance(patterns, list) and bool(patterns), where, "needs a non-empty `patterns` list")
    patterns = [_pattern(p, lang.words, f"{where}: pattern {i + 1}") for i, p in enumerate(patterns)]
    conditions = [_condition(c, lang.words, where) for c in raw.get("conditions") or []]
    _require(kind != "infer" or "subject" in dict(conditions), where,
             "kind `infer` needs a `subject` condition to decide the kind")  # fmt: skip
    examples: List[Tuple[str, str]] = []
    for ex in raw.get("examples") or []:
        text, ex_kind = (ex, kind) if isinstance(ex, str) else (ex.get("text"), ex.get("kind")) if (
            isinstance(ex, dict) and set(ex) <= {"text", "kind"}) else (None, None)  # fmt: skip
        _require(isinstance(text, str) and ex_kind in KINDS, where,
                 f"example {ex!r} needs text and a kind from {KINDS}")  # fmt: skip
        examples.append((text, ex_kind))
    _require(bool(examples), where, "needs at least one example that must fire")
    nots = raw.get("not") or []
    _require(isinstance(nots, list) and all(isinstance(n, str) for n in nots), where, "`not` must be a list of texts")
    return Rule(rule_id, lang.code, str(path), tier, kind, patterns, conditions, examples, nots,
                str(raw.get("why", "")).strip(), raw)  # fmt: skip


def load(root: Path = RULES_DIR) -> List[Language]:
    """Load every language folder under ``root`` (English first: others inherit its words)."""
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: (p.name != "en", p.name))
    _require(bool(folders), str(root), "no language folders")
    languages: List[Language] = []
    ids: Dict[str, str] = {}
    for folder in folders:
        words, cond_words = _load_vocab(folder / "vocab.yml", languages[0] if languages else None)
        lang = Language(folder.name, words, cond_words)
        for path in sorted(folder.glob("*.yml")):
            if path.name == "vocab.yml":
                continue
            data = _read(path)
            _require(set(data) == {"rules"} and isinstance(data["rules"], list), str(path),
                     "a rule file holds exactly one key, `rules`, a list")  # fmt: skip
            for index, raw in enumerate(data["rules"]):
                rule = _rule(raw, lang, path, index)
                _require(rule.id not in ids, str(path), f"rule {rule.id!r} is already defined in {ids.get(rule.id)}")
                ids[rule.id] = str(path)
                lang.rules.append(rule)
        languages.append(lang)
    return languages
