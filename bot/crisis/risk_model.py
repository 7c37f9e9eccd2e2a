"""The crisis layer's second net: a risk model that reads wording no rule names.

Why a model beside the rules: the rules are the auditable floor, and they hold on the
wording they were written for; people at risk also write in ways nobody listed ("I made
my peace with everything", "they won't have to deal with me much longer"). A statistical
model generalises from many examples instead. It may add escalations and check-ins; it
never removes one a rule made (``bot/crisis/tiers.py`` decides).

What it is: TF-IDF n-grams with logistic regression over six classes, ``none`` and the
five kinds of crisis, fitted on the project's own data only (``training/risk_model.py``). Its risk
score is ``1 - P(none)``; the most likely kind chooses the resources. It reads a message sentence
by sentence and keeps the highest score, so one risky sentence in a long story counts as
much as the same sentence alone, and a long sad story is not judged by its loudest word
averaged over everything else.

Two thresholds turn the score into a tier; they are chosen on held-out scores of the
project's own data when the model is trained (``training/risk_model.py``, run by
``make train``), and stored beside it as data (JSON and ``.npz``, no pickle), like the
intent model. This module only loads and applies them.

The highest of many sentence scores tends to be higher than a single score, so a long
harmless story reached the check-in threshold more often than a short one (out of fold on
the project's data: 8.7% of harmless messages of 8+ pieces against 4.6% of one piece).
Each length band therefore has its own thresholds, calibrated alike, and a score is mapped
onto the common scale (piecewise linear through the band's thresholds), so the same score
means the same false-alarm rate whatever the length, and the conversation-level signals
and every caller compare with one set of thresholds.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from bot.nlu.tfidf_scorer import TfidfScorer

ROOT = Path(__file__).resolve().parents[2]
#: Where ``make train`` writes the model and the server reads it (``RISK_MODEL_DIR``).
DEFAULT_DIR = ROOT / "models" / "risk-model"
DIR_ENV_VAR = "RISK_MODEL_DIR"
NONE = "none"
_STEM = "risk_model"
_META = "risk_model_thresholds.json"

#: Sentences longer than this are read in pieces of about this many characters.
_MAX_SEGMENT_CHARS = 400
#: A message is scored whole as well as by sentence when it is at most this long.
_WHOLE_MESSAGE_CHARS = 300
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+|(?<=[;])\s+")


@dataclass(frozen=True)
class Thresholds:
    """Scores at or above ``crisis`` get the crisis reply; at or above ``check_in``, a check-in.

    A score at or above ``signal`` is a weak signal: alone it changes nothing, but weak
    signals add up over a conversation.
    """

    crisis: float
    check_in: float
    signal: float

    def points(self) -> Tuple[float, float, float]:
        """The thresholds in increasing order."""
        return self.signal, self.check_in, self.crisis


@dataclass(frozen=True)
class LengthBand:
    """The raw-score thresholds of messages scored in at most ``max_segments`` pieces (None: any)."""

    max_segments: int | None
    thresholds: Thresholds


@dataclass(frozen=True)
class RiskScore:
    """The highest risk score of a message and the most likely kind at that sentence."""

    score: float
    kind: str


def segments(text: str) -> List[str]:
    """The pieces of ``text`` the model scores: each sentence, and the whole if it is short.

    Very long sentences (a paste without punctuation) are cut into overlapping pieces so a
    risk phrase is never diluted by thousands of other words.
    """
    text = text.strip()
    if not text:
        return []
    pieces: List[str] = []
    step = _MAX_SEGMENT_CHARS // 2
    for sentence in filter(None, (s.strip() for s in _SENTENCE_END.split(text))):
        if len(sentence) <= _MAX_SEGMENT_CHARS:
            pieces.append(sentence)
        else:
            pieces.extend(sentence[i : i + _MAX_SEGMENT_CHARS] for i in range(0, len(sentence) - step, step))
    if len(text) <= _WHOLE_MESSAGE_CHARS and (len(pieces) != 1 or pieces[0] != text):
        pieces.append(text)
    return pieces


def common_scale(raw: float, pieces: int, thresholds: Thresholds, bands: Sequence[LengthBand]) -> float:
    """A raw score of a message scored in ``pieces`` pieces, mapped from its band's thresholds onto ``thresholds``."""
    band = next((b for b in bands if b.max_segments is None or pieces <= b.max_segments), None)
    if band is None:
        return raw
    return float(np.interp(raw, (0.0, *band.thresholds.points(), 1.0), (0.0, *thresholds.points(), 1.0)))


class RiskModel:
    """A trained scorer, its thresholds, and the length bands that map raw scores onto them."""

    def __init__(self, scorer: TfidfScorer, thresholds: Thresholds, bands: Sequence[LengthBand] = ()) -> None:
        """Checks that the scorer knows ``none`` and at least one kind of crisis, and the bands their order."""
        classes = [str(c) for c in scorer.classes]
        if NONE not in classes or len(classes) < 3:
            raise ValueError("a risk model needs the class 'none' and at least two kinds of crisis")
        self._scorer = scorer
        self._none = classes.index(NONE)
        self._kinds = [c for c in classes if c != NONE]
        self._kind_columns = [classes.index(c) for c in self._kinds]
        self.thresholds = thresholds
        inner = [band.max_segments for band in bands[:-1]]
        if bands and (bands[-1].max_segments is not None or None in inner or inner != sorted(set(inner))):
            raise ValueError("length bands need increasing max_segments, and the last one none")
        self.bands = tuple(bands)

    def score(self, text: str) -> RiskScore:
        """The highest risk over the message's segments, with that segment's likeliest kind."""
        pieces = segments(text)
        if not pieces:
            return RiskScore(0.0, "self")
        probabilities = self._scorer.predict_proba(pieces)
        risk = 1.0 - probabilities[:, self._none]
        best = int(np.argmax(risk))
        kind = self._kinds[int(np.argmax(probabilities[best, self._kind_columns]))]
        return RiskScore(common_scale(float(risk[best]), len(pieces), self.thresholds, self.bands), kind)

    def tier(self, score: float) -> str:
        """``crisis``, ``check_in`` or ``none`` for a score."""
        if score >= self.thresholds.crisis:
            return "crisis"
        if score >= self.thresholds.check_in:
            return "check_in"
        return "none"

    def save(self, directory: Path) -> None:
        """Writes the scorer (JSON and ``.npz``) and the thresholds (JSON)."""
        directory.mkdir(parents=True, exist_ok=True)
        self._scorer.save(directory, _STEM)
        meta = {
            **asdict(self.thresholds),
            "length_bands": [{"max_segments": b.max_segments, **asdict(b.thresholds)} for b in self.bands],
        }
        (directory / _META).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> RiskModel:
        """Reads what ``save`` wrote; a missing or odd file is an error naming the fix."""
        try:
            meta = json.loads((directory / _META).read_text(encoding="utf-8"))
            scorer = TfidfScorer.load(directory, _STEM)
        except FileNotFoundError as error:
            raise FileNotFoundError(f"no crisis risk model in {directory}: run `make train`") from error
        thresholds = _thresholds(meta, directory / _META)
        bands = [LengthBand(b["max_segments"], _thresholds(b, directory / _META)) for b in meta.get("length_bands", [])]
        return cls(scorer, thresholds, bands)


def _thresholds(meta: dict, where: Path) -> Thresholds:
    """Thresholds read from JSON, checked for order (a model whose tiers overlap must not load)."""
    thresholds = Thresholds(float(meta["crisis"]), float(meta["check_in"]), float(meta["signal"]))
    if not 0.0 < thresholds.signal <= thresholds.check_in <= thresholds.crisis <= 1.0:
        raise ValueError(f"{where}: thresholds must satisfy 0 < signal <= check_in <= crisis <= 1")
    return thresholds


def model_dir() -> Path:
    """The folder of the deployed model: ``RISK_MODEL_DIR`` or ``models/risk-model``."""
    configured = os.environ.get(DIR_ENV_VAR)
    return Path(configured) if configured else DEFAULT_DIR
