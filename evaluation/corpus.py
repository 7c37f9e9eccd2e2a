"""Loading the labelled crisis corpus shared by the tests, the evaluator and benchmarks.

The corpus lives in ``tests/crisis/*.yml``; each file maps category names to a list of
messages (and, for must-escalate files, the ``kind`` of crisis resources the reply must
offer). Keeping one loader means the tests and the printed evaluation can never disagree
about what the corpus contains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import yaml

#: Repository root (``evaluation/corpus.py`` -> ``/``).
ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "tests" / "crisis"
MUST_ESCALATE = CORPUS_DIR / "must_escalate.yml"
MUST_ESCALATE_HOLDOUT = CORPUS_DIR / "must_escalate_holdout.yml"
MUST_NOT = CORPUS_DIR / "must_not.yml"
#: Fresh batches, each scored at first contact before it joined the corpus (``label<TAB>text``).
FIRST_CONTACT_DIR = CORPUS_DIR / "first_contact"
#: Labels a batch row may carry: a kind of crisis, or ``none`` for a harmless message.
BATCH_LABELS = ("self", "other_person", "sexual_assault", "domestic_violence", "child_abuse", "none")


@dataclass(frozen=True)
class Category:
    """One labelled category: its name, expected kind (None for must-not) and messages."""

    name: str
    kind: str | None
    messages: Tuple[str, ...]


def load(path: Path) -> List[Category]:
    """Load one corpus file; raise ``ValueError`` on a malformed file rather than skip data.

    A silently skipped category would make recall look better than it is, so every
    structural problem is an error.
    """
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise ValueError(f"{path}: expected a mapping with a 'categories' mapping")
    categories: List[Category] = []
    for name, body in data["categories"].items():
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise ValueError(f"{path}: category {name!r} needs a 'messages' list")
        messages = body["messages"]
        if not messages or not all(isinstance(m, str) and m.strip() for m in messages):
            raise ValueError(f"{path}: category {name!r} has an empty or non-string message")
        kind = body.get("kind")
        if kind is not None and not isinstance(kind, str):
            raise ValueError(f"{path}: category {name!r} has a non-string kind")
        categories.append(Category(str(name), kind, tuple(messages)))
    return categories


def load_escalate(include_holdout: bool = True) -> Dict[str, List[Category]]:
    """Return the must-escalate corpora by file label ("main", and "holdout" if present)."""
    corpora = {"main": load(MUST_ESCALATE)}
    if include_holdout and MUST_ESCALATE_HOLDOUT.exists():
        corpora["holdout"] = load(MUST_ESCALATE_HOLDOUT)
    return corpora


def load_must_not() -> List[Category]:
    """Return the must-not-escalate corpus."""
    return load(MUST_NOT)


@dataclass(frozen=True)
class Batch:
    """A batch of labelled messages written fresh, kept as written."""

    name: str
    rows: Tuple[Tuple[str, str], ...]


def load_batch(path: Path) -> Batch:
    """Load one ``label<TAB>text`` batch; an unknown label or a malformed row is an error."""
    rows: List[Tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in BATCH_LABELS or not text.strip():
            raise ValueError(f"{path} line {number}: expected one of {BATCH_LABELS}, a tab and a message")
        rows.append((label, text))
    return Batch(path.stem, tuple(rows))


def load_first_contact() -> List[Batch]:
    """Every first-contact batch, in name order (none if the folder is absent)."""
    if not FIRST_CONTACT_DIR.is_dir():
        return []
    return [load_batch(path) for path in sorted(FIRST_CONTACT_DIR.glob("*.tsv"))]


def iter_messages(categories: List[Category]) -> Iterator[Tuple[Category, str]]:
    """Yield ``(category, message)`` pairs in file order."""
    for category in categories:
        for message in category.messages:
            yield category, message
