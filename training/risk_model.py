"""Training the crisis risk model (``make train``): the project's own data in, a stored model out.

Why apart from ``bot/crisis/risk_model.py``: the server only loads and applies the model;
fitting and calibrating it needs the labelled corpus (``tests/crisis``, read through
``evaluation.corpus``) and scikit-learn's fitting code, none of which belongs in the
runtime image. The Docker model stage and ``make train`` run ``python -m training.risk_model``.

What is fitted: TF-IDF word 1-2-grams and character 3-5-grams with logistic regression over
six classes, ``none`` and the five kinds of crisis, on the crisis corpus and first-contact
batches in ``tests/crisis`` and the NLU data ``data/nlu*.yml`` (whose ordinary questions in
people's own voices teach it that a long, worried question about therapy is not a
disclosure). Never on eval-real.

How the thresholds are chosen: the data is split five ways by a hash of the text, each fifth
is scored by a model fitted on the other four, and on those out-of-fold scores of the
harmless messages written to look risky (the must-not corpus and the batches' harmless
rows) the crisis threshold is the lowest at which at most ``CRISIS_FALSE_ALARMS`` of them
would get the crisis reply, the check-in threshold the lowest at which at most
``ANY_FALSE_ALARMS`` would get either. The same is done within each length band
(``LENGTH_BANDS``, counted in scored pieces), so that a long harmless story is no likelier
to get a check-in than a short one. The model is then fitted on everything and stored
with its thresholds.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import yaml

from bot.crisis.risk_model import (
    NONE,
    ROOT,
    LengthBand,
    RiskModel,
    Thresholds,
    common_scale,
    model_dir,
    segments,
)
from bot.nlu.tfidf_scorer import TfidfScorer, build_pipeline, fit_single_threaded
from evaluation import corpus

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
#: Upper limits (in scored pieces, ``segments``) of the length bands calibrated apart; the
#: last band takes everything longer. Out of fold on the project's data (stop 17), 8+ pieces
#: had 8.7% false alarms with one set of thresholds, 4-7 pieces 5.5%, 1-3 pieces 3.8%. A
#: band may raise the common thresholds, never lower them: lowering them for short messages
#: (to spend their whole 5% there) raised the must-not corpus's check-ins from 8 to 18 of
#: 544, past its 3% target. With raising only, out of fold: false alarms 5.0% -> 4.4%, safe
#: responses on at-risk messages 89.9% -> 89.3%.
LENGTH_BANDS = (3, 7)
#: A band with fewer held-out harmless messages than this keeps the common thresholds.
_MIN_BAND = 200

_FOLDS = 5


def _fold(text: str) -> int:
    """A stable fold of a message, chosen by hash so every machine splits alike."""
    return hashlib.sha256(text.encode("utf-8")).digest()[0] % _FOLDS


def training_rows() -> List[Tuple[str, str, bool]]:
    """``(label, text, hard_negative)`` from the crisis corpus, the batches and every NLU file.

    ``hard_negative`` marks harmless messages written to look risky (the must-not corpus
    and the batches' ``none`` rows): the thresholds are set on those, not on easy questions.
    """
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


def _fit(rows: Sequence[Tuple[str, str, bool]], thresholds: Thresholds, bands: Sequence[LengthBand] = ()) -> RiskModel:
    texts, labels = _expand(rows)
    pipeline = fit_single_threaded(build_pipeline(_C, _MAX_ITER, _CHAR_NGRAMS), texts, labels)
    return RiskModel(TfidfScorer.from_pipeline(pipeline), thresholds, bands)


def _lowest_threshold(scores: Sequence[float], allowed_share: float) -> float:
    """The lowest threshold at which at most ``allowed_share`` of ``scores`` reach it."""
    ordered = sorted(scores, reverse=True)
    allowed = int(allowed_share * len(ordered))
    # Anything strictly above the (allowed+1)-th highest harmless score.
    return float(np.nextafter(ordered[allowed], 1.0)) if allowed < len(ordered) else 0.0


def _thresholds(harmless: Sequence[float]) -> Thresholds:
    return Thresholds(
        crisis=_lowest_threshold(harmless, CRISIS_FALSE_ALARMS),
        check_in=_lowest_threshold(harmless, ANY_FALSE_ALARMS),
        signal=_lowest_threshold(harmless, SIGNAL_FALSE_ALARMS),
    )


def _band(pieces: int) -> int:
    return next((i for i, limit in enumerate(LENGTH_BANDS) if pieces <= limit), len(LENGTH_BANDS))


def calibrate(rows: Sequence[Tuple[str, str, bool]]) -> Tuple[Thresholds, List[LengthBand], Dict[str, float]]:
    """Common and per-band thresholds from out-of-fold scores (each fold scored by a model fitted without it)."""
    harmless: List[Tuple[float, int]] = []
    risky: List[Tuple[float, int]] = []
    for fold in range(_FOLDS):
        model = _fit([r for r in rows if _fold(r[1]) != fold], Thresholds(1.0, 1.0, 1.0))
        for label, text, hard in rows:
            if _fold(text) != fold or not (hard or label != NONE):
                continue
            (harmless if hard else risky).append((model.score(text).score, len(segments(text))))
    thresholds = _thresholds([s for s, _ in harmless])
    bands = []
    for band, limit in enumerate((*LENGTH_BANDS, None)):
        scores = [s for s, pieces in harmless if _band(pieces) == band]
        own = _thresholds(scores) if len(scores) >= _MIN_BAND else thresholds
        raised = Thresholds(
            crisis=max(own.crisis, thresholds.crisis),
            check_in=max(own.check_in, thresholds.check_in),
            signal=max(own.signal, thresholds.signal),
        )
        bands.append(LengthBand(limit, raised))
    mapped = [common_scale(s, pieces, thresholds, bands) for s, pieces in risky]
    report = {
        "held_out_harmless": len(harmless),
        "held_out_at_risk": len(risky),
        "at_risk_crisis": sum(s >= thresholds.crisis for s in mapped) / max(1, len(mapped)),
        "at_risk_safe": sum(s >= thresholds.check_in for s in mapped) / max(1, len(mapped)),
    }
    return thresholds, bands, report


def train(out: Path) -> Dict[str, float]:
    """Calibrate, refit on all the data, store; returns the held-out figures."""
    rows = training_rows()
    thresholds, bands, report = calibrate(rows)
    _fit(rows, thresholds, bands).save(out)
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
