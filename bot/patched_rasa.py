"""``python -m bot.patched_rasa ARGS`` is ``rasa ARGS`` with the project's Rasa patches installed.

Every way of starting Rasa goes through here (``scripts/run.sh``, ``scripts/shell.sh``
and so the Docker images, ``make train``), so that no entry point runs without the
patches: ``rasa shell`` never imports the project's channels, where they used to be
applied. If the installed Rasa no longer fits the patches, it refuses to start and says
why (``bot.rasa_patches.install``).

Rasa configures logging only once its command runs, so the one line per installed patch
goes to standard error through a handler of its own, whatever level Rasa is told to log at.
"""

from __future__ import annotations

import logging
import sys
from typing import List

from bot.env import set_process_defaults

#: The look of Rasa's own log lines.
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"


def install_patches() -> None:
    """Installs the patches, logging each to standard error; exits with the reason if they do not fit."""
    from bot import rasa_patches

    patch_logger = logging.getLogger(rasa_patches.__name__)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    patch_logger.addHandler(handler)
    patch_logger.propagate = False
    try:
        rasa_patches.install()
    except rasa_patches.PatchError as error:
        sys.exit(f"Not starting: {error}")
    finally:
        patch_logger.removeHandler(handler)
        patch_logger.propagate = True


def main(args: List[str]) -> None:
    """Runs Rasa's command line with ``args`` after installing the patches."""
    set_process_defaults()
    install_patches()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
