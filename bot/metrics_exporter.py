"""The metrics endpoint: ``GET /metrics`` on ``METRICS_HOST:METRICS_PORT`` (loopback by default).

Why a process of its own: with several Sanic workers no one worker can answer for the
others, and the public chat port must never serve metrics. ``scripts/run.sh`` starts this
beside the servers when ``METRICS_PORT`` is set; it adds up the samples every server
process wrote to ``PROMETHEUS_MULTIPROC_DIR`` (bot/metrics.py). It imports neither Rasa
nor the model, so it starts in a moment and costs a few megabytes.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

DEFAULT_HOST = "127.0.0.1"


def main() -> int:
    """Serves the metrics until SIGTERM or SIGINT."""
    port = int(os.environ["METRICS_PORT"])
    host = os.environ.get("METRICS_HOST") or DEFAULT_HOST
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    start_http_server(port, addr=host, registry=registry)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"Metrics on http://{host}:{port}/metrics", file=sys.stderr)
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
