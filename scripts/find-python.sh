#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, because Rasa 3.6 supports only Python 3.8-3.10
# and the machines' default python3 is 3.11. Looks on PATH first, then in pyenv.
set -euo pipefail

is_310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

for candidate in "${PYTHON:-}" python3.10; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if is_310 "$path"; then echo "$path"; exit 0; fi
done

if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -t. -k3 -n -r); do
    path=$(PYENV_VERSION="$version" pyenv which python 2>/dev/null) || continue
    if is_310 "$path"; then echo "$path"; exit 0; fi
  done
fi

echo "error: Python 3.10 is required (Rasa 3.6.21 supports Python 3.8-3.10) and none was found." >&2
echo "       Install it (e.g. 'pyenv install 3.10.13') or set PYTHON=/path/to/python3.10." >&2
exit 1
