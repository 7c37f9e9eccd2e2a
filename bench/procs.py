"""Processes for the benchmark: training, serving through ``scripts/run.sh``, memory via /proc.

The bot is started exactly as ``make run`` starts it (``scripts/run.sh``), on free
loopback ports with its own temporary ``DATA_DIR``, so the figures describe what a
deployment runs. Memory is read from ``/proc`` directly: it needs no extra package and
``VmRSS`` is the "resident memory" the issue asks about.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

from bot.env import PROCESS_DEFAULTS

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:  # the process ended between listing and reading
        return ""


def _status_kb(pid: int, field_name: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (or ``smaps_rollup`` for ``Pss``)."""
    source = f"/proc/{pid}/smaps_rollup" if field_name == "Pss" else f"/proc/{pid}/status"
    for line in _read(source).splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    return 0


def _children_map() -> Dict[int, List[int]]:
    """Parent pid -> child pids for every process, from ``/proc/<pid>/stat``."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read(f"/proc/{entry}/stat")
        if not stat:
            continue
        # The command name is in parentheses and may contain spaces: split after it.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    return children


def _tree(pid: int, children: Mapping[int, List[int]]) -> List[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cmdline(pid: int) -> str:
    """The command line of a process, spaces between arguments ("" once it has ended)."""
    return _read(f"/proc/{pid}/cmdline").replace("\0", " ").strip()


@dataclass
class Memory:
    """Resident memory of one server (summed over its worker processes), in MB."""

    rss_mb: float
    pss_mb: float
    processes: int


def servers(launcher_pid: int) -> Dict[str, List[int]]:
    """The pids of the Rasa server and of the action server started by one ``run.sh``.

    Each server is the launcher's child whose command line names it, with all of its
    descendants (Sanic workers).
    """
    children = _children_map()
    found: Dict[str, List[int]] = {}
    for child in children.get(launcher_pid, []):
        command = cmdline(child)
        if "rasa_sdk" in command:
            found["actions"] = _tree(child, children)
        elif "bot.patched_rasa" in command:
            found["rasa"] = _tree(child, children)
    return found


def server_memory(launcher_pid: int) -> Dict[str, Memory]:
    """Memory of each server, summed over its processes.

    RSS counts pages shared between workers once per process and PSS splits them, so
    with several workers PSS is the fairer figure.
    """
    return {
        name: Memory(
            rss_mb=sum(_status_kb(p, "VmRSS") for p in pids) / 1024,
            pss_mb=sum(_status_kb(p, "Pss") for p in pids) / 1024,
            processes=len(pids),
        )
        for name, pids in servers(launcher_pid).items()
    }


def _cpu_seconds(pid: int) -> float:
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(launcher_pid: int) -> Dict[str, float]:
    """CPU time (user + system) each server has used so far.

    CPU per turn hardly depends on what else runs on the machine, unlike latency, so it
    compares configurations fairly even on a shared machine.
    """
    return {name: sum(_cpu_seconds(p) for p in pids) for name, pids in servers(launcher_pid).items()}


def machine() -> Dict[str, object]:
    """What the figures were measured on: cores, memory, CPU, Python, Rasa."""
    cpu_lines = [line for line in _read("/proc/cpuinfo").splitlines() if line.startswith("model name")]
    cpu = cpu_lines[0].split(":", 1)[1].strip() if cpu_lines else platform.processor() or "unknown"
    memory_kb = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal:")), 0
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "rasa": metadata.version("rasa"),
        "rasa_sdk": metadata.version("rasa-sdk"),
        "sanic": metadata.version("sanic"),
    }


def speed_probe(repeats: int = 3) -> float:
    """CPU seconds of a fixed pure-Python loop (the median of ``repeats``): lower is faster.

    Why: this is a shared machine whose speed changes from minute to minute with work
    that the load average does not show (the same loop has taken 0.78 s and 1.0 s within a
    minute here). Taken before and after each configuration is served, it tells the
    reader how fast the machine was while each set of figures was measured.
    """
    times = []
    for _ in range(repeats):
        started = time.process_time()
        total, table = 0, {}
        for i in range(1_000_000):
            total += i * i % 7
            if i % 10 == 0:
                table[str(i)] = i
        times.append(time.process_time() - started)
    return sorted(times)[len(times) // 2]


def base_env(**overrides: str) -> Dict[str, str]:
    """The environment of every command the benchmark runs."""
    return {**os.environ, **PROCESS_DEFAULTS, **overrides}


def _shown(path: Path) -> str:
    """A path as a reader would type it: relative to the project when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def train(config: Path, out_dir: Path, name: str, cache_dir: Path, log: Path) -> Tuple[float, str]:
    """Train from scratch (empty cache, ``--force``); returns the wall time and the command.

    ``RASA_CACHE_DIRECTORY`` points to an empty folder, so nothing is reused from an
    earlier ``rasa train`` of the same data.
    """
    command = [
        ".venv/bin/rasa", "train", "--config", _shown(config), "--domain", "domain.yml",
        "--data", "data", "--out", _shown(out_dir), "--fixed-model-name", name, "--force",
    ]
    env = base_env(RASA_CACHE_DIRECTORY=str(cache_dir))
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as output:
        started = time.perf_counter()
        finished = subprocess.run(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"training {name} failed (exit {finished.returncode}); see {log}")
    return elapsed, "RASA_CACHE_DIRECTORY=<empty temp dir> " + " ".join(command)


#: Settings that change the set-up being measured. They are cleared so that the default
#: set-up is benchmarked whatever the calling shell exports; ``--env`` sets them on purpose.
SETUP_VARIABLES = (
    "DB_URL", "DB_HOST", "REDIS_URL", "REDIS_HOST", "SANIC_WORKERS", "ACTION_SERVER_SANIC_WORKERS",
    "PRIVACY_MODE", "ENABLE_API", "RASA_AUTH_TOKEN", "TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_URL", "CRISIS_REGION",
    "ALLOWED_ORIGINS", "RESPONSE_TIMEOUT", "PYTHONPATH", "BENCH_LEVERS",
    "METRICS_PORT", "METRICS_HOST", "PROMETHEUS_MULTIPROC_DIR",
)


class ServedBot:
    """``scripts/run.sh`` with one model, on free loopback ports and its own data folder."""

    def __init__(self, model: Path, data_dir: Path, log: Path, extra_env: Mapping[str, str]) -> None:
        self.rasa_port, self.actions_port = free_port(), free_port()
        self.base_url = f"http://127.0.0.1:{self.rasa_port}"
        self.env = base_env(
            HOST="127.0.0.1",
            RASA_PORT=str(self.rasa_port),
            ACTIONS_PORT=str(self.actions_port),
            ACTION_ENDPOINT_URL=f"http://127.0.0.1:{self.actions_port}/webhook",
            MODEL=str(model),
            DATA_DIR=str(data_dir),
            **extra_env,
        )
        for name in SETUP_VARIABLES:
            if name not in extra_env:
                self.env.pop(name, None)
        self.log = log
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> None:
        """Launch ``scripts/run.sh``; ``started_at`` is the reference for cold start."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        output = open(self.log, "wb")
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            ["scripts/run.sh"], cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        output.close()  # the child keeps its own descriptor

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def memory(self) -> Dict[str, Memory]:
        if self.process is None:
            raise RuntimeError("the bot was not started")
        return server_memory(self.process.pid)

    def cpu_seconds(self) -> Dict[str, float]:
        if self.process is None:
            raise RuntimeError("the bot was not started")
        return server_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """SIGTERM to run.sh (it stops both servers); SIGKILL the group if that hangs."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def tracker_store_files(data_dir: Path) -> Sequence[str]:
    """Files the bot left in its data folder (shows whether the SQLite store was used)."""
    if not data_dir.exists():
        return []
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file())
