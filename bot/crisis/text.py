"""Text preparation for the crisis detector: normalisation and bounded length.

Why a module of its own: every rule, in every language, is written against the text this
module produces, so the spellings people use in distress (capitals, "k1ll", "dieeee",
zero-width characters pasted from social media, accents, full-width letters) are handled
once, here, rather than in each rule. Long messages are reduced to the parts where a
disclosure can be (head, tail, windows around risk words) so that the cost of one
message stays bounded while a disclosure buried in the middle is still seen.
"""

from __future__ import annotations

import re
import unicodedata
from typing import List, Tuple

__all__ = ["normalise", "analysed_text", "MAX_CHARS", "HEAD_TAIL_CHARS"]

#: Messages longer than this are analysed through head, tail and keyword windows.
MAX_CHARS = 10_000
#: How much of the start and of the end of a long message is always analysed.
HEAD_TAIL_CHARS = 5_000
_WINDOW_CHARS = 300
_MIDDLE_BUDGET_CHARS = 20_000

# Normalisation
# ---------------------------------------------------------------------------

_ZERO_WIDTH_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U000e0000-\U000e007f]"
)
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_APOSTROPHES = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u02bc\u02b9`\u00b4\u2032", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
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

    Normalising first means one rule covers every spelling (see the module docstring), and
    detection cannot be changed by case, spacing, obfuscation or invisible characters.
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
    strong ones first, up to ``_MIDDLE_BUDGET_CHARS``: a bounded cost, and a disclosure in
    the middle of a long message is still seen.
    """
    head, middle, tail = text[:HEAD_TAIL_CHARS], text[HEAD_TAIL_CHARS:-HEAD_TAIL_CHARS], text[-HEAD_TAIL_CHARS:]
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


def analysed_text(text: str) -> str:
    """The text the detector reads: normalised, and cut to head, tail and risk windows if long.

    A channel that must shorten an over-long message passes this on instead of cutting
    it blindly, so the assistant still sees every part where risk wording appears.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > _RAW_LIMIT:
        half = _RAW_LIMIT // 2
        text = text[:half] + " . " + text[-half:]
    norm = normalise(text)
    if len(norm) > MAX_CHARS:
        norm = _cap(norm)
    return norm
