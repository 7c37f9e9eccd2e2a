"""Scale-out: two Rasa servers and one action server sharing PostgreSQL and Redis.

``scripts/services.sh`` starts PostgreSQL and Redis on loopback in a temporary folder;
server A is ``scripts/run.sh`` (Rasa and the action server, as ``make run``), server B is
``scripts/run.sh rasa`` with two Sanic workers, using A's action server. Conversations
hop between the servers turn by turn. The last test stops PostgreSQL under them.
"""

from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import redis
import sqlalchemy as sa

from actions.knowledge import KnowledgeBase
from tests.conftest import ServedBot, new_data_dir, start_bot, start_run_sh, stop_bot
from tests.storage_services import Services, child_pids, rasa_server_pids
from tests.support import OUTPUT, RASA_UP, RestClient, free_port, post_json, topics_of, wait_for_http, wait_for_log

pytestmark = pytest.mark.service

SENDERS = 12
#: Names that no log may contain: a person's name, told to the bot on every server.
NAMES = ("Oswaldine", "Farthingale")


class Cluster:
    """The services and the two Rasa servers."""

    def __init__(self, services: Services, a: ServedBot, b: ServedBot) -> None:
        self.services = services
        self.servers = (a, b)
        self.engine = sa.create_engine(services.env["DB_URL"], pool_pre_ping=True)

    def stored(self, sender_id: str) -> List[Tuple[str, float, Dict[str, Any]]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT type_name, timestamp, data FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": sender_id},
            )
            return [(row[0], row[1], json.loads(row[2])) for row in rows]


def start_rasa_only(log_name: str, actions_of: ServedBot, **env_overrides: str) -> ServedBot:
    """``scripts/run.sh rasa`` on a free port, using another bot's action server."""
    port = free_port()
    env = {
        **os.environ,
        "RASA_PORT": str(port),
        "ACTION_ENDPOINT_URL": f"{actions_of.actions_url}/webhook",
        "DATA_DIR": new_data_dir(log_name),
        **env_overrides,
    }
    process = start_run_sh(log_name, env, "rasa")
    bot = ServedBot(process, port, int(actions_of.actions_url.rsplit(":", 1)[1]))
    try:
        wait_for_http(f"{bot.base_url}/webhooks/rest/", timeout=300, process=process)
        wait_for_log(OUTPUT / log_name, RASA_UP, int(env.get("SANIC_WORKERS", "1")), timeout=300, process=process)
    except Exception:
        stop_bot(bot)
        raise
    return bot


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    services = Services("scale-out")
    env = services.start()
    started: List[ServedBot] = []
    try:
        started.append(start_bot("scale-out-a.log", **env))
        started.append(start_rasa_only("scale-out-b.log", started[0], SANIC_WORKERS="2", **env))
        yield Cluster(services, *started)
    finally:
        for bot in reversed(started):
            stop_bot(bot)
        services.stop()


def say(server: ServedBot, sender: str, message: str) -> List[Dict[str, Any]]:
    reply = RestClient(server.base_url, sender).say(message)
    assert reply and all(m.get("text") for m in reply), (message, reply)
    assert "unavailable" not in topics_of(reply), (message, reply)
    return reply


def test_server_b_serves_with_two_sanic_workers(cluster: Cluster) -> None:
    b = cluster.servers[1]
    rasa = rasa_server_pids(b.process.pid)
    assert len(rasa) == 1
    assert len(child_pids(rasa[0])) == 2, "SANIC_WORKERS=2 with the Redis lock store"
    for log in ("scale-out-a.log", "scale-out-b.log"):
        assert "Conversation locks are kept in Redis" in (OUTPUT / log).read_text(errors="replace")


def test_follow_ups_use_the_topic_set_on_the_other_server(cluster: Cluster, kb: KnowledgeBase) -> None:
    a, b = cluster.servers
    sender = f"hop-{uuid.uuid4().hex[:8]}"
    assert topics_of(say(a, sender, "how long is a session?"))[0] == "session_length"
    assert topics_of(say(b, sender, "and how often?"))[0] == "session_frequency"
    assert say(a, sender, "tell me more")[0]["text"] == kb.topic("session_frequency").long
    assert topics_of(say(b, sender, kb.topic("cost").question))[0] == "cost"
    assert say(a, sender, "tell me more")[0]["text"] == kb.topic("cost").long
    assert say(b, sender, "tell me more")[0]["text"] == kb.topic("cost").long


def conversation_of(index: int, kb: KnowledgeBase) -> List[Tuple[str, str]]:
    """(message, what the reply must be) for one sender; topics differ between senders."""
    topic = ["cost", "session_length", "first_session", "therapy_types"][index % 4]
    return [
        (f"Hi, I'm {NAMES[0]} {NAMES[1]}", "any"),
        (kb.topic(topic).question, f"topic:{topic}"),
        ("tell me more", f"long:{topic}"),
        ("how long is a session?", "topic:session_length"),
        ("and how often?", "topic:session_frequency"),
    ]


def test_many_senders_at_once_on_both_servers_lose_no_turn(cluster: Cluster, kb: KnowledgeBase) -> None:
    senders = [f"crowd-{i}-{uuid.uuid4().hex[:6]}" for i in range(SENDERS)]

    def talk(index: int) -> List[List[Dict[str, Any]]]:
        replies = []
        for turn, (message, _) in enumerate(conversation_of(index, kb)):
            replies.append(say(cluster.servers[(index + turn) % 2], senders[index], message))
        return replies

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        results = list(pool.map(talk, range(SENDERS)))

    for index, replies in enumerate(results):
        for (message, expected), reply in zip(conversation_of(index, kb), replies, strict=True):
            kind, _, topic = expected.partition(":")
            if kind == "topic":
                assert topics_of(reply)[0] == topic, (message, reply)
            elif kind == "long":
                assert reply[0]["text"] == kb.topic(topic).long, (message, reply)
        stored = cluster.stored(senders[index])
        # Every turn is stored once, in order, with every reply that was sent.
        assert [data["text"] for kind, _, data in stored if kind == "user"] == [
            message for message, _ in conversation_of(index, kb)]
        assert [data["text"] for kind, _, data in stored if kind == "bot"] == [
            message["text"] for reply in replies for message in reply]
        rows = [(kind, timestamp, json.dumps(data, sort_keys=True)) for kind, timestamp, data in stored]
        assert len(rows) == len(set(rows)), "no event is stored twice"


def test_the_lock_store_is_the_shared_redis(cluster: Cluster) -> None:
    port = int(cluster.services.env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    stats = redis.Redis(host="127.0.0.1", port=port).info("commandstats")
    # Each turn issues a ticket (SET) on the conversation's lock, on whichever server.
    assert stats["cmdstat_set"]["calls"] >= SENDERS * 5


def test_no_log_of_any_process_holds_the_users_words(cluster: Cluster) -> None:
    logs = {name: (OUTPUT / name).read_text(errors="replace") for name in ("scale-out-a.log", "scale-out-b.log")}
    logs["postgres and redis"] = cluster.services.logs()
    for name, text in logs.items():
        for word in NAMES:
            assert word.lower() not in text.lower(), (name, word)


def test_postgresql_outage_gets_kind_replies_a_clear_error_and_recovers(
    cluster: Cluster, kb: KnowledgeBase
) -> None:
    """Runs last: it stops PostgreSQL under both servers, then starts it again."""
    a, b = cluster.servers
    sender = f"outage-{uuid.uuid4().hex[:8]}"
    assert topics_of(say(a, sender, kb.topic("cost").question))[0] == "cost"
    log_before = (OUTPUT / "scale-out-a.log").read_text(errors="replace")

    cluster.services.stop_postgres()
    try:
        for server in (a, b):
            status, reply = post_json(f"{server.base_url}/webhooks/rest/webhook",
                                      {"sender": sender, "message": "how long is a session?"})
            assert status == 200, reply
            assert reply and reply[0]["text"], "the person still gets an answer"
    finally:
        cluster.services.start_postgres()

    during = (OUTPUT / "scale-out-a.log").read_text(errors="replace")[len(log_before):]
    assert "Could not read a conversation from the postgresql database 'rasa' on 127.0.0.1" in during
    assert "Did not save a turn to the postgresql database 'rasa'" in during  # answered without history
    assert "how long is a session" not in during.lower()

    # Back: the stored conversation continues where it was before the outage.
    assert say(b, sender, "tell me more")[0]["text"] == kb.topic("cost").long
    assert say(a, sender, "and how often?")  # answered and stored again
    users = [data["text"] for kind, _, data in cluster.stored(sender) if kind == "user"]
    assert users == [kb.topic("cost").question, "tell me more", "and how often?"]
