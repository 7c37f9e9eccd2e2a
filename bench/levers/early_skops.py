"""Lever experiment: import ``skops.io`` before Rasa and TensorFlow are loaded.

At import time ``skops.io`` computes its trusted type names with ``pickle.whichmodule``,
which scans every loaded module. Inside the Rasa server it is imported while loading the
model (``bot/nlu/tfidf_classifier.py``), when TensorFlow and Rasa have loaded more than
5,000 modules: about 11 s of CPU instead of about 2 s when imported first, and the
largest single part of the server's start-up.

Not part of the bot; applied through ``bench/levers/sitecustomize.py``, and only in the
Rasa server process (``.venv/bin/rasa``)::

    python -m bench.run --configs ours --env PYTHONPATH=$PWD/bench/levers --env BENCH_LEVERS=early_skops
"""

import sys
from pathlib import Path

if Path(sys.argv[0]).name == "rasa":
    import skops.io  # noqa: F401  (imported for its side effect: the cheap, early type scan)
