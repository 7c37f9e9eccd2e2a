#!/usr/bin/env bash
# Starts the action server and the Rasa server on loopback and keeps them together:
# Ctrl-C or SIGTERM stops both, and if either exits the other is stopped too.
# Called by `make run` after install and training; settings come from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=${HOST:-127.0.0.1}
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
MODEL=${MODEL:-models/therapy-bot.tar.gz}
export RASA_TELEMETRY_ENABLED=false
export SANIC_HOST=$HOST   # rasa-sdk binds to SANIC_HOST (its default is every interface)
export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

.venv/bin/python -m rasa_sdk --actions actions --port "$ACTIONS_PORT" &
pids+=($!)
.venv/bin/rasa run --model "$MODEL" --endpoints endpoints.yml --credentials credentials.yml \
  --interface "$HOST" --port "$RASA_PORT" --response-timeout "${RESPONSE_TIMEOUT:-30}" &
pids+=($!)

echo "Starting: Rasa on http://$HOST:$RASA_PORT (REST: /webhooks/rest/webhook), actions on port $ACTIONS_PORT."
echo "Try: curl -s http://$HOST:$RASA_PORT/webhooks/rest/webhook -d '{\"sender\":\"a\",\"message\":\"how long is a session?\"}'"
# Whichever process ends first takes the other with it.
wait -n "${pids[@]}"
