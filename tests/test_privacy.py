"""Privacy: no user words in logs or (in redact mode) in the store, no telemetry, loopback only.

One bot, started by ``scripts/run.sh`` as ``make run`` starts it, with
``PRIVACY_MODE=redact`` and Rasa's default INFO logging, has one conversation with
names and disclosures in it; then its logs, its processes and its SQLite store are read.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest

from actions.knowledge import KnowledgeBase
from bot.storage.redaction import KEPT_METADATA, KEPT_SLOT_VALUES, redact_event
from tests.conftest import ServedBot, start_bot, stop_bot
from tests.storage_services import process_tree
from tests.support import OUTPUT, RestClient, sqlite_store_bytes, topics_of

pytestmark = pytest.mark.service

LOG = "privacy.log"
#: Names, places and disclosures nobody else's log would contain, then ordinary questions.
MESSAGES = [
    "Hello, this is Perpetua Quillfeather writing from Zennorbury",
    "how long is a session?",
    "My ex-partner Thaddeus Brackenwood keeps threatening me",
    "tell me more",
    "Perpetua again, I want to kill myself tonight",
]
MARKERS = ["Perpetua", "Quillfeather", "Zennorbury", "Thaddeus", "Brackenwood"]


class Conversation:
    """The served bot, what it was told and answered, and its log before and after."""

    def __init__(self, bot: ServedBot, data_dir: Path) -> None:
        self.bot = bot
        self.data_dir = data_dir
        self.replies: List[List[Dict[str, Any]]] = []
        self.log_before = ""
        self.log_after = ""


@pytest.fixture(scope="module")
def conversation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conversation]:
    data_dir = tmp_path_factory.mktemp("privacy") / "data"
    bot = start_bot(LOG, DATA_DIR=str(data_dir), PRIVACY_MODE="redact")
    talk = Conversation(bot, data_dir)
    try:
        talk.log_before = (OUTPUT / LOG).read_text(errors="replace")
        client = RestClient(bot.base_url, f"privacy-{uuid.uuid4().hex[:8]}")
        talk.replies = [client.say(message) for message in MESSAGES]
        yield talk
    finally:
        stop_bot(bot)


def user_words(message: str) -> Set[str]:
    return {word.lower() for word in re.findall(r"[A-Za-z]{4,}", message)}


def test_the_conversation_was_answered(conversation: Conversation, kb: KnowledgeBase) -> None:
    assert all(reply and reply[0].get("text") for reply in conversation.replies)
    assert topics_of(conversation.replies[1])[0] == "session_length"
    # Redaction keeps the topic slot, so "tell me more" still knows the topic.
    assert conversation.replies[3][0]["text"] == kb.topic("session_length").long
    assert topics_of(conversation.replies[4]) == ["crisis"]


def test_logs_of_every_process_hold_none_of_the_users_words(conversation: Conversation) -> None:
    """The log of run.sh is the output of the Rasa server and of the action server."""
    conversation.log_after = (OUTPUT / LOG).read_text(errors="replace")
    during = conversation.log_after[len(conversation.log_before):]
    assert "crisis fast path" in during, "the log of the conversation was captured"
    for message in MESSAGES:
        assert message.lower() not in during.lower()
        for word in user_words(message):
            if not re.search(rf"\b{word}\b", conversation.log_before, re.IGNORECASE):
                assert not re.search(rf"\b{word}\b", during, re.IGNORECASE), word


def test_every_process_runs_with_telemetry_off(conversation: Conversation) -> None:
    pids = process_tree(conversation.bot.process.pid)
    assert len(pids) >= 3, "run.sh, the Rasa server and the action server"
    for pid in pids:
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert b"RASA_TELEMETRY_ENABLED=false" in environment, pid


def _sockets_of(pid: int) -> Set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def _address(hex_address: str) -> ipaddress._BaseAddress:
    raw = bytes.fromhex(hex_address)
    # /proc/net stores each 32-bit word of the address in host (little-endian) order.
    return ipaddress.ip_address(b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)))


def _remote_ends(pid: int) -> List[Tuple[str, ipaddress._BaseAddress]]:
    mine = _sockets_of(pid)
    ends = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in mine:
                ends.append((table, _address(fields[2].split(":")[0])))
    return ends


def test_no_process_talks_to_anything_beyond_this_machine(conversation: Conversation) -> None:
    seen = 0
    for pid in process_tree(conversation.bot.process.pid):
        for table, remote in _remote_ends(pid):
            seen += 1
            mapped = getattr(remote, "ipv4_mapped", None)
            assert remote.is_loopback or remote.is_unspecified or (mapped and mapped.is_loopback), (table, remote)
    assert seen >= 2, "the listening sockets of both servers were inspected"


def stored_events(data_dir: Path) -> List[Dict[str, Any]]:
    with sqlite3.connect(data_dir / "tracker.db") as connection:
        return [
            {"type": row[0], "intent": row[1], **json.loads(row[2])}
            for row in connection.execute("SELECT type_name, intent_name, data FROM events ORDER BY id")
        ]


def test_redact_mode_stores_intents_topics_and_times_but_not_the_words(conversation: Conversation) -> None:
    events = stored_events(conversation.data_dir)
    users = [event for event in events if event["type"] == "user"]
    assert len(users) == len(MESSAGES)
    for event in users:
        assert event["text"] is None and event["parse_data"]["text"] is None
        assert event["intent"] and event["parse_data"]["intent"]["name"] == event["intent"]
        assert isinstance(event["timestamp"], float)
        assert all(entity["value"] is None for entity in event["parse_data"]["entities"])
        assert set(event.get("metadata") or {}) <= KEPT_METADATA, "only Rasa's model ids, nothing the client sent"
    assert users[1]["intent"] == "session_length" and users[-1]["intent"] == "crisis"
    slots = {(event["name"], event["value"]) for event in events if event["type"] == "slot"}
    assert ("topic", "session_length") in slots and ("crisis_kind", "self") in slots
    raw = sqlite_store_bytes(conversation.data_dir).lower()
    for marker in MARKERS:
        assert marker.lower().encode() not in raw, marker
    for message in MESSAGES[2:3] + MESSAGES[4:]:
        assert message.lower().encode() not in raw


def test_redaction_drops_unknown_slot_values_and_client_metadata() -> None:
    slot = redact_event({"event": "slot", "timestamp": 1.0, "name": "session_started_metadata",
                         "value": {"telegram_user": "Perpetua"}})
    assert slot == {"event": "slot", "timestamp": 1.0, "name": "session_started_metadata", "value": None}
    kept = redact_event({"event": "slot", "timestamp": 1.0, "name": "topic", "value": "cost"})
    assert kept["value"] == "cost"
    user = redact_event({
        "event": "user", "timestamp": 2.0, "text": "I'm Perpetua", "input_channel": "rest", "message_id": "m1",
        "metadata": {"region": "GB", "username": "perpetua", "model_id": "abc"},
        "parse_data": {"text": "I'm Perpetua", "intent": {"name": "greet", "confidence": 0.9, "extra": 1},
                       "entities": [{"entity": "aspect", "value": "Perpetua", "start": 4, "end": 12,
                                     "extractor": "RegexEntityExtractor"}],
                       "intent_ranking": [{"name": "greet", "confidence": 0.9}],
                       "crisis": {"rule": "self.direct", "kind": "self", "region": "GB"},
                       "metadata": {"username": "perpetua"}, "response_selector": {"x": "Perpetua"}},
    })
    assert "perpetua" not in json.dumps(user).lower()
    assert user["parse_data"]["intent"] == {"name": "greet", "confidence": 0.9}
    assert user["parse_data"]["entities"] == [{"entity": "aspect", "extractor": "RegexEntityExtractor", "value": None}]
    assert user["parse_data"]["crisis"] == {"kind": "self", "region": "GB"}
    assert user["metadata"] == {"model_id": "abc"} and user["timestamp"] == 2.0


def test_the_slots_whose_values_are_kept_exist_in_the_domain(domain_dict: Dict[str, Any]) -> None:
    """A renamed slot would otherwise silently lose its values; a new one is dropped until listed."""
    assert KEPT_SLOT_VALUES <= set(domain_dict["slots"])
