"""Rasa-side code of the therapy-questions assistant: NLU components, channels, storage.

Rasa sets the level of its own ``rasa`` logger from ``LOG_LEVEL``, and importing numpy
while a model loads lowers the root logger to WARNING. This package's loggers follow
``LOG_LEVEL`` too, so operators keep its INFO lines (crisis escalations by rule and kind,
where conversations are stored); none of them contains what a person wrote.
"""

import logging
import os

try:
    logging.getLogger(__name__).setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
except ValueError:  # an unknown level name: keep the default rather than fail to start
    logging.getLogger(__name__).setLevel(logging.INFO)
