"""Finding the questions in a message that says more than one thing.

People write "Is online therapy private? I want to die and don't know who else to tell",
or tell their situation for five sentences and then ask. Classifying the whole text
follows its loudest words; classifying each question follows what is asked.
"""

from __future__ import annotations

import re
from typing import List

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_QUESTION_START = re.compile(
    r"^(how|what|when|where|which|who|why|is|are|am|can|could|do|does|did|should|will|would|may|might|"
    r"have|has|any|anyone)\b",
    re.IGNORECASE,
)
#: More sentences than this and the message is read as one text (a pasted document).
MAX_SENTENCES = 40


def question_sentences(text: str) -> List[str]:
    """The sentences of ``text`` that ask something, when it has more than one sentence.

    A sentence asks when it ends with "?" or starts with a question word. A message of
    one sentence returns nothing: its whole text is already the question.
    """
    sentences = [s.strip() for s in _SENTENCE.findall(text) if any(ch.isalnum() for ch in s)]
    if len(sentences) < 2 or len(sentences) > MAX_SENTENCES:
        return []
    return [s for s in sentences if s.endswith("?") or _QUESTION_START.match(s)]


_QUESTION_WORDS = (
    r"how|what|whats|what's|when|where|which|who|why|is|are|am|can|could|do|does|did|should|will|would|may|"
    r"might|has|have"
)
#: A new question inside one sentence: "how long is a session and what does it cost?"
_CLAUSE_BREAK = re.compile(
    rf"(?:[,;]\s*|\s+)(?:and|also|plus|but|or)\s+(?:also\s+)?(?=(?:{_QUESTION_WORDS})\b)", re.IGNORECASE
)
#: Fewer words than this and a part is not read as a question of its own ("and how?").
MIN_CLAUSE_WORDS = 3


def asked_text(text: str) -> str | None:
    """What a message of several sentences asks: its question sentences, joined.

    A story followed by a question ("My mum died in March. I can't sleep. Is it normal to
    need help for grief?") is classified by what it asks, not by its loudest words. ``None``
    for a message of one sentence or one that asks nothing recognisable as a question.
    """
    questions = question_sentences(text)
    return " ".join(questions) if questions else None


def question_clauses(text: str) -> List[str]:
    """The separate questions of a message, when it asks more than one; else ``[]``.

    Question sentences first (or the whole text for one sentence), then each split where
    "and/also/plus/but/or" starts a new question.
    """
    sentences = question_sentences(text) or [text]
    parts: List[str] = []
    for sentence in sentences:
        for part in _CLAUSE_BREAK.split(sentence):
            if len(part.split()) >= MIN_CLAUSE_WORDS:
                parts.append(part.strip())
    return parts if len(parts) >= 2 else []
