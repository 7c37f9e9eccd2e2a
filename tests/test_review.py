"""``make review``: unsure messages out of the tracker store, grouped by nearest topic; never in redact mode."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from evaluation import review

pytestmark = pytest.mark.unit


def _store(path: Path, events: list[dict]) -> str:
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL, "
            "intent_name TEXT, action_name TEXT, data TEXT)"
        ))
        for event in events:
            connection.execute(
                sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('s', :t, :ts, :d)"),
                {"t": event["event"], "ts": event["timestamp"], "d": json.dumps(event)},
            )
    return url


def _user(text: str, ranking: list[tuple[str, float]], age_days: float = 0) -> dict:
    parse = {
        "text": text,
        "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    }
    return {"event": "user", "text": text, "timestamp": time.time() - age_days * 86400, "parse_data": parse}


EVENTS = [
    _user("synthetic close call about money", [("cost", 0.4), ("finding_therapist", 0.38)]),
    _user("synthetic unknown words", [("nlu_fallback", 0.15), ("conditions", 0.15)]),
    _user("synthetic sure question", [("session_length", 0.95), ("cost", 0.01)]),
    _user("synthetic old close call", [("cost", 0.4), ("finding_therapist", 0.38)], age_days=30),
    _user("synthetic disclosure", [("crisis", 1.0)]),
    _user("/cost", [("cost", 1.0)]),
    {"event": "bot", "text": "a reply", "timestamp": time.time()},
]


def test_review_writes_unsure_messages_by_nearest_topic(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DB_URL", _store(tmp_path / "store.db", EVENTS))
    monkeypatch.delenv("PRIVACY_MODE", raising=False)
    out = tmp_path / "review.yml"
    assert review.main(["--days", "7", "--out", str(out)]) == 0
    data = yaml.safe_load(out.read_text())
    blocks = {block["intent"]: block["examples"] for block in data["nlu"]}
    assert set(blocks) == {"cost", "conditions"}
    assert "synthetic close call about money" in blocks["cost"]
    assert "synthetic unknown words" in blocks["conditions"]
    text = out.read_text()
    for absent in ("sure question", "old close call", "disclosure", "/cost"):
        assert absent not in text
    printed = capsys.readouterr().out
    assert "- synthetic close call about money\n" in text
    assert "2 messages" in printed and "synthetic" not in printed, "counts only on the terminal"


def test_review_refuses_in_redact_mode(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DB_URL", _store(tmp_path / "store.db", EVENTS))
    monkeypatch.setenv("PRIVACY_MODE", "redact")
    out = tmp_path / "review.yml"
    assert review.main(["--out", str(out)]) == 3
    assert not out.exists()
    assert "PRIVACY_MODE=redact" in capsys.readouterr().err


@pytest.mark.parametrize("why,ranking", [("clarify", [("cost", 0.41), ("finding_therapist", 0.4)]),
                                         ("fallback", [("nlu_fallback", 0.1)]),
                                         ("low_confidence", [("out_of_scope", 0.45), ("greet", 0.01)])])
def test_why_unsure(why: str, ranking: list) -> None:
    assert review.why_unsure(_user("synthetic", ranking)["parse_data"]) == why
