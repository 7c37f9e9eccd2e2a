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
