"""Text real people wrote, labelled by hand, for evaluation only (``../shared/eval-real``).

Nothing here may become training data, a rule or a test example: the figures measured on
these files say how the assistant does on strangers' words only while nobody tunes to
them. So this module loads the rows for scoring and the reports print counts (per file,
per label, per tier), never a row.

The folder is found at ``EVAL_REAL_DIR`` or at ``../shared/eval-real`` beside the checkout;
a plain clone without it gets ``None`` and the reports say the sets were skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

ROOT = Path(__file__).resolve().parents[1]
ENV_VAR = "EVAL_REAL_DIR"


@dataclass(frozen=True)
class LabelledSet:
    """One file's rows as ``(label, text)``; files without a label column get ``default``."""

    name: str
    rows: Tuple[Tuple[str, str], ...]

    def labels(self) -> List[str]:
        """The distinct labels in file order."""
        return list(dict.fromkeys(label for label, _ in self.rows))


def directory() -> Path | None:
    """The eval-real folder, or ``None`` when this machine does not have it."""
    configured = os.environ.get(ENV_VAR)
    path = Path(configured) if configured else ROOT.parent / "shared" / "eval-real"
    return path if path.is_dir() else None


def load(name: str, default_label: str | None = None) -> LabelledSet:
    """Load ``name`` (a ``.tsv`` without header) from the eval-real folder.

    Rows with two columns are ``label<TAB>text``; one-column files take ``default_label``.
    A row of any other shape is an error rather than skipped, so counts stay honest.
    """
    folder = directory()
    if folder is None:
        raise FileNotFoundError(f"no eval-real folder (set {ENV_VAR})")
    rows: List[Tuple[str, str]] = []
    for number, line in enumerate((folder / name).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) == 2:
            rows.append((fields[0], fields[1]))
        elif len(fields) == 1 and default_label is not None:
            rows.append((default_label, fields[0]))
        else:
            raise ValueError(f"{name} line {number}: expected {'1 or ' if default_label else ''}2 columns")
    return LabelledSet(name, tuple(rows))
