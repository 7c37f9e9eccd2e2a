"""Metrics with two Sanic workers: each worker counts its own turns, the endpoint shows their sum.

The bot runs with ``SANIC_WORKERS=2`` (so with PostgreSQL and Redis from
``scripts/services.sh``), and the test starts once both workers have loaded the model.
Forty turns from eight senders at once spread over both workers; each worker's own
sample file is read on its own to show that both counted some, and the endpoint must
show all forty.
"""

from __future__ import annotations

import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from tests.conftest import ServedBot
from tests.storage_services import Services, child_pids, rasa_server_pids
from tests.support import OUTPUT, RASA_UP, RestClient, wait_for_log
from tests.test_metrics import delta, metered_bot, scrape

pytestmark = [pytest.mark.metrics, pytest.mark.service]

TURNS, SENDERS = 40, 8


@pytest.fixture(scope="module")
def two_workers() -> Iterator[Tuple[ServedBot, str]]:
    services = Services("metrics-workers")
    env = services.start()
    try:
        for bot, url in metered_bot("metrics-workers.log", SANIC_WORKERS="2", **env):
            # The chat port answers once one worker serves; the other may still be loading.
            wait_for_log(OUTPUT / "metrics-workers.log", RASA_UP, 2, timeout=240, process=bot.process)
            yield bot, url
    finally:
        services.stop()


def worker_pids(bot: ServedBot) -> List[int]:
    rasa = rasa_server_pids(bot.process.pid)
    assert len(rasa) == 1
    return child_pids(rasa[0])


def turns_in(files: List[Path], folder: Path) -> float:
    """The REST turns counted in these sample files alone."""
    folder.mkdir()
    for path in files:
        shutil.copy(path, folder / path.name)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    return sum(sample.value for family in registry.collect() for sample in family.samples
               if sample.name == "therapy_bot_turns_total" and sample.labels.get("channel") == "rest")


def test_counts_of_two_sanic_workers_add_up(two_workers: Tuple[ServedBot, str], tmp_path: Path) -> None:
    bot, url = two_workers
    workers = worker_pids(bot)
    assert len(workers) == 2, "SANIC_WORKERS=2 with the Redis lock store"
    multiproc_dir = Path(dict(
        item.split("=", 1) for item in Path(f"/proc/{workers[0]}/environ").read_text().split("\0") if "=" in item
    )["PROMETHEUS_MULTIPROC_DIR"])
    before = scrape(url)
    senders = [RestClient(bot.base_url, f"w-{uuid.uuid4().hex[:8]}") for _ in range(SENDERS)]
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(lambda i: senders[i % SENDERS].say("how long is a session?"), range(TURNS)))
    after = scrape(url)
    assert delta(before, after, "therapy_bot_turns_total", channel="rest") == TURNS
    assert delta(before, after, "therapy_bot_replies_total", topic="session_length") == TURNS
    per_worker = [turns_in([multiproc_dir / f"counter_{pid}.db"], tmp_path / str(pid)) for pid in workers]
    assert all(count > 0 for count in per_worker), f"one worker took every turn: {per_worker}"
