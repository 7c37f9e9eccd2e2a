"""Markdown shared by the generated reports (``docs/benchmarks.md``, ``docs/evaluation.md``)."""

from __future__ import annotations

from typing import Any, List, Sequence


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> List[str]:
    """The lines of a Markdown table: the header, its rule, and one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines
