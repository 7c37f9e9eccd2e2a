#!/usr/bin/env bash
# Installs the named Debian packages when they are missing, and does nothing otherwise.
# The tests need real servers and a real browser (PostgreSQL, Redis, Chromium, ...);
# `make` calls this so a clean machine or CI gets them without a hand-installed step.
# Waits for another apt run to finish instead of failing on dpkg's lock.
set -euo pipefail

missing=()
for package in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo ">> installing Debian packages: ${missing[*]}"
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=900 update -qq
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
