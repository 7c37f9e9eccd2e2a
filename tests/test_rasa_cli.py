"""Rasa's command line as the project runs it (bot.patched_rasa): patches, data validation, test stories."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from bot import rasa_patches
from tests.support import MODEL, OUTPUT, ROOT, installed_patches

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


def test_the_entry_point_logs_one_line_per_patch_then_runs_rasa() -> None:
    result = _run("--version", timeout=120)
    patches = [patch.name for patch in rasa_patches.PATCHES]
    assert result.returncode == 0, result.stderr[-3000:]
    assert installed_patches(result.stderr) == patches
    assert result.stderr.count("Rasa patch installed:") == len(patches)
    assert f"Rasa Version      :         {rasa_patches.RASA_VERSION}" in result.stdout
