"""The metrics endpoint of a running bot: counts after real turns, and nothing people wrote.

The Rasa server and the action server are started as their containers start them
(``scripts/run.sh rasa`` and ``scripts/run.sh actions``), each with its own
``METRICS_PORT``, so the action server can be stopped while Rasa keeps serving.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Dict, Iterator, Tuple

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.channels.limits import MAX_MESSAGE_CHARS
from bot.metrics import label_sets
from tests.conftest import ServedBot, start_bot, stop_bot
from tests.support import OUTPUT, ROOT, RestClient, check_in_message, free_port, post_json, topics_of, wait_for_http

pytestmark = [pytest.mark.metrics, pytest.mark.service]

Samples = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]


@dataclass
class MeteredBot:
    rasa: ServedBot
    actions: subprocess.Popen
    rasa_metrics: str
    actions_metrics: str


def _run_sh(server: str, env: Dict[str, str], log_name: str) -> subprocess.Popen:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = open(OUTPUT / log_name, "wb")
    return subprocess.Popen(["scripts/run.sh", server], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.fixture(scope="module")
def metered() -> Iterator[MeteredBot]:
    rasa_port, actions_port, rasa_metrics, actions_metrics = (free_port() for _ in range(4))
    base = {**os.environ, "RASA_PORT": str(rasa_port), "ACTIONS_PORT": str(actions_port), "ACTION_TIMEOUT": "3",
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook", "CRISIS_REGION": "US",
            "DATA_DIR": str(OUTPUT / f"metrics-data-{uuid.uuid4().hex[:6]}"), "CRISIS_CHECK_SECONDS": "1"}
    for name in ("METRICS_HOST", "PROMETHEUS_MULTIPROC_DIR", "DB_URL", "DB_HOST", "REDIS_URL", "REDIS_HOST"):
        base.pop(name, None)
    actions = _run_sh("actions", {**base, "METRICS_PORT": str(actions_metrics)}, "metrics-actions.log")
    rasa = ServedBot(_run_sh("rasa", {**base, "METRICS_PORT": str(rasa_metrics)}, "metrics-rasa.log"),
                     rasa_port, actions_port)
    try:
        wait_for_http(f"http://127.0.0.1:{actions_port}/health", timeout=120, process=actions)
        wait_for_http(f"{rasa.base_url}/webhooks/rest/", timeout=240, process=rasa.process)
        wait_for_http(f"http://127.0.0.1:{rasa_metrics}/metrics", timeout=30)
        yield MeteredBot(rasa, actions, f"http://127.0.0.1:{rasa_metrics}/metrics",
                         f"http://127.0.0.1:{actions_metrics}/metrics")
    finally:
        stop_bot(ServedBot(actions, 0, 0), signal.SIGTERM)
        stop_bot(rasa)


def scrape_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return response.read().decode("utf-8")


def scrape(url: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(scrape_text(url)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over the series whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def metered_bot(log_name: str, **env: str) -> Iterator[Tuple[ServedBot, str]]:
    """A bot from ``scripts/run.sh`` with metrics on, and its scrape URL; stopped afterwards."""
    metrics_port = free_port()
    bot = start_bot(log_name, METRICS_PORT=str(metrics_port), **env)
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        wait_for_http(url, timeout=30)
        yield bot, url
    finally:
        stop_bot(bot)


def _client(bot: MeteredBot) -> RestClient:
    return RestClient(bot.rasa.base_url, f"metrics-{uuid.uuid4().hex[:10]}")


def test_metrics_count_the_turns_topics_crisis_replies_and_limits(metered: MeteredBot) -> None:
    before, actions_before = scrape(metered.rasa_metrics), scrape(metered.actions_metrics)
    assert topics_of(_client(metered).say("how long is a session?")) == ["session_length"]
    assert topics_of(_client(metered).say("what's the capital of peru?"))[0] == "out_of_scope"
    crisis = _client(metered).say("i want to kill myself", metadata={"region": "GB"})
    assert crisis[0]["custom"]["topic"] == "crisis" and crisis[0]["custom"]["kind"] == "self"
    assert topics_of(_client(metered).say("a" * (MAX_MESSAGE_CHARS + 1))) == ["too_long"]
    after, actions_after = scrape(metered.rasa_metrics), scrape(metered.actions_metrics)

    assert delta(before, after, "therapy_bot_turns_total", channel="rest") == 4
    assert delta(before, after, "therapy_bot_turns_total", channel="rest", path="turn") == 2
    assert delta(before, after, "therapy_bot_turns_total", path="crisis") == 1
    assert delta(before, after, "therapy_bot_turns_total", path="limited") == 1
    assert delta(before, after, "therapy_bot_replies_total", topic="session_length") == 1
    assert delta(before, after, "therapy_bot_replies_total", topic="out_of_scope") == 1
    assert delta(before, after, "therapy_bot_crisis_replies_total", kind="self", region="GB") == 1
    assert delta(before, after, "therapy_bot_crisis_replies_total") == 1
    assert delta(before, after, "therapy_bot_limited_messages_total", reason="too_long") == 1
    assert delta(before, after, "therapy_bot_turn_seconds_count") == 4
    assert delta(before, after, "therapy_bot_turn_seconds_count", path="crisis") == 1
    assert delta(before, after, "therapy_bot_conversations_started_total") >= 3  # the crisis turn is stored later
    assert delta(before, after, "therapy_bot_action_failures_total") == 0
    assert delta(actions_before, actions_after, "therapy_bot_actions_run_total",
                 action="action_answer_topic", outcome="ok") == 2


def test_a_check_in_is_counted_by_region(metered: MeteredBot) -> None:
    before = scrape(metered.rasa_metrics)
    reply = _client(metered).say(check_in_message(), metadata={"region": "CA"})
    assert "crisis_check" in topics_of(reply)
    assert delta(before, scrape(metered.rasa_metrics), "therapy_bot_check_ins_total", region="CA") == 1


def test_the_crisis_check_passes_and_both_servers_report_their_version(metered: MeteredBot) -> None:
    samples = scrape(metered.rasa_metrics)
    assert value(samples, "therapy_bot_crisis_check_ok") == 1
    assert value(samples, "therapy_bot_crisis_check_timestamp_seconds") > 0
    assert value(samples, "therapy_bot_info", server="rasa") == 1
    assert value(scrape(metered.actions_metrics), "therapy_bot_info", server="actions") == 1


def test_the_endpoint_listens_on_loopback_only_and_not_on_the_chat_port(metered: MeteredBot) -> None:
    status, _ = post_json(f"{metered.rasa.base_url}/metrics", {})
    assert status == 404
    port = int(metered.rasa_metrics.rsplit(":", 1)[1].split("/")[0])
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
    assert [line.split()[3] for line in listening.splitlines()] == [f"127.0.0.1:{port}"]


def test_no_marker_word_reaches_the_metrics(metered: MeteredBot) -> None:
    markers = [f"zq{uuid.uuid4().hex[:12]}" for _ in range(6)]
    sender = f"sender{uuid.uuid4().hex[:12]}"
    bot = RestClient(metered.rasa.base_url, sender)
    for text in (f"how long is a session {markers[0]}", f"{markers[1]} {markers[2]}",
                 f"i want to kill myself {markers[3]}", f"{markers[4]} " * 1000, f"what is cbt {markers[5]}"):
        bot.say(text, metadata={"region": markers[0]})
    allowed = label_sets()
    for url in (metered.rasa_metrics, metered.actions_metrics):
        text = scrape_text(url)
        assert not any(marker in text for marker in markers) and sender not in text
        for (_, labels) in scrape(url):
            for name, label_value in labels:
                if name in ("version", "model_id"):
                    assert re.fullmatch(r"[A-Za-z0-9.+_-]{1,64}", label_value), label_value
                elif name not in ("le", "quantile"):
                    assert label_value in allowed[name], (name, label_value)


def test_a_stopped_action_server_is_counted_as_unreachable(metered: MeteredBot) -> None:
    """Runs last: it stops the action server for good."""
    before = scrape(metered.rasa_metrics)
    stop_bot(ServedBot(metered.actions, 0, 0))
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        scrape_text(metered.actions_metrics)  # the action server's exporter stops with it
    assert topics_of(_client(metered).say("how long is a session?")) == ["unavailable"]
    after = scrape(metered.rasa_metrics)
    assert delta(before, after, "therapy_bot_action_failures_total", action="action_answer_topic",
                 reason="unreachable") == 1
    assert delta(before, after, "therapy_bot_replies_total", topic="unavailable") == 1
    assert delta(before, after, "therapy_bot_turns_total", path="turn") == 1
