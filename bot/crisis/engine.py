"""The crisis rule engine: runs the reviewed rules of ``bot/crisis/rules`` on a message.

The text it reads is prepared by ``bot.crisis.text`` (normalisation, bounded length); the
rule files are loaded strictly by ``bot.crisis.rules_loader``.

Why it is small and rule-agnostic: what counts as risk is clinical knowledge and lives in
data a clinician can review (one file per category and language). The engine only
matches patterns (spaCy token patterns, or regexes where tokens do not fit), applies each
rule's named conditions (``bot.crisis.conditions``) and picks the most urgent result. It
never refers to a rule by name.

Speed: one blank spaCy pipeline with the lookup lemmatizer, built once. Single-word
patterns go to one ``PhraseMatcher``; every other token pattern has its own small
``Matcher`` that runs only when each of its required words occurs in the message, and
then only around its rarest word, in the windows that hold every required word (one
Matcher holding every pattern evaluates every ``IN`` set at every token, which costs
~0.7 ms per message; a Matcher call costs ~20 µs even on a short window).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Dict, List, NamedTuple, Tuple

import numpy as np
import spacy
from spacy.attrs import LEMMA
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from bot.crisis import PRIORITY
from bot.crisis.conditions import CONDITIONS, Ctx, Match, negation, resolve_subject
from bot.crisis.rules_loader import RULES_DIR, Language, Rule, RuleError, load
from bot.crisis.text import analysed_text as prepare

_RANK = {kind: i for i, kind in enumerate(PRIORITY)}
_TIER_RANK = {"crisis": 0, "check_in": 1}
#: A rule is judged at most this often per message: a paste of 9,000 pill emoji must not
#: cost 9,000 evaluations, and a rule that failed 32 times is unlikely to hold on the 33rd.
_MAX_EVALS_PER_RULE = 32


@dataclass(frozen=True)
class Detection:
    """A crisis signal found in a message.

    ``kind`` selects the resources in the reply (one of ``bot.crisis.KINDS``); ``rule`` is the id of
    the rule that fired, for audit logs and tests (never shown to the user); ``tier`` is
    ``crisis`` (clear risk: the full crisis reply) or ``check_in`` (possible risk: ask
    directly, with the crisis line in the same message).
    """

    kind: str
    rule: str
    tier: str = "crisis"


class RuleVerdict(NamedTuple):
    """What the rules made of a message.

    ``negated``: risk wording was seen and the speaker negated it ("I'm not suicidal, just
    curious"). ``considered``: risk wording was seen and a rule's condition ruled it out
    (negated, or an exception such as "don't want to live *in this city*"). Either way the
    rules judged the words, and a word-counting classifier must not overrule them.
    """

    detection: Detection | None
    negated: bool = False
    considered: bool = False


@dataclass(frozen=True)
class _Gated:
    """A Matcher for one pattern, run only when all its required words occur."""

    matcher: Matcher
    anchor: frozenset
    required: Tuple[frozenset, ...]
    reach: int


def _required_sets(pattern: List[Dict[str, object]]) -> List[frozenset]:
    """Word sets of the tokens a match cannot do without (optional and wildcard tokens excluded)."""
    required: List[frozenset] = []
    for token in pattern:
        if token.get("OP") in ("?", "*", "!"):
            continue
        for attr in ("LOWER", "LEMMA"):
            spec = token.get(attr)
            if isinstance(spec, str):
                required.append(frozenset((spec,)))
            elif isinstance(spec, dict) and "IN" in spec:
                required.append(frozenset(spec["IN"]))
    return required


class CrisisDetector:
    """Find suicide, self-harm and abuse risk in a user message.

    ``detect`` returns ``None`` for harmless messages and otherwise the most urgent
    :class:`Detection`: the crisis tier beats the check-in tier, and within a tier the
    kind order is self > other_person > child_abuse > sexual_assault > domestic_violence
    (someone who discloses abuse *and* suicidal thoughts gets the suicide resources first).

    Build one instance per process and reuse it (loading takes about a second); call it
    from one thread at a time (spaCy's string store grows as new words are seen).
    """

    def __init__(self, rules_dir: Path = RULES_DIR) -> None:
        self.languages: List[Language] = load(rules_dir)
        self._nlp = spacy.blank("en")
        # spaCy splits dashes only between letters, so "my life-" or "-die" would hide the
        # word from every rule; runs of dashes and similar marks around words are split off.
        extra = [r"[-–—_~*=#|]+"]
        tokenizer = self._nlp.tokenizer
        tokenizer.prefix_search = spacy.util.compile_prefix_regex(list(self._nlp.Defaults.prefixes) + extra).search
        tokenizer.suffix_search = spacy.util.compile_suffix_regex(list(self._nlp.Defaults.suffixes) + extra).search
        self._nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        self._nlp.initialize()
        self._lemma_table = self._nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
        self._chunk = lru_cache(maxsize=50_000)(self._tokenise_chunk)
        self._phrases = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._gated: List[_Gated] = []
        self._anchor_index: Dict[str, List[int]] = {}
        self._regexes: List[Tuple[str, object]] = []
        self.rules: Dict[str, Rule] = {}
        self._lang: Dict[str, Language] = {}
        for lang in self.languages:
            common = lang.condition_words["common"].singles
            for rule in lang.rules:
                self.rules[rule.id] = rule
                self._lang[rule.id] = lang
                for pattern in rule.patterns:
                    self._add(rule, pattern, common)

    def _add(self, rule: Rule, pattern: object, common: frozenset) -> None:
        if not isinstance(pattern, list):
            self._regexes.append((rule.id, pattern))
            return
        pattern = [self._with_lemmas(token) for token in pattern]
        if len(pattern) == 1 and set(pattern[0]) == {"LOWER"}:
            lower = pattern[0]["LOWER"]
            if isinstance(lower, str) or set(lower) == {"IN"}:
                words = [lower] if isinstance(lower, str) else lower["IN"]
                self._phrases.add(rule.id, list(self._nlp.tokenizer.pipe(words)))
                return
        required = _required_sets(pattern)
        matcher = Matcher(self._nlp.vocab, validate=True)
        try:
            matcher.add(rule.id, [pattern])
        except ValueError as exc:  # spaCy's own pattern validation
            raise RuleError(f"{rule.file}: rule {rule.id!r}: invalid pattern {pattern}: {exc}") from exc
        if not required:
            raise RuleError(f"{rule.file}: rule {rule.id!r}: pattern {pattern} has no required word")
        anchor = min(required, key=lambda words: sum(100 if w in common else 1 for w in words))
        unbounded = any(token.get("OP") in ("*", "+") for token in pattern)  # a match may be longer
        self._gated.append(_Gated(matcher, anchor, tuple(required), 10_000 if unbounded else len(pattern)))
        for word in anchor:
            self._anchor_index.setdefault(word, []).append(len(self._gated) - 1)

    def _with_lemmas(self, token: Dict[str, object]) -> Dict[str, object]:
        """Add the lookup lemma of each LEMMA word, so that "does" in a rule matches "does" (lemma "doe")."""
        spec = token.get("LEMMA")
        if spec is None:
            return token
        words = [spec] if isinstance(spec, str) else list(spec.get("IN", []))
        if not words:
            return token
        lemmas = sorted(set(words) | {str(self._lemma_table.get(w, w)) for w in words})
        return {**token, "LEMMA": {"IN": lemmas}} if len(lemmas) > 1 else {**token, "LEMMA": lemmas[0]}

    # -- public API ----------------------------------------------------------------
    def detect(self, text: str) -> Detection | None:
        """Return the most urgent crisis signal in ``text``, or ``None``."""
        return self.screen(text).detection

    def screen(self, text: str) -> RuleVerdict:
        """The most urgent crisis signal, and whether the rules saw risk wording and ruled it out.

        Never raises on string input: if judging a rule fails, the rules whose patterns match
        fire without their conditions (a false alarm costs one kind reply; a crash, the reply).
        """
        norm = prepare(text)
        if not norm:
            return RuleVerdict(None)
        negated: List[str] = []
        excepted: List[str] = []
        try:
            found = self._all(norm, negated, excepted)
        except Exception:  # pragma: no cover - exercised by a test that breaks a condition
            ctx = self._context(norm)
            hits = [self.rules[rule_id] for rule_id, *_ in self._matches(ctx)]
            hits.sort(key=lambda rule: _TIER_RANK[rule.tier])
            return RuleVerdict(Detection("self" if hits[0].kind == "infer" else hits[0].kind, hits[0].id, hits[0].tier)
                             if hits else None)  # fmt: skip
        if not found:
            return RuleVerdict(None, bool(negated), bool(negated or excepted))
        return RuleVerdict(found[0])

    def analyse(self, text: str) -> List[Detection]:
        """Every detection in ``text`` (most urgent first, no repeats), for evaluation and debugging."""
        norm = prepare(text)
        return list(dict.fromkeys(self._all(norm, [], []))) if norm else []

    # -- internals -------------------------------------------------------------------
    def _all(self, norm: str, negated: List[str], excepted: List[str]) -> List[Detection]:
        ctx = self._context(norm)
        found: List[Tuple[Tuple[int, int, int], Detection]] = []
        seen: Dict[str, int] = {}
        for rule_id, start, end, number in self._matches(ctx):
            seen[rule_id] = seen.get(rule_id, 0) + 1
            if seen[rule_id] > _MAX_EVALS_PER_RULE:
                continue
            rule = self.rules[rule_id]
            det = self._judge(ctx, rule, Match(start, end, self._lang[rule_id].condition_words, number=number),
                              negated)  # fmt: skip
            if det is None:
                excepted.append(rule_id)
            else:
                found.append(((_TIER_RANK[det.tier], _RANK[det.kind], start), det))
        found.sort(key=lambda item: item[0])
        return [det for _, det in found]

    def _judge(self, ctx: Ctx, rule: Rule, m: Match, negated: List[str]) -> Detection | None:
        """Apply a rule's conditions to one match; the ``subject`` condition decides an inferred kind."""
        conditions = dict(rule.conditions)
        kind: str | None = rule.kind
        if "subject" in conditions:
            inferred = resolve_subject(ctx, m, conditions["subject"])
            if inferred is None:
                return None
            kind = inferred if rule.kind == "infer" else rule.kind
        m.kind = kind
        for name, param in rule.conditions:
            if name == "not_negated":
                if negation(ctx, m) == "negated":
                    negated.append(rule.id)
                    return None
            elif not CONDITIONS[name].test(ctx, m, param):
                return None
        return Detection(kind, rule.id, rule.tier)

    def _context(self, norm: str) -> Ctx:
        """The tokens of ``norm`` with their lookup lemmas, as spaCy's tokenizer and lemmatizer make them.

        spaCy tokenises each run between spaces on its own, so the tokens of a run, with
        their lower-case forms and lemmas, are worked out once (cached) and the ``Doc`` is
        built from them: spaCy caches too few runs (none with a contraction), and its
        tokenizer and lemmatizer were half the detector's time on a long message.
        """
        chunks = [self._chunk(chunk) for chunk in norm.split(" ")]
        if all(chunks):
            words = [word for chunk in chunks for word in chunk]
            spaces = [i == len(chunk) - 1 for chunk in chunks for i in range(len(chunk))]
            spaces[-1] = False
            doc = Doc(self._nlp.vocab, words=[text for text, _, _, _ in words], spaces=spaces)
        else:  # not single-spaced (a long message's windows): spaCy's tokenizer on the whole
            doc = self._nlp.make_doc(norm)
            words = [self._word(token.text) for token in doc]
        doc.from_array([LEMMA], np.array([lemma_id for _, _, _, lemma_id in words], dtype=np.uint64))
        return Ctx(doc, norm, [low for _, low, _, _ in words], [lem for _, _, lem, _ in words])

    def _tokenise_chunk(self, chunk: str) -> Tuple[Tuple[str, str, str, int], ...]:
        """The ``_word`` of each token spaCy's tokenizer makes of ``chunk``."""
        return tuple(self._word(token.text) for token in self._nlp.make_doc(chunk))

    def _word(self, text: str) -> Tuple[str, str, str, int]:
        """``(text, lower-case form, lemma, lemma id)`` of a token, as the lookup lemmatizer gives them."""
        lemma = str(self._lemma_table.get(text, text))
        return text, self._nlp.vocab[text].lower_, lemma, self._nlp.vocab.strings.add(lemma)

    def _matches(self, ctx: Ctx) -> List[Tuple[str, int, int, int | None]]:
        """Pattern matches ``(rule id, start, end, number)``: phrases, gated Matchers, regexes."""
        doc, norm = ctx.doc, ctx.text
        strings = self._nlp.vocab.strings
        positions: Dict[str, List[int]] = {}
        for i, (low, lem) in enumerate(zip(ctx.low, ctx.lem, strict=True)):
            positions.setdefault(low, []).append(i)
            if lem != low:
                positions.setdefault(lem, []).append(i)
        anchors = positions.keys() & self._anchor_index.keys()
        candidates = {gated_id for word in anchors for gated_id in self._anchor_index[word]}
        matches = [(strings[k], s, e, None) for k, s, e in self._phrases(doc)]
        present = set(positions)  # a set, so that isdisjoint walks the smaller side
        for gated_id in sorted(candidates):
            gated = self._gated[gated_id]
            if any(req.isdisjoint(present) for req in gated.required):
                continue
            hits = sorted({i for word in gated.anchor.intersection(present) for i in positions[word]})
            windows: List[List[int]] = []
            for i in hits:
                lo, hi = max(0, i - gated.reach + 1), min(ctx.n, i + gated.reach)
                if windows and lo <= windows[-1][1]:
                    windows[-1][1] = hi
                else:
                    windows.append([lo, hi])
            for lo, hi in windows:
                inside = {*ctx.low[lo:hi], *ctx.lem[lo:hi]}
                if any(req.isdisjoint(inside) for req in gated.required):
                    continue  # a match needs each required word inside its window
                matches.extend((strings[k], s + lo, e + lo, None) for k, s, e in gated.matcher(doc[lo:hi]))
        for rule_id, regex in self._regexes:
            for found in islice(regex.finditer(norm), _MAX_EVALS_PER_RULE):  # type: ignore[attr-defined]
                span = doc.char_span(found.start(), found.end(), alignment_mode="expand")
                start, end = (span.start, span.end) if span is not None else (0, len(doc))
                number = next((int(g) for g in found.groups() if g and g.isdigit()), None)
                matches.append((rule_id, start, max(end, start + 1), number))
        unique = list(dict.fromkeys(matches))
        unique.sort(key=lambda item: item[1])
        return unique


__all__ = ["Detection", "CrisisDetector", "RuleVerdict"]
