"""PostgreSQL and Redis for the storage tests, started by ``scripts/services.sh`` on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List

from tests.support import OUTPUT, ROOT, free_port

SERVICES = ROOT / "scripts" / "services.sh"


class Services:
    """A throwaway PostgreSQL and Redis in a temporary folder, on free loopback ports."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Under /tmp (not pytest's 0700 folders): the postgres user must reach the files.
        self.dir = Path(tempfile.mkdtemp(prefix=f"therapy-{name}-", dir="/tmp"))
        self.pg_port, self.redis_port = free_port(), free_port()
        self.env: Dict[str, str] = {}

    def _run(self, command: str) -> str:
        result = subprocess.run(
            [str(SERVICES), command, str(self.dir)],
            env={**os.environ, "PG_PORT": str(self.pg_port), "REDIS_PORT": str(self.redis_port)},
            capture_output=True, text=True, timeout=180,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        return result.stdout

    def start(self) -> Dict[str, str]:
        """Starts both servers; returns ``DB_URL`` and ``REDIS_URL`` for them."""
        for line in self._run("start").splitlines():
            key, _, value = line.partition("=")
            self.env[key] = value
        assert set(self.env) == {"DB_URL", "REDIS_URL"}, self.env
        return self.env

    def stop_postgres(self) -> None:
        self._run("stop-postgres")

    def start_postgres(self) -> None:
        self._run("start-postgres")

    def stop(self) -> None:
        """Stops both, keeps their logs under tests/output/, and deletes their files."""
        try:
            self._run("stop")
        finally:
            OUTPUT.mkdir(parents=True, exist_ok=True)
            for log in ("postgres.log", "redis.log"):
                if (self.dir / log).exists():
                    shutil.copyfile(self.dir / log, OUTPUT / f"{self.name}-{log}")
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self) -> str:
        """What PostgreSQL and Redis have logged so far."""
        return "".join(
            (self.dir / log).read_text(errors="replace")
            for log in ("postgres.log", "redis.log")
            if (self.dir / log).exists()
        )


def child_pids(pid: int) -> List[int]:
    """The direct child processes of ``pid`` (Linux ``/proc``)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def process_tree(pid: int) -> List[int]:
    """``pid`` and all its descendants."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(child_pids(current))
    return tree


def command_line(pid: int) -> str:
    """The command line of a process, with spaces between the arguments."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def rasa_server_pids(pid: int) -> List[int]:
    """The Rasa server processes that ``scripts/run.sh`` (process ``pid``) started."""
    return [child for child in child_pids(pid) if "bot.patched_rasa run " in command_line(child)]
