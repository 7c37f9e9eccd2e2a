"""The crisis layer's second net: a risk model that reads wording no rule names.

Why a model beside the rules: the rules are the auditable floor, and they hold on the
wording they were written for; people at risk also write in ways nobody listed ("I made
my peace with everything", "they won't have to deal with me much longer"). A statistical
model generalises from many examples instead. It may add escalations and check-ins; it
never removes one a rule made (``bot/crisis/tiers.py`` decides).

What it is: TF-IDF word 1-2-grams and character 3-5-grams with logistic regression over six classes,
``none`` and the five kinds of crisis, trained only on the project's own data (the crisis
corpus and first-contact batches in ``tests/crisis``, and the NLU data ``data/nlu*.yml``,
whose ordinary questions in people's own voices teach it that a long, worried question
about therapy is not a disclosure). Its risk score
is ``1 - P(none)``; the most likely kind chooses the resources. It reads a message sentence
by sentence and keeps the highest score, so one risky sentence in a long story counts as
much as the same sentence alone, and a long sad story is not judged by its loudest word
averaged over everything else.

Two thresholds turn the score into a tier. They are chosen on held-out scores of the
project's own data (never eval-real): the data is split five ways by a hash of the text,
each fifth is scored by a model fitted on the other four, and on those out-of-fold scores
of the harmless messages written to look risky (the must-not corpus and the batches'
harmless rows) the crisis threshold is the lowest at which at most
``CRISIS_FALSE_ALARMS`` of them would get the crisis reply, the check-in threshold the
lowest at which at most ``ANY_FALSE_ALARMS`` would get either. The model is then fitted on
everything and stored as data with its thresholds (JSON and ``.npz``, no pickle), like the
intent model: ``python -m bot.crisis.risk_model``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from bot.nlu.tfidf_scorer import TfidfScorer, build_pipeline

ROOT = Path(__file__).resolve().parents[2]
#: Where ``make train`` writes the model and the server reads it (``RISK_MODEL_DIR``).
DEFAULT_DIR = ROOT / "models" / "risk-model"
DIR_ENV_VAR = "RISK_MODEL_DIR"
NONE = "none"
_STEM = "risk_model"
_META = "risk_model_thresholds.json"

#: Largest share of held-out harmless messages allowed to get the crisis reply from the model.
CRISIS_FALSE_ALARMS = 0.01
#: Largest share allowed to get the crisis reply or a check-in from the model. Chosen by
#: leaving each second-round batch (H, I) out of training in turn and scoring it as at first
#: contact: 3% gave 79.8% safe responses at 13.5% false alarms (both batches averaged), 5%
#: gave 85.0% at 13.8%, 8% gave 90.3% at 17.3%. 5% is the knee: the check-in question
#: reaches five more people in a hundred at risk for a quarter-point more false alarms.
ANY_FALSE_ALARMS = 0.05
#: Largest share counted as a weak signal, which adds up over a conversation
#: (``bot/crisis/conversation.py``: two weak signals among six messages ask a check-in).
SIGNAL_FALSE_ALARMS = 0.15
#: Regularisation: weaker than the intent model's, because the classes overlap more.
_C = 10.0
#: Character 3-5-grams: as good as 2-5-grams on out-of-fold scores of the project's data,
#: and a quarter fewer n-grams to look up per message.
_CHAR_NGRAMS = (3, 5)
_MAX_ITER = 3000
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
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence) <= _MAX_SEGMENT_CHARS:
            pieces.append(sentence)
            continue
        step = _MAX_SEGMENT_CHARS // 2
        for start in range(0, len(sentence) - step, step):
            pieces.append(sentence[start : start + _MAX_SEGMENT_CHARS])
    if len(text) <= _WHOLE_MESSAGE_CHARS and (len(pieces) != 1 or pieces[0] != text):
        pieces.append(text)
    return pieces


class RiskModel:
    """A trained scorer and its thresholds."""

    def __init__(self, scorer: TfidfScorer, thresholds: Thresholds) -> None:
        """Checks that the scorer knows ``none`` and at least one kind of crisis."""
        classes = [str(c) for c in scorer.classes]
        if NONE not in classes or len(classes) < 3:
            raise ValueError("a risk model needs the class 'none' and at least two kinds of crisis")
        self._scorer = scorer
        self._none = classes.index(NONE)
        self._kinds = [c for c in classes if c != NONE]
        self._kind_columns = [classes.index(c) for c in self._kinds]
        self.thresholds = thresholds

    def score(self, text: str) -> RiskScore:
        """The highest risk over the message's segments, with that segment's likeliest kind."""
        pieces = segments(text)
        if not pieces:
            return RiskScore(0.0, "self")
        probabilities = self._scorer.predict_proba(pieces)
        risk = 1.0 - probabilities[:, self._none]
        best = int(np.argmax(risk))
        return RiskScore(float(risk[best]), self._kinds[int(np.argmax(probabilities[best, self._kind_columns]))])

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
        meta = {name: getattr(self.thresholds, name) for name in ("crisis", "check_in", "signal")}
        (directory / _META).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> RiskModel:
        """Reads what ``save`` wrote; a missing or odd file is an error naming the fix."""
        try:
            meta = json.loads((directory / _META).read_text(encoding="utf-8"))
            scorer = TfidfScorer.load(directory, _STEM)
        except FileNotFoundError as error:
            raise FileNotFoundError(f"no crisis risk model in {directory}: run `make train`") from error
        thresholds = Thresholds(float(meta["crisis"]), float(meta["check_in"]), float(meta["signal"]))
        if not 0.0 < thresholds.signal <= thresholds.check_in <= thresholds.crisis <= 1.0:
            raise ValueError(f"{directory / _META}: thresholds must satisfy 0 < signal <= check_in <= crisis <= 1")
        return cls(scorer, thresholds)


def model_dir() -> Path:
    """The folder of the deployed model: ``RISK_MODEL_DIR`` or ``models/risk-model``."""
    configured = os.environ.get(DIR_ENV_VAR)
    return Path(configured) if configured else DEFAULT_DIR


# ---------------------------------------------------------------------------
# Training (``make train``); reads the project's own data only
# ---------------------------------------------------------------------------


_FOLDS = 5


def _fold(text: str) -> int:
    """A stable fold of a message, chosen by hash so every machine splits alike."""
    return hashlib.sha256(text.encode("utf-8")).digest()[0] % _FOLDS


def training_rows() -> List[Tuple[str, str, bool]]:
    """``(label, text, hard_negative)`` from the crisis corpus, the batches and every NLU file.

    ``hard_negative`` marks harmless messages written to look risky (the must-not corpus
    and the batches' ``none`` rows): the thresholds are set on those, not on easy questions.
    """
    import yaml

    from evaluation import corpus

    rows: List[Tuple[str, str, bool]] = []
    for categories in corpus.load_escalate().values():
        rows += [(c.kind or "self", m, False) for c, m in corpus.iter_messages(categories)]
    rows += [(NONE, m, True) for _, m in corpus.iter_messages(corpus.load_must_not())]
    for batch in corpus.load_first_contact():
        rows += [(label, text, label == NONE) for label, text in batch.rows]
    for path in sorted((ROOT / "data").glob("nlu*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" not in block:
                continue
            label = "self" if block["intent"] == "crisis" else NONE
            for line in str(block.get("examples", "")).splitlines():
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip().removeprefix("- ").strip())
                if text:
                    rows.append((label, text, False))
    return rows


def _expand(rows: Sequence[Tuple[str, str, bool]]) -> Tuple[List[str], List[str]]:
    """Texts and labels to fit on: every message, and each sentence of a harmless one.

    A sentence of a harmless message is harmless too, so the model learns what a safe
    sentence of a sad story looks like; sentences of a risky message are not labelled,
    since only one of them may carry the risk.
    """
    texts, labels = [], []
    for label, text, _hard in rows:
        texts.append(text)
        labels.append(label)
        if label == NONE:
            for piece in segments(text):
                if piece != text:
                    texts.append(piece)
                    labels.append(NONE)
    return texts, labels


def _fit(rows: Sequence[Tuple[str, str, bool]], thresholds: Thresholds) -> RiskModel:
    texts, labels = _expand(rows)
    pipeline = build_pipeline(_C, _MAX_ITER, _CHAR_NGRAMS).fit(texts, labels)
    return RiskModel(TfidfScorer.from_pipeline(pipeline), thresholds)


def _lowest_threshold(scores: Sequence[float], allowed_share: float) -> float:
    """The lowest threshold at which at most ``allowed_share`` of ``scores`` reach it."""
    ordered = sorted(scores, reverse=True)
    allowed = int(allowed_share * len(ordered))
    # Anything strictly above the (allowed+1)-th highest harmless score.
    return float(np.nextafter(ordered[allowed], 1.0)) if allowed < len(ordered) else 0.0


def calibrate(rows: Sequence[Tuple[str, str, bool]]) -> Tuple[Thresholds, Dict[str, float]]:
    """Thresholds from out-of-fold scores (each fold scored by a model fitted without it)."""
    harmless: List[float] = []
    risky: List[float] = []
    for fold in range(_FOLDS):
        model = _fit([r for r in rows if _fold(r[1]) != fold], Thresholds(1.0, 1.0, 1.0))
        for label, text, hard in rows:
            if _fold(text) != fold or not (hard or label != NONE):
                continue
            (harmless if hard else risky).append(model.score(text).score)
    thresholds = Thresholds(
        crisis=_lowest_threshold(harmless, CRISIS_FALSE_ALARMS),
        check_in=_lowest_threshold(harmless, ANY_FALSE_ALARMS),
        signal=_lowest_threshold(harmless, SIGNAL_FALSE_ALARMS),
    )
    report = {
        "held_out_harmless": len(harmless),
        "held_out_at_risk": len(risky),
        "at_risk_crisis": sum(s >= thresholds.crisis for s in risky) / max(1, len(risky)),
        "at_risk_safe": sum(s >= thresholds.check_in for s in risky) / max(1, len(risky)),
    }
    return thresholds, report


def train(out: Path) -> Dict[str, float]:
    """Calibrate, refit on all the data, store; returns the held-out figures."""
    rows = training_rows()
    thresholds, report = calibrate(rows)
    _fit(rows, thresholds).save(out)
    return {
        **report,
        "crisis_threshold": thresholds.crisis,
        "check_in_threshold": thresholds.check_in,
        "signal_threshold": thresholds.signal,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Train the risk model into ``--out`` and print the held-out calibration figures."""
    parser = argparse.ArgumentParser(description="Train the crisis risk model.")
    parser.add_argument("--out", type=Path, default=model_dir())
    args = parser.parse_args(argv)
    report = train(args.out)
    print(
        " ".join(
            f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
            for key, value in report.items()
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
