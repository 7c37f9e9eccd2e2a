#!/usr/bin/env bash
# The Rasa shell against the same model, actions and Rasa patches as `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
ACTIONS_PORT=${ACTIONS_PORT:-5055}
export RASA_TELEMETRY_ENABLED=false SANIC_HOST=127.0.0.1
export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}

.venv/bin/python -m rasa_sdk --actions actions --port "$ACTIONS_PORT" --quiet &
actions_pid=$!
trap 'kill -TERM $actions_pid 2>/dev/null || true; wait 2>/dev/null || true' EXIT
.venv/bin/python -m bot.patched_rasa shell --model models/therapy-bot.tar.gz --endpoints endpoints.yml --quiet \
  --interface "${HOST:-127.0.0.1}" --port "${RASA_PORT:-5005}"
