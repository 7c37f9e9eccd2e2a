"""The benchmark and evaluation tooling itself (bench/): counting, memory, report logic.

No bot is started here: the load client talks to a small stub server on loopback, and
the report is rendered from synthetic results, so these tests are quick.
"""

from __future__ import annotations

import asyncio
import copy
import math
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

import pytest
from aiohttp import web

from bench import procs, report
from bench.load import TURNS_PER_CONVERSATION, LoadClient, classify_reply, percentile
from tests.support import free_port

pytestmark = pytest.mark.unit


def test_percentile_interpolates_like_numpy() -> None:
    import numpy

    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    for q in (0, 25, 50, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(numpy.percentile(values, q))
    assert math.isnan(percentile([], 50))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, [{"text": "a", "custom": {"topic": "cost"}}], (None, True)),
        (200, [{"text": "hello"}], (None, False)),
        (200, [], ("empty_reply", False)),
        (200, {"error": "x"}, ("empty_reply", False)),
        (200, [{"text": "sorry", "custom": {"topic": "unavailable"}}], ("unavailable_reply", False)),
        (500, None, ("http_500", False)),
    ],
)
def test_classify_reply(status: int, body: Any, expected: tuple) -> None:
    assert classify_reply(status, body) == expected


class StubBot:
    """A REST webhook that answers by the message: ok, 500, empty, unavailable, or slowly."""

    def __init__(self) -> None:
        self.senders: List[str] = []
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.senders.append(body["sender"])
        message = body["message"]
        if message == "fail":
            return web.json_response({"error": "boom"}, status=500)
        if message == "empty":
            return web.json_response([])
        if message == "down":
            return web.json_response([{"text": "sorry", "custom": {"topic": "unavailable"}}])
        if message == "slow":
            await asyncio.sleep(0.05)
        return web.json_response([{"recipient_id": body["sender"], "text": "answer", "custom": {"topic": "cost"}}])

    async def __aenter__(self) -> StubBot:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def test_phase_counts_every_kind_of_error_and_rotates_conversations() -> None:
    messages = ["ok", "fail", "ok", "empty", "down", "ok"]

    async def scenario() -> tuple:
        async with StubBot() as stub, LoadClient(stub.url, messages, "t") as client:
            result = await client.phase("p", concurrency=1, max_turns=60)
            return result, stub.senders, client.turns_done

    result, senders, done = asyncio.run(scenario())
    summary = result.summary()
    assert (summary["turns"], summary["ok"], summary["curated"], done) == (60, 30, 30, 60)
    assert result.errors == Counter({"http_500": 10, "empty_reply": 10, "unavailable_reply": 10})
    assert summary["errors"] == 30 and len(result.latencies_ms) == 30
    # One sender id per conversation of TURNS_PER_CONVERSATION turns.
    assert len(set(senders)) == 60 // TURNS_PER_CONVERSATION
    assert all(senders.count(s) == TURNS_PER_CONVERSATION for s in set(senders))


def test_duration_phase_skips_warmup_and_reports_the_window() -> None:
    async def scenario() -> tuple:
        async with StubBot() as stub, LoadClient(stub.url, ["slow"], "t") as client:
            result = await client.phase("d", concurrency=4, duration_s=0.5, warmup_s=0.3)
            return result, client.turns_done

    result, done = asyncio.run(scenario())
    assert result.window_s == 0.5
    assert 0 < result.ok < done  # the warm-up turns were sent but not recorded
    assert result.summary()["throughput"] == pytest.approx(result.ok / 0.5)


def test_until_turns_reaches_the_checkpoint() -> None:
    async def scenario() -> int:
        async with StubBot() as stub, LoadClient(stub.url, ["ok"], "t") as client:
            await client.until_turns(37, concurrency=8, max_seconds=60)
            return client.turns_done

    assert asyncio.run(scenario()) == 37


def test_checkpoints_fire_at_their_exact_turn_counts_in_any_phase() -> None:
    seen: list = []

    async def scenario() -> int:
        async with StubBot() as stub, LoadClient(
            stub.url, ["ok"], "t", checkpoints=(10, 25), on_checkpoint=lambda turns: seen.append(turns)
        ) as client:
            await client.phase("latency", concurrency=4, max_turns=18)  # passes the first checkpoint
            await client.until_turns(25, concurrency=8, max_seconds=60)
            return client.turns_done

    assert asyncio.run(scenario()) == 25
    assert seen == [10, 25]


def test_unreachable_bot_counts_errors_not_crashes() -> None:
    async def scenario() -> Any:
        async with LoadClient(f"http://127.0.0.1:{free_port()}", ["ok"], "t") as client:
            return await client.phase("x", concurrency=2, max_turns=4)

    result = asyncio.run(scenario())
    assert result.ok == 0 and sum(result.errors.values()) == 4


def test_server_memory_finds_both_servers_and_their_children() -> None:
    sleeper = f"{sys.executable} -c 'import time; time.sleep(60)'"
    parent = f"{sys.executable} -c 'import subprocess, time; subprocess.Popen([\"sleep\", \"60\"]); time.sleep(60)'"
    launcher = subprocess.Popen(
        ["bash", "-c", f"{sleeper} -m rasa_sdk & {parent} bot.patched_rasa run & {sleeper} unrelated & wait"],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        memory: Dict[str, procs.Memory] = {}
        while time.monotonic() < deadline:
            memory = procs.server_memory(launcher.pid)
            if memory.get("rasa") and memory["rasa"].processes == 2 and memory.get("actions"):
                break
            time.sleep(0.1)
        assert set(memory) == {"rasa", "actions"}
        assert memory["rasa"].processes == 2 and memory["actions"].processes == 1
        assert memory["rasa"].rss_mb > memory["actions"].rss_mb > 1
    finally:
        os.killpg(launcher.pid, 9)
        launcher.wait()


def _results(**changes: Any) -> Dict[str, Any]:
    """Synthetic benchmark results in the shape bench/run.py writes."""

    def config(p95: float, throughput: float, cold: float, train: float, rss: List[float]) -> Dict[str, Any]:
        memory = {"start": {"turns": 0, "rasa": {"rss_mb": rss[0], "pss_mb": rss[0], "processes": 1},
                            "actions": {"rss_mb": 40.0, "pss_mb": 30.0, "processes": 1}, "total_rss_mb": rss[0] + 40}}
        for turns, value in zip((5000, 10000), rss[1:], strict=True):
            memory[str(turns)] = {"turns": turns, "rasa": {"rss_mb": value, "pss_mb": value, "processes": 1},
                                  "actions": {"rss_mb": 40.0, "pss_mb": 30.0, "processes": 1},
                                  "total_rss_mb": value + 40, "errors": 0}
        levels = [{"concurrency": c, "throughput": throughput, "p50_ms": 10.0 * c, "p95_ms": 12.0 * c,
                   "p99_ms": 15.0 * c, "errors": 0} for c in (1, 8, 32, 64)]
        return {
            "training": {"train_s": train, "command": "rasa train"},
            "serve": {"cold_start": {"http_up_s": cold - 1, "first_answer_s": cold},
                      "sequential": {"p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 1.5, "mean_ms": p95 / 2,
                                     "errors": 0, "curated": 1000},
                      "levels": levels, "memory": memory, "data_dir_files": ["tracker.db"],
                      "fast_path": {"p50_ms": 20.0, "p95_ms": 60.0, "p99_ms": 90.0, "max_ms": 120.0, "errors": 0}},
        }

    results = {
        "mode": "full", "started": "2026-01-01T00:00:00+00:00", "duration_s": 600.0, "command": "python -m bench.run",
        "commit": "abc1234", "uncommitted_changes": False, "extra_env": {},
        "machine": {"cpu": "x", "cores": 2, "memory_gb": 8, "os": "Linux", "python": "3.10", "rasa": "3.6.21",
                    "rasa_sdk": "3.6.2", "sanic": "21.12.2"},
        "load_start": [0.1, 0.1, 0.1], "load_end": [0.2, 0.1, 0.1],
        "settings": {"sequential_turns": 1000, "sequential_max_seconds": 150, "warmup_turns": 30,
                     "levels": [1, 8, 32, 64], "level_seconds": 20, "level_warmup_seconds": 3,
                     "checkpoints": [5000, 10000], "checkpoint_concurrency": 8,
                     "detector_repeats": 5},
        "detector": {"messages": 1155.0, "msg_p50": 200.0, "msg_p99": 600.0, "raw_p50": 210.0, "raw_p99": 900.0,
                     "max": 5000.0},
        "configs": {"ours": config(30.0, 120.0, 10.0, 40.0, [500.0, 510.0, 515.0]),
                    "stock": config(60.0, 50.0, 45.0, 300.0, [1000.0, 1100.0, 1200.0])},
    }
    for path, value in changes.items():
        node = results
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return results


def test_targets_are_met_by_good_figures_and_missed_by_bad_ones() -> None:
    good = report.targets(_results())
    assert [row["met"] for row in good] == [True] * len(good)
    assert good[1]["ratio"] == "2.40×" and good[1]["met"]

    bad = _results(**{
        "configs.ours.serve.sequential.p95_ms": 41.0,
        "configs.ours.serve.cold_start.first_answer_s": 15.5,
        "configs.ours.training.train_s": 61.0,
        "detector.msg_p99": 2001.0,
        "configs.ours.serve.fast_path.p99_ms": 1001.0,
    })
    bad["configs"]["ours"]["serve"]["levels"][2].update(throughput=99.0, p95_ms=401.0, errors=1)
    bad["configs"]["ours"]["serve"]["memory"]["10000"]["total_rss_mb"] = 901.0
    rows = report.targets(bad)
    assert [row["met"] for row in rows] == [False] * len(rows), rows
    assert "Every target is met in this run." in report.render(_results(), "plot.png")
    text = report.render(bad, "plot.png")
    assert "Not met in this run: one sender: p95 ≤ 40 ms;" in text and "cold start ≤ 15 s" in text
    tried = text.split("## What was tried", 1)[1]
    assert report.TRIED.read_text(encoding="utf-8").strip()[:200] in tried


def test_memory_growth_compares_the_last_two_checkpoints() -> None:
    results = _results()
    assert report.memory_growth(results, "ours") == pytest.approx((555 - 550) / 550)
    assert report.memory_growth(results, "stock") == pytest.approx((1240 - 1140) / 1140)


def test_report_names_the_machine_load_and_every_config() -> None:
    quiet = report.render(_results(), "plot.png")
    assert "![Latency and throughput against concurrency](plot.png)" in quiet
    assert "shared" not in quiet and "SQLite (tracker.db" in quiet
    busy = report.render(_results(load_end=[3.5, 2.0, 1.0]), "plot.png")
    assert "Measured on a shared 2-core machine" in busy and "3.50/2.00/1.00" in busy
    probed = report.render(_results(**{"configs.ours.serve.speed_probe_before_s": 0.812,
                                       "configs.ours.serve.speed_probe_after_s": 1.004}), "plot.png")
    assert "speed probe before / after serving ours" in probed and "0.812 s / 1.004 s" in probed
    assert "serving stock (a fixed Python loop, CPU s; lower is faster) | n/a / n/a" in probed
    only_ours = copy.deepcopy(_results())
    del only_ours["configs"]["stock"]
    text = report.render(only_ours, "plot.png")
    assert "| stock" not in text and all(row["ratio"] == "n/a" for row in report.targets(only_ours))


def test_speed_probe_measures_cpu_time() -> None:
    assert 0.01 < procs.speed_probe(repeats=1) < 30


def test_plot_is_written(tmp_path: Path) -> None:
    path = tmp_path / "latency.png"
    report.plot_latency(_results(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
