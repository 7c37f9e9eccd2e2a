"""Applies the lever experiments named in ``BENCH_LEVERS`` when a Python process starts.

Each lever is a module next to this file that changes one thing about how the bot runs,
without touching the project, so ``make bench`` can measure it before anyone adopts it.
Python imports ``sitecustomize`` from ``PYTHONPATH`` at start-up, so::

    python -m bench.run --configs ours --env PYTHONPATH=$PWD/bench/levers --env BENCH_LEVERS=early_skops

applies that lever (a comma-separated list applies several) to the Rasa server and the
action server that ``scripts/run.sh`` starts.
"""

import importlib
import os

for _lever in filter(None, (name.strip() for name in os.environ.get("BENCH_LEVERS", "").split(","))):
    importlib.import_module(_lever)
