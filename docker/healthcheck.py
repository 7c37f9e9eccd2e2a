"""Container health check: exit 0 when this container's server answers, 1 when it does not.

Docker's HEALTHCHECK (and compose's ``depends_on: service_healthy``) runs it inside the
container. The slim base image has no curl, so it uses only the standard library. It
asks the URLs the tests wait for, on loopback, on the ports ``scripts/run.sh`` uses.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from typing import Dict, List, Tuple

#: Server name -> (port variable, default port, path that answers 200 once it is ready).
CHECKS: Dict[str, Tuple[str, str, str]] = {
    "rasa": ("RASA_PORT", "5005", "/webhooks/rest/"),
    "actions": ("ACTIONS_PORT", "5055", "/health"),
}
TIMEOUT_SECONDS = 5


def main(argv: List[str]) -> int:
    """Checks the server named in ``argv``; prints why it is unhealthy, never a traceback."""
    if len(argv) != 2 or argv[1] not in CHECKS:
        print(f"usage: healthcheck.py {{{'|'.join(CHECKS)}}}", file=sys.stderr)
        return 2
    port_variable, default_port, path = CHECKS[argv[1]]
    url = f"http://127.0.0.1:{os.environ.get(port_variable, default_port)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            if response.status == 200:
                return 0
            print(f"unhealthy: {url} answered {response.status}", file=sys.stderr)
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
