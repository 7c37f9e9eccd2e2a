"""Rasa's command line (``python -m bot.rasa_cli run ...``), with ``skops.io`` imported first.

Why: at import time ``skops.io`` computes the names of the types it trusts with
``pickle.whichmodule``, which scans every module already loaded. Rasa imports it while
loading our intent classifier (``bot/nlu/tfidf_classifier.py``), after TensorFlow and Rasa
have loaded more than 5,000 modules, and the scan then took about 11 s of the server's
start-up; imported before them it takes under 2 s (measured by ``make bench``, see
``docs/benchmarks.md``). ``scripts/run.sh`` and ``scripts/shell.sh`` start Rasa through
this module; it changes nothing else.
"""

import sys

import skops.io  # noqa: F401  (imported for its side effect: the early, cheap type scan)
from rasa.__main__ import main

if __name__ == "__main__":
    sys.argv[0] = "rasa"  # so usage and error messages name the command people know
    main()
