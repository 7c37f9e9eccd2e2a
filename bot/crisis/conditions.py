"""The closed set of named conditions a crisis rule may use, implemented once.

Why a closed set: a clinician reviewing ``bot/crisis/rules`` must be able to read every
exception a rule has. Each rule therefore lists *named* conditions with parameters
("the next word is not one of ...", "the speaker is not talking about an accident"),
and every name is defined here, once, with its meaning and parameter in the data file
``bot/crisis/conditions.yml`` (the generated ``docs/crisis-rules.md`` prints the meaning).
Nothing here knows any rule.

Language-specific words the conditions rely on (negation cues, words for people, for
accidents, for laughter ...) are data too: the ``condition_words`` of each language's
``vocab.yml`` (a language without its own list uses the English one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import yaml
from spacy.tokens import Doc

#: Sentence boundaries (a token made only of these characters ends a sentence).
_BOUNDARY_CHARS = set(".!?;…")
#: Quotation marks, skipped when reading a reported answer ('said "no"').
_QUOTES = frozenset({'"', "'", "“", "”", "‘", "’"})


@dataclass
class Words:
    """A compiled word list: single words, phrases ("did n't want") and stems ("shav*")."""

    words: Tuple[str, ...]
    regex: re.Pattern[str] | None = None
    singles: frozenset = frozenset()

    def has(self, text: str) -> bool:
        """Whether ``text`` (space-joined tokens) contains one of the words."""
        return self.regex is not None and self.regex.search(text) is not None

    def __contains__(self, token: str) -> bool:
        return token in self.singles or (self.regex is not None and self.regex.fullmatch(token) is not None)


def compile_words(words: Tuple[str, ...]) -> Words:
    """Compile a word list once; phrases and stems become one regex over space-joined tokens."""
    alts = [re.escape(w[:-1]) + r"\S*" if w.endswith("*") else re.escape(w) for w in words]
    regex = re.compile(r"(?<!\S)(?:" + "|".join(alts) + r")(?!\S)") if alts else None
    return Words(tuple(words), regex, frozenset(w for w in words if " " not in w and not w.endswith("*")))


@dataclass
class LangWords:
    """The ``condition_words`` of one language, compiled, plus its speaker-age regexes."""

    lists: Dict[str, Words]
    minor: re.Pattern[str] | None = None
    adult: re.Pattern[str] | None = None
    age: re.Pattern[str] | None = None

    def __getitem__(self, name: str) -> Words:
        return self.lists[name]


class Ctx:
    """Token views and lazily computed facts about one normalised message."""

    def __init__(self, doc: Doc, text: str, low: List[str], lem: List[str]) -> None:
        self.doc = doc
        self.text = text
        self.low = low  # each token's lower-case form
        self.lem = lem  # and its lemma
        self.n = len(self.low)
        self.joined = " ".join(self.low)
        self._sent: List[Tuple[int, int]] = []  # each token's sentence
        start = 0
        for j, tok in enumerate(self.low):
            if tok and tok[0] in _BOUNDARY_CHARS and set(tok) <= _BOUNDARY_CHARS:  # the sentence ends here
                self._sent += [(start, j + 1)] * (j + 1 - start)
                start = j + 1
        self._sent += [(start, self.n)] * (self.n - start)
        self.cache: Dict[Any, Any] = {}

    def sent_bounds(self, i: int) -> Tuple[int, int]:
        """``(start, end)`` token indices of the sentence holding token ``i``."""
        return self._sent[min(max(i, 0), self.n - 1)] if self.n else (0, 0)

    def sentence(self, i: int) -> str:
        """The space-joined tokens of the sentence holding token ``i``."""
        s, e = self.sent_bounds(i)
        return " ".join(self.low[s:e])

    def after(self, end: int, k: int = 3) -> List[str]:
        """Up to ``k`` tokens after ``end`` in the same sentence."""
        _, se = self.sent_bounds(end - 1)
        return self.low[end : min(end + k, se)]

    def before(self, start: int, k: int = 3) -> List[str]:
        """Up to ``k`` tokens before ``start`` in the same sentence (nearest last)."""
        ss, _ = self.sent_bounds(start)
        return self.low[max(ss, start - k) : start]

    def message_has(self, words: Words) -> bool:
        """Cached: whether the message contains one of ``words``."""
        key = id(words)
        if key not in self.cache:
            self.cache[key] = words.has(self.joined)
        return self.cache[key]

    def message_says(self, words: Words, lang: LangWords) -> bool:
        """Whether the message contains one of ``words`` that the speaker does not deny.

        Denied: "I" with a negation cue in the three words before ("I'm not thinking of doing
        the same", "I'm not going to"). Not denied: someone else's negation ("everyone tells
        me not to follow him") or a cue that negates nothing ("I don't know how to go on",
        ``negation_not_before``).
        """
        if not self.message_has(words) or words.regex is None:
            return False
        cues, not_before, speaker = lang["negation_cues"], lang["negation_not_before"], lang["self_subject"]
        for found in words.regex.finditer(self.joined):
            k = self.joined[: found.start()].count(" ")
            negated = any(self.low[j] in cues and not any(t in not_before for t in self.low[j + 1 : k])
                          and any(t in speaker for t in self.low[max(0, j - 2) : j])
                          for j in range(max(0, k - 3), k))  # fmt: skip
            if not negated:
                return True
        return False


@dataclass
class Match:
    """One pattern match being judged: where it is, which rule, the kind resolved so far."""

    start: int
    end: int
    words: LangWords
    kind: str = "self"
    number: int | None = None  # a count captured by a regex pattern (e.g. "20 💊")


# --------------------------------------------------------------------------- shared analyses


def ends_clause(ctx: Ctx, m: Match, also: Words | None = None) -> bool:
    """True when nothing but a clause tail ("anymore", "tonight", "lol", punctuation) follows."""
    nxt = ctx.after(m.end, 2)
    if not nxt:
        return True
    tok = nxt[0]
    if tok == "for":  # "end it for good", not "disappear for a week"
        return nxt[1:2] in (["good"], ["real"], ["ever"], ["now"], ["once"])
    return tok in m.words["clause_tail"] or not any(ch.isalnum() for ch in tok) or (also is not None and tok in also)


def subject(ctx: Ctx, m: Match) -> str:
    """Whose risk: "self", "other", "generic", "you", "thing" or "none" (nearest person before)."""
    w = m.words
    ss, _ = ctx.sent_bounds(m.start)
    skip = -1
    for i in range(m.start - 1, max(ss, m.start - 14) - 1, -1):
        tok = ctx.low[i]
        nxt = ctx.low[i + 1] if i + 1 < ctx.n else ""
        if i == skip:
            continue
        if (tok in w["relational"] and nxt in ("'s", "s") and i + 2 < ctx.n
                and ctx.low[i + 2] not in w["after_contracted_is"]) or (
                tok in w["generic_people"] and i and ctx.low[i - 1] in w["self_possessive"]):  # fmt: skip
            skip = i - 1  # "my mom's pills", "my psychiatrist": an owner or a carer, not the subject
            continue
        if tok in w["self_subject"]:
            return "self"
        if tok in w["self_possessive"]:
            if nxt in w["relational"]:
                return "other"
            return "self" if i + 1 >= m.start or nxt in w["my_self_nouns"] else "thing"
        if tok in w["other_possessive"] and nxt not in w["relational"]:
            return "other"
        if tok in w["relational"]:
            return "other"
        if tok in w["impersonal_you"]:
            return "you"
        if tok in w["generic_people"]:
            return "generic"
    return "none"


def _joins_a_word(ctx: Ctx, i: int) -> bool:
    """Whether token ``i`` is a hyphen inside a word ("self-harm"), not a dash between clauses.

    Why: "reports no thoughts of self-harm or suicide" must stay one negated phrase; the
    tokenizer splits the hyphen off, and as a dash it would end the negation's reach.
    """
    if ctx.low[i] != "-" or i == 0 or len(ctx.doc) != ctx.n:
        return False
    return not ctx.doc[i - 1].whitespace_ and not ctx.doc[i].whitespace_


def negation(ctx: Ctx, m: Match) -> str | None:
    """"negated", "double" (a neutralised double negative) or None.

    A negation cancels a phrase only when it governs it: same clause, before the phrase,
    no "I" in between ("no one knows I'm suicidal" is not negated); "not going to lie" and
    "can't stop thinking" are not negations; "can't say I'm not" adds risk; "not yet" keeps
    it. A negative answer to a reported question ("asked if I was suicidal, I said no") is,
    also a few sentences on ("...and she laughed and said "god no""), unless the message turns
    after it ("but later she told me").
    """
    w = m.words
    cue: int | None = None
    for i in range(m.start - 1, max(0, m.start - 7) - 1, -1):
        tok = ctx.low[i]
        boundary = tok in w["clause_boundary"] and not _joins_a_word(ctx, i)
        if boundary or (tok and set(tok) <= _BOUNDARY_CHARS) or tok in w["self_subject"]:
            break
        if tok in w["negation_cues"]:
            if any(t in w["negation_not_before"] for t in ctx.low[i + 1 : i + 4]):
                continue
            cue = i
            break
    if cue is not None:
        lead = ctx.low[max(0, cue - 4) : cue]
        if lead and (lead[-1] in w["negation_cues"] or (
            any(t in w["negation_neutralisers"] for t in lead) and any(t in w["negation_cues"] for t in lead)
        )):
            return "double"
        if any(t in w["negation_keeps_risk"] for t in ctx.after(m.end, 4)):
            return None
        return "negated"
    # After a reported question ("I asked her if she'd thought of hurting herself and she
    # laughed and said "god no"") the answer may come later, across sentences.
    reported = w["reported_question"].has(" ".join(ctx.before(m.start, 10)))
    window = [t for t in ctx.low[m.end : m.end + 30] if t not in _QUOTES] if reported else ctx.after(m.end, 8)
    full = " ".join(window)
    tail = full if reported else " ".join(window[:6])  # a prefix of ``full``
    found = w["negation_answers"].regex.search(tail) if w["negation_answers"].regex else None
    after = full[found.end() :].split() if found else []
    turned = reported and w["answer_turns"].has(" ".join(after[:4]))  # "said no, but later she told me"
    if found and not turned and not any(t in w["negation_answer_exceptions"] for t in after[:1]):
        return "negated"
    return None


def topic_only(ctx: Ctx, m: Match) -> bool:
    """True when the words name a topic ("suicide prevention", "rates of self-harm")."""
    w = m.words
    nxt = ctx.after(m.end, 1)
    if nxt and nxt[0] in w["topic_after"]:
        return True
    if nxt and nxt[0] in w["topic_service"] and w["topic_work"].has(ctx.sentence(m.start)):
        return True
    if any(t in w["topic_before"] for t in ctx.before(m.start, 3)):
        return True
    s, e = ctx.sent_bounds(m.start)
    toks, head = ctx.low[s:e], " ".join(ctx.low[s : m.start])
    role = any(t in w["question_people"] for t in toks) and not ctx.message_has(w["first_person"])
    if toks[0] in w["question_openers"] and (role or ctx.message_has(w["asking_purpose"])) and not any(
            t in w["first_person"] or t in w["impersonal_you"] or t in w["named_people"] for t in toks):  # fmt: skip
        return True  # a general question: "why do survivors of assault not report?"
    if w["reported_question"].has(head) and ctx.message_has(w["routine_question"]):
        return not ctx.message_has(w["answer_yes"])  # "my doctor asked if I ever self-harmed, a routine question"
    if _professional_asking(ctx, m):
        return True  # "As a hospital chaplain I sit with families after a suicide; I'm not in any danger"
    if m.kind == "other_person" and ctx.before(m.start, 1) == ["about"]:
        # "how do I talk to my teen about self-harm" (the speaker talks) is a parenting
        # question; "my friend is talking about suicide" (the friend talks) is a warning sign.
        for k in range(m.start - 1, max(0, m.start - 10) - 1, -1):
            if ctx.lem[k] in w["talk_verbs"] or ctx.low[k] in w["talk_verbs"]:
                return subject(ctx, Match(k, k + 1, w)) in ("self", "you", "none")
    return False


def _professional_asking(ctx: Ctx, m: Match) -> bool:
    """The speaker names their role (a nurse, "teacher here") and says it is not about them.

    Also needed: no sign of distress or of risk coming back anywhere in the message, and no
    "I" or thought word just before the phrase ("I've been thinking about suicide" still
    fires, whoever says it).
    """
    w = m.words
    if not ctx.message_has(w["not_personal"]) or ctx.message_has(w["bereaved_distress"]) or ctx.message_has(
            w["risk_returns"]):  # fmt: skip
        return False
    if any(t in w["first_person"] or t in w["thought_words"] for t in ctx.before(m.start, 3)):
        return False
    for j, tok in enumerate(ctx.low):
        if tok in w["role_nouns"] and (w["role_frames"].has(" ".join(ctx.low[max(0, j - 6) : j]))
                                       or ctx.low[j + 1 : j + 2] == ["here"]):  # fmt: skip
            return True
    return False


def bereavement_only(ctx: Ctx, m: Match) -> bool:
    """True when the phrase tells someone else's death by suicide and the speaker shows no distress."""
    w = m.words
    if ctx.message_says(w["bereaved_distress"], w):
        return False
    before = ctx.before(m.start, 8)
    if any(t in w["attempt_words"] for t in before + ctx.low[m.start : m.end + 1]):
        return False  # "almost died by suicide", "after his suicide attempt": he is alive
    if before[-1:] and before[-1] in w["bereavement_link"] and any(t in w["bereavement_before"] for t in before):
        return True  # "my aunt died by suicide", "we lost a colleague to suicide"; not "since he died suicide ..."
    # "took her own life when I was 12": a death told in the past tense, of someone else, long enough
    # ago to have a marker ("I hanged myself" is an attempt; "shot himself last night" may be one)
    sentence = ctx.sentence(m.start)
    long_ago = w["past_markers"].has(sentence) or w["past_for_others"].has(sentence) or _YEAR.search(sentence)
    return m.kind == "other_person" and bool(long_ago) and any(t in w["death_past"] for t in ctx.low[m.start : m.end])


#: A calendar year after "in", "since" or "back in" ("in 2018"): a past time, in any language.
_YEAR = re.compile(r"(?<!\S)(?:in|since|en|desde) (?:19[5-9]\d|20[0-2]\d)(?!\S)")


def past_only(ctx: Ctx, m: Match) -> bool:
    """True when the phrase is told as the past and the speaker says their present is fine.

    Past: a marker ("years ago", "used to", "when I was 15", "in 2018"; "last year" only for
    someone else) in the phrase's sentence, no turn to the present ("but", "now") in between.
    Fine: an un-negated statement ("not anymore", "I'm safe", "doing well now") whose clause
    names no one else (when the risk or the phrase is someone else's, it may name them), not
    undone ("was fine", "fine, but", "fine, I just"); no sign it is back.
    """
    w = m.words
    s, e = ctx.sent_bounds(m.start)
    sent = " ".join(ctx.low[s:e])
    rxs = (w["past_markers"].regex, _YEAR) + ((w["past_for_others"].regex,) if m.kind == "other_person" else ())
    marks = [s + sent[: f.start()].count(" ") for rx in rxs for f in rx.finditer(sent)]
    turns = [any(t in w["present_turn"] for t in ctx.low[min(k, m.end) : max(k, m.start)]) for k in marks]
    if ctx.message_has(w["risk_returns"]) or all(turns):  # no marker, or "years ago ... but now"
        return False
    for f in w["present_fine"].regex.finditer(ctx.joined):
        k = j = ctx.joined[: f.start()].count(" ")
        s, e = ctx.sent_bounds(k)
        while j > s and ctx.low[j - 1] not in w["clause_boundary"]:
            j -= 1  # the statement's clause names no one else ("the kids are doing okay")
        others = any(ctx.low[i] in w["third_person"] or (ctx.low[i] in w["relational"] and (
            ctx.low[i - 1] in w["self_possessive"] or ctx.low[i - 1] in w["other_possessive"])) for i in range(j, k))
        before, after = ctx.low[max(s, k - 2) : k], ctx.low[k + len(f.group().split()) : e] + [""]
        nxt = next(i for i, t in enumerate(after) if t in w["clause_boundary"] or not t)  # where its clause ends
        undone = [t for t in before if t in w["negation_cues"] or t in w["fine_undone"]] + [
            t for t in after[nxt : nxt + 3] if t in w["fine_undone"] or (t.isalpha() and t in w["clause_boundary"])]
        if (not others or m.kind == "other_person" or subject(ctx, m) == "other") and not undone:
            return True
    return False


def unwanted_thought(ctx: Ctx, m: Match) -> bool:
    """True when the message tells an intrusive thought that the speaker disowns and does not want."""
    w = m.words
    return (ctx.message_has(w["intrusive_markers"]) and ctx.message_has(w["thought_disowned"])
            and not ctx.message_says(w["thought_wanted"], w)
            and not ctx.message_has(w["risk_returns"]))  # fmt: skip


def speaker_age(ctx: Ctx, w: LangWords) -> Tuple[bool, bool]:
    """(minor, adult): whether the message says the speaker (or victim) is a child / an adult."""
    if "age" not in ctx.cache:
        found = w.age.search(ctx.text) if w.age else None
        age = int(next(g for g in found.groups() if g)) if found else None
        minor = (age is not None and age < 18) or bool(w.minor and w.minor.search(ctx.text))
        adult = (age is not None and age >= 18) or bool(w.adult and w.adult.search(ctx.text))
        ctx.cache["age"] = (minor, adult)
    return ctx.cache["age"]


# --------------------------------------------------------------------------- the conditions


#: The text each ``scope`` of ``context_has`` reads (``message``: the whole message, cached).
_SCOPE_TEXT: Dict[str, Callable[[Ctx, Match, int], str]] = {
    "sentence": lambda ctx, m, within: ctx.sentence(m.start),
    "before": lambda ctx, m, within: " ".join(ctx.before(m.start, within)),
    "after": lambda ctx, m, within: " ".join(ctx.after(m.end, within)),
    "match": lambda ctx, m, within: " ".join(ctx.low[m.start : m.end]),
}


def _context_has(ctx: Ctx, m: Match, p: Dict[str, Any]) -> bool:
    if p["scope"] == "message":
        return ctx.message_has(p["words"])
    return p["words"].has(_SCOPE_TEXT[p["scope"]](ctx, m, p["within"]))


def _next_word_in(ctx: Ctx, m: Match, p: Dict[str, Any]) -> bool:
    nxt = ctx.after(m.end, 1)
    if not nxt or not any(ch.isalnum() for ch in nxt[0]):
        return p["or_end"]  # nothing, or only punctuation, follows
    return nxt[0] in p["words"]


def _word_before_in(ctx: Ctx, m: Match, p: Dict[str, Any]) -> bool:
    return any(t in p["words"] for t in ctx.before(m.start, p["within"]))


def _quantity(ctx: Ctx, m: Match, p: Dict[str, Any]) -> bool:
    if m.number is not None:
        return m.number >= p["n"]
    if m.words["quantity"].has(ctx.sentence(m.start)):
        return True
    s, e = ctx.sent_bounds(m.start)
    age = m.words.age.search(ctx.text) if m.words.age else None  # "I'm 17" is an age, not a count
    ages = {g for g in age.groups() if g} if age else set()
    for j in range(s, e):
        tok = ctx.low[j]
        if j > 0 and ctx.low[j - 1] in m.words["age_before"]:
            continue  # "my son is 19", "im 20": an age
        if tok.isdigit() and p["n"] <= int(tok) < 10_000 and tok not in ages:
            nxt = ctx.low[j + 1] if j + 1 < ctx.n else ""
            if nxt not in m.words["units"]:
                return True
    return False


def _not_accident(ctx: Ctx, m: Match, p: Any) -> bool:
    nxt = ctx.after(m.end, 1)
    if nxt and nxt[0] in m.words["not_self_injury_next"]:
        return False  # "cut myself some slack", "cut myself off from social media"
    return not m.words["accident"].has(ctx.sentence(m.start)) or "purpose" in ctx.sentence(m.start)


@dataclass(frozen=True)
class Condition:
    """One named condition: its meaning, how its parameter is written (``conditions.yml``), its test."""

    doc: str
    test: Callable[[Ctx, Match, Any], bool]
    param: str = "flag"  # flag | choice | words | scoped_words | count | conditions
    choices: Tuple[str, ...] = ()
    keys: Tuple[str, ...] = ()


def resolve_subject(ctx: Ctx, m: Match, setting: str) -> str | None:
    """The kind a ``subject`` condition gives this match (None: the rule does not fire)."""
    sub = subject(ctx, m) if ctx.n else "none"
    if setting == "any":
        return "other_person" if sub in ("other", "generic") else "self"
    if setting == "known":
        return None if sub == "generic" else ("other_person" if sub == "other" else "self")
    if setting == "self":
        return "self" if sub in ("self", "none", "you") else None
    if sub == "self" or (sub in ("none", "you") and ctx.message_has(m.words["first_person"])):
        return "self"
    return "other_person" if sub == "other" else None


#: The test of each condition; what each means is in ``conditions.yml``.
_TESTS: Dict[str, Callable[[Ctx, Match, Any], bool]] = {
    "any_of": lambda ctx, m, p: any(CONDITIONS[name].test(ctx, m, param) for name, param in p),
    "not_negated": lambda ctx, m, p: True,  # applied by the engine, which records the negation
    "subject": lambda ctx, m, p: True,  # applied by the engine: it decides the kind
    "first_person": lambda ctx, m, p: ctx.message_has(m.words["first_person"]),
    "next_word_in": _next_word_in,
    "next_word_not_in": lambda ctx, m, p: not _next_word_in(ctx, m, {**p, "or_end": False}),
    "word_before_in": _word_before_in,
    "word_before_not_in": lambda ctx, m, p: not _word_before_in(ctx, m, p),
    "context_has": _context_has,
    "context_lacks": lambda ctx, m, p: not _context_has(ctx, m, p),
    "ends_clause": lambda ctx, m, p: ends_clause(ctx, m, p.get("also") if isinstance(p, dict) else None),
    "not_accident": _not_accident,
    "not_laughter": lambda ctx, m, p: not ctx.message_has(m.words["laughter"]),
    "not_fiction": lambda ctx, m, p: m.kind != "other_person" or not ctx.message_has(m.words["fiction"]),
    "not_grief": lambda ctx, m, p: m.kind != "other_person" or not ctx.message_has(m.words["grief"]),
    "not_bereavement": lambda ctx, m, p: not bereavement_only(ctx, m),
    "not_topic_question": lambda ctx, m, p: not topic_only(ctx, m),
    "speaker_age": lambda ctx, m, p: speaker_age(ctx, m.words)[0 if p == "minor" else 1] == (p != "not_adult"),
    "not_past_only": lambda ctx, m, p: not past_only(ctx, m),
    "not_unwanted_thought": lambda ctx, m, p: not unwanted_thought(ctx, m),
    "quantity_at_least": _quantity,
    "after_loss": lambda ctx, m, p: ctx.message_has(m.words["loss"]),
}
_PARAMS = ("flag", "choice", "words", "scoped_words", "count", "conditions")


def _load_conditions(path: Path) -> Dict[str, Condition]:
    """Each condition of ``path`` with its test; a condition without both is an error."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != set(_TESTS):
        raise ValueError(f"{path}: the conditions must be exactly those implemented: {sorted(_TESTS)}")
    conditions = {}
    for name, spec in data.items():
        if not (isinstance(spec, dict) and set(spec) <= {"doc", "param", "choices", "keys"}
                and isinstance(spec.get("doc"), str) and spec.get("param", "flag") in _PARAMS):  # fmt: skip
            raise ValueError(f"{path}: {name} needs a `doc` text, and may have a `param` of {_PARAMS}, "
                             "`choices` and `keys`")  # fmt: skip
        conditions[name] = Condition(spec["doc"], _TESTS[name], spec.get("param", "flag"),
                                     tuple(spec.get("choices", ())), tuple(spec.get("keys", ())))  # fmt: skip
    return conditions


#: Every condition a rule may name, in the order the docs list them.
CONDITIONS: Dict[str, Condition] = _load_conditions(Path(__file__).resolve().parent / "conditions.yml")

#: The word lists every language's ``condition_words`` provides (or inherits from English).
CONDITION_WORDS = (
    "clause_tail", "clause_boundary", "self_subject", "self_possessive", "other_possessive", "relational",
    "impersonal_you", "generic_people", "my_self_nouns", "first_person", "negation_cues", "negation_not_before",
    "negation_neutralisers", "negation_keeps_risk", "negation_answers", "negation_answer_exceptions",
    "topic_after", "topic_service", "topic_work", "topic_before", "question_openers", "question_people", "named_people",
    "reported_question", "routine_question", "asking_purpose", "answer_yes", "talk_verbs", "quantity", "units",
    "after_contracted_is", "accident", "not_self_injury_next", "laughter", "fiction", "grief", "loss", "common",
    "bereavement_before", "bereavement_link", "bereaved_distress", "attempt_words", "death_past",
    "past_markers", "present_turn", "present_fine", "risk_returns", "third_person", "fine_undone", "past_for_others",
    "intrusive_markers", "thought_disowned", "thought_wanted", "role_nouns", "role_frames", "not_personal",
    "thought_words", "age_before", "answer_turns",
)  # fmt: skip
