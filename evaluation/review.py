"""``make review``: the messages the assistant was unsure about, ready to label.

Reads the tracker store the assistant uses (same ``DB_URL``/``DATA_DIR`` as the server) and
writes the user messages of the last N days whose reply was a "Did you mean…" choice, out of
scope because nothing reached the floor (``nlu_fallback``), or any reply given with low
confidence (best topic below the answer band), grouped by nearest topic, as Rasa NLU YAML:
each group is an ``intent:`` block named after the nearest topic, so a reviewer moves each
line to its right intent (or deletes it) and adds the block to ``data/nlu_people.yml``.

Nothing leaves the machine: the file is written under ``var/review/`` (not in git) and the
command prints counts only. With ``PRIVACY_MODE=redact`` the store holds no words and the
command refuses to run. Crisis messages are never written out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

import sqlalchemy as sa

from actions.decide import CRISIS_INTENTS, DEFAULT, FALLBACK_INTENT, decide
from actions.knowledge import KNOWLEDGE_TOPICS
from bot.storage.settings import StorageConfigError, database_url, redact_enabled

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "var" / "review"
EVENTS = sa.table(
    "events", sa.column("sender_id"), sa.column("type_name"), sa.column("timestamp"), sa.column("data")
)
#: The group of messages no knowledge topic is near.
NO_TOPIC = "out_of_scope"


def why_unsure(parse: Mapping[str, Any]) -> str | None:
    """``clarify``, ``fallback`` or ``low_confidence`` when a message belongs in the review; else ``None``."""
    intent = (parse.get("intent") or {}).get("name")
    if intent in CRISIS_INTENTS or not parse.get("text"):
        return None
    if str(parse.get("text", "")).startswith("/"):
        return None  # a button press
    if intent == FALLBACK_INTENT:
        return "fallback"
    decision = decide(parse)
    if decision.kind == "clarify":
        return "clarify"
    confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
    if decision.kind in ("answer", "out_of_scope") and confidence < DEFAULT.answer_min:
        return "low_confidence"
    return None


def nearest_topic(parse: Mapping[str, Any]) -> str:
    """The best knowledge topic in the ranking, or ``out_of_scope`` when none is there."""
    for entry in parse.get("intent_ranking") or []:
        if entry.get("name") in KNOWLEDGE_TOPICS:
            return str(entry["name"])
    return NO_TOPIC


def user_parses(engine: sa.engine.Engine, since: float) -> Iterable[Dict[str, Any]]:
    """Parse data of every user message stored since ``since`` (epoch seconds)."""
    if not sa.inspect(engine).has_table("events"):
        return
    query = sa.select(EVENTS.c.data).where(EVENTS.c.type_name == "user", EVENTS.c.timestamp >= since)
    with engine.connect() as connection:
        for (data,) in connection.execute(query):
            event = json.loads(data)
            parse = dict(event.get("parse_data") or {})
            parse.setdefault("text", event.get("text"))
            yield parse


def collect(parses: Iterable[Mapping[str, Any]]) -> Dict[str, List[Tuple[str, str]]]:
    """``{nearest topic: [(text, why), ...]}`` without duplicates."""
    groups: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
    seen = set()
    for parse in parses:
        why = why_unsure(parse)
        text = " ".join(str(parse.get("text") or "").split())
        if why is None or not text or text.lower() in seen:
            continue
        seen.add(text.lower())
        groups[nearest_topic(parse)].append((text, why))
    return dict(groups)


def render(groups: Mapping[str, Sequence[Tuple[str, str]]], days: int) -> str:
    """Rasa NLU YAML, one block per nearest topic; a comment above each says why its messages are there."""
    lines = [
        f"# Written by `make review`: messages of the last {days} days the assistant was unsure about.",
        "# Each block is named after the NEAREST topic, not the right one. Label: move each line to",
        "# the intent it asks (or to out_of_scope), delete lines that should not be training data,",
        "# then add the blocks to data/nlu_people.yml and run `make train`. Never commit this file.",
        'version: "3.1"',
        "nlu:",
    ]
    for topic in sorted(groups):
        whys = Counter(why for _text, why in groups[topic])
        lines.append("# nearest " + topic + ": " + ", ".join(f"{n} {why}" for why, n in sorted(whys.items())))
        lines += [f"- intent: {topic}", "  examples: |"]
        lines += [f"    - {text}" for text, _why in groups[topic]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the review file; print counts only."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if redact_enabled():
            print("make review: PRIVACY_MODE=redact is set, so the store keeps no words to review; "
                  "nothing was read or written.", file=sys.stderr)
            return 3
        engine = sa.create_engine(database_url())
    except StorageConfigError as error:
        print(f"make review: {error}", file=sys.stderr)
        return 2
    since = time.time() - args.days * 24 * 60 * 60
    groups = collect(user_parses(engine, since))
    out = args.out or OUT_DIR / f"review-{dt.date.today().isoformat()}.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(groups, args.days), encoding="utf-8")
    total = sum(len(v) for v in groups.values())
    counts = ", ".join(f"{topic} {len(v)}" for topic, v in sorted(groups.items())) or "none"
    print(f"make review: {total} messages to label ({counts}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
