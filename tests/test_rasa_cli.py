"""Rasa's own checks over the project: data validation and end-to-end test stories."""

from __future__ import annotations

import os
import subprocess

from tests.support import MODEL, OUTPUT, ROOT

RASA = str(ROOT / ".venv" / "bin" / "rasa")
#: Lines Rasa prints that are about its dependencies, not about this project's data.
LIBRARY_NOISE = ("MovedIn20Warning", "declarative_base()", "SQLALCHEMY", "tensorflow", "TF-TRT")


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    return subprocess.run(
        [RASA, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_data_validates_without_warnings() -> None:
    result = _run("data", "validate", "--fail-on-warnings")
    output = result.stdout + result.stderr
    problems = [
        line for line in output.splitlines()
        if ("warn" in line.lower() or "error" in line.lower())
        and not any(noise in line for noise in LIBRARY_NOISE)
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
