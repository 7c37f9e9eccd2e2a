"""Rule-based crisis detector: does this message show suicide, self-harm or abuse risk.

Why rules and not only the NLU model
------------------------------------
The assistant answers questions about psychotherapy; its one non-negotiable duty is
that a person at risk gets crisis resources. Published evaluations of assistants
(Miner et al. 2016; Kocaballi et al. 2020; Moore et al. 2025) found that statistical
intent models miss reworded, indirect and method-seeking messages ("I don't want to
wake up tomorrow", "what are the bridges taller than 25 meters in NYC?"). This module
is a deterministic, auditable safety net that runs on *every* message, independently
of the intent classifier: every escalation names the rule that fired, and every rule
is pinned by the labelled corpus in ``tests/crisis``.

Design choices, each made for safety
------------------------------------
* **Recall first.** A miss can cost a life; a false alarm costs one extra, kind reply
  with a phone number. Where a first-person phrase is ambiguous the rules escalate.
  Exclusions exist only for uses that are clearly harmless (idioms such as "this
  homework is killing me", accidents such as "I cut myself shaving", grief about
  someone who died, medication taken as prescribed, neutral questions about therapy).
* **Negation must not hide risk.** "I'm not suicidal" on its own is respected, but a
  negation only cancels the phrase it governs (same clause, before the phrase, not
  crossing the speaker's "I"), double negatives ("I can't say I'm not suicidal") and
  "not going to lie" are neutralised, and phrases that *are* negative risk
  statements ("I don't want to live", "I don't want to be alive", "I don't want to
  wake up") are rules of their own.
* **Who is at risk decides the reply.** Self-risk wins over worry about another
  person, which wins over the other crises: someone who discloses abuse *and*
  suicidal thoughts is given the suicide resources first (see ``CrisisDetector``).
* **Normalised input.** Unicode NFKC, accents folded, zero-width and control
  characters removed, curly quotes straightened, lowercased, leetspeak between
  letters undone ("k1ll"), long letter runs shortened ("dieeee"), whitespace
  collapsed. Detection is therefore unchanged by case, spacing and surrounding
  punctuation, and no Unicode input can make it raise.
* **Bounded cost.** Messages longer than ``MAX_CHARS`` (after normalisation) are not
  analysed in full: the first and last ``HEAD_TAIL_CHARS`` characters are kept (where
  people usually state what they need), plus windows around risk keywords found by a
  cheap regex scan of the middle (strong words such as "kill", "suicide", "pills"
  first), so a disclosure buried in a long message is still seen, while a
  pathological 1 MB paste cannot stall the assistant (beyond ``_RAW_LIMIT`` raw
  characters only both ends are kept).
* **Fast.** One blank English pipeline with only the lookup lemmatizer, built once;
  ``make_doc`` + lemmatizer per message. Single-word term lists (drug names, slang,
  weapons) go through one ``PhraseMatcher(attr="LOWER")``; every other token pattern
  has its own small ``Matcher`` that only runs when all its required words occur in the
  message, on a window around its rarest word (one Matcher holding all patterns cost
  ~0.7 ms per message because spaCy evaluates every ``IN`` set at every token). Regex
  rules (Spanish, emoji, fused slang, height queries) run behind literal pre-checks.
  Per-message cost is ~0.15-0.35 ms on the CI machine size.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Sequence, Set, Tuple

import spacy
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

__all__ = ["KINDS", "Detection", "CrisisDetector", "normalise", "analysed_text", "MAX_CHARS", "HEAD_TAIL_CHARS"]

#: Every kind of crisis the detector can report; the reply differs per kind.
KINDS = ("self", "other_person", "sexual_assault", "domestic_violence", "child_abuse")

#: Resolution order when several rules fire: the person's own life first.
_PRIORITY = ("self", "other_person", "child_abuse", "sexual_assault", "domestic_violence")
_RANK = {kind: i for i, kind in enumerate(_PRIORITY)}

#: Messages longer than this are analysed through head, tail and keyword windows.
MAX_CHARS = 10_000
#: How much of the start and of the end of a long message is always analysed.
HEAD_TAIL_CHARS = 5_000
_WINDOW_CHARS = 300
_MIDDLE_BUDGET_CHARS = 20_000


@dataclass(frozen=True)
class Detection:
    """A crisis signal found in a message.

    ``kind`` selects the resources in the reply (one of ``KINDS``); ``rule`` is a
    stable identifier of the rule that fired, for audit logs and tests. The rule id
    is never shown to the user.
    """

    kind: str
    rule: str


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------

_ZERO_WIDTH_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U000e0000-\U000e007f]"
)
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_APOSTROPHES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u02b9": "'",
        "`": "'",
        "\u00b4": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
_LEET_RE = re.compile(r"(?<=[a-z])[013457@$](?=[a-z])")
_ELONGATION_RE = re.compile(r"([a-z])\1{2,}")
_CENSORED = (
    (re.compile(r"\br[*#_.]+p(e|ed|es|ing|ist)\b"), r"rap\1"),
    (re.compile(r"\bk[*#_.]+l{1,2}\b"), "kill"),
    (re.compile(r"\bs[*#_.]+[iu]?c[*#_.]?ide\b"), "suicide"),
    (re.compile(r"\bsu[*#_.]+c[*#_.]?ide\b"), "suicide"),
)
_SPACE_RE = re.compile(r"\s+")
#: Whitespace-free runs longer than this are split: spaCy's affix splitting is quadratic in
#: the length of one chunk (10,000 emoji in a row took seconds), and no word is this long.
_LONG_RUN_RE = re.compile(r"(\S{64})(?=\S)")
_CHAT_AND_RE = re.compile(r"(?<=[a-z] )(?:n|nd|&)(?= [a-z])")


def normalise(text: str) -> str:
    """Return the canonical form of ``text`` that every rule is written against.

    Safety reasoning: people in distress type fast, on phones, in any script and
    sometimes with obfuscation ("k1ll", "su!cide", zero-width characters pasted from
    social media). Normalising first means one rule covers all those spellings, and
    detection cannot be changed by case, spacing or invisible characters.
    """
    if not isinstance(text, str):
        text = str(text)
    text = _CONTROL_RE.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH_RE.sub("", text)
    text = text.translate(_APOSTROPHES).lower()
    if not text.isascii():
        # Fold accents ("más" -> "mas", "fiancé" -> "fiance"); emoji are unchanged.
        decomposed = unicodedata.normalize("NFD", text)
        text = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
    text = _LEET_RE.sub(lambda m: _LEET[m.group(0)], text)
    for pattern, repl in _CENSORED:
        text = pattern.sub(repl, text)
    text = _ELONGATION_RE.sub(r"\1\1", text)
    text = _SPACE_RE.sub(" ", text).strip()
    text = _LONG_RUN_RE.sub(r"\1 ", text)
    return _CHAT_AND_RE.sub("and", text)  # chat "n" / "&" for "and": "sleep n never wake up"


#: Strong signals are windowed first so that frequent weak words cannot use up the budget.
_STRONG_KEYWORD_RE = re.compile(
    r"kil|suic|sewer|unaliv|\bkms|\bkys|\bdie|dead|death|dying|overdos|\bod\b|noose|pill|💊|self.?harm|"
    r"cut (myself|my)|burn (myself|my)|hurt myself|wake up|burden|better off|goodbye|lethal|fatal|bleach|"
    r"antifreeze|poison|gun|morir|matar|suicid|vivir|rape|molest|assault|abus"
)
_WEAK_KEYWORD_RE = re.compile(
    r"\bend\b|life|live|alive|exist|hang|rope|jump|bridge|roof|ledge|cut|burn|harm|hurt|point|reason|shoot|"
    r"forced|hit|beat|punch|touch|slap|choke|threat|ready|tonight"
)
#: Raw characters kept before normalising a pathological paste (half from each end).
_RAW_LIMIT = 500_000


def _cap(text: str) -> str:
    """Reduce a very long (normalised) message to the parts that can hold a disclosure.

    Head and tail are always kept; the middle contributes windows around risk keywords,
    strong ones first, up to ``_MIDDLE_BUDGET_CHARS``. This keeps the worst-case cost
    bounded without ignoring a disclosure in the middle of a long message.
    """
    head, middle, tail = (
        text[:HEAD_TAIL_CHARS],
        text[HEAD_TAIL_CHARS:-HEAD_TAIL_CHARS],
        text[-HEAD_TAIL_CHARS:],
    )
    budget = _MIDDLE_BUDGET_CHARS
    windows: List[Tuple[int, int]] = []
    for pattern in (_STRONG_KEYWORD_RE, _WEAK_KEYWORD_RE):
        for match in pattern.finditer(middle):
            if budget <= 0:
                break
            start = max(match.start() - _WINDOW_CHARS, 0)
            end = min(match.end() + _WINDOW_CHARS, len(middle))
            if any(s <= match.start() and match.end() <= e for s, e in windows):
                continue
            windows.append((start, end))
            budget -= end - start
    windows.sort()
    merged: List[List[int]] = []
    for start, end in windows:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return " . ".join([head] + [middle[s:e] for s, e in merged] + [tail])


def _prepare(text: str) -> str:
    """Normalise a message, bounding the work for pathological lengths."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > _RAW_LIMIT:
        half = _RAW_LIMIT // 2
        text = text[:half] + " . " + text[-half:]
    norm = normalise(text)
    if len(norm) > MAX_CHARS:
        norm = _cap(norm)
    return norm


def analysed_text(text: str) -> str:
    """The text the detector reads: normalised, and cut to head, tail and risk windows if long.

    A channel that must shorten an over-long message passes this on instead of cutting
    it blindly, so the assistant still sees every part where risk wording appears.
    """
    return _prepare(text)


# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------


def _words(text: str) -> Tuple[str, ...]:
    return tuple(text.split())


_SETS: Dict[str, Tuple[str, ...]] = {
    "KILL": _words("kill killing killed kills kil kiling kiled kll klil killin"),
    "MYSELF": _words("myself myslef mysef myselff mself meself mysel myseld mysefl mysself myselv myselves"),
    "TO": _words("to 2 ta too tu"),
    "WANT": _words("want wanna wan wana wnt wnat wants wanted waant wantt wanting"),
    "DIE": _words("die diee dying died"),
    "LIFE": _words("life lyfe lif live lifee"),
    "REFLEX3": _words("himself herself themselves themself hisself theirselves"),
    "POSS3": _words("his her their"),
    "NEG": _words("not n't nt never no cannot"),
    "BODY": _words(
        "arm arms wrist wrists thigh thighs leg legs skin stomach belly hip hips body forearm forearms "
        "ankle ankles chest shoulder shoulders"
    ),
    "DRUG": _words(
        "pills pill meds med medication medications medicine medicines tablets tablet tabs capsules "
        "prescription prescriptions painkillers painkiller benzos xanax valium klonopin ativan lorazepam "
        "diazepam clonazepam alprazolam ambien zolpidem seroquel quetiapine lithium tylenol acetaminophen "
        "paracetamol panadol ibuprofen advil motrin aspirin excedrin naproxen aleve oxycodone oxy oxys "
        "oxycontin percocet percocets vicodin hydrocodone codeine morphine fentanyl tramadol methadone "
        "insulin melatonin benadryl diphenhydramine nyquil unisom sertraline zoloft prozac fluoxetine "
        "lexapro escitalopram citalopram celexa paxil paroxetine wellbutrin bupropion effexor venlafaxine "
        "cymbalta duloxetine amitriptyline nortriptyline trazodone mirtazapine remeron lamictal lamotrigine "
        "depakote gabapentin lyrica pregabalin adderall ritalin abilify risperdal zyprexa olanzapine "
        "propranolol metoprolol digoxin warfarin antidepressants antidepressant opioids opiates sleeping "
        "💊"
    ),
    "POISON": _words(
        "antifreeze bleach poison cyanide arsenic pesticide pesticides paraquat herbicide weedkiller "
        "ammonia drano lye"
    ),
    "HEIGHT": _words(
        "bridge bridges roof rooftop roofs building buildings balcony ledge cliff cliffs overpass tower "
        "towers window skyscraper floor storey story stories storeys parking garage height heights "
        "high tall top edge railing"
    ),
    "PARTNER": _words(
        "husband wife boyfriend girlfriend partner spouse fiance fiancee bf gf ex hubby wifey "
        "ex-husband ex-wife ex-boyfriend ex-girlfriend"
    ),
    "CAREGIVER": _words(
        "dad father mom mum mother mommy mummy daddy mama papa stepdad stepfather stepmom stepmum "
        "stepmother parent parents uncle aunt auntie grandpa grandfather grandma grandmother granddad "
        "grandad babysitter nanny teacher coach guardian caregiver carer priest pastor tutor"
    ),
    "FAMILY": _words("brother sister cousin son daughter sibling roommate flatmate housemate"),
    "CHILD": _words(
        "kid kids child children son daughter baby babies toddler toddlers students student niece "
        "nephew stepson stepdaughter grandson granddaughter"
    ),
}
_SETS["ABUSE_OBJ"] = _words("me him her them us") + _SETS["CHILD"]
_SETS["FAMILYOBJ"] = _words(
    "mom mum mother wife husband partner sister brother siblings sisters brothers kids children son daughter "
    "baby "
    "girlfriend boyfriend stepmom stepdad dad father"
)


_RELATIONAL: Set[str] = set(
    _words(
        "friend friends bestie bff buddy mate boyfriend girlfriend bf gf partner husband wife spouse fiance "
        "fiancee ex son daughter kid kids child children teen teenager brother sister sibling mom mum "
        "mother dad father parent parents stepdad stepmom uncle aunt cousin niece nephew grandma grandpa "
        "grandmother grandfather roommate flatmate housemate coworker colleague classmate student "
        "teammate neighbour neighbor boss girl boy guy man woman he she they hes shes theyre bro sis family "
        "someone somebody character characters protagonist hero heroine villain narrator"
    )
)
_GENERIC: Set[str] = set(
    _words(
        "anyone anybody people person patients patient clients client students teens "
        "psychiatrist psychiatrists therapist therapists psychologist psychologists counselor counselors "
        "counsellor counsellors doctor doctors nurse nurses you u one"
    )
)
#: After "my", nouns that still stand for the speaker ("my life is pointless").
_MY_SELF_NOUNS = set(
    _words("own life existence presence being whole body mind head brain heart self thoughts")
)
_SELF_SUBJECT = {"i", "myself", "we", "im", "ive", "id", "ill"}
_FIRST_PERSON = {"i", "me", "my", "myself", "mine", "im", "ive", "id"}
_NEG_CUES = {"not", "n't", "nt", "never", "no", "cannot", "neither", "nor", "nothing"}
_BOUNDARY = {".", "!", "?", ";", "...", "..", "…"}
_CLAUSE_BOUNDARY = _BOUNDARY | {",", "but", "though", "although", "however", ":", "-", "--"}
#: Words after a short phrase ("end it", "can't go on") that show it ends the clause.
_CLAUSE_TAIL = set(
    _words(
        "anymore any now right tonight today tomorrow soon already again forever permanently honestly "
        "seriously really so lol fr rn tbh ngl idk omg pls please and but or because cause cuz bc i im "
        "just though either too anyway bad badly much all for once man dude yet ever like sometimes "
        "every 💊"
    )
)
_ACCIDENT_RE = re.compile(
    r"\b(shav\w*|chopp\w*|cooking|cook|kitchen|oven|stove|pan|tray|iron|kettle|toast\w*|baking|bake|"
    r"curling|straightener|sunburn\w*|accident\w*|by mistake|slipped|tripped|fell|falling|stairs|gym|"
    r"deadlifts?|lifting|workout|exercis\w*|running|football|soccer|basketball|skiing|hiking|bike|"
    r"playing|sports?|training|yoga|glass|paper|can opener|opening|garden\w*|grill|bbq|hot water|"
    r"coffee|tea|soup|candle|fireworks?|moving|rock|nail|fence|dog|cat|climbing)\b"
)
_LOSS_RE = re.compile(
    r"\b(lost my|got fired|fired|laid off|left me|broke up|dumped me|died|passed away|failed|divorc\w*|"
    r"evicted|kicked me out|cheated)\b"
)


def _is_boundary(tok: str) -> bool:
    return tok in _BOUNDARY or (len(tok) > 1 and set(tok) <= {".", "!", "?"})


# ---------------------------------------------------------------------------
# Per-message context shared by the rule checks
# ---------------------------------------------------------------------------


class _Ctx:
    """Token views and lazily computed facts about one normalised message."""

    def __init__(self, doc: Doc, text: str) -> None:
        self.doc = doc
        self.text = text
        self.low = [t.lower_ for t in doc]
        self.lem = [t.lemma_ for t in doc]
        self.n = len(self.low)
        self._sent: List[Tuple[int, int]] | None = None
        self._flags: Dict[str, bool] = {}
        self._sent_text: Dict[Tuple[int, int], str] = {}

    # -- structure ---------------------------------------------------------
    def sent_bounds(self, i: int) -> Tuple[int, int]:
        """Return ``(start, end)`` token indices of the sentence containing token ``i``."""
        if self._sent is None:
            bounds: List[Tuple[int, int]] = []
            start = 0
            for j, tok in enumerate(self.low):
                if _is_boundary(tok):
                    bounds.append((start, j + 1))
                    start = j + 1
            if start < self.n:
                bounds.append((start, self.n))
            self._sent = [(0, 0)] * self.n
            for s, e in bounds:
                for k in range(s, e):
                    self._sent[k] = (s, e)
        if not self.n:
            return (0, 0)
        return self._sent[min(max(i, 0), self.n - 1)]

    def sentence(self, i: int) -> str:
        """Return the text of the sentence containing token ``i`` (cached per sentence)."""
        bounds = self.sent_bounds(i)
        text = self._sent_text.get(bounds)
        if text is None:
            text = " ".join(self.low[bounds[0] : bounds[1]])
            self._sent_text[bounds] = text
        return text

    def after(self, end: int, k: int = 3) -> List[str]:
        """Return up to ``k`` tokens after ``end`` in the same sentence."""
        _, se = self.sent_bounds(end - 1)
        return self.low[end : min(end + k, se)]

    def before(self, start: int, k: int = 3) -> List[str]:
        """Return up to ``k`` tokens before ``start`` in the same sentence (nearest last)."""
        ss, _ = self.sent_bounds(start)
        return self.low[max(ss, start - k) : start]

    def ends_clause(self, end: int) -> bool:
        """Return True when the phrase ending at ``end`` has no object or complement after it."""
        nxt = self.after(end, 1)
        if not nxt:
            return True
        tok = nxt[0]
        if tok == "for":  # "end it for good", not "disappear for a week"
            return self.after(end + 1, 1)[:1] in (["good"], ["real"], ["ever"], ["now"], ["once"])
        return tok in _CLAUSE_TAIL or not any(ch.isalnum() for ch in tok)

    # -- message-level facts ---------------------------------------------------
    def flag(self, name: str, pattern: re.Pattern[str]) -> bool:
        """Cache ``pattern.search(text)`` under ``name``."""
        if name not in self._flags:
            self._flags[name] = pattern.search(self.text) is not None
        return self._flags[name]

    @property
    def first_person(self) -> bool:
        """True when the speaker refers to themself anywhere in the message."""
        if "fp" not in self._flags:
            self._flags["fp"] = any(t in _FIRST_PERSON for t in self.low)
        return self._flags["fp"]

    def age(self) -> int | None:
        """Return the speaker's stated age, if any ("i'm 14", "15 yo")."""
        m = _AGE_RE.search(self.text)
        if m:
            return int(m.group(1) or m.group(2))
        return None

    @property
    def minor(self) -> bool:
        """True when the speaker (or the person described) is a child."""
        if "minor" not in self._flags:
            age = self.age()
            self._flags["minor"] = (age is not None and age < 18) or bool(_MINOR_RE.search(self.text))
        return self._flags["minor"]

    @property
    def adult(self) -> bool:
        """True when the speaker says they are an adult."""
        if "adult" not in self._flags:
            age = self.age()
            self._flags["adult"] = (age is not None and age >= 18) or bool(_ADULT_RE.search(self.text))
        return self._flags["adult"]


_AGE_RE = re.compile(
    r"\b(?:i'?m|i am|im)\s+(?:only\s+|just\s+|barely\s+)?(\d{1,2})\b"
    r"(?!\s*(?:mg|kg|lbs?|pounds|%|percent|minutes|mins|hours|hrs|days|weeks|months|times|x\b|"
    r"am\b|pm\b|years? (?:ago|clean|sober|into|in)|floors?|miles|km))"
    r"|\b(?:i'?m|i am|im|as an?)\s+(\d{1,2})\s*(?:yo|y/o|yrs? old|years? old|year old)\b"
)
_MINOR_RE = re.compile(
    r"\b(?:i'?m|i am|im)\s+(?:a\s+|only\s+a\s+|still\s+a\s+)?(?:kid|child|teen|teenager|minor|underage)\b"
    r"|\b(?:i'?m|i am|im)\s+in\s+(?:\d{1,2}(?:st|nd|rd|th)\s+grade|grade\s+\d|year\s+\d|"
    r"middle school|elementary|primary school|junior high|high school)"
    r"|\b(?:my|our|a|her|his)\s+(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen)[\s-]*(?:year|yr)[\s-]*old\b"
    r"|\b(?:kid|child|boy|girl) (?:at|in|from) my (?:school|class)\b"
    r"|\b(?:little|baby|younger|small) (?:brother|sister|son|daughter|kid|cousin)\b"
    r"|\bmy (?:teacher|coach|babysitter|nanny|tutor)\b"
)
_ADULT_RE = re.compile(r"\b(?:i'?m|i am|im) (?:an adult|a grown|in my (?:20|30|40|50|60)s)\b")


# ---------------------------------------------------------------------------
# Subject and negation analysis
# ---------------------------------------------------------------------------


def _subject(ctx: _Ctx, start: int) -> str:
    """Whose risk is it? Returns "self", "other", "generic", "you" or "none".

    Scans back from the phrase to the start of its sentence and takes the nearest
    person reference: "I" / "myself" / possessive "my" (self), a relation such as
    "my friend" or a third-person pronoun (other), a generic noun such as "people" or
    "patients" (generic), the impersonal "you" of a question ("how do you tie a noose",
    usually about the speaker). Objects ("me") are skipped.
    """
    ss, _ = ctx.sent_bounds(start)
    for i in range(start - 1, max(ss, start - 14) - 1, -1):
        tok = ctx.low[i]
        if tok in _SELF_SUBJECT:
            return "self"
        if tok == "my":
            nxt = ctx.low[i + 1] if i + 1 < ctx.n else ""
            if nxt in _RELATIONAL or nxt in _SETS["CAREGIVER"] or nxt in _SETS["FAMILY"]:
                return "other"
            if i + 1 >= start or nxt in _MY_SELF_NOUNS:
                return "self"  # "my suicidal thoughts", "my own", "my life is a burden"
            return "thing"  # "my dog is a burden": the subject is not a person
        if tok in ("his", "her", "their"):
            nxt = ctx.low[i + 1] if i + 1 < ctx.n else ""
            if nxt not in _RELATIONAL:
                return "other"
        if tok in _RELATIONAL or tok in _SETS["CAREGIVER"] or tok in _SETS["FAMILY"]:
            return "other"
        if tok in ("you", "u", "one", "ya", "ur"):
            return "you"
        if tok in _GENERIC:
            return "generic"
    return "none"


_NEUTRALISERS = {"say", "promise", "guarantee", "swear", "sure", "certain", "think"}


def _negation(ctx: _Ctx, start: int, end: int) -> str | None:
    """Return "negated", "double" (a neutralised double negative) or None.

    A negation cancels a phrase only when it governs it: it stands in the same clause,
    before the phrase, with no "I" in between ("no one knows I'm suicidal" is not
    negated). "Not going to lie" is not a negation, and a negation preceded by "can't
    say / promise / be sure" is a double negative that *adds* risk. Temporal words
    ("not yet", "not today") keep the risk. A negative answer right after a reported
    question ("they asked if I'm suicidal and I'm not") is respected.
    """
    cue_found: int | None = None
    for i in range(start - 1, max(0, start - 7) - 1, -1):
        tok = ctx.low[i]
        if tok in _CLAUSE_BOUNDARY or _is_boundary(tok):
            break
        if tok in _NEG_CUES:
            nxt = ctx.low[i + 1 : i + 4]
            if "lie" in nxt:  # "not (going to|gonna) lie"
                continue
            if tok == "no" and nxt[:1] and nxt[0] in ("one", "body", "longer", "matter", "idea"):
                continue
            if nxt[:1] and nxt[0] in ("stop", "help", "quit", "resist", "shake", "escape", "ignore"):
                continue  # "can't stop thinking about ending it" asserts the thought
            cue_found = i
            break
        if tok == "i":
            break
    if cue_found is not None:
        lead = ctx.low[max(0, cue_found - 4) : cue_found]
        if lead and lead[-1] in _NEG_CUES:
            return "double"  # "I don't not want to die"
        if any(w in _NEUTRALISERS for w in lead) and any(w in _NEG_CUES for w in lead):
            return "double"
        tail = ctx.after(end, 4)
        if "yet" in tail or "today" in tail or "tonight" in tail:
            return None
        return "negated"
    # A negative answer to a reported question: "asked if i'm suicidal and i'm not".
    tail = ctx.after(end, 6)
    for j in range(len(tail) - 1):
        if (
            j + 2 < len(tail)
            and tail[j] == "i"
            and tail[j + 1] in ("'m", "am", "m", "was")
            and tail[j + 2] in ("not", "n't", "nt")
        ):
            rest = tail[j + 3 : j + 4]
            if not rest or rest[0] not in ("sure", "certain", "ok", "okay", "fine", "safe", "lying"):
                return "negated"
        if tail[j] == "said" and tail[j + 1] == "no":
            return "negated"
    return None


# ---------------------------------------------------------------------------
# Rule specification
# ---------------------------------------------------------------------------

Check = Callable[[_Ctx, int, int], bool]
KindFn = Callable[[_Ctx, int, int], str | None]


@dataclass(frozen=True)
class _Rule:
    """One detection rule.

    ``mode`` says how the kind is decided: "self" / "other" (fixed by the pattern, e.g.
    "myself" / "herself"), "infer" (from the subject; unknown subject counts as self),
    "topic" (words like "suicide" that are also neutral topics: needs the speaker or a
    named person), "self_only" (only first person counts), or a fixed crisis kind.
    """

    rule: str
    mode: str
    check: Check | None = None
    negatable: bool = True
    kind_fn: KindFn | None = None


def _tok(spec: str, lemma_of: Callable[[str], str]) -> Dict[str, object]:
    op: str | None = None
    if len(spec) > 1 and spec[-1] in "?+*":
        spec, op = spec[:-1], spec[-1]
    pattern: Dict[str, object]
    if spec == "_":
        pattern = {}
    elif spec == "#":
        pattern = {"LIKE_NUM": True}
    else:
        lemmas: List[str] = []
        lowers: List[str] = []
        for alt in spec.split("|"):
            target = lemmas if alt.startswith("~") else lowers
            alt = alt.lstrip("~")
            target.extend(_SETS[alt[1:]] if alt.startswith("@") else (alt,))
        if lemmas:
            # Mixed alternatives: match on the lemma, adding the lemma of each literal form
            # ("bought" -> "buy") so that the literal still matches.
            values = set(lemmas) | set(lowers) | {lemma_of(w) for w in lowers}
            pattern = {"LEMMA": {"IN": sorted(values)}} if len(values) > 1 else {"LEMMA": values.pop()}
        elif len(lowers) == 1:
            pattern = {"LOWER": lowers[0]}  # exact match: checked in C, no Python predicate
        else:
            pattern = {"LOWER": {"IN": lowers}}
    if op:
        pattern["OP"] = op
    return pattern


#: Frequent words make poor anchors: a pattern anchored on them would be tried on most messages.
#: (The words of the pattern vocabulary whose English log-probability in spaCy's
#: ``lexeme_prob`` table is above -8.5; the table itself takes seconds to load.)
_COMMON_WORDS = frozenset(
    _words(
        "'d 'll 'm 's 've - 2 a able about after again all am an and another any anyone anything around at "
        "away be "
        "been being best better big buy by ca can car care could did different do does doing done down each "
        "easy "
        "end enough even everyone everything feel find fine first for free from get getting give go going "
        "good got "
        "had happen have having he her here high him his hit hope how i idea if in into is it its job just "
        "keep know "
        "last left level life like little live long look love made make many matter me might mind money more "
        "much my "
        "myself n't need never next no not nothing now nt of off on once one only other others our out over "
        "own "
        "people point post problem put rather really reason run said say saying second seem she should so "
        "some "
        "someone something still stop stuff such sure take tell that the their them then there these they "
        "things "
        "think thinking this those though thought through to too trying two until up us use video want wanted"
        " was way "
        "what when which why will with without world worth would you m d ta tu too we"
    )
)


def _required_sets(pattern: List[Dict[str, object]]) -> List[frozenset]:
    """Word sets of the tokens a match cannot do without (optional and wildcard tokens excluded)."""
    required: List[frozenset] = []
    for token in pattern:
        if token.get("OP") in ("?", "*"):
            continue
        for attr in ("LOWER", "LEMMA"):
            spec = token.get(attr)
            if spec is not None:
                required.append(frozenset(spec["IN"]) if isinstance(spec, dict) else frozenset((spec,)))
    return required


def _anchor_weight(words: frozenset) -> int:
    """Rough frequency of a word set: a frequent word counts as a hundred rare ones."""
    return sum(100 if word in _COMMON_WORDS else 1 for word in words)


@dataclass(frozen=True)
class _Gated:
    """A Matcher for one pattern, run only when all its required words occur."""

    matcher: Matcher
    anchor: frozenset
    required: Tuple[frozenset, ...]
    reach: int


def _pat(spec: str, lemma_of: Callable[[str], str]) -> List[Dict[str, object]]:
    """Compile a compact pattern.

    Space-separated tokens; ``a|b`` alternatives; ``~word`` matches the lemma; ``@SET``
    a vocabulary set; ``_`` any token; ``#`` a number; a trailing ``?`` makes the token
    optional.
    """
    return [_tok(part, lemma_of) for part in spec.split()]


# -- checks -----------------------------------------------------------------


def _accident(ctx: _Ctx, start: int, end: int) -> bool:
    """Return True when the sentence describes an accident ("cut myself shaving")."""
    return bool(_ACCIDENT_RE.search(ctx.sentence(start))) and "purpose" not in ctx.sentence(start)


def _not_accident(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 2)
    if (
        nxt[:1]
        and nxt[0] in ("some", "slack", "off", "loose", "short", "free")
        or nxt[1:2] in (["slack"], ["break"])
    ):
        return False  # "cut myself some slack", "cut myself off from social media"
    return not _accident(ctx, start, end)


def _ends_clause(ctx: _Ctx, start: int, end: int) -> bool:
    return ctx.ends_clause(end)


def _want_to_die_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 3)
    if (
        nxt[:1]
        and nxt[0] in ("my", "his", "her", "their", "your", "our", "the")
        and any(
            w in ("hair", "roots", "beard", "eyebrows", "shirt", "clothes", "jeans", "fabric") for w in nxt
        )
    ):
        return False  # "he wants to die his hair blue": a misspelt "dye"
    if ctx.flag("embarrassed", _EMBARRASSED_RE) and ctx.flag("laughing", _LAUGH_RE):
        return False
    if nxt[:1] == ["laughing"] or nxt[:1] == ["than"]:
        return False
    if (
        nxt[:1] == ["of"]
        and nxt[1:2]
        and nxt[1]
        in ("embarrassment", "laughter", "laughing", "cringe", "shame", "boredom", "cuteness", "happiness")
    ):
        return False
    if ctx.low[end - 1] == "death" and re.search(
        r"\b(i'?m (ok|okay|fine|good)|like everyone|everyone does|"
        r"normal)\b",
        ctx.text,
    ):
        return False
    if _subject(ctx, start) == "other" and re.search(
        r"\b(hospice|terminal\w*|cancer|at peace|palliative|"
        r"\d{2,3}( years old)?|elderly|old age)\b",
        ctx.text,
    ):
        return False  # an elderly or terminally ill relative at peace with dying
    return "rather" not in ctx.before(start, 3) or "than" not in ctx.after(end, 6)


_EMBARRASSED_RE = re.compile(r"\b(embarrass\w*|cringe\w*|awkward|mortified)\b")
_LAUGH_RE = re.compile(r"\b(lol|lmao|haha\w*|jk|omg|rofl)\b|😂|🤣|💀|😭")


def _ends_clause_or_pain(ctx: _Ctx, start: int, end: int) -> bool:
    return ctx.ends_clause(end) or ctx.after(end, 1)[:1] in (["so"], ["to"], ["again"], ["physically"])


def _dye_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """'want to dye' is a typo for die only when nothing is being dyed."""
    return ctx.ends_clause(end)


def _end_it_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 1)
    if nxt and nxt[0] in ("with", "between", "off", "there", "here", "early"):
        return False
    if re.search(
        r"\b(relationship|marriage|friendship|engagement|contract|lease|subscription|meeting|call|"
        r"conversation|chat|game|season|series|therapy|session|sessions|membership|things with|"
        r"argument|fight|story|book|streak)\b",
        ctx.sentence(start),
    ):
        return False
    return ctx.ends_clause(end)


_GO_ON_BLOCK = set(
    _words(
        "a an the vacation holiday holidays trip trips tour date dates stage leave break strike social "
        "twitter tiktok instagram facebook reddit youtube dating my our their his her that these those "
        "about record camp"
    )
)


def _go_on_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 2)
    if not nxt:
        return True
    if nxt[0] == "this" or nxt[:2] == ["like", "this"]:
        tail = " ".join(ctx.after(end, 5))
        if re.search(r"\bwith (my|him|her|them|our)\b", tail):
            return False
        return nxt[1:2] in (["way"], ["anymore"], [], ["this"])
    if nxt[0] in _GO_ON_BLOCK:
        return False
    return ctx.ends_clause(end) or nxt[0] in ("living", "without", "with", "pretending", "fighting", "trying")


_LIVE_BLOCK = set(
    _words(
        "in with at near there here on alone abroad together by nearby somewhere close far downtown home "
        "a an the under off through up next"
    )
)


def _live_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 2)
    if not nxt:
        return True
    if nxt[0] == "like":
        return nxt[1:2] in (["this"], ["that"], ["anymore"], [])
    return nxt[0] not in _LIVE_BLOCK


def _future_self_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "I don't see myself (being) alive next year"; "living in the city" is about a place."""
    return ctx.low[end - 1] != "living" or _live_ok(ctx, start, end)


def _here_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 2)
    if not nxt:
        return True
    return nxt[0] in (
        "anymore",
        "any",
        "no",
        "on",
        "in",
        "alive",
        "for",
        "lol",
        "honestly",
        "now",
        "either",
    ) or (not any(ch.isalnum() for ch in nxt[0]))


def _wake_tail_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 1)
    return (
        not nxt or nxt[0] in ("again", "tomorrow", "ever", "anymore", "forever", "up") or ctx.ends_clause(end)
    )


def _last_message_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 3)
    if nxt[:1] and nxt[0] in ("was", "is", "'s", "got", "did", "had", "went", "sounded", "seemed", "came"):
        return False
    if nxt[:1] and nxt[0] in (
        "for",
        "before",
        "here",
        "about",
        "of",
        "on",
        "in",
        "until",
        "till",
        "today",
        "tonight",
    ):
        return False
    return "session" not in ctx.sentence(start) and "therapy" not in ctx.sentence(start)


def _my_note_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 1)
    return not nxt or nxt[0] in ("and", "to", "for", "so") or not any(c.isalnum() for c in nxt[0])


def _giving_ok(ctx: _Ctx, start: int, end: int) -> bool:
    sent = ctx.sentence(start)
    return not re.search(
        r"\b(old|extra|spare|unused|charity|goodwill|donat\w*|declutter\w*|moving|sale|kittens|"
        r"puppies|litter|good homes?|foster\w*|outgrown|free to)\b",
        sent,
    )


def _life_insurance_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "worth more dead", or a family "better off" with the speaker's life insurance."""
    if ctx.low[start] == "worth":
        return True
    return ctx.first_person and bool(
        re.search(
            r"\b(better off|worth more|if i (die|died|was gone|were gone)|when i'?m gone|my death|"
            r"after i'?m gone|collect|pay ?out|cash in)\b",
            ctx.text,
        )
    )


_TRAVEL_RE = re.compile(
    r"\b(airport|station|party|trip|moving|move|flight|vacation|holiday|camp|school|college|"
    r"graduation|summer|leaving for|moved|abroad|bus|train|died|funeral|passed|death|dying|"
    r"before (he|she|they)|therapist|therapy|session|hospice)\b"
)


def _goodbye_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Saying goodbye to one's people is a warning sign unless it is travel or a death in the family."""
    if ctx.low[end - 1] == "my":
        nxt = ctx.after(end, 2)
        people = (
            _RELATIONAL
            | set(_SETS["CAREGIVER"])
            | set(_SETS["FAMILY"])
            | {"friends", "loved", "kids", "pets", "family", "babies", "children"}
        )
        if not nxt or (nxt[0] not in people and nxt[1:2] != ["ones"]):
            return False
    return not _TRAVEL_RE.search(ctx.text)


def _future_absence_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept a future absence after giving a pet or belongings away ("...after this week")."""
    sent_after = " ".join(ctx.low[end : min(ctx.n, end + 12)])
    if not re.search(
        r"\bafter (this|tonight|today|tomorrow|next|the weekend|friday|saturday|sunday)\b|"
        r"\bmuch longer\b|\bby (next|the end of)\b",
        sent_after,
    ):
        return False
    return bool(
        re.search(
            r"\b(gave|give|giving|given|rehom\w*|left|leaving|handed|signed over)\b.{0,40}\b"
            r"(to|away)\b",
            ctx.text,
        )
    ) and not _TRAVEL_RE.search(ctx.text)


def _not_exist_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "not exist" after a wish or ease word ("it would be so much easier to just not exist")."""
    before = " ".join(ctx.before(start, 8))
    return bool(
        re.search(
            r"\b(easier|better|rather|nicer|peaceful|prefer|want|wanna|wish|like|relief|calm|"
            r"simpler|love)\b",
            before,
        )
    )


def _something_happened_ok(ctx: _Ctx, start: int, end: int) -> bool:
    if any(
        w in ("good", "nice", "great", "wonderful", "amazing", "positive", "fun", "exciting", "new", "cool")
        for w in ctx.low[start:end]
    ):
        return False
    before = " ".join(ctx.before(start, 6))
    return bool(
        re.search(r"\b(mind|care|hope|wish|pray|okay|ok|fine|relief|relieved|glad)\b", before)
    ) and not ("worried" in before or "scared" in before or "afraid" in before)


def _way_out_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "no way out" of pain or life; reject contracts and the proverb "the only way out is through"."""
    tail = " ".join(ctx.after(end, 4))
    if re.match(
        r"^(except|but|besides|other than|apart from) (death|dying|suicide|to die|killing|ending)", tail
    ):
        return True
    if tail.startswith(("is through", "is to", "of the", "of my contract", "of this contract")):
        return False
    if tail.startswith("of"):
        return bool(
            re.match(
                r"^of (it|here|this|my life|life|this life|this pain|the pain|this hell|this misery|"
                r"the darkness|my head)( |$)",
                tail,
            )
        ) and not re.match(
            r"^of this (contract|lease|deal|job|meeting|class|course|room|building|city|town|game|level|maze|"
            r"situation at work)",
            tail,
        )
    return ctx.ends_clause(end)


def _stupid_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept a veiled threat ("I'm going to do something stupid tonight"), not "I did something stupid"."""
    before = " ".join(ctx.before(start, 6))
    if not re.search(
        r"\b(going to|gonna|gon na|will|'ll|might|may|could|about to|want to|wanna|scared i|afraid i|"
        r"tempted|urge)\b",
        before,
    ):
        return False
    return not re.search(
        r"\b(at work|at school|with my hair|in class|on my test|lol|haha)\b", ctx.sentence(start)
    )


def _consequence_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "if I wasn't here, nobody would have to deal with me"; reject "...I'd be at the beach"."""
    return bool(
        re.search(
            r"\b(nobody|no one|noone|everyone|everybody|they|better|easier|happier|deal with|"
            r"miss|notice|care|relieved|free)\b",
            " ".join(ctx.after(end, 10)),
        )
    )


def _no_point_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "there's no point." closing a sentence; reject "no point arguing"."""
    return ctx.ends_clause(end) and ctx.after(end, 1)[:1] not in (["in"], ["of"], ["to"], ["for"])


def _own_funeral_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Imagining or planning one's own funeral; not the joke "play this at my funeral lol"."""
    if ctx.low[end - 1] == "wake" and ctx.after(end, 1)[:1] == ["up"]:
        return False
    if ctx.flag("laughing", _LAUGH_RE) or re.search(r"\b(play|song|joke|meme|will be the death)\b", ctx.text):
        return False
    return True


def _if_i_die_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "if I die tonight, please tell my mom I love her": a goodbye."""
    return bool(re.search(r"\b(tell|say|please|love|sorry|forgive|goodbye|bye|miss)\b", ctx.text))


def _not_around_ok(ctx: _Ctx, start: int, end: int) -> bool:
    before = ctx.before(start, 6)
    return "i" in before and any(w in _NEG_CUES for w in before)


def _make_it_ok(ctx: _Ctx, start: int, end: int) -> bool:
    before = ctx.before(start, 6)
    last = ctx.low[end - 1]
    nxt = ctx.after(end, 2)
    if last == "the" and not (
        nxt[:1] and nxt[0] in ("night", "weekend", "end", "morning", "week", "holidays")
    ):
        return False
    if last == "my" and not (nxt[:1] and nxt[0] in ("birthday", "next")):
        return False
    if last in ("tomorrow", "tonight", "morning", "christmas") and not ctx.ends_clause(end):
        return False
    return "i" in before and any(w in _NEG_CUES for w in before)


def _burden_ok(ctx: _Ctx, start: int, end: int) -> bool:
    prev = ctx.before(start, 2)
    if prev and prev[-1] in ("the", "tax", "financial", "proof", "heavy", "this", "that"):
        return False
    if ctx.after(end, 2)[1:2] in (["nobody"], ["noone"], ["no"]):
        return False
    if re.match(
        r"^(on|to) my (wallet|bank|budget|finances|account|credit|card|schedule|calendar)",
        " ".join(ctx.after(end, 3)),
    ):
        return False
    return _subject(ctx, start) in ("self", "none") and (ctx.first_person or "being" in ctx.before(start, 3))


def _alive_here_needs_neg(ctx: _Ctx, start: int, end: int) -> bool:
    """For "better off if i ... here/around/alive" require a negation in the gap."""
    last = ctx.low[end - 1]
    if last in ("here", "around", "alive", "existed", "exist", "born"):
        return any(w in _NEG_CUES for w in ctx.low[start:end])
    return True


def _nobody_ok(ctx: _Ctx, start: int, end: int) -> bool:
    return any(
        w in ("nobody", "noone", "no", "one", "anyone", "everyone", "they", "who")
        for w in ctx.before(start, 4)
    )


def _attempt_noun_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 2)
    if nxt and nxt[0] in ("at", "on", "of", "with", "to", "for"):
        return (
            nxt[0] == "to" and len(nxt) > 1 and nxt[1] in ("kill", "end", "take", "die", "hang", "overdose")
        )
    return True


def _attempt_verb_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 1)
    return (
        not nxt
        or nxt[0]
        in (
            "when",
            "at",
            "in",
            "as",
            "back",
            "before",
            "twice",
            "once",
            "years",
            "last",
            "suicide",
            "again",
            "multiple",
            "several",
            "three",
            "two",
            "many",
            "and",
            "but",
            "after",
            "during",
            "myself",
            "it",
        )
        or not any(c.isalnum() for c in nxt[0])
    )


def _survived_ok(ctx: _Ctx, start: int, end: int) -> bool:
    if ctx.lem[start] == "finish" or ctx.low[start] in ("finishing",):
        return bool(re.search(r"\b(surviv\w*|attempt\w*|tried|last time|again)\b", ctx.text)) and bool(
            re.search(
                r"\b(jump\w*|overdos\w*|hang\w*|pills|attempt\w*|kill|die|suicid\w*|bridge)\b", ctx.text
            )
        )
    return True


def _od_ok(ctx: _Ctx, start: int, end: int) -> bool:
    if ctx.low[start] == "od":
        nxt = ctx.after(end, 1)
        prev = ctx.before(start, 2)
        return (nxt[:1] == ["on"]) or any(
            w in ("to", "na", "will", "'ll", "might", "gonna", "wanna") for w in prev
        )
    return True


def _overdose_kind(ctx: _Ctx, start: int, end: int) -> str | None:
    if re.match(
        r"^(of|on) (caffeine|sugar|coffee|chocolate|candy|sweets|cuteness|sun|sunshine|netflix|tv|cake|"
        r"cookies|carbs|love|drama|memes|social media|exercise)\b",
        " ".join(ctx.after(end, 3)),
    ):
        return None
    sub = _subject(ctx, start)
    if sub == "generic":
        return None  # "we had a patient who overdosed": a professional talking about work
    if sub == "other":
        if re.search(
            r"\b(died|dead|death|passed|lost|funeral|killed|anniversary|grief|grieving)\b",
            ctx.sentence(start),
        ):
            return None  # grief about someone who died of an overdose
        return "other_person"
    return "self"


_QTY_RE = re.compile(
    r"\b(everything|all|whole|entire|every|bottle|bottles|bunch|handful|handfuls|box|boxes|pack|packs|packet|"
    r"packets|stash|at once|a lot of|lots of|them all|it all|as many|too many|enough)\b"
)
_ADHERENCE_RE = re.compile(
    r"\b(as prescribed|like (my|the) (doctor|psychiatrist|gp|pharmacist)|on time|every (day|morning|night|"
    r"evening)|each (day|morning|night)|remembered|forgot|refill|per day|a day|daily|pharmacy|pharmacist|pick"
    r" ?up|"
    r"organi[sz]er|pill ?box|for the week|weekly|in one place|filled|(took|taken|take|taking) all (of )?my "
    r"(meds|"
    r"medications?|pills|tablets|prescriptions|vitamins)( (today|this morning|this evening|on time|for (the "
    r"day|today)"
    r"|yet)))\b"
)
_INGEST = set(
    _words(
        "take taking took taken swallow swallowed swallowing down downed downing pop popped popping eat "
        "ate eating chug chugged mix mixing mixed od overdose overdosing have got saved ready counted "
        "need bought lined"
    )
)


def _big_number(tok: str) -> bool:
    return tok.isdigit() and 10 <= int(tok) < 10_000


def _pills_quantity(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept a drug plus a quantity ("all", "whole bottle", 10+ pills) plus taking or having."""
    s, e = ctx.sent_bounds(start)
    sent_toks = ctx.low[s:e]
    sent = " ".join(sent_toks)
    if _ADHERENCE_RE.search(sent):
        return False
    quantities = set(_QTY_RE.findall(sent))
    if quantities == {"enough"}:
        # "is therapy enough or do i need pills" is about therapy; "enough pills" is a quantity.
        quantities = {q for q in quantities if "enough" in ctx.low[max(start - 3, s) : start]}
    qty = bool(quantities)
    if not qty:
        for j in range(s, e):
            if _big_number(ctx.low[j]):
                nxt = ctx.low[j + 1] if j + 1 < ctx.n else ""
                if nxt not in (
                    "mg",
                    "mgs",
                    "g",
                    "mcg",
                    "ml",
                    "milligrams",
                    "grams",
                    "%",
                    "year",
                    "years",
                    "days",
                    "weeks",
                    "months",
                    "hours",
                    "minutes",
                    "times",
                    "am",
                    "pm",
                    "lbs",
                    "kg",
                    "pounds",
                ):
                    qty = True
                    break
    return qty and any(t in _INGEST or ctx.lem[s + k] in _INGEST for k, t in enumerate(sent_toks))


def _pills_kind(ctx: _Ctx, start: int, end: int) -> str | None:
    """Decide whose pills: the subject of the nearest taking/having verb, not of the drug noun.

    "I have my grandmother's oxycodone and I'm going to take it all" is about the speaker.
    """
    s, e = ctx.sent_bounds(start)
    verbs = [
        j for j in range(s, e) if ctx.low[j] in _INGEST or (ctx.low[j].isalpha() and ctx.lem[j] in _INGEST)
    ]
    anchor = min(verbs, key=lambda j: abs(j - start)) if verbs else start
    subject = _subject(ctx, anchor)
    if subject in ("other", "generic"):
        if ctx.flag("grief_pills", re.compile(r"\b(died|dead|death|passed away|funeral)\b")):
            return None  # grief about someone else's overdose
        return "other_person"
    return "self"


def _kms_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Reject "kms" used as kilometres ("300 kms")."""
    prev = ctx.before(start, 1)
    nxt = ctx.after(end, 1)
    if prev and (
        prev[0].replace(".", "").replace(",", "").isdigit() or prev[0] in ("few", "many", "several")
    ):
        return False
    return not (
        nxt
        and nxt[0]
        in (
            "away",
            "from",
            "per",
            "an",
            "a",
            "/",
            "run",
            "ran",
            "drive",
            "drove",
            "north",
            "south",
            "east",
            "west",
            "walk",
            "walked",
            "hike",
            "ride",
            "bike",
            "cycle",
            "swim",
            "of",
            "left",
            "long",
            "high",
            "wide",
            "an hour",
            "km",
        )
    )


def _how_many_ok(ctx: _Ctx, start: int, end: int) -> bool:
    sent = ctx.sentence(start)
    if re.search(r"\b(die|dying|dead|kill|overdose|od|lethal|fatal|wake up|end it|stop my heart)\b", sent):
        return True
    if re.search(r"\b(should|do|can|could|may) (i|you|we) take\b", sent):
        return False  # a dosing question
    if re.search(r"\b(battery|batteries|phone|laptop|car|ev|mine|mining|stock|price)\b", sent):
        return False  # lithium in a battery
    return not re.search(
        r"\b(per day|a day|daily|for (a|my|the) (headache|migraine|pain|cold|fever|back|period|cramps)|"
        r"did you|do you usually|are in|come in|in a (bottle|box|pack|packet)|(can|should|do) (i|you|we) "
        r"take\b.*"
        r"\bfor|safe|safely|normal|usual|usually|recommended|prescribed)\b",
        sent,
    )


def _lethal_ok(ctx: _Ctx, start: int, end: int) -> bool:
    return bool(
        re.search(
            r"\b(dose|dosage|amount|how much|how many|how high|how tall|fall|pills?|meds|breathe|inhale|"
            r"drink|drinking|swallow|jump|jumping|floor|bridge|building|gun|shot|overdose|mix|mixing|enough|"
            r"chemicals?|antifreeze|bleach|poison|insulin|tylenol|ibuprofen|paracetamol|acetaminophen)\b",
            ctx.sentence(start),
        )
    ) and not re.search(
        r"\b(accident|crash|disease|cancer|covid|virus|error|mistake|flaw)\b", ctx.sentence(start)
    )


def _stockpile_ok(ctx: _Ctx, start: int, end: int) -> bool:
    sent = ctx.sentence(start)
    return not re.search(r"\b(money|cash|on my|coupon|discount|insurance|\d+ ?%)\b", sent)


def _rope_ok(ctx: _Ctx, start: int, end: int) -> bool:
    return not ctx.flag(
        "rope_benign",
        re.compile(
            r"\b(climb\w*|jump rope|skipping|boat|sail\w*|camping|hammock|tent|gym|tow|swing|dog|"
            r"leash|knots? class|crossfit|tug)\b"
        ),
    )


_RECREATION_RE = re.compile(
    r"\b(bungee|base jump\w*|skydiv\w*|parachut\w*|trampoline|parkour|for fun|cliff div\w*|jump rope|"
    r"high jump|long jump|jumping jacks|jump scare|hurdles?|pool|lake|puddle|ski\w*|snowboard\w*)\b"
)
_HEIGHT_CONTEXT_RE = re.compile(
    r"\b(bridges?|roofs?|rooftops?|buildings?|balcon\w*|ledge|cliffs?|overpass|towers?|windows?|"
    r"skyscrapers?|floors?|stor(?:y|ies|eys?)|parking (?:garage|structure|deck)|heights?|tall|high|"
    r"train|trains|traffic|tracks)\b"
)


def _jump_ok(ctx: _Ctx, start: int, end: int) -> bool:
    if ctx.flag("recreation", _RECREATION_RE):
        return False
    window = " ".join(ctx.low[end : min(ctx.n, end + 6)])
    if re.match(
        r"^(off|from|in front of|out of|into traffic|onto|before a)\b", window
    ) and _HEIGHT_CONTEXT_RE.search(window):
        return True
    # "thinking about jumping" with heights mentioned anywhere in the message.
    return ctx.ends_clause(end) and ctx.flag("heights", _HEIGHT_CONTEXT_RE)


def _edge_ok(ctx: _Ctx, start: int, end: int) -> bool:
    last = ctx.low[end - 1]
    if re.match(
        r"^of (my|your|our|their|the) seats?\b|^of (glory|sanity|reason|my patience|tears|insanity)",
        " ".join(ctx.after(end, 3)),
    ):
        return False
    if last in ("ledge", "edge", "railing"):
        return True
    if "bar" in ctx.after(end, 1) or "party" in ctx.after(end, 2) or "garden" in ctx.after(end, 1):
        return False
    return bool(
        re.search(
            r"\b(right now|now|tonight|edge|jump\w*|fall\w*|looking down|down|high|my building|goodbye|"
            r"bye|end it|scared)\b",
            ctx.text,
        )
    )


def _gun_kind(ctx: _Ctx, start: int, end: int) -> str | None:
    """Guns escalate only with an intent cue; the subject is whoever has the intent."""
    sent = ctx.sentence(start)
    if re.search(
        r"\b(on (himself|herself|themselves)|(his|her|their) (own )?head|kill (himself|herself|themselves)|"
        r"shoot (himself|herself|themselves))\b",
        sent,
    ):
        return "other_person"
    if re.search(
        r"\b(myself|my head|my mouth|my temple|on me|kill me|end it|end my life|pull the trigger|"
        r"shoot me)\b",
        sent,
    ):
        return "self"
    m = re.search(
        r"\b((keep|kept|been|always) (thinking about|looking at|staring at|holding|touching) (it|the gun|"
        r"them)|thinking about (it|using it)|how to use it|loaded|bullets?|ammo|ammunition)\b",
        sent,
    )
    m2 = re.search(
        r"\b(buy|get|borrow|find)\b.*\b(fast|quickly|today|tonight|now|asap|without|waiting period|"
        r"background check)\b",
        sent,
    )
    if not m and not m2:
        return None
    sub = _subject(ctx, start)
    if "i" in ctx.low[ctx.sent_bounds(start)[0] : ctx.sent_bounds(start)[1]] or sub in ("self", "none"):
        return "self"
    return "other_person"


def _poison_ok(ctx: _Ctx, start: int, end: int) -> bool:
    sent = ctx.sentence(start)
    if re.search(
        r"\b(mold|mould|germs?|bacteria|virus|stains?|weeds?|mice|rats?|bugs|ants|roaches|pests?|lice|"
        r"for my car|radiator|engine|laundry|whites|clean\w*|hair|food poisoning)\b",
        sent,
    ):
        return False
    return bool(
        re.search(
            r"\b(drink\w*|swallow\w*|lethal|kill|die|dying|fatal|how much|taste|myself|me|mix\w*|inhale|"
            r"breathe|have|got|bought|ready|courage|enough|deadly|take|taking)\b",
            sent,
        )
    )


def _blade_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Blades hidden, saved or used on oneself (not shaving, not a kitchen)."""
    if _accident(ctx, start, end) or re.search(
        r"\b(shav\w*|beard|legs smooth|skate|hockey|fan|lawn|mower)\b", ctx.text
    ):
        return False
    return bool(
        re.search(
            r"\b(hid|hide|hidden|hiding|stash\w*|saved|saving|ready|use (them|it)|used (them|it)|"
            r"cut\w*|sharpen\w*|my room|under my|bought|took apart|broke (open|apart))\b",
            ctx.text,
        )
    )


def _vehicle_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "in front of a train" as a method; reject "in front of the train doors" (a platform)."""
    nxt = ctx.after(end, 2)
    if nxt[:1] == ["to"]:
        return nxt[1:2] in (["die"], ["end"], ["kill"])
    return ctx.ends_clause(end) or (
        nxt[:1] and nxt[0] in ("when", "if", "until", "tonight", "today", "now", "at")
    )


def _means_ready_ok(ctx: _Ctx, start: int, end: int) -> bool:
    return not re.search(
        r"\b(pick ?up|pharmacy|pharmacist|collect|refill|prescription ready)\b", ctx.sentence(start)
    )


def _on_purpose_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "on purpose" only next to an injury ("punch walls until my knuckles bleed, on purpose")."""
    return bool(
        re.search(
            r"\b(bleed\w*|bled|bruis\w*|cut\w*|burn\w*|hurt\w*|punch\w*|hit\w*|scratch\w*|"
            r"injur\w*|harm\w*|starv\w*)\b",
            ctx.sentence(start),
        )
    ) and _not_accident(ctx, start, end)


def _car_ok(ctx: _Ctx, start: int, end: int) -> bool:
    sent = ctx.sentence(start)
    if re.search(r"\b(accident\w*|snow|ice|icy|rain|storm|fog|skidded|deer)\b", sent):
        return False
    if ctx.low[end - 1] in ("road", "highway", "overpass", "edge", "embankment"):
        return bool(
            re.search(
                r"\b(thinking|think|want|wanna|going to|gonna|urge|tempted|plan\w*|might|could just|"
                r"should|wish)\b",
                sent,
            )
        )
    return True


def _die_from_ok(ctx: _Ctx, start: int, end: int) -> bool:
    return not re.search(
        r"\b(broken heart|laughing|laughter|embarrassment|boredom|cringe|old age|happiness|"
        r"covid|cancer|flu)\b",
        ctx.sentence(start),
    )


def _cut_object_ok(ctx: _Ctx, start: int, end: int) -> bool:
    nxt = ctx.after(end, 1)
    time_word = bool(nxt) and nxt[0] in (
        "last",
        "yesterday",
        "today",
        "tonight",
        "earlier",
        "when",
        "after",
        "before",
        "deeper",
        "deep",
    )
    return (ctx.ends_clause(end) or time_word) and _not_accident(ctx, start, end)


def _hurt_emotional(ctx: _Ctx, start: int, end: int) -> bool:
    tail = " ".join(ctx.after(end, 5))
    return bool(
        re.match(
            r"^('s )?(feelings|emotionally|when (he|she|they) (left|cheated|lied|said|ignored|broke)|"
            r"by (cheating|leaving|lying|saying|ignoring|breaking))",
            tail,
        )
    )


# -- abuse ------------------------------------------------------------------

_SEXUAL_VERBS = {"rape", "molest", "grope", "touch", "fondle", "force", "assault"}
_VIOLENT_VERBS = set(
    _words(
        "hit beat punch slap kick choke strangle shove push hurt abuse burn whip smack attack batter bruise "
        "threaten throw lock starve strike spank grab pin"
    )
)


def _actor(ctx: _Ctx, start: int) -> Tuple[str, int]:
    """Nearest actor before a verb in the same sentence: partner, caregiver, family, pronoun."""
    ss, _ = ctx.sent_bounds(start)
    for i in range(start - 1, max(ss, start - 11) - 1, -1):
        tok = ctx.low[i]
        if tok in _SETS["PARTNER"]:
            # "my mom's boyfriend" is a caregiver, not the speaker's partner.
            if i >= 2 and ctx.low[i - 1] in ("'s", "s") and ctx.low[i - 2] in _SETS["CAREGIVER"]:
                return "caregiver", i
            return "partner", i
        if tok in _SETS["CAREGIVER"]:
            return "caregiver", i
        if tok in _SETS["FAMILY"]:
            return "family", i
        if tok in ("he", "she", "they", "hes", "shes"):
            return "pronoun", i
        if tok in (
            "someone",
            "somebody",
            "stranger",
            "guy",
            "man",
            "coworker",
            "colleague",
            "boss",
            "classmate",
            "date",
            "friend",
            "neighbor",
            "neighbour",
            "doctor",
            "landlord",
        ):
            return "other", i
        if tok == "i":
            return "none", i
    return "none", -1


def _abuse_kind(ctx: _Ctx, start: int, end: int) -> str | None:
    """Decide whether "<actor> <verb> me/him/her" is abuse, and which kind.

    Caregiver against a child (or any actor against a minor) is child abuse; a
    partner, a pronoun or a family member against an adult is domestic violence;
    sexual verbs are sexual assault unless a child is involved.
    """
    verb = ctx.lem[start]
    if verb in ("beaten",):
        verb = "beat"
    obj_tokens = ctx.low[start + 1 : end]
    obj = obj_tokens[-1] if obj_tokens else ""
    nxt = ctx.after(end, 3)
    if verb == "beat" and nxt[:1] and nxt[0] in ("at", "in", "to", "by"):
        return None
    if verb == "hit" and nxt[:1] == ["up"]:
        return None
    if nxt[:1] == ["with"] and re.search(
        r"\b(news|question|questions|truth|fact|facts|idea|reality|request|bill|joke|compliment|surprise|text"
        r"|"
        r"message|call|email|story|song|quote|attitude|comment)\b",
        " ".join(ctx.after(end, 5)),
    ):
        return None
    if verb == "strike" and nxt[:1] == ["as"]:
        return None
    if re.search(
        r"\b(accident\w*|by mistake|playing|game|ball|joking|jokingly|tickl\w*|pillows?|pillow fight|"
        r"snowballs?|"
        r"nerf|toys?|water balloons?)\b",
        ctx.sentence(start),
    ):
        return None
    if verb == "push" and nxt[:1] and nxt[0] in ("to", "into", "towards", "forward", "hard"):
        return None
    if verb == "hurt" and _hurt_emotional(ctx, start, end):
        return None
    if (
        obj == "her"
        and nxt[:1]
        and nxt[0].isalpha()
        and nxt[0] not in _CLAUSE_TAIL
        and nxt[0]
        not in (
            "with",
            "when",
            "if",
            "because",
            "until",
            "in",
            "on",
            "at",
            "so",
            "again",
            "badly",
            "hard",
            "up",
            "down",
            "every",
            "all",
            "while",
            "whenever",
            "after",
            "too",
            "around",
            "daily",
            "constantly",
            "regularly",
        )
    ):
        return None  # possessive: "my mom hurt her back"
    if verb in ("throw", "slam", "drag") and "at" not in ctx.low[start:end]:
        if not (
            obj == "me"
            and nxt[:1]
            and nxt[0]
            in (
                "against",
                "into",
                "down",
                "across",
                "onto",
                "on",
                "to",
                "out",
                "off",
                "around",
                "by",
                "through",
                "at",
            )
        ):
            return None
    if verb == "lock" and not (nxt[:1] and nxt[0] in ("in", "up", "out", "inside")):
        return None
    if verb == "threaten" and obj == "to":
        if not nxt or nxt[0] not in ("kill", "hurt", "hit", "beat", "take", "shoot", "stab", "burn"):
            return None
        if nxt[0] == "take" and not re.match(
            r"^take (the|my|our) (kids|children|son|daughter|baby)|^take (him|her|"
            r"them) away",
            " ".join(ctx.after(end, 4)),
        ):
            return None
    if verb == "force" and obj == "me":
        if (
            nxt
            and nxt[0] == "to"
            and len(nxt) > 1
            and nxt[1] not in ("have", "do", "touch", "perform", "give", "sleep", "kiss", "watch", "undress")
        ):
            return None
    if verb == "touch":
        pass  # decided below: needs a caregiver, a minor or an "inappropriate" cue
    actor, _ = _actor(ctx, start)
    child_object = obj in _SETS["CHILD"] or (obj in ("him", "her", "them") and ctx.minor)
    sexual = verb in _SEXUAL_VERBS
    if verb == "touch":
        if re.match(
            r"^(on|gently|softly|to (wake|say|comfort|get|check))\b", " ".join(nxt)
        ) and not re.search(
            r"\b(private|down there|breasts?|chest|butt|crotch|between|under|inappropriate\w*)\b",
            ctx.sentence(start),
        ):
            return None
        inappropriate = re.search(
            r"\b(inappropriate\w*|without|down there|private|asleep|uncomfortable|"
            r"don'?t want|didn'?t want|against|secret|won'?t stop|wouldn'?t stop)\b",
            ctx.sentence(start),
        )
        if actor == "caregiver" or ctx.minor:
            return "child_abuse" if not ctx.adult else "sexual_assault"
        if inappropriate and actor not in ("partner",):
            return "sexual_assault"
        if inappropriate:
            return "sexual_assault"
        return None
    if sexual:
        return "child_abuse" if (ctx.minor or child_object) and not ctx.adult else "sexual_assault"
    if actor == "none" and obj == "me":
        return None
    if actor == "other" and not child_object:
        return None
    if child_object or ctx.minor:
        return "child_abuse"
    if actor == "caregiver" and obj == "me" and not ctx.adult:
        return "child_abuse"
    return "domestic_violence"


def _sa_kind(ctx: _Ctx, start: int, end: int) -> str | None:
    """Sexual assault, or child abuse when the victim is a child or the actor a caregiver."""
    if ctx.adult:
        return "sexual_assault"
    actor, _ = _actor(ctx, start)
    if ctx.minor or actor == "caregiver":
        return "child_abuse"
    return "sexual_assault"


def _dv_kind(ctx: _Ctx, start: int, end: int) -> str | None:
    if (ctx.minor or _CHILDHOOD_RE.search(ctx.sentence(start))) and not ctx.adult:
        return "child_abuse"
    return "domestic_violence"


_CHILDHOOD_RE = re.compile(
    r"\b(as a (kid|child|little girl|little boy)|when i was (a kid|little|young|small|a child|"
    r"\d{1,2})|growing up)\b"
)


def _forced_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept "he forced me" (sexual assault); reject "my mom forced me to go to therapy"."""
    nxt = ctx.after(end, 2)
    if (
        not nxt
        or not any(ch.isalnum() for ch in nxt[0])
        or nxt[0] in ("and", "but", "so", "when", "while", "after")
    ):
        return True
    if nxt[0] == "into":
        return len(nxt) > 1 and nxt[1] in (
            "sex",
            "bed",
            "it",
            "sleeping",
            "having",
            "oral",
            "the",
            "his",
            "her",
        )
    if nxt[0] == "to":
        return len(nxt) > 1 and nxt[1] in (
            "have",
            "do",
            "touch",
            "perform",
            "give",
            "sleep",
            "kiss",
            "watch",
            "undress",
            "suck",
            "strip",
        )
    return nxt[0] in ("down", "onto", "on")


def _reported_better_off(ctx: _Ctx, start: int, end: int) -> bool:
    """Accept a reported "better off without him/her", which is about that person.

    "My husband keeps saying we'd be better off without him" is a warning sign about him;
    "I'm better off without him" after a breakup is not a crisis.
    """
    s, _ = ctx.sent_bounds(start)
    before = " ".join(ctx.low[s:start])
    reports = list(
        re.finditer(
            r"\b(say|says|said|saying|think|thinks|thought|tell|tells|told|texted|posted|wrote|"
            r"believes?|keeps)\b",
            before,
        )
    )
    if not reports:
        return False
    between = before[reports[-1].end() :]
    return not re.search(r"\b(i|im)\b", between)


# ---------------------------------------------------------------------------
# The rule table: (rule, mode, patterns, check, negatable)
# ---------------------------------------------------------------------------

_SELF_VERBS_MYSELF = (
    "~murder|~off|~shoot|~hang|~drown|~poison|~gas|~stab|~electrocute|~suffocate|~strangle|~end|~delete|"
    "~unalive|~neck|~rope|~overdose|~smother|~choke|~behead|~immolate|~starve"
)

_TABLE: List[Tuple[str, str, Sequence[str], Check | None, bool, KindFn | None]] = [
    # --- direct ------------------------------------------------------------
    (
        "direct.kill_myself",
        "self",
        ["@KILL @MYSELF", "@KILL my|mah self", "@KILL meself|mahself"],
        None,
        True,
        None,
    ),
    (
        "direct.kill_myself",
        "self",
        [_SELF_VERBS_MYSELF + " @MYSELF", _SELF_VERBS_MYSELF + " my self"],
        None,
        True,
        None,
    ),
    (
        "direct.end_my_life",
        "self",
        ["~end|~take|~finish|~ending|~taking my|mine own? @LIFE"],
        None,
        True,
        None,
    ),
    (
        "direct.want_to_die",
        "infer",
        [
            "@WANT @TO? @DIE",
            "~wish|~ready|~deserve|~prepare|~need|~plan|~choose|~decide @TO @DIE",
            "'d|would|d like|love @TO @DIE",
            "~feel like @DIE",
            "~think|thinking|thought|thoughts about|of @DIE|death|dead",
            "~want|wanna @TO? be dead",
            "rather be dead",
            "~hope|~pray i @DIE",
            "i should just? @DIE",
            "i deserve to @DIE",
            "die|@DIE by suicide",
        ],
        _want_to_die_ok,
        True,
        None,
    ),
    (
        "direct.suicide_intent",
        "infer",
        [
            "~commit|~consider|~contemplate|~plan|~attempt|committing|considering|contemplating|planning "
            "suicide|@SUICIDE",
            "~think|thinking|thought|thoughts|~idea|~urge|~plan|~feeling of|about suicide|@SUICIDE",
            "my suicide|@SUICIDE",
            "suicide|@SUICIDE plan|note|notes|letter",
        ],
        None,
        True,
        None,
    ),
    (
        "direct.suicide_only_way",
        "self",
        [
            "suicide|@SUICIDE ~be|~seem|~feel|~look like? the|my only? way|option|answer|choice|solution|"
            "escape",
        ],
        None,
        True,
        None,
    ),
    ("direct.suicidal", "infer_strict", ["suicidal|@SUICIDAL"], None, True, None),
    ("direct.suicidal", "topic", ["suicide|@SUICIDE"], None, True, None),
    # --- indirect ------------------------------------------------------------
    (
        "indirect.wish_dead",
        "self",
        [
            "~wish i|id _? _? dead|died|@DIE",
            "~wish i could|would just? @DIE|disappear|vanish",
            "~wish i|id ~be|~do|~have n't|not|nt|never alive|exist|existed|here",
            "~wish i|id ~be|~do|~have n't|not|nt|never _ alive|exist|existed|here",
        ],
        None,
        True,
        None,
    ),
    (
        "indirect.never_born",
        "self",
        [
            "~wish i _? _? never|not|n't|nt born",
            "~wish i _? _? never|not|n't|nt been born",
            "~wish i ~be|had|'d|d never|not|n't|nt _? born",
            "should|shouldnt|should've never|n't|nt _? _? born",
            "should|shouldnt|should've never|n't|nt _? _? existed|exist",
        ],
        None,
        True,
        None,
    ),
    (
        "indirect.not_wake_up",
        "infer",
        [
            "n't|not|nt|never ~want|wanna @TO? wake|awake|~wake",
            "~hope|~wish|~pray _? _? _? n't|not|nt|never wake|~wake",
            "if|until|when i _? n't|not|nt|never wake|~wake",
            "sleep|asleep and|& never|not|n't|nt wake|~wake",
            "~mind not|never waking|~wake",
            "sleep|asleep forever|permanently",
            "eternal sleep",
        ],
        None,
        False,
        None,
    ),
    ("indirect.not_wake_up", "infer", ["and|to never|not ~wake up"], _wake_tail_ok, False, None),
    ("indirect.burden", "self_only", ["burden|burdens"], _burden_ok, True, None),
    (
        "indirect.burden",
        "self_only",
        [
            "a|such|just|only|nothing|so a? weight|drain|nuisance|liability|problem|waste on|to|for everyone|"
            "everybody|"
            "them|people|my|the|you|all|others|those",
            "waste of space|air|oxygen|life|skin",
        ],
        _burden_ok,
        True,
        None,
    ),
    (
        "indirect.better_off_without_me",
        "self",
        [
            "better|happier|easier|fine|okay|off without me",
            "better|happier|easier|relieved|fine|okay|off if|when i _? _? _? gone|dead|died|disappeared|here|"
            "around|"
            "alive|existed|born|left|vanished",
            "better off @DIE|dead",
        ],
        _alive_here_needs_neg,
        True,
        None,
    ),
    (
        "indirect.worth_more_dead",
        "self",
        [
            "worth more dead",
            "life insurance",
            "insurance payout|money",
        ],
        _life_insurance_ok,
        True,
        None,
    ),
    (
        "indirect.nobody_would_notice",
        "self",
        [
            "~notice|~care|~miss|~matter me? if|when i _? _? gone|@DIE|dead|disappeared|vanished|left",
        ],
        _nobody_ok,
        True,
        None,
    ),
    (
        "indirect.no_reason_to_live",
        "infer",
        [
            "no|any|zero|n't|nt reason|reasons|point|purpose @TO|in|of? keep? live|living|exist|existing",
            "no|any|zero reason|reasons|point|purpose @TO|in|of? be|being alive",
            "no point|reason in? going on",
            "nothing|noone|nobody left? @TO live|living for",
            "life|living ~be n't|not|nt worth living|it",
            "not worth living",
            "point|use of|in living|existing|life",
            "point|use of|in being alive",
            "what|whats|'s the point|use anymore|any",
            "what|whats|'s the point|use of|in anything|trying|me|existing|going|everything",
            "what|whats|'s the point of|in it all",
            "what|whats|'s the point of|in even trying",
            "no point|use anymore",
            "no point|use any more",
            "why|how should|do|would|can|am i keep|even|still? live|living|exist|going",
            "n't|not|nt deserve @TO live|exist|life",
            "n't|not|nt deserve @TO be alive",
            "life|existence|living ~be pointless|meaningless|worthless|hopeless",
        ],
        None,
        False,
        None,
    ),
    (
        "indirect.cant_go_on",
        "infer",
        [
            "ca|can|cannot|cant|could n't|not|nt? go|keep|carry on|going",
            "ca|can|cannot|cant|could n't|not|nt? keep|go|carry on? living|existing|surviving|fighting|"
            "breathing",
        ],
        _go_on_ok,
        False,
        None,
    ),
    (
        "indirect.cant_take_it",
        "infer",
        [
            "ca|can|cannot|cant n't|not|nt? do|take|handle this|it anymore|any",
            "ca|can|cannot|cant n't|not|nt? do|take|handle this? life|living _? anymore|any",
            "ca|can|cannot|cant n't|not|nt? anymore",
        ],
        None,
        False,
        None,
    ),
    (
        "indirect.goodbye",
        "infer",
        [
            "my|this|the last|final message|text|post|words|goodbye|note|letter",
        ],
        _last_message_ok,
        False,
        None,
    ),
    (
        "indirect.goodbye",
        "infer",
        [
            "goodbye|farewell|suicide|@SUICIDE letter|letters|note|notes|message|messages|video|texts|text|"
            "post",
            "said|saying|say|~write|~writing my goodbyes|byes",
            "~say goodbye to everyone|everybody|people|all",
            "~say goodbye to the world",
            "goodbye|bye world|everyone|everybody|all|forever",
            "goodbye cruel world",
            "~make peace with dying|death|@DIE",
            "~put|~get|getting|putting my affairs in order",
        ],
        None,
        False,
        None,
    ),
    ("indirect.goodbye", "infer", ["~write|~finish|~leave|wrote|written my note"], _my_note_ok, False, None),
    (
        "indirect.goodbye",
        "infer",
        [
            "~write|wrote|written|writing|~leave|left letters|notes|letter|note to|for everyone|everybody|all"
            "|each",
            "letters|letter|notes|note to|for everyone|everybody|all|each _? _? _? explaining|explain why",
            "~write|wrote|written|writing letters|notes|a|my letter|note _? _? _? explaining|explain why",
        ],
        None,
        False,
        None,
    ),
    (
        "indirect.goodbye",
        "self_only",
        ["said|saying|say|~say goodbye|bye|goodbyes to my|everyone|all|everybody"],
        _goodbye_ok,
        False,
        None,
    ),
    (
        "indirect.giving_away",
        "self_only",
        [
            "~give|~gave|giving away my|all",
            "~give|~gave|giving my|all _? _? away",
            "~give|~gave|giving all of? my _? _? away",
        ],
        _giving_ok,
        True,
        None,
    ),
    (
        "indirect.giving_away",
        "self",
        ["n't|nt|not|never ~need it|them|these|those|this|my|any anymore|stuff|things"],
        None,
        False,
        None,
    ),
    (
        "indirect.not_around",
        "self_only",
        [
            "be around|here|alive much|for|any? longer|long|anymore|more",
        ],
        _not_around_ok,
        False,
        None,
    ),
    (
        "indirect.not_around",
        "self_only",
        [
            "~make it|~survive to|through|until|past|till next|the|tomorrow|tonight|morning|christmas|my",
        ],
        _make_it_ok,
        False,
        None,
    ),
    (
        "indirect.future_absence",
        "self_only",
        [
            "n't|not|nt be able|here|around|alive|there",
        ],
        _future_absence_ok,
        False,
        None,
    ),
    (
        "indirect.want_it_to_end",
        "infer",
        ["~want|wanna|~need the|this|my? pain|suffering|it|everything @TO ~end|~stop|be permanently|forever"],
        None,
        True,
        None,
    ),
    (
        "indirect.want_it_to_end",
        "infer",
        ["so|until|til|till it|everything all? ~stop|~end|stops|ends"],
        _ends_clause,
        True,
        None,
    ),
    (
        "indirect.want_it_to_end",
        "infer",
        [
            "~want|wanna|~need|~wish it|everything|life|this|things all? @TO ~end|~stop|over",
            "~want|wanna|~need|~wish it|everything|life|this|things all? @TO be over",
            "~want|wanna|~need it|everything all? to end|stop permanently|forever|now",
        ],
        None,
        True,
        None,
    ),
    ("indirect.want_out", "infer", ["~want|wanna|~need just? out"], _ends_clause, True, None),
    (
        "indirect.want_out",
        "infer",
        ["no future for me", "~want|wanna|~need out of this|my life|world"],
        None,
        True,
        None,
    ),
    (
        "indirect.disappear",
        "infer",
        [
            "~disappear|~vanish forever|permanently",
            "~disappear|~vanish for good",
            "~disappear|~vanish|~leave|~go and never come|return",
        ],
        None,
        True,
        None,
    ),
    (
        "indirect.disappear",
        "infer",
        ["~want|wanna|~wish|~need @TO disappear|vanish"],
        _ends_clause,
        True,
        None,
    ),
    (
        "indirect.tired_of_living",
        "infer",
        [
            "~tire|tired|sick|done of|with it all",
            "~tire|tired|sick|exhausted of waking up",
            "done fighting|trying|surviving",
            "~tire|tired|sick|exhausted of surviving|fighting|trying",
        ],
        _ends_clause,
        True,
        None,
    ),
    (
        "indirect.tired_of_living",
        "infer",
        [
            "~tire|tired|sick|done|exhausted|over of|with living|life|existing|breathing",
            "~tire|tired|sick|done|exhausted|over of|with being alive|here",
            "~tire|tired|sick|done of|with my life",
            "done living|existing",
            "~tire|tired|sick|exhausted of existing",
            "~tire|tired|sick|exhausted of being me",
        ],
        None,
        True,
        None,
    ),
    (
        "indirect.dont_want_to_be_here",
        "infer",
        ["n't|not|nt|never ~want|wanna @TO? be here|around"],
        _here_ok,
        False,
        None,
    ),
    (
        "indirect.not_exist",
        "infer",
        ["~want|wanna|~wish|just|~need|~like @TO? stop|quit existing|living|breathing"],
        _ends_clause,
        False,
        None,
    ),
    (
        "indirect.not_exist",
        "infer",
        [
            "to|if|i just? not|never exist|existed|existing",
            "to just? not|never be alive|here|around|born",
        ],
        _not_exist_ok,
        False,
        None,
    ),
    (
        "indirect.something_stupid",
        "self_only",
        ["~do something|anything stupid|dangerous|drastic|permanent|irreversible|final"],
        _stupid_ok,
        True,
        None,
    ),
    (
        "indirect.want_to_be_gone",
        "infer",
        ["~want|wanna|~wish|~rather @TO? be gone"],
        _ends_clause,
        True,
        None,
    ),
    (
        "indirect.if_i_was_gone",
        "self",
        ["if i ~be n't|not|nt here|around|alive"],
        _consequence_ok,
        False,
        None,
    ),
    (
        "indirect.planning_how",
        "self",
        [
            "~think|thinking|~plan|planning|~figure|figuring|~decide about? how i 'd|would|will|'ll|could|d "
            "do it"
        ],
        _ends_clause,
        True,
        None,
    ),
    ("direct.might_as_well_die", "self", ["might|may as well be? dead|@DIE|~kill"], None, True, None),
    ("method.accident", "self", ["~make it look like an|a accident"], None, True, None),
    ("method.use_on_myself", "self", ["~use it|them|this|that|one on myself"], None, True, None),
    ("indirect.no_reason_to_live", "infer", ["no point|use"], _no_point_ok, True, None),
    ("indirect.own_funeral", "self", ["my own? funeral|obituary|eulogy|wake"], _own_funeral_ok, False, None),
    (
        "indirect.keeping_me_here",
        "self",
        ["only thing|reason|one|person|things keeping|stopping|holding me here|alive|going|from|back"],
        None,
        False,
        None,
    ),
    (
        "indirect.decided",
        "self",
        ["decided|decision|made tonight|today is|'s the night|day"],
        None,
        False,
        None,
    ),
    (
        "indirect.goodbye",
        "self",
        ["if|when i @DIE|'m|am gone|dead|@DIE? tonight|today|tomorrow|soon"],
        _if_i_die_ok,
        False,
        None,
    ),
    ("method.plan_and_means", "self", ["plan and|& the means", "the means to do|end it"], None, True, None),
    ("indirect.only_way_out", "infer", ["only|no|any|another|other way out"], _way_out_ok, False, None),
    (
        "indirect.passive_death",
        "infer",
        [
            "~hope|~wish|~pray|~want that? something|someone|somebody|anything|anyone|god|cancer|covid|death|"
            "illness "
            "_? _? ~kill|~hit|~end|~take me",
            "a|the car|bus|truck|train would|will|could|to hit|kill me",
            "~hope|~wish|~pray i _? _? _? @DIE|dead",
            "~hope|~wish|~pray i _? _? _? ~get hit|killed|run",
            "~hope|~wish|~pray i _? _? ~get|~be into|in a|an car? crash|accident|wreck",
            "~hope|~wish|~pray _? _? _? crash|crashes|accident|wreck _? _? kill|kills|killed|me",
        ],
        None,
        True,
        None,
    ),
    (
        "indirect.passive_death",
        "self",
        ["something|anything _? happened|happens|happen to me"],
        _something_happened_ok,
        False,
        None,
    ),
    (
        "indirect.keep_safe",
        "self",
        [
            "n't|not|nt|unsure ~know|if|whether? i _? _? ~keep myself|me safe",
            "not sure if|whether|that? i _? _? ~keep myself|me safe",
            "n't|not|nt ~know|sure if|whether i _? ~keep myself|me safe",
            "n't|not|nt ~keep myself safe",
        ],
        None,
        False,
        None,
    ),
    # --- negation-shaped risk ------------------------------------------------
    (
        "negation.dont_want_to_live",
        "infer",
        [
            "n't|not|nt|never ~want|wanna @TO? live|living",
            "n't|not|nt|never ~want|wanna @TO? keep|go on? living|going|on",
            "n't|not|nt|never ~want|wanna @TO? go on anymore|any",
            "n't|not|nt|never think|know|feel|really|even|sure|certain|if i? ~want|wanna @TO? live|living",
        ],
        _live_ok,
        False,
        None,
    ),
    (
        "negation.dont_want_to_be_alive",
        "infer",
        [
            "n't|not|nt|never ~want|wanna @TO? be|stay alive",
            "n't|not|nt|never ~want|wanna @TO? exist|existing",
            "n't|not|nt|never think|know|feel|really|even|sure|certain|if i? ~want|wanna @TO? be|stay alive",
            "n't|not|nt|never think|know|feel|really|even|sure|certain|if i? ~want|wanna @TO? exist|existing",
            "~know|sure if|whether i _? ~want|wanna @TO? be|stay alive",
            "~know|sure if|whether i _? ~want|wanna @TO? live|exist",
        ],
        None,
        False,
        None,
    ),
    (
        "negation.no_future_self",
        "self",
        ["n't|not|nt|never|ca|cannot see|picture|imagine myself being? alive|here|around|living"],
        _future_self_ok,
        False,
        None,
    ),
    (
        "negation.dont_care_if_i_die",
        "self",
        [
            "n't|not|nt|never ~care|~mind if|whether i live|lived|@DIE|dead",
            "n't|not|nt|never ~care|~mind if|whether i _? n't|nt|not|never wake|~wake|live|exist",
            "n't|not|nt|never ~mind dying|death",
            "n't|not|nt|never ~mind being dead",
        ],
        None,
        False,
        None,
    ),
    # --- plans and methods -----------------------------------------------------
    ("method.pills", "infer", ["@DRUG"], _pills_quantity, True, _pills_kind),
    ("method.pill_count", "self", ["how many|much of? these|the|my|those? @DRUG"], _how_many_ok, False, None),
    (
        "method.lethal",
        "self",
        [
            "lethal|fatal|deadly|toxic|killing dose|doses|amount|amounts|dosage|quantity|level",
            "lethal|fatal|deadly|survivable|lethally",
            "dangerous|deadly|lethal|fatal|toxic in large|high|big amounts|doses|quantities|numbers",
            "~take|~need|enough @TO ~kill|@DIE",
            "would|will|could|does|can|did _? ~kill me",
        ],
        _lethal_ok,
        False,
        None,
    ),
    (
        "method.stockpile",
        "infer",
        [
            "~save|~stockpile|~hoard|~collect|~stash|~count|~store|saving|stockpiling|hoarding|collecting|"
            "stashing|"
            "counting up? my|the|all|some|these|of? _? @DRUG",
            "@DRUG saved|stockpiled|hoarded|stashed",
            "from two|three|four|five|several|multiple|different|many different? shops|stores|pharmacies|"
            "chemists",
        ],
        _stockpile_ok,
        True,
        None,
    ),
    (
        "method.overdose",
        "infer",
        [
            "~overdose|overdosing|overdosed|od|od'd|oding|ods|o.d.",
        ],
        _od_ok,
        True,
        _overdose_kind,
    ),
    (
        "method.hanging",
        "infer",
        [
            "noose|nooses",
            "~tie|~make|~buy|~get|~have|~find|~order|bought|got|tied a|the|some|my rope",
            "hang|hanging|hanged @MYSELF|myself",
        ],
        _rope_ok,
        True,
        None,
    ),
    ("method.jumping", "infer", ["~jump|~leap|~yeet|jumping"], _jump_ok, True, None),
    (
        "method.jumping",
        "self",
        [
            "~stand|~sit|be|'m|m|am|standing|sitting|up on|at the|a|my|this? edge|ledge|railing|"
            "roof|rooftop|balcony|bridge"
        ],
        _edge_ok,
        True,
        None,
    ),
    (
        "method.train",
        "infer",
        [
            "in front of a|the|an? train|trains|subway|tube|metro",
            "~step|~jump|~walk|~throw|~run|~lie|~lay|myself out? in front of a|the|an? car|bus|truck|lorry|"
            "semi|cars",
            "~lie|~lay|lying|laying|~stand|~sit|~walk on|onto the train? tracks|track|rails",
        ],
        _vehicle_ok,
        True,
        None,
    ),
    ("method_seeking.trains", "self", ["platform doors|barriers|screens|gates|edge"], None, False, None),
    (
        "method.car",
        "infer",
        [
            "~drive|~crash|~steer|~swerve|~wreck|~ram|driving|crashing|swerving my|the? car? into|off a|the|"
            "an|"
            "oncoming? wall|tree|pole|cliff|traffic|truck|median|river|lake|bridge|barrier|guardrail|semi|"
            "lorry",
            "~walk|~step|walking|stepping|~throw|~run out? into|in traffic",
            "into oncoming traffic",
            "~drive|driving|~steer|~swerve|swerving my|the? car? off|into the|a road|highway|overpass|edge|"
            "embankment",
            "~crash|~wreck my car on purpose",
        ],
        _car_ok,
        True,
        None,
    ),
    (
        "method.gun",
        "infer",
        ["gun|guns|firearm|pistol|handgun|revolver|rifle|shotgun|glock|🔫"],
        None,
        True,
        _gun_kind,
    ),
    ("method.poison", "infer", ["@POISON", "carbon monoxide", "~gas myself"], _poison_ok, True, None),
    ("method.poison", "self", ["car|engine running in the|a|my closed? garage"], None, True, None),
    ("method.poison", "self", ["garage with|and the|my car|engine running|on"], None, True, None),
    (
        "method.drowning",
        "infer",
        [
            "~walk|~swim into|out the|a|to ocean|sea|lake|river|water",
            "~drown myself",
        ],
        None,
        True,
        None,
    ),
    (
        "method.wrists",
        "infer",
        [
            "~slit|~cut|~slash|~open|slit my|the|his|her|their? wrists|wrist|veins|throat",
            "~bleed|bleeding out",
            "~bleed to death",
            "how deep to|should|do i? ~cut",
            "which vein|veins|artery",
        ],
        None,
        True,
        None,
    ),
    ("method.blades", "infer", ["blades|blade|razors|razor|scalpel|boxcutter"], _blade_ok, True, None),
    (
        "method.means_ready",
        "infer",
        [
            "the|my @DRUG|rope|noose|gun|knife|blade|razor|poison ~be? ready|lined|counted|prepared",
        ],
        _means_ready_ok,
        True,
        None,
    ),
    (
        "method_seeking.ways",
        "self",
        [
            "painless|quick|quickest|fastest|easiest|best|surest|peaceful|effective|quiet|painful|easy way|"
            "ways|method|"
            "methods @TO|of @DIE|~kill|suicide|commit|unalive|overdose",
            "painless|quick|quickest|fastest|easiest|best|surest|peaceful|effective|quiet|painful|easy way|"
            "ways|method|"
            "methods @TO|of end it|my",
            "how @TO|can|do|would|could i? @DIE",
            "ways|way|methods|method to @DIE",
            "way|ways @TO go without pain|painlessly|peacefully|quietly|quickly",
        ],
        None,
        False,
        None,
    ),
    (
        "method_seeking.pain",
        "self",
        [
            "~hurt|painful|pain|long|fast|quick|quickly|slow _? @TO? @DIE|drown|drowning|hang|hanging|bleed|"
            "overdose|od|"
            "suffocate|suffocating",
            "how long|fast|quickly ~do|~be _? ~take _? @TO @DIE|drown|bleed|suffocate",
            "hanging|drowning|overdosing|overdose|bleeding|jumping|dying|suffocating|od|ods ~be|~do|~feel _? "
            "painful|~hurt|quick|fast|peaceful|painless",
            "~be|~do|does|is hanging|drowning|overdosing|bleeding|suffocating|od|ods|an|a _? painful|~hurt|"
            "quick|fast|"
            "peaceful|painless",
        ],
        _die_from_ok,
        False,
        None,
    ),
    (
        "method_seeking.die_from",
        "self",
        [
            "can|could|will|would|do|does you|i|one|someone|somebody|people|a|u _? @DIE|overdose|od from|of|"
            "on|if",
        ],
        _die_from_ok,
        False,
        None,
    ),
    # --- self-harm -----------------------------------------------------------
    (
        "self_harm.cutting",
        "self",
        ["~cut|cutting|~slice|~carve|~scratch @MYSELF|myself", "~cut|~slice my self"],
        _not_accident,
        True,
        None,
    ),
    (
        "self_harm.cutting",
        "self",
        [
            "cuts|scars|wounds|marks|cut|slashes on|across my @BODY",
            "cuts|scars|wounds|marks|cut|slashes all over my @BODY",
            "~carve _? _? into|on my @BODY",
            "clean|sober|free from|of cutting|self|sh",
            "cut|cutting again",
        ],
        None,
        True,
        None,
    ),
    (
        "self_harm.cutting",
        "self",
        [
            "~cut|cutting|~slice|~carve|~slash|~scratch my|mine @BODY",
            "~cut|cutting _? _? _? _? on|across my @BODY",
        ],
        _not_accident,
        True,
        None,
    ),
    (
        "self_harm.cutting",
        "infer",
        ["urge|urges|temptation|craving @TO cut|hurt|harm|burn|self|sh"],
        None,
        True,
        None,
    ),
    (
        "self_harm.cutting",
        "infer",
        ["~want|wanna|~need|~crave|tempted|itching|dying @TO cut"],
        _cut_object_ok,
        True,
        None,
    ),
    ("self_harm.cutting", "infer", ["i|so|then|and|still cut|cutting|~cut"], _cut_object_ok, True, None),
    (
        "self_harm.pain",
        "infer",
        ["~need|~want|wanna|~deserve @TO? feel|be pain|hurt|physical"],
        _ends_clause_or_pain,
        True,
        None,
    ),
    ("self_harm.burning", "self", ["~burn|burnt|burning @MYSELF|myself"], _not_accident, True, None),
    (
        "self_harm.burning",
        "self",
        [
            "~burn|burnt|burning my @BODY _? _? lighter|cigarette|cigarettes|match|matches|lighters|cigs|cig",
            "~burn|burnt|burning my @BODY with",
        ],
        _not_accident,
        True,
        None,
    ),
    (
        "self_harm.hurt_myself",
        "self",
        [
            "~hurt|~harm|~injure|~punish|~hit|~punch|~bruise|~bite|~stab|~starve|~mutilate|hurting|harming|"
            "hitting "
            "@MYSELF|myself",
        ],
        _not_accident,
        True,
        None,
    ),
    (
        "self_harm.hurt_myself",
        "self",
        [
            "~hit|~bang|~slam|~smash|~punch|~bash my head|fist|fists|face against|into the|a? wall|walls|"
            "floor|desk",
            "~burn|~cut|~scratch|~pinch|~hit|~punch|~bite my @BODY|face|head|hands when|whenever|every|to|if",
        ],
        _not_accident,
        True,
        None,
    ),
    (
        "self_harm.on_purpose",
        "infer",
        ["on purpose", "deliberately|intentionally"],
        _on_purpose_ok,
        True,
        None,
    ),
    (
        "self_harm.until_bleed",
        "infer",
        ["until|till|til i|it|they|my|its _? ~bleed|bleeds|bled|bleeding|bruise"],
        None,
        True,
        None,
    ),
    (
        "self_harm.term",
        "topic",
        [
            "self|~self -? harm|harming|harmed|harms|injury|injure|injuring|injured|mutilation|mutilate|"
            "mutilating",
            "selfharm|selfharming|selfharmed|nssi|sh'd|sh'ing|shing",
            "sh again|scars|urges|urge|relapse|tonight",
            "i ~sh",
        ],
        None,
        True,
        None,
    ),
    ("self_harm.cutting", "self", ["deep enough to|that? scar|bleed|need|leave"], None, True, None),
    ("self_harm.relapse", "self", ["~relapse|relapsed on|into? self|cutting|sh|harm"], None, True, None),
    # --- past attempts -----------------------------------------------------------
    (
        "past_attempt.attempt",
        "infer",
        [
            "suicide|@SUICIDE attempt|attempts",
            "attempted suicide|@SUICIDE",
            "my|an|last|first|previous|second|third|recent|failed|latest attempt|attempts",
        ],
        _attempt_noun_ok,
        False,
        None,
    ),
    (
        "past_attempt.attempt",
        "self_only",
        ["i|'ve|ve|have ~attempt|attempted"],
        _attempt_verb_ok,
        False,
        None,
    ),
    (
        "past_attempt.survived",
        "self_only",
        [
            "~survive|survived jumping|hanging|overdosing|an|my|the|a overdose|attempt|fall|jump|od|hanging",
            "~survive|survived jumping|hanging|overdosing",
            "~finish|finishing it",
            "~finish|finishing the job",
        ],
        _survived_ok,
        False,
        None,
    ),
    # --- slang -------------------------------------------------------------------
    ("slang.kms", "infer", ["kms|kmss"], _kms_ok, True, None),
    ("slang.unalive", "infer", ["unalive|unaliving|unalived|unalives|un-alive"], None, True, None),
    ("slang.end_it_all", "infer", ["~end|ending|~finish it all", "~end|ending everything"], None, True, None),
    (
        "slang.end_it",
        "infer",
        ["~end|ending it|things|myself", "~end|ending it|things once and for all"],
        _end_it_ok,
        True,
        None,
    ),
    ("slang.ctb", "infer", ["ctb"], None, True, None),
    ("typo.want_to_dye", "infer", ["@WANT @TO? dye"], _dye_ok, True, None),
    # --- other crises -------------------------------------------------------------
    (
        "other_person.reflexive",
        "other",
        [
            "@KILL|~murder|~shoot|~hang|~drown|~poison|~stab|~hurt|~harm|~cut|~burn|~unalive|~starve|~end|"
            "~overdose "
            "@REFLEX3",
            "~end|~take|~ending|~taking @POSS3 own? life|lives",
            "cuts|scars|wounds|marks on @POSS3 @BODY",
            "cuts|scars|wounds|marks all over @POSS3 @BODY",
        ],
        None,
        True,
        None,
    ),
    (
        "other_person.wish_dead",
        "other",
        [
            "~wish he|she|they _? _? dead|@DIE",
            "~say|~tell|~text|~post he|she|they ~want|~wish|~deserve|should|rather|'d|wanna _? _? dead|@DIE",
            "~wish|~say he|she|they _? _? never|not|n't|nt _? born",
        ],
        None,
        True,
        None,
    ),
    (
        "other_person.better_off_without_them",
        "other",
        ["better|happier|easier off? without him|her|them"],
        _reported_better_off,
        True,
        None,
    ),
    ("sexual_assault.rape", "sa", ["~rape|raped|raping|rapist|rapes"], None, True, _sa_kind),
    (
        "sexual_assault.assault",
        "sa",
        [
            "sexually assaulted|abused|harassed|attacked|molested|exploited|coerced|assault|abuse",
            "~be|~get|been|being assaulted",
            "sexual assault|abuse|violence|exploitation",
            "~molest|molested|molesting|~grope|groped|groping|~fondle|fondled",
            "forced himself|herself on me",
            "~make|made me do|perform|give sexual|oral",
            "kept going after|when|even though|after? i said|told|asked|begged|cried",
            "n't|not|nt|never ~stop when|after|even i said|told|asked|begged|cried|was|screamed",
            "without my consent",
            "non -? consensual",
            "nonconsensual",
            "~pressure|~coerce me into sex|sleeping|having",
            "~drug|~spike|~roofie|drugged|spiked my drink|drinks",
            "roofied",
            "drugged me",
            "woke up in|next to a|some stranger|strangers|stranger 's? bed|house|room|apartment",
            "woke up naked",
            "woke up with|without my clothes|pants|underwear|shirt",
            "sexual things",
        ],
        None,
        True,
        _sa_kind,
    ),
    ("sexual_assault.forced", "sa", ["forced|force|forces|forcing me"], _forced_ok, True, None),
    (
        "abuse.verb",
        "abuse",
        [
            "~hit|~beat|~punch|~slap|~kick|~choke|~strangle|~shove|~push|~hurt|~abuse|~burn|~whip|~smack|"
            "~attack|~batter|"
            "~bruise|~threaten|~starve|~strike|~spank|~grab|~pin|~rape|~molest|~grope|~touch|~fondle|~force|"
            "hitting|"
            "~throw|threw|~slam|~drag|beating|beaten|punching|slapping|kicking|choking|shoving|pushing|"
            "hurting|abusing|threatening|"
            "touching "
            "up|down|around? @ABUSE_OBJ",
            "~abuse|abusing|abused|~hurt|hurting|~beat|beating their|his|her|the|my|our|a @CHILD",
            "~throw|threw _? _? at me",
            "~hit|~beat|~punch|~slap|~kick|~choke|~strangle|~hurt|~abuse|~attack|beating|hitting|beaten|"
            "abusing|hurting "
            "my @FAMILYOBJ and|& me",
            "~hit|~beat|~punch|~slap|~kick|~choke|~strangle|~abuse|~attack|beating|hitting|beaten|abusing my "
            "@FAMILYOBJ",
            "~lock|locks|locked me",
            "~threaten|threatened|threatens|threatening to",
        ],
        None,
        True,
        _abuse_kind,
    ),
    (
        "domestic_violence.phrase",
        "dv",
        [
            "domestic violence|abuse",
            "abusive relationship|marriage|partner|husband|wife|boyfriend|girlfriend|ex|bf|gf",
            "intimate partner violence|abuse",
            "~be|being|been|getting abused",
            "~beat|beaten|hit|punched|slapped|choked|attacked up? by my|her|his? @PARTNER",
            "afraid|scared|terrified of my @PARTNER",
        ],
        None,
        True,
        _dv_kind,
    ),
    (
        "domestic_violence.phrase",
        "dv",
        [
            "afraid|scared|terrified that? he|she|they 'll|will|is|'s|might|gon going|na? to? ~kill|~hurt|"
            "~hit|~beat me",
            "@PARTNER|he|she will|'ll|might|would ~hurt|~hit|~beat me",
        ],
        None,
        True,
        _dv_kind,
    ),
    (
        "child_abuse.phrase",
        "child",
        [
            "child abuse",
            "~do|does|did|doing stuff|things|something to me",
            "our little? secret",
            "inappropriate pictures|pics|photos|messages|texts|videos|things",
            "nudes|nude",
            "~bruise|bruises|welts|marks|burns",
            "without food",
            "n't|not|nt ~feed me",
        ],
        None,
        True,
        None,
    ),
]

_TABLE_EXTRA_SETS = {
    "SUICIDE": ("sucide", "suiside", "suicid", "suicde", "suecide", "suicied", "sucicide", "suicidee"),
    "SUICIDAL": (
        "suicdal",
        "suicidial",
        "suicidle",
        "sucidal",
        "suisidal",
        "suicidel",
        "suiciadal",
        "suicidall",
        "suicial",
        "sucicidal",
        "suicidaal",
        "suicida1",
    ),
}
_SETS.update(_TABLE_EXTRA_SETS)

_CANONICAL = {"kill", "killing", "killed", "kills", "myself", "my", "self", "suicide", "suicidal"}


def caregiver_or_minor_in(ctx: _Ctx, start: int) -> bool:
    """Whether a caregiver acts in the sentence or the speaker is a minor."""
    actor, _ = _actor(ctx, start)
    return actor == "caregiver" or ctx.minor


def _child_phrase_ok(ctx: _Ctx, start: int, end: int) -> bool:
    """Child-specific phrases need an adult actor or a child in the sentence."""
    phrase = " ".join(ctx.low[start:end])
    sent = ctx.sentence(start)
    if phrase == "child abuse":
        # A general question ("do therapists have to report child abuse") is not a
        # disclosure; any first-person or caregiver wording in the sentence still is.
        general = re.search(r"\b(report\w*|mandat\w*|confidential\w*|therapists?|counsell?ors?|laws?|legal)\b", sent)
        personal = re.search(r"\b(i|me|my|mine|i'?m|i'?ve|we|us|our)\b", sent)
        return not general or bool(personal) or caregiver_or_minor_in(ctx, start)
    actor, _ = _actor(ctx, start)
    caregiver_or_minor = actor == "caregiver" or ctx.minor
    if "secret" in phrase:
        return caregiver_or_minor and bool(
            re.search(
                r"\b(touch\w*|stuff|things|body|private|hurt\w*|scared|don'?t tell|not to tell|nobody|no "
                r"one)\b",
                sent,
            )
        )
    if phrase.startswith(("bruise", "welts", "marks", "burns")):
        return bool(
            re.search(
                r"\b(mom|mum|mother|dad|father|stepdad|stepmom|parents?|uncle|aunt|babysitter|"
                r"teacher|coach|nanny)\b.{0,20}\b(did|does|gave|hit|hits|caused|done)\b",
                sent,
            )
        ) or bool(
            re.search(
                r"\b(from|because of) (his|her|their|our|my) (mom|mum|mother|dad|father|stepdad|parents?)\b",
                sent,
            )
        )
    return caregiver_or_minor


# ---------------------------------------------------------------------------
# Regex rules: Spanish, emoji and fused slang, where token patterns are awkward.
# They run on the normalised text (lowercase, accents folded).
# ---------------------------------------------------------------------------

_REGEX_RULES: List[Tuple[str, str, re.Pattern[str]]] = [
    (
        # Doubting one's own safety is a risk statement in crisis-line practice.
        "indirect.unsafe",
        "self",
        re.compile(
            r"\b(?:not sure|don'?t know if|unsure if|doubt)\s+i\s+(?:can|could|will|'ll)\s+(?:stay|keep"
            r"(?:\s+myself)?)\s+safe\b"
            r"|\b(?:can'?t|cannot|won'?t be able to)\s+(?:stay|keep(?:\s+myself)?)\s+safe\b"
            r"|\bi\s+(?:don'?t|do not)\s+feel\s+safe\s+(?:with|around)\s+myself\b"
            r"|\bi'?m\s+not\s+safe\s+(?:right now|tonight|anymore|from myself)\b"
        ),
    ),
    (
        "indirect.no_point_alive",
        "self",
        re.compile(
            r"\bno\s+(?:point|reason|use)\s+(?:in\s+)?(?:me\s+)?(?:being|staying|still being)\s+alive\b"
        ),
    ),
    (
        # "I'm in crisis" is how many people ask for help; a lone "crisis" (or a typed
        # "/crisis"), as the whole message or its last sentence, asks for the resources.
        # Someone else's or the world's crisis ("the economy is in crisis", "midlife
        # crisis") is not matched.
        "direct.in_crisis",
        "self",
        re.compile(
            r"(?:^|[.!?])[\W\d_]*crisis\W*$"
            r"|\b(?:i'?m|i am|im|i feel|feel like i'?m|i think i'?m)\s+(?:really\s+|so\s+)?in\s+(?:a\s+)?"
            r"(?:real\s+|mental\s+health\s+|serious\s+)?crisis\b"
            r"|\bhaving\s+a\s+(?:mental\s+health\s+)?crisis\b(?!\s+of\s+faith)"
        ),
    ),
    (
        "spanish.quiero_morir",
        "infer",
        re.compile(
            r"\b(?:me\s+)?(?:quiero|kiero|quisiera|deseo|necesito|voy\s+a)\s+(?:morir(?:me)?|"
            r"estar\s+muert[oa]s?)\b"
            r"(?!\s+de\s+(?:hambre|risa|verguenza|sueno|frio|calor|aburrimiento|amor))"
            r"|\bganas\s+de\s+(?:morir(?:me)?|matarme|suicidarme|no\s+vivir|desaparecer)\b"
            r"|\bme\s+quiero\s+desaparecer\b"
        ),
    ),
    (
        "spanish.quiero_matarme",
        "infer",
        re.compile(
            r"\bme\s+(?:quiero|voy\s+a|pienso|gustaria|dan\s+ganas\s+de)\s+matar\b"
            r"|\b(?:quiero|voy\s+a|pienso|deseo|necesito|intentar|intente|intento|pensando\s+en|pienso\s+en|"
            r"ganas\s+de)\s+matarme\b"
        ),
    ),
    (
        "spanish.suicidarme",
        "infer",
        re.compile(
            r"\b(?:suicidarme|suicidarse|me\s+voy\s+a\s+suicidar|me\s+quiero\s+suicidar|soy\s+suicida|"
            r"pensamientos\s+suicidas|(?:en|el)\s+suicidio(?!\s+(?:prevencion|estadistic)))\b"
        ),
    ),
    ("spanish.quitarme_la_vida", "infer", re.compile(r"\bquitar(?:me|se)?\s+la\s+vida\b")),
    (
        "spanish.no_quiero_vivir",
        "infer",
        re.compile(
            r"\b(?:ya\s+)?no\s+(?:quiero|deseo|puedo)\s+(?:seguir\s+)?(?:vivir|viviendo|estar\s+viv[oa]|"
            r"existir|"
            r"despertar(?:me)?)\b(?!\s+(?:en|con|aqui|alli|alla|cerca|lejos|juntos))"
            r"|\b(?:ya\s+)?no\s+quiero\s+(?:estar|seguir)\s+(?:aqui|en\s+este\s+mundo|en\s+esta\s+vida)\b"
            r"(?!\s+(?:en|con|contigo|trabajando|estudiando))"
        ),
    ),
    (
        "spanish.sin_razones",
        "infer",
        re.compile(
            r"\bno\s+tengo\s+(?:razon(?:es)?|motivos?|nada)\s+(?:para|por\s+(?:lo\s+)?que)\s+vivir\b"
            r"|\bno\s+vale\s+la\s+pena\s+vivir\b|\bno\s+aguanto\s+mas\s+(?:la\s+vida|vivir)\b"
            r"|\b(?:estarian|estarias|estaria|estan|serian|seria|vivirian)\s+mejor\s+sin\s+mi\b"
            r"|\bcansad[oa]s?\s+de\s+(?:vivir|la\s+vida|existir|estar\s+viv[oa])\b"
            r"|\bseria\s+mejor\s+si\s+(?:yo\s+)?(?:no\s+estuviera|muriera|desapareciera|no\s+existiera)\b"
            r"|\b(?:soy|me\s+siento)\s+(?:una\s+)?carga\b"
        ),
    ),
    (
        "spanish.pastillas",
        "infer",
        re.compile(
            r"\b(?:tomar(?:me)?|tome|tragar(?:me)?|trague)\s+(?:todas|un\s+frasco|muchas|el\s+frasco|"
            r"la\s+caja)\s+"
            r"(?:(?:las|mis|de)\s+)?(?:pastillas|pildoras|medicinas|medicamentos)?|\bsobredosis\b"
        ),
    ),
    (
        "spanish.autolesion",
        "infer",
        re.compile(
            r"\b(?:me\s+corto|cortarme|me\s+cort[eo]|me\s+lastimo|lastimarme|hacerme\s+dano|autolesion\w*)\b"
            r"(?!\s+(?:el|la|las|los)\s+(?:pelo|cabello|flequillo|unas|dedo))"
        ),
    ),
    (
        "spanish.violacion",
        "sa",
        re.compile(r"\b(?:me\s+violaron|me\s+violo|fui\s+violad[ao]|abuso\s+sexual)\b"),
    ),
    (
        "spanish.violencia",
        "dv",
        re.compile(
            r"\bmi\s+(?:esposo|marido|novio|pareja|esposa|novia|ex)\s+me\s+(?:pega|golpea|maltrata|amenaza)\b"
        ),
    ),
    (
        "spanish.abuso_infantil",
        "child",
        re.compile(
            r"\bmi\s+(?:papa|padre|mama|madre|padrastro|madrastra|tio)\s+me\s+(?:pega|golpea|toca|maltrata)\b"
        ),
    ),
    ("emoji.pills", "infer", re.compile(r"💊(?:\s*💊){2,}")),
    ("emoji.pills", "infer", re.compile(r"\b(\d{1,4})\s*x?\s*💊|💊\s*x?\s*(\d{1,4})\b")),
    (
        "emoji.pills",
        "infer",
        re.compile(r"\b(?:all|these|every|bunch|handful|bottle|how many|enough|whole)\b[^.?!💊]{0,20}💊"),
    ),
    (
        "emoji.pills",
        "infer",
        re.compile(
            r"💊[^.?!]{0,40}\b(?:die|dying|dead|death|end it|the end|goodbye|bye|forever|kill|kms|"
            r"overdose|no more|"
            r"wake up|enough|suicide|unalive)\b|\b(?:die|dying|dead|death|end it|the end|goodbye|bye|forever|"
            r"kill|kms|"
            r"overdose|no more|wake up|enough|suicide|unalive)\b[^.?!]{0,40}💊|💊[^.?!]{0,20}[🪦⚰☠💀]|"
            r"[🪦⚰☠💀][^.?!]{0,20}💊"
        ),
    ),
    (
        "emoji.weapon",
        "self",
        re.compile(
            r"(?:🔫|🔪|🪢|🗡|⚰|🪦|☠)\s*(?:myself|my self|me\b|my head|my wrists?)"
            r"|\b(?:want|wanna|gonna|going|need)\s*(?:to\s*)?(?:🔫|🔪|🪢|🗡)"
            r"|(?:🔫|🔪|🪢)\s*(?:😵|💀|☠|🪦|⚰|🤯|😔|😞|😢|😭|🩸)"
        ),
    ),
    (
        "slang.wan2die",
        "infer",
        re.compile(r"\b(?:wann?a|want|wan)\s*(?:2|to|ta)?\s*(?:die+|dy)\b(?!\s+(?:of|laughing))"),
    ),
    (
        "slang.kys",
        "self",
        re.compile(
            r"\b(?:myself|i\s+(?:should|will|'ll|might|wanna|want\s+to|need\s+to|am\s+going\s+to|"
            r"'m\s+going\s+to|"
            r"'m\s+gonna|am\s+gonna|gotta|could|just))\s+(?:to\s+)?(?:just\s+)?kys\b|\b(?:telling|tell|"
            r"told)\s+"
            r"myself\s+(?:to\s+)?kys\b"
        ),
    ),
    (
        "slang.sewer_slide",
        "infer",
        re.compile(
            r"\bs(?:e|oo|ue|ew)wer\s*-?\s*slid(?:e|es|ing)\b|\bsewerslide\b|\bsewer\s*side\b|\bsooicide\b"
            r"|\bself[\s-]*delet(?:e|ing|ion)\b(?!\s+(?:my|the|this|an?|your)\s+(?:account|post|profile|app))"
            r"|\btoaster\s*bath\b|\bkermit\s+sewer|\bneck\s+myself\b|\brope\s+myself\b"
        ),
    ),
    (
        "past_attempt.this_time",
        "self",
        re.compile(
            r"\b(?:this|next)\s+time\s+(?:i\s*(?:'ll|'d|will|would|am going to|'m going to|'m gonna)\s+)?"
            r"(?:do it right|get it right|make sure|succeed|finish it|won'?t fail|not fail)\b"
            r"(?=.*)"
        ),
    ),
    (
        "method_seeking.heights",
        "self",
        re.compile(
            r"\b(?:bridges?|buildings?|towers?|roofs?|rooftops?|cliffs?|overpass(?:es)?|parking (?:garages?|"
            r"structures?|"
            r"decks?)|skyscrapers?|balcon(?:y|ies)|high[- ]?rises?)\b[^.?!]{0,40}\b(?:taller|higher|over \d|"
            r"above \d|at "
            r"least|more than|roof access|open roof|access to the roof|without (?:fences?|barriers?|nets?|"
            r"railings?))"
            r"|\b(?:tallest|highest)\s+(?:bridges?|buildings?|towers?|roofs?|cliffs?|overpass\w*|parking|"
            r"skyscrapers?|"
            r"structures?|places? to jump|point (?:to|i could) jump)"
            r"|\bhow (?:tall|high) is (?:the |that |this )?[\w ]{0,30}?(?:bridge|building|tower|roof|cliff|"
            r"overpass)"
            r"|\broof access\b"
            r"|\b(?:bridges?|buildings?|towers?|roofs?|cliffs?|overpass\w*|floors?|balcon\w*|windows?|parking"
            r" garages?)\b"
            r"[^.?!]{0,40}\b(?:highest|tallest|high enough|tall enough|far enough)\b"
            r"|\b(?:high|tall) enough\b[^.?!]{0,30}\b(?:jump|fall|die|kill)"
            r"|\b(?:nearest|closest)\s+(?:cliffs?|bridges?|tall buildings?|high bridges?|rooftops?|"
            r"skyscrapers?|"
            r"train tracks|railway)"
            r"|\b(?:fall|drop|jump)\b[^.?!]{0,40}\b(?:fatal|lethal|deadly|survivable|survive|kill|die)\b"
            r"|\b(?:jump|jumping|fall|falling)\s+(?:from|off)\s+(?:the\s+|a\s+)?\d+(?:st|nd|rd|"
            r"th)?\s+(?:floor|stor)"
            r"|\b\d+\s*(?:meters?|metres?|m|feet|ft|stor(?:y|ies|eys?)|floors?)\b[^.?!]{0,30}\b(?:fall|jump|"
            r"drop)\b"
        ),
    ),
    (
        "method_seeking.compare",
        "self",
        re.compile(
            r"\b(?:hanging|pills|overdos\w*|jumping|drowning|guns?|shooting|bleeding out|carbon "
            r"monoxide)\s*,?\s*"
            r"(?:or|vs\.?|versus)\s+(?:hanging|pills|overdos\w*|jumping|drowning|guns?|shooting|bleeding out|"
            r"carbon monoxide)\b"
        ),
    ),
    (
        "method_seeking.dangerous_meds",
        "self",
        re.compile(
            r"\b(?:most dangerous|deadliest|most lethal|most toxic)\b[^.?!]{0,40}\b(?:meds|medications?|pills"
            r"|drugs|"
            r"medicines?)\b|\b(?:meds|medications?|pills|drugs|medicines?)\b[^.?!]{0,40}\b(?:most dangerous|"
            r"deadliest|"
            r"most lethal|most toxic)\b"
        ),
    ),
]

_SEEKING_RE = re.compile(
    r"\?|\b(what|whats|which|where|wheres|how|list|tell me|find|show me|near|nearest|closest|around here|"
    r"nearby|in my (city|town|area)|access|can i|could i|get onto|get on|jump|fall)\b"
)
#: Height questions that are trivia or recreation (ignored unless the message also reports a loss).
_TRIVIA_RE = re.compile(
    r"\b(in the world|on earth|ever built|in history|trivia|curious|fun fact|architecture|architect\w*|"
    r"engineer\w*|"
    r"climbed|climbing|hiked|hiking|visited|visit|tour|tourist|sightseeing|photos?|view|views|we saw|homework"
    r"|"
    r"school project|quiz)\b"
)

#: Cheap literal pre-checks: a regex rule only runs when one of its literals occurs.
_REGEX_GATES: Dict[str, Tuple[str, ...]] = {
    "spanish": (
        "quier",
        "kiero",
        "quisiera",
        "deseo",
        "necesito",
        "voy a",
        "ganas",
        "matar",
        "suicid",
        "vida",
        "vivir",
        "viviendo",
        "despertar",
        "existir",
        "estar",
        "razon",
        "motivo",
        "vale la pena",
        "aguanto",
        "mejor sin",
        "seria mejor",
        "carga",
        "cansad",
        "pastillas",
        "pildoras",
        "medic",
        "sobredosis",
        "cort",
        "lastim",
        "dano",
        "autolesion",
        "viol",
        "abuso",
        "pega",
        "golpea",
        "maltrata",
        "amenaza",
        "toca",
    ),
    "emoji.pills": ("💊",),
    "emoji.weapon": ("🔫", "🔪", "🪢", "🗡", "⚰", "🪦", "☠"),
    "slang.wan2die": ("wan",),
    "slang.kys": ("kys",),
    "slang.sewer_slide": ("sewer", "slid", "sooicide", "delet", "toaster", "kermit", "neck", "rope myself"),
    "past_attempt.this_time": ("time",),
    "method_seeking.heights": (
        "bridge",
        "build",
        "tower",
        "roof",
        "cliff",
        "overpass",
        "parking",
        "skyscraper",
        "balcon",
        "rise",
        "tall",
        "high",
        "fall",
        "drop",
        "jump",
        "nearest",
        "closest",
    ),
    "method_seeking.compare": (" or ", " vs", "versus"),
    "method_seeking.dangerous_meds": ("dangerous", "deadliest", "lethal", "toxic"),
}

_GATE_RES: Dict[str, re.Pattern[str]] = {
    key: re.compile("|".join(re.escape(literal) for literal in literals))
    for key, literals in _REGEX_GATES.items()
}

#: The same rule is evaluated at most this often per message: a 9,000-pill-emoji paste
#: must not cost 9,000 evaluations, and a rule that fails 32 times in a row at different
#: places is very unlikely to succeed on the 33rd.
_MAX_EVALS_PER_RULE = 32

_PASTTENSE_ATTEMPT = {"tried", "attempted", "tryed", "trying", "try", "attempt", "attempting"}


# ---------------------------------------------------------------------------
# The detector
# ---------------------------------------------------------------------------


class CrisisDetector:
    """Find suicide, self-harm and abuse risk in a user message.

    ``detect`` returns ``None`` for harmless messages and otherwise the most urgent
    :class:`Detection`. When several rules fire, the kind is chosen in the order
    ``self`` > ``other_person`` > ``child_abuse`` > ``sexual_assault`` >
    ``domestic_violence``: a person who discloses abuse *and* suicidal thoughts gets
    the suicide resources (the most time-critical) first, and someone worried about a
    friend while also at risk themself is treated as at risk.

    Build one instance per process and reuse it: the constructor loads spaCy's lookup
    tables (about half a second); ``detect`` takes a fraction of a millisecond for
    chat-length messages. Call it from one thread at a time (spaCy's string store grows
    as new words are seen); Rasa runs NLU components and actions that way.
    """

    def __init__(self) -> None:
        self._nlp = spacy.blank("en")
        # spaCy splits dashes only between letters, so "my life-" or "-die" would hide the
        # word from every rule; runs of dashes and similar marks around words are split off.
        extra = [r"[-–—_~*=#|]+"]
        tokenizer = self._nlp.tokenizer
        tokenizer.prefix_search = spacy.util.compile_prefix_regex(list(self._nlp.Defaults.prefixes) + extra).search
        tokenizer.suffix_search = spacy.util.compile_suffix_regex(list(self._nlp.Defaults.suffixes) + extra).search
        self._nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        self._nlp.initialize()
        self._lemmatizer = self._nlp.get_pipe("lemmatizer")
        # Single-word term lists (drug names, slang, weapons) go to one PhraseMatcher, which
        # looks words up by hash. Every other token pattern gets its own small Matcher that
        # runs only when *each* of the pattern's required tokens has one of its words in the
        # message, and then only on windows around its rarest ("anchor") word. One Matcher
        # holding all patterns evaluates every Python set predicate at every token (~0.7 ms
        # per message); gating keeps detection well under the 1 ms budget.
        self._phrases = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._gated: List[_Gated] = []
        self._anchor_index: Dict[str, List[int]] = {}
        self._rules: Dict[str, _Rule] = {}
        table = self._lemmatizer.lookups.get_table("lemma_lookup")

        def lemma_of(word: str) -> str:
            return str(table.get(word, word))

        for index, (rule, mode, specs, check, negatable, kind_fn) in enumerate(_TABLE):
            key = f"{rule}#{index}"
            if rule == "child_abuse.phrase":
                check = _child_phrase_ok
            self._rules[key] = _Rule(rule, mode, check, negatable, kind_fn)
            for spec in specs:
                pattern = _pat(spec, lemma_of)
                if len(pattern) == 1 and set(pattern[0]) == {"LOWER"}:
                    lower = pattern[0]["LOWER"]
                    words = lower["IN"] if isinstance(lower, dict) else [lower]
                    self._phrases.add(key, list(self._nlp.tokenizer.pipe(words)))
                    continue
                required = _required_sets(pattern)
                if not required:
                    raise ValueError(f"pattern {spec!r} of {rule} has no required word")
                anchor = min(required, key=_anchor_weight)
                matcher = Matcher(self._nlp.vocab, validate=True)
                matcher.add(key, [pattern])
                gated_id = len(self._gated)
                self._gated.append(_Gated(matcher, anchor, tuple(required), len(pattern)))
                for word in anchor:
                    self._anchor_index.setdefault(word, []).append(gated_id)

    # -- public API ----------------------------------------------------------------
    def detect(self, text: str) -> Detection | None:
        """Return the most urgent crisis signal in ``text``, or ``None``."""
        return self.screen(text)[0]

    def screen(self, text: str) -> Tuple[Detection | None, bool]:
        """The most urgent crisis signal, and whether risk wording was seen and negated.

        The second value is True for "I'm not suicidal, just curious": the wording was
        considered and the speaker negated it. The NLU guard then does not let a
        word-counting classifier, which cannot read negation, overrule that judgement.
        Only explicit negation vetoes the classifier; a rule that merely did not match
        its context ("there's no point in me being alive") leaves the classifier free.

        Never raises on string input: an internal error in a rule must not turn into
        a crash of the conversation, so the message is re-checked with the regex layer
        only (see ``_fallback``) rather than silently treated as harmless.
        """
        norm = _prepare(text)
        if not norm:
            return None, False
        rejected: List[str] = []
        try:
            found = self._all(norm, rejected)
        except Exception:  # pragma: no cover - defensive; see docstring
            return self._fallback(norm), False
        if not found:
            return None, bool(rejected)
        found.sort(key=lambda item: (_RANK[item[0].kind], item[1]))
        return found[0][0], False

    def analyse(self, text: str) -> List[Detection]:
        """Return every detection in ``text`` (most urgent first), for evaluation and debugging."""
        norm = _prepare(text)
        if not norm:
            return []
        found = self._all(norm)
        found.sort(key=lambda item: (_RANK[item[0].kind], item[1]))
        seen: Set[Detection] = set()
        ordered: List[Detection] = []
        for det, _ in found:
            if det not in seen:
                seen.add(det)
                ordered.append(det)
        return ordered

    # -- internals -------------------------------------------------------------------
    def _doc(self, norm: str) -> Doc:
        return self._lemmatizer(self._nlp.make_doc(norm))

    def _all(self, norm: str, rejected: List[str] | None = None) -> List[Tuple[Detection, int]]:
        """Every detection with its token position.

        ``rejected`` collects the ids of rules whose wording matched but that the speaker
        negated ("I'm not suicidal").
        """
        doc = self._doc(norm)
        ctx = _Ctx(doc, norm)
        found: List[Tuple[Detection, int]] = []
        seen: Dict[str, int] = {}
        for key, start, end in self._token_matches(doc, ctx):
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > _MAX_EVALS_PER_RULE:
                continue
            det = self._evaluate(ctx, self._rules[key], start, end, rejected)
            if det is not None:
                found.append((det, start))
        gates: Dict[str, bool] = {}
        for rule, mode, pattern in _REGEX_RULES:
            gate_key = "spanish" if rule.startswith("spanish.") else rule
            if gate_key in _GATE_RES:
                if gate_key not in gates:
                    gates[gate_key] = _GATE_RES[gate_key].search(norm) is not None
                if not gates[gate_key]:
                    continue
            evaluated = 0
            for m in pattern.finditer(norm):
                evaluated += 1
                if evaluated > _MAX_EVALS_PER_RULE:
                    break
                if rule == "emoji.pills" and m.lastindex:
                    count = next((g for g in m.groups() if g), None)
                    if count is not None and int(count) < 5:
                        continue
                if rule == "past_attempt.this_time" and not re.search(r"\b(tried|attempt\w*)\b", norm):
                    continue
                if rule == "method_seeking.heights" and not ctx.flag("loss", _LOSS_RE):
                    if ctx.flag("trivia", _TRIVIA_RE):
                        continue
                    if re.search(r"tallest|highest", m.group(0)) and not _SEEKING_RE.search(norm):
                        continue  # a statement ("the tallest building in dubai is impressive"), not a search
                span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
                if span is None:
                    start, end = 0, len(doc)
                else:
                    start, end = span.start, span.end
                det = self._evaluate(
                    ctx,
                    _Rule(rule, mode, None, rule.startswith(("slang", "spanish.s", "emoji"))),
                    start,
                    end,
                    rejected,
                )
                if det is not None:
                    found.append((det, start))
        return found

    def _token_matches(self, doc: Doc, ctx: _Ctx) -> List[Tuple[str, int, int]]:
        """Run the PhraseMatcher and every gated Matcher whose required words all occur."""
        strings = self._nlp.vocab.strings
        positions: Dict[str, List[int]] = {}
        for i, (low, lem) in enumerate(zip(ctx.low, ctx.lem, strict=True)):
            positions.setdefault(low, []).append(i)
            if lem != low:
                positions.setdefault(lem, []).append(i)
        candidates: Set[int] = set()
        for word in positions:
            ids = self._anchor_index.get(word)
            if ids:
                candidates.update(ids)
        matches = list(self._phrases(doc))
        n = ctx.n
        present = positions.keys()
        for gated_id in candidates:
            gated = self._gated[gated_id]
            if any(req.isdisjoint(present) for req in gated.required):
                continue
            hits = sorted({i for word in gated.anchor.intersection(present) for i in positions[word]})
            windows: List[List[int]] = []
            for i in hits:
                lo, hi = max(0, i - gated.reach + 1), min(n, i + gated.reach)
                if windows and lo <= windows[-1][1]:
                    windows[-1][1] = hi
                else:
                    windows.append([lo, hi])
            for lo, hi in windows:
                for match_id, start, end in gated.matcher(doc[lo:hi]):
                    matches.append((match_id, start + lo, end + lo))
        seen: Set[Tuple[str, int, int]] = set()
        out: List[Tuple[str, int, int]] = []
        for match_id, start, end in matches:
            item = (strings[match_id], start, end)
            if item not in seen:
                seen.add(item)
                out.append(item)
        out.sort(key=lambda item: item[1])
        return out

    def _evaluate(
        self, ctx: _Ctx, rule: _Rule, start: int, end: int, negated: List[str] | None = None
    ) -> Detection | None:
        """Apply a rule's check, negation and subject logic to one match.

        ``negated`` collects the ids of rules whose match the speaker negated.
        """
        if rule.check is not None and not rule.check(ctx, start, end):
            return None
        rule_id = rule.rule
        if rule.negatable and ctx.n:
            neg = _negation(ctx, start, end)
            if neg == "negated":
                if negated is not None:
                    negated.append(rule.rule)
                return None
            if neg == "double":
                rule_id = "negation.double_negative"
        kind = self._kind(ctx, rule, start, end)
        if kind is None:
            return None
        if kind == "other_person" and ctx.flag("fiction", _FICTION_RE):
            return None  # a character in a book, film or song
        if kind == "self":
            rule_id = self._refine_self_rule(ctx, rule_id, start, end)
            if rule_id.startswith("method_seeking.") and ctx.flag("loss", _LOSS_RE):
                rule_id = "method_seeking.after_loss"
        elif kind == "other_person" and not rule_id.startswith("other_person"):
            rule_id = "other_person." + rule_id.split(".", 1)[-1]
        elif not rule_id.startswith(kind):
            rule_id = f"{kind}.{rule_id.split('.', 1)[-1]}"  # e.g. "abuse.verb" -> "domestic_violence.verb"
        return Detection(kind, rule_id)

    def _kind(self, ctx: _Ctx, rule: _Rule, start: int, end: int) -> str | None:
        if rule.kind_fn is not None:
            return rule.kind_fn(ctx, start, end)
        mode = rule.mode
        if mode == "self":
            return "self"
        if mode == "other":
            return "other_person"
        if mode in ("sa",):
            return _sa_kind(ctx, start, end)
        if mode == "dv":
            return _dv_kind(ctx, start, end)
        if mode == "child":
            return "child_abuse"
        sub = _subject(ctx, start) if ctx.n else "none"
        if mode == "infer":
            return "other_person" if sub in ("other", "generic") else "self"  # "thing"/"none"/"you": speaker
        if mode == "infer_strict":
            if _topic_only(ctx, start, end) or sub == "generic":
                return None
            return "other_person" if sub == "other" else "self"
        if mode == "topic":
            if sub == "self" or (sub in ("none", "you") and ctx.first_person):
                if _topic_only(ctx, start, end):
                    return None
                return "self"
            if sub == "other" and not _topic_only(ctx, start, end, about_other=True):
                return "other_person"
            return None
        if mode == "self_only":
            return "self" if sub in ("self", "none", "you") else None
        raise ValueError(f"unknown rule mode {mode!r}")

    @staticmethod
    def _refine_self_rule(ctx: _Ctx, rule_id: str, start: int, end: int) -> str:
        """Give past attempts and misspellings their own rule ids, for auditing."""
        prev = ctx.before(start, 2)
        if any(w in _PASTTENSE_ATTEMPT for w in prev) and rule_id.startswith(("direct.", "method.")):
            return "past_attempt." + rule_id.split(".", 1)[1]
        if rule_id.startswith("direct.") and any(
            tok.isalpha()
            and tok not in _CANONICAL
            and (tok.startswith(("ki", "kl", "my", "ms", "su", "mah")))
            for tok in ctx.low[start:end]
        ):
            return "typo." + rule_id.split(".", 1)[1]
        return rule_id

    def _fallback(self, norm: str) -> Detection | None:  # pragma: no cover - defensive
        if re.search(
            r"kill\w*\s+my\s*self|suicid|want\w*\s+to\s+die|end\w*\s+my\s+life|self[\s-]*harm", norm
        ):
            return Detection("self", "fallback.keyword")
        return None


_FICTION_RE = re.compile(
    r"\b(character|characters|novel|book|movie|film|show|series|episode|season|story|song|lyrics|play|poem|"
    r"hamlet|"
    r"anime|manga|video game|tv|netflix|documentary|plot|fiction|protagonist)\b"
)
_TOPIC_BEFORE_RE = re.compile(
    r"\b(signs|rates?|statistics|stats|stigma|prevention|history|causes|risk factors|myths|facts|essay|paper|"
    r"project|research|report|presentation|class|course|book|documentary|podcast|article|lecture|talk|study|"
    r"studies|training|awareness|movie|film|song|show) (?:of|on|about|for) $"
    r"|\b(work|works|worked|working|volunteer\w*|job|shift|intern\w*|staff|counsel\w*|answer\w*) (at|for|on|"
    r"with) "
    r"(a |the )?$"
    r"|\b(learn|learning|read|reading|understand|teach|teaching|research\w*|know more|educate|information|"
    r"info|"
    r"resources|materials|workshop|seminar) (about|on|regarding) $"
)
_TALK_ABOUT_RE = re.compile(
    r"\b(talk|talking|speak|speaking|discuss|discussing|explain|explaining|ask|asking|tell|telling|teach|"
    r"teaching|educate)\b[^.?!]*\babout $"
)
_TALK_VERBS = set(_words("talk speak discuss explain ask tell teach educate"))
_TOPIC_AFTER = set(
    _words(
        "prevention awareness rate rates statistics stats research severity scale screening assessment risk "
        "squad bereavement loss survivors survivor hotline? crisis? patients patient clients people"
    )
)
_TOPIC_AFTER.discard("hotline?")
_TOPIC_AFTER.discard("crisis?")


def _topic_only(ctx: _Ctx, start: int, end: int, about_other: bool = False) -> bool:
    """Return True when "suicide" or "self-harm" is a neutral topic, not about the speaker."""
    nxt = ctx.after(end, 1)
    if nxt and nxt[0] in _TOPIC_AFTER:
        return True
    if (
        nxt
        and nxt[0] in ("hotline", "lifeline", "helpline", "line", "crisis")
        and re.search(
            r"\b(work|works|worked|working|volunteer\w*|job|shift|intern\w*|staff)\b", ctx.sentence(start)
        )
    ):
        return True
    before = " ".join(ctx.before(start, 3)) + " "
    if about_other and _TALK_ABOUT_RE.search(" ".join(ctx.before(start, 10)) + " "):
        # "How do I talk to my teen about self-harm" (the speaker wants to talk) is a parenting
        # question; "my friend is talking about suicide" (the friend talks) is a warning sign.
        for k in range(start - 1, max(0, start - 10) - 1, -1):
            if ctx.lem[k] in _TALK_VERBS or ctx.low[k] in _TALK_VERBS:
                return _subject(ctx, k) in ("self", "you", "none")
    return bool(_TOPIC_BEFORE_RE.search(before))


def iter_rule_ids() -> Iterable[str]:
    """List the base rule ids (kind-, past-attempt- and typo-refined ids derive from these)."""
    seen: List[str] = []
    for rule, *_ in _TABLE:
        if rule not in seen:
            seen.append(rule)
    for rule, *_ in _REGEX_RULES:
        if rule not in seen:
            seen.append(rule)
    return seen
