"""Rasa's own checks over the project: data validation and end-to-end test stories."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.support import MODEL, OUTPUT, ROOT

pytestmark = pytest.mark.service

#: Rasa as every entry point runs it: through bot.patched_rasa, with the patches installed.
RASA = [str(ROOT / ".venv" / "bin" / "python"), "-m", "bot.patched_rasa"]
#: How Rasa reports a problem with the project's data: warnings and error log lines.
PROBLEM = re.compile(r"UserWarning|\bWARNING\b|\bERROR\b")


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONWARNINGS": "ignore::DeprecationWarning",  # dependencies' own deprecations
    }
    return subprocess.run(
        [*RASA, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


#: Expected by design: ``crisis_check_in`` is set only by CrisisGuard and never trained, so
#: that the classifier cannot produce it (the same holds for Rasa's own ``nlu_fallback``).
EXPECTED_WARNINGS = ("The intent 'crisis_check_in' is listed in the domain file, but is not found in the NLU",)


def test_data_validates_without_warnings() -> None:
    result = _run("data", "validate", "--fail-on-warnings")
    output = result.stdout + result.stderr
    problems = [
        line for line in output.splitlines()
        if PROBLEM.search(line) and not any(expected in line for expected in EXPECTED_WARNINGS)
    ]
    assert result.returncode == 0, output[-4000:]
    assert problems == [], "\n".join(problems)


def test_end_to_end_stories() -> None:
    out = OUTPUT / "e2e"
    result = _run(
        "test", "core", "--model", str(MODEL), "--stories", "tests/test_stories.yml",
        "--fail-on-prediction-errors", "--out", str(out), "--endpoints", "endpoints.yml",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    failed = out / "failed_test_stories.yml"
    assert not failed.exists() or "None of the test stories failed" in failed.read_text()
