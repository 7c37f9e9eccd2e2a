"""The dashboard's queries and the alert rules in a real Prometheus fed by a running bot.

Debian's Prometheus (``make monitoring-tools``) scrapes a bot started by ``scripts/run.sh``
with metrics on, every second, on loopback, with deploy/prometheus/alerts.yml loaded. After
a short load run (questions, an out-of-scope message, a crisis message, a check-in, an
over-long message) every panel query of the Grafana dashboard must return data and every
alert rule must evaluate without error. This is what Grafana would draw; Grafana itself is
not packaged for Debian and does not run here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Iterator, List

import pytest
import yaml

from bot.channels.limits import MAX_MESSAGE_CHARS
from tests.conftest import ServedBot, start_bot, stop_bot
from tests.support import OUTPUT, RestClient, check_in_message, free_port, wait_for_http
from tests.test_deploy_files import tool
from tests.test_monitoring_files import PROMETHEUS_DIR, dashboard_queries

pytestmark = [pytest.mark.metrics, pytest.mark.service]

#: Grafana's variables as Grafana would set them for a short range scraped every second.
VARIABLES = {"$__rate_interval": "1m", "$__range": "15m", "$__interval": "1s"}


def api(base: str, path: str, **params: str) -> Any:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{base}/api/v1/{path}?{query}", timeout=30) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]


@pytest.fixture(scope="module")
def prometheus() -> Iterator[str]:
    """A bot with metrics on, a load run through it, and Prometheus that scraped it all along."""
    metrics_port, prometheus_port = free_port(), free_port()
    bot: ServedBot = start_bot("metrics-prometheus.log", METRICS_PORT=str(metrics_port))
    folder = OUTPUT / f"prometheus-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    target = [f"127.0.0.1:{metrics_port}"]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROMETHEUS_DIR / "alerts.yml")],
        # One run.sh serves both servers' metrics on one endpoint: both jobs scrape it.
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": target}]}
                           for job in ("therapy-bot-rasa", "therapy-bot-actions")],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    log = open(folder / "prometheus.log", "wb")
    process = subprocess.Popen(
        [tool("prometheus"), f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
         f"--web.listen-address=127.0.0.1:{prometheus_port}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{prometheus_port}"
    try:
        wait_for_http(f"{base}/-/ready", timeout=60, process=process)
        wait_for_scrapes(base, count=3)  # rates need a starting point before the load
        for index in range(3):
            region = ("US", "GB", "CA")[index]
            person = RestClient(bot.base_url, f"prom-{uuid.uuid4().hex[:8]}")
            for text in ("how long is a session?", "how much does therapy cost?", "what's the capital of peru?",
                         "i want to kill myself", check_in_message(),
                         "x" * (MAX_MESSAGE_CHARS + 1)):
                person.say(text, metadata={"region": region})
        time.sleep(5)  # the last turns scraped
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        stop_bot(bot)


def wait_for_scrapes(base: str, count: int, timeout: float = 60) -> None:
    """Waits until Prometheus holds ``count`` successful scrapes of the bot (it discovers targets after ~5 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = api(base, "query", query='count_over_time(up{job="therapy-bot-rasa"}[1m])')["result"]
        if result and float(result[0]["value"][1]) >= count:
            return
        time.sleep(0.5)
    raise TimeoutError(f"Prometheus did not scrape the bot {count} times within {timeout} s")


def query(base: str, expr: str) -> List[Dict[str, Any]]:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return api(base, "query", query=expr)["result"]


@pytest.mark.parametrize("title,expr", dashboard_queries(), ids=[t for t, _ in dashboard_queries()])
def test_every_dashboard_panel_has_data(prometheus: str, title: str, expr: str) -> None:
    result = query(prometheus, expr)
    assert result, f"{title}: {expr} returned nothing"
    # A series may be NaN where nothing happened (no turn took the error path); not all of them.
    assert any(sample["value"][1] != "NaN" for sample in result), (title, result)


def test_the_panels_show_what_was_sent(prometheus: str) -> None:
    crisis = {(r["metric"]["kind"], r["metric"]["region"]): float(r["value"][1]) for r in query(
        prometheus, "sum by (kind, region) (increase(therapy_bot_crisis_replies_total[$__range])) > 0")}
    assert set(crisis) == {("self", "US"), ("self", "GB"), ("self", "CA")}
    assert float(query(prometheus, "min(therapy_bot_crisis_check_ok)")[0]["value"][1]) == 1
    topics = {r["metric"]["topic"] for r in query(
        prometheus, "sum by (topic) (increase(therapy_bot_replies_total[$__range])) > 0")}
    assert {"session_length", "cost", "out_of_scope", "crisis", "crisis_check", "too_long"} <= topics


def test_every_alert_rule_evaluates_and_none_fires_on_a_healthy_bot(prometheus: str) -> None:
    rules = [rule for group in api(prometheus, "rules")["groups"] for rule in group["rules"]]
    assert {rule["name"] for rule in rules} >= {"CrisisReplyImpossible", "HighErrorRate", "SlowReplies",
                                                "SlowCrisisReplies", "ActionServerDown"}
    for rule in rules:
        assert rule["health"] == "ok", rule
        assert rule["state"] != "firing", rule
    # Checked while the bot runs: the crisis check passes and the action server answers.
    assert not query(prometheus, [r for r in rules if r["name"] == "CrisisReplyImpossible"][0]["query"])
    assert not query(prometheus, [r for r in rules if r["name"] == "ActionServerDown"][0]["query"])

