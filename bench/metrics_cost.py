"""What the metrics cost: CPU time per turn with ``METRICS_PORT`` set and unset, side by side.

Usage: ``python -m bench.metrics_cost [--rounds 6] [--turns 150]`` (a few minutes), and
part of ``make bench``. Target: at most 0.5 ms of CPU per turn (docs/metrics.md).

Two bots run at once from the same model, one with metrics on and one with them off, and
take turns: each round sends the same messages to one and then the other, in alternating
order, and reads each server's CPU time (user + system, from /proc) before and after. CPU
per turn hardly depends on what else runs on a shared machine, and alternating rounds
spread any drift in its speed over both. The "on" figure includes everything metrics
add: the recording in every turn, the crisis response check every 30 s, and the exporter
process answering one scrape per round (Prometheus scrapes every 15 s).

Run-to-run noise of the side-by-side figure on a shared machine is of the order of 1 ms
per turn (two runs here: -1.20 and +0.20 ms), so on its own it cannot resolve 0.5 ms.
The recording itself is therefore also timed in-process (``recording_cost``): the CPU
time of what one turn records, over many turns, which is exact to a microsecond.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Sequence

from bench import procs
from bench.load import LoadClient

ROOT = procs.ROOT
MODEL = ROOT / "models" / "therapy-bot.tar.gz"
TARGET_MS = 0.5
#: Servers whose CPU counts (the exporter is a child of run.sh, found by its command line).
SERVERS = ("rasa", "actions", "exporter")


def _exporter_cpu_seconds(bot: procs.ServedBot) -> float:
    assert bot.process is not None
    children = procs._children_map().get(bot.process.pid, [])
    return sum(procs._cpu_seconds(pid) for pid in children if "bot.metrics_exporter" in procs.cmdline(pid))


def _cpu(bot: procs.ServedBot) -> Dict[str, float]:
    return {**bot.cpu_seconds(), "exporter": _exporter_cpu_seconds(bot)}


async def _round(bot: procs.ServedBot, messages: Sequence[str], turns: int, concurrency: int, label: str,
                 metrics_url: str | None) -> Dict[str, float]:
    """Sends ``turns`` turns and returns each server's CPU milliseconds per turn."""
    before = _cpu(bot)
    async with LoadClient(bot.base_url, messages, f"cost-{label}") as client:
        result = await client.phase(label, concurrency, max_turns=turns)
    if metrics_url is not None:
        with urllib.request.urlopen(metrics_url, timeout=30) as response:
            response.read()
    after = _cpu(bot)
    done = max(client.turns_done, 1)
    if sum(result.errors.values()):
        raise RuntimeError(f"{label}: {dict(result.errors)} errors; see {bot.log}")
    return {server: 1e3 * (after.get(server, 0.0) - before.get(server, 0.0)) / done for server in SERVERS}


async def measure(messages: Sequence[str], out: Path, rounds: int = 6, turns: int = 150, concurrency: int = 4,
                  model: Path = MODEL) -> Dict[str, Any]:
    """Runs both bots and returns the median CPU ms per turn of each server, on and off."""
    metrics_port = procs.free_port()
    bots = {
        "off": procs.ServedBot(model, Path(tempfile.mkdtemp(prefix="cost-off-")), out / "logs" / "cost-off.log", {}),
        "on": procs.ServedBot(model, Path(tempfile.mkdtemp(prefix="cost-on-")), out / "logs" / "cost-on.log",
                              {"METRICS_PORT": str(metrics_port)}),
    }
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    per_round: Dict[str, List[Dict[str, float]]] = {"off": [], "on": []}
    try:
        for bot in bots.values():
            bot.start()
        for bot in bots.values():
            await _wait_until_answering(bot, messages[0])
        for name, bot in bots.items():  # warm-up: first turns load lazily built parts
            await _round(bot, messages, 30, concurrency, f"warmup-{name}", None)
        for index in range(rounds):
            order = ("off", "on") if index % 2 == 0 else ("on", "off")
            for name in order:
                figures = await _round(bots[name], messages, turns, concurrency, f"{name}-{index}",
                                       metrics_url if name == "on" else None)
                per_round[name].append(figures)
                print(f">> metrics cost round {index + 1}/{rounds} {name}: "
                      f"Rasa {figures['rasa']:.2f} ms/turn, actions {figures['actions']:.2f}", flush=True)
    finally:
        for bot in bots.values():
            bot.stop()
    return summarise(per_round, rounds, turns, concurrency)


async def _wait_until_answering(bot: procs.ServedBot, message: str, max_seconds: float = 300.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    async with LoadClient(bot.base_url, [message], "cost-start") as client:
        while loop.time() < deadline:
            if not bot.alive():
                raise RuntimeError(f"the bot stopped; see {bot.log}")
            _, error, _ = await client.turn("cost-start", message)
            if error is None:
                return
            await asyncio.sleep(1.0)
    raise RuntimeError(f"no answer within {max_seconds:.0f} s; see {bot.log}")


def summarise(per_round: Dict[str, List[Dict[str, float]]], rounds: int, turns: int, concurrency: int
              ) -> Dict[str, Any]:
    """Medians per server and in total, and the in-process recording cost.

    The side-by-side cost is the difference of the medians of the totals. Whether the
    target is met is judged on the recording cost, the one figure precise enough for it.
    """
    medians = {
        name: {server: statistics.median(r[server] for r in figures) for server in SERVERS}
        | {"total": statistics.median(sum(r.values()) for r in figures)}
        for name, figures in per_round.items()
    }
    cost = medians["on"]["total"] - medians["off"]["total"]
    recording = recording_cost()
    return {"rounds": rounds, "turns_per_round": turns, "concurrency": concurrency, "per_round": per_round,
            "median_ms_per_turn": medians, "cost_ms_per_turn": cost, "recording_us_per_turn": recording,
            "target_ms": TARGET_MS, "met": max(recording.values()) / 1e3 <= TARGET_MS}


#: What one ordinary turn and one crisis turn record (bot/channels/fastpath.py).
_TURN_REPLY = [{"text": "...", "custom": {"topic": "session_length"}}]
_CRISIS_REPLY = [{"text": "...", "custom": {"topic": "crisis", "kind": "self", "region": "US"}}]


def _time_recording(turns: int) -> Dict[str, float]:
    """CPU microseconds per ordinary and per crisis turn of the recording calls (metrics on)."""
    from bot import metrics

    metrics.start("rasa", "bench", "bench")
    metrics.record_turn("rest", "turn", 0.01, _TURN_REPLY)  # creates every series first
    figures = {}
    for name, path, reply in (("turn", "turn", _TURN_REPLY), ("crisis", "crisis", _CRISIS_REPLY)):
        started = time.process_time()
        for _ in range(turns):
            metrics.record_turn("rest", path, 0.05, reply)
            metrics.record_conversation_started()
        figures[name] = 1e6 * (time.process_time() - started) / turns
    return figures


def recording_cost(turns: int = 20_000) -> Dict[str, float]:
    """Runs ``_time_recording`` in a fresh process with metrics on (they are read at import)."""
    with tempfile.TemporaryDirectory(prefix="cost-multiproc-") as folder:
        env = {**os.environ, "METRICS_PORT": "9", "PROMETHEUS_MULTIPROC_DIR": folder}
        result = subprocess.run([sys.executable, "-m", "bench.metrics_cost", "--recording", str(turns)], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def report_lines(figures: Dict[str, Any]) -> List[str]:
    """The "Metrics cost" section of docs/benchmarks.md."""
    medians, recording = figures["median_ms_per_turn"], figures["recording_us_per_turn"]
    rows = [f"| {server} | {medians['off'][server]:.2f} | {medians['on'][server]:.2f} | "
            f"{medians['on'][server] - medians['off'][server]:+.2f} |" for server in (*SERVERS, "total")]
    verdict = "**met**" if figures["met"] else "**not met**"
    return [
        "## Metrics cost", "",
        f"CPU milliseconds per turn with metrics off and on (`METRICS_PORT`), medians of {figures['rounds']} "
        f"alternating rounds of {figures['turns_per_round']} turns at {figures['concurrency']} senders, both bots "
        "running at once (`bench/metrics_cost.py`). \"on\" includes the crisis response check and one scrape "
        "per round.", "",
        "| server | off | on | difference |", "|---|---|---|---|", *rows, "",
        f"Side by side: {figures['cost_ms_per_turn']:+.2f} ms of CPU per turn (its run-to-run noise on a shared "
        "machine is of the order of 1 ms, so this bounds the cost rather than measuring it).",
        "",
        f"The recording itself, timed in-process: {recording['turn']:.1f} µs per ordinary turn and "
        f"{recording['crisis']:.1f} µs per crisis turn ({recording['turn'] / 1e3:.3f} ms); "
        f"target ≤ {figures['target_ms']} ms per turn: {verdict}.",
        "",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Measures the cost and prints it as the Markdown section and as JSON under results/."""
    from bench.run import bench_messages

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--turns", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--recording", type=int, metavar="TURNS", help=argparse.SUPPRESS)  # recording_cost's child
    args = parser.parse_args(argv)
    if args.recording:
        print(json.dumps(_time_recording(args.recording)))
        return 0
    out = ROOT / "results" / "metrics-cost"
    figures = asyncio.run(measure(bench_messages(), out, args.rounds, args.turns, args.concurrency))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print("\n".join(report_lines(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
