"""``make bench``: latency, throughput, cold start, memory and training, next to stock Rasa.

Usage: ``python -m bench.run [--quick] [--configs ours,stock] [--env KEY=VALUE ...]``.

Two configurations are trained from scratch on the same domain and data and then served
one after the other through ``scripts/run.sh`` (REST channel, action server, the tracker
store of ``endpoints.yml``): ``ours`` is ``config.yml``; ``stock`` is
``bench/stock-config.yml``, which names no pipeline or policies so Rasa fills in the
defaults a ``rasa init`` bot gets. Every figure is therefore also a ratio against stock
Rasa measured in the same run, on the same machine, under the same background load.

A full run writes ``docs/benchmarks.md`` and ``docs/benchmarks-latency.png``; ``--quick``
(``make bench QUICK=1``) is a short development run that writes only under
``results/bench-quick/`` and reuses trained models when they are up to date.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Awaitable, Dict, List, Sequence, Tuple

import aiohttp
import yaml

from bench import metrics_cost, procs, report
from bench.load import REQUEST_TIMEOUT_S, LoadClient, PhaseResult, classify_reply, crisis_under_load
from bot.env import set_process_defaults

ROOT = procs.ROOT
STOCK_CONFIG = ROOT / "bench" / "stock-config.yml"
TEST_DATA = ROOT / "tests" / "nlu_test_data.yml"
#: What each trained model depends on; a reused model must be newer than all of these.
TRAINING_INPUTS = {
    "ours": ("config.yml", "domain.yml", "data", "bot/nlu", "bot/crisis"),
    "stock": ("bench/stock-config.yml", "domain.yml", "data"),
}
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


@dataclass(frozen=True)
class Settings:
    """How much load each phase applies; ``quick`` trades precision for minutes."""

    sequential_turns: int
    sequential_max_seconds: float
    warmup_turns: int
    levels: Tuple[int, ...]
    level_seconds: float
    level_warmup_seconds: float
    checkpoints: Tuple[int, ...]
    checkpoint_concurrency: int
    checkpoint_max_seconds: float
    cold_start_max_seconds: float
    detector_repeats: int
    #: Crisis messages sent under load to measure the fast path, and the senders keeping the bot busy.
    fast_path_samples: int = 200
    fast_path_background: int = 32
    #: Alternating rounds of the metrics on/off comparison (bench/metrics_cost.py).
    metrics_cost_rounds: int = 6


FULL = Settings(
    sequential_turns=1000, sequential_max_seconds=150.0, warmup_turns=30, levels=(1, 8, 32, 64), level_seconds=20.0,
    level_warmup_seconds=3.0, checkpoints=(5000, 10000), checkpoint_concurrency=8,
    checkpoint_max_seconds=420.0, cold_start_max_seconds=300.0, detector_repeats=5,
)
QUICK = Settings(
    sequential_turns=150, sequential_max_seconds=60.0, warmup_turns=10, levels=(1, 8, 32, 64), level_seconds=4.0,
    level_warmup_seconds=1.0, checkpoints=(1000, 2000), checkpoint_concurrency=8,
    checkpoint_max_seconds=120.0, cold_start_max_seconds=300.0, detector_repeats=2,
    fast_path_samples=60, metrics_cost_rounds=2,
)
#: The crisis message of the fast-path phase (the corpus's most common wording).
FAST_PATH_MESSAGE = "i want to kill myself"


def bench_messages() -> List[str]:
    """Held-out questions that each get a curated answer from a custom action.

    Realistic wording the model never trained on, one of every knowledge intent in turn,
    so the turn measured is the one the issue names: a curated answer via the action server.
    """
    from actions.knowledge import KNOWLEDGE_TOPICS

    with open(TEST_DATA, encoding="utf-8") as handle:
        blocks = yaml.safe_load(handle)["nlu"]
    per_intent = {
        block["intent"]: [
            _ANNOTATION.sub(r"\1", line[2:]).strip()
            for line in block["examples"].splitlines() if line.startswith("- ")
        ]
        for block in blocks if block.get("intent") in KNOWLEDGE_TOPICS
    }
    rounds = max(len(examples) for examples in per_intent.values())
    return [
        examples[i] for i in range(rounds) for examples in per_intent.values() if i < len(examples)
    ]


def detector_timing(repeats: int) -> Dict[str, float]:
    """The crisis layer alone (rules and risk model) over the labelled corpus and batches (µs per message)."""
    from evaluation.crisis import corpus_messages, time_layer

    messages = corpus_messages()
    return {**time_layer(messages, repeats=repeats), "messages": float(len(messages))}


def _newest_input_mtime(config: str) -> float:
    newest = 0.0
    for name in TRAINING_INPUTS[config]:
        path = ROOT / name
        files = [path] if path.is_file() else [
            p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ]
        newest = max([newest, *(p.stat().st_mtime for p in files)])
    return newest


def train_config(name: str, out: Path, reuse: bool) -> Dict[str, Any]:
    """Train one configuration from scratch into ``out/<name>/``; time it.

    The config is copied first because Rasa writes the defaults it picked into the file
    it was given, and ``bench/stock-config.yml`` must stay as committed. The timing is
    kept next to the model, so a reused model still reports how long it took to train
    (marked as reused: stock Rasa can take most of an hour on a busy 2-core machine).
    """
    folder = out / name
    model = folder / f"{name}.tar.gz"
    record = folder / "training.json"
    if reuse and model.exists() and model.stat().st_mtime > _newest_input_mtime(name):
        print(f">> {name}: reusing {model.relative_to(ROOT)}", flush=True)
        earlier = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
        return {"train_s": None, "command": None, **earlier, "model": str(model), "reused": True}
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yml"
    shutil.copyfile(ROOT / "config.yml" if name == "ours" else STOCK_CONFIG, config)
    print(f">> {name}: training from scratch", flush=True)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix=f"bench-cache-{name}-") as cache:
        seconds, command = procs.train(config, folder, name, Path(cache), out / "logs" / f"train-{name}.log")
    print(f">> {name}: trained in {seconds:.1f} s", flush=True)
    result = {
        "train_s": seconds, "command": command, "load_before": load_before, "load_after": os.getloadavg(),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    record.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return {**result, "model": str(model), "reused": False}


async def cold_start(bot: procs.ServedBot, message: str, max_seconds: float) -> Dict[str, float]:
    """Seconds from launching run.sh to Rasa's first HTTP answer and to the first curated answer.

    Polls the REST webhook with a real question every 0.1 s; "answered" means a 200 with
    a reply that is not the "trouble answering" fallback, so the action server is up too.
    The CPU time each server used until then is recorded as well: on a busy machine the
    wall time mostly measures the other work, the CPU time what start-up itself costs.
    """
    http_up = math.nan
    deadline = bot.started_at + max_seconds
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S * 2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.perf_counter() < deadline:
            if not bot.alive():
                raise RuntimeError(f"the bot exited during start-up; see {bot.log}")
            try:
                async with session.post(
                    f"{bot.base_url}/webhooks/rest/webhook", json={"sender": "bench-cold-start", "message": message}
                ) as response:
                    status = response.status
                    body = await response.json(content_type=None) if status == 200 else None
                if math.isnan(http_up):
                    http_up = time.perf_counter() - bot.started_at
                error, _curated = classify_reply(status, body)
                if error is None:
                    answered = time.perf_counter() - bot.started_at
                    cpu = bot.cpu_seconds()
                    return {"http_up_s": http_up, "first_answer_s": answered,
                            "rasa_cpu_s": cpu.get("rasa", math.nan), "actions_cpu_s": cpu.get("actions", math.nan)}
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"no answer within {max_seconds:.0f} s of start; see {bot.log}")


def _memory(bot: procs.ServedBot, turns: int) -> Dict[str, Any]:
    memory = bot.memory()
    missing = {"rasa", "actions"} - set(memory)
    if missing:
        raise RuntimeError(f"could not find the {', '.join(sorted(missing))} server process; see {bot.log}")
    figures = {name: asdict(value) for name, value in memory.items()}
    return {"turns": turns, **figures, "total_rss_mb": sum(m.rss_mb for m in memory.values())}


async def serve_and_measure(
    name: str, model: Path, out: Path, settings: Settings, messages: Sequence[str], extra_env: Dict[str, str]
) -> Dict[str, Any]:
    """Start one bot, run every phase against it, stop it; return the figures."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-data-{name}-"))
    bot = procs.ServedBot(model, data_dir, out / "logs" / f"serve-{name}.log", extra_env)
    result: Dict[str, Any] = {"load_before": os.getloadavg(), "speed_probe_before_s": procs.speed_probe()}
    print(f">> {name}: starting scripts/run.sh (Rasa on port {bot.rasa_port})", flush=True)
    bot.start()
    try:
        result["cold_start"] = await cold_start(bot, messages[0], settings.cold_start_max_seconds)
        print(f">> {name}: first answer {result['cold_start']['first_answer_s']:.1f} s after start", flush=True)
        memory = {"start": _memory(bot, 0)}

        def checkpoint(turns: int) -> None:
            memory[str(turns)] = _memory(bot, turns)
            print(f">> {name}: {turns:,} turns, Rasa + actions {memory[str(turns)]['total_rss_mb']:.0f} MB resident",
                  flush=True)

        async with LoadClient(
            bot.base_url, messages, f"bench-{name}", checkpoints=settings.checkpoints, on_checkpoint=checkpoint
        ) as client:

            async def measured(coroutine: Awaitable[PhaseResult]) -> Dict[str, Any]:
                """The phase's summary plus the servers' CPU time per turn it sent."""
                cpu_before, turns_before = bot.cpu_seconds(), client.turns_done
                summary = (await coroutine).summary()
                cpu_after, turns = bot.cpu_seconds(), client.turns_done - turns_before
                summary["cpu_ms_per_turn"] = {
                    server: 1e3 * (cpu_after.get(server, 0.0) - cpu_before.get(server, 0.0)) / max(turns, 1)
                    for server in cpu_after
                }
                return summary

            await client.phase("warmup", 1, max_turns=settings.warmup_turns)
            result["sequential"] = await measured(client.phase(
                "sequential", 1, duration_s=settings.sequential_max_seconds, max_turns=settings.sequential_turns
            ))
            print(f">> {name}: one sender p95 {result['sequential']['p95_ms']:.1f} ms", flush=True)
            result["levels"] = []
            for concurrency in settings.levels:
                level = await measured(client.phase(
                    f"c{concurrency}", concurrency,
                    duration_s=settings.level_seconds, warmup_s=settings.level_warmup_seconds,
                ))
                result["levels"].append(level)
                print(
                    f">> {name}: {concurrency:>2} senders {level['throughput']:.1f} turns/s, "
                    f"p95 {level['p95_ms']:.0f} ms, {level['errors']} errors", flush=True,
                )
                if not bot.alive():
                    raise RuntimeError(f"the bot exited under load; see {bot.log}")
            # The crisis fast path: a crisis message from a sender whose own question is in
            # flight, while 32 other senders keep the bot busy (about 10 s of a run).
            result["fast_path"] = (await crisis_under_load(
                client, settings.fast_path_samples, settings.fast_path_background, FAST_PATH_MESSAGE
            )).summary()
            print(
                f">> {name}: crisis reply under load p99 {result['fast_path']['p99_ms']:.0f} ms, "
                f"max {result['fast_path']['max_ms']:.0f} ms, {result['fast_path']['errors']} errors", flush=True,
            )
            # The checkpoints fire inside the client at exactly their turn counts; this
            # phase sends whatever the latency phases left to reach the last of them.
            phase = await client.until_turns(
                max(settings.checkpoints), settings.checkpoint_concurrency,
                settings.checkpoint_max_seconds * len(settings.checkpoints),
            )
            result["memory_phase"] = phase.summary()
            result["turns_total"] = client.turns_done
        result["memory"] = memory
    finally:
        bot.stop()
        result["data_dir_files"] = list(procs.tracker_store_files(data_dir))
        shutil.rmtree(data_dir, ignore_errors=True)
    result["load_after"] = os.getloadavg()
    result["speed_probe_after_s"] = procs.speed_probe()
    return result


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return ""


def _parse_env(pairs: Sequence[str]) -> Dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env takes KEY=VALUE, not {pair!r}")
        env[key] = value
    return env


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the report; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short development run (writes under results/ only)")
    parser.add_argument("--configs", default="ours,stock", help="comma-separated: ours, stock (default both)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the served bots, e.g. SANIC_WORKERS=2 (repeatable)")
    parser.add_argument("--reuse-models", action="store_true",
                        help="reuse trained models that are newer than the training data (implied by --quick)")
    parser.add_argument("--out", type=Path, help="intermediate output (default results/bench or results/bench-quick)")
    parser.add_argument("--docs", type=Path, help="where the report goes (default docs/, or --out with --quick)")
    args = parser.parse_args(argv)

    # A terminated run must still stop the bot it started (serve_and_measure's finally).
    signal.signal(signal.SIGTERM, _interrupt)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if not configs or set(configs) - {"ours", "stock"}:
        raise SystemExit("--configs takes 'ours', 'stock' or both")
    settings = QUICK if args.quick else FULL
    out = (args.out or ROOT / "results" / ("bench-quick" if args.quick else "bench")).resolve()
    docs = (args.docs or (out if args.quick else ROOT / "docs")).resolve()
    extra_env = _parse_env(args.env)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    results: Dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m bench.run " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain")),
        "machine": procs.machine(),
        "load_start": os.getloadavg(),
        "settings": asdict(settings),
        "extra_env": extra_env,
        "endpoints": (ROOT / "endpoints.yml").read_text(encoding="utf-8"),
        "configs": {name: {} for name in configs},
    }
    messages = bench_messages()
    set_process_defaults()  # spaCy's thinc imports TensorFlow, which is chatty
    print(f">> crisis layer (rules and risk model) over the corpus ({settings.detector_repeats} passes)", flush=True)
    results["detector"] = detector_timing(settings.detector_repeats)
    for name in configs:
        results["configs"][name]["training"] = train_config(name, out, reuse=args.reuse_models or args.quick)
    for name in configs:
        model = Path(results["configs"][name]["training"]["model"])
        results["configs"][name]["serve"] = asyncio.run(
            serve_and_measure(name, model, out, settings, messages, extra_env)
        )
    if "ours" in results["configs"]:
        print(">> metrics on and off, side by side", flush=True)
        results["metrics_cost"] = asyncio.run(metrics_cost.measure(
            messages, out, rounds=settings.metrics_cost_rounds,
            model=Path(results["configs"]["ours"]["training"]["model"]),
        ))
    results["load_end"] = os.getloadavg()
    results["duration_s"] = time.perf_counter() - started

    results["results_file"] = str(out / "results.json")
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    docs.mkdir(parents=True, exist_ok=True)
    plot = docs / "benchmarks-latency.png"
    report.plot_latency(results, plot)
    (docs / "benchmarks.md").write_text(report.render(results, plot.name), encoding="utf-8")
    print(f">> wrote {docs / 'benchmarks.md'} and {plot} in {results['duration_s'] / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
