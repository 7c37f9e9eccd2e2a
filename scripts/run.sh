#!/usr/bin/env bash
# Starts the action server and the Rasa server on loopback and keeps them together:
# Ctrl-C or SIGTERM stops both, and if either exits the other is stopped too.
# Called by `make run` after install and training; settings come from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

# `scripts/run.sh rasa` or `scripts/run.sh actions` starts only that server: each
# container (docker/Dockerfile.rasa, docker/Dockerfile.actions) runs one of them.
only=${1:-both}
case "$only" in
  both|rasa|actions) ;;
  *) echo "usage: scripts/run.sh [rasa|actions]" >&2; exit 2 ;;
esac

HOST=${HOST:-127.0.0.1}
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
MODEL=${MODEL:-models/therapy-bot.tar.gz}
export RASA_TELEMETRY_ENABLED=false
export SANIC_HOST=$HOST   # rasa-sdk binds to SANIC_HOST (its default is every interface)
export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}
# Loading the model imports numpy.distutils, which with setuptools' own distutils raises the
# root logger to WARNING: every later INFO line of our code (crisis audit, storage) would
# be lost. Python's own distutils leaves the root logger alone.
export SETUPTOOLS_USE_DISTUTILS=stdlib

# Conversations are kept in DATA_DIR (an SQLite file) unless DB_URL names PostgreSQL;
# only this user may read the folder (bot/storage/tracker_store.py).
export DATA_DIR=${DATA_DIR:-var}
if [ -z "${DB_URL:-}${DB_HOST:-}" ]; then mkdir -p -m 700 "$DATA_DIR"; fi
# Several Sanic workers must share conversation locks through Redis, or two workers could
# answer one person at once. Rasa accepts SANIC_WORKERS with any custom lock store (ours
# falls back to memory without Redis), so the check is here.
if [ -z "${REDIS_URL:-}${REDIS_HOST:-}" ] && [ "${SANIC_WORKERS:-1}" != 1 ]; then
  echo "SANIC_WORKERS=$SANIC_WORKERS needs a Redis lock store (REDIS_URL); starting 1 Sanic worker." >&2
  export SANIC_WORKERS=1
fi

# Metrics (bot/metrics.py) are off unless METRICS_PORT is set. Then every server started
# here writes its samples to a fresh folder (Prometheus multiprocess mode, so several Sanic
# workers add up) and bot/metrics_exporter.py serves their sum on METRICS_HOST:METRICS_PORT,
# loopback unless METRICS_HOST says otherwise, never on the chat port.
exporter=""
if [ -n "${METRICS_PORT:-}" ]; then
  if [ "$METRICS_PORT" = "$RASA_PORT" ] || [ "$METRICS_PORT" = "$ACTIONS_PORT" ]; then
    echo "Not starting: METRICS_PORT must differ from RASA_PORT and ACTIONS_PORT (the chat port is public)." >&2
    exit 2
  fi
  PROMETHEUS_MULTIPROC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/therapy-bot-metrics.XXXXXX")
  export PROMETHEUS_MULTIPROC_DIR METRICS_HOST=${METRICS_HOST:-127.0.0.1}
fi

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}" $exporter; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then rm -rf "$PROMETHEUS_MULTIPROC_DIR"; fi
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# ALLOWED_ORIGINS (comma-separated) lists other websites that embed the widget: they get
# CORS headers on HTTP routes here, and bot/channels/socketio.py checks socket origins.
cors=()
if [ -n "${ALLOWED_ORIGINS:-}" ]; then
  IFS=',' read -ra origins <<< "${ALLOWED_ORIGINS// /}"
  cors=(--cors "${origins[@]}")
fi

# Rasa's HTTP API (conversation trackers, model replacement) is off unless ENABLE_API=true,
# and then only with RASA_AUTH_TOKEN: an open API would show anyone people's conversations.
api=()
case "${ENABLE_API:-false}" in
  false) ;;
  true)
    token=${RASA_AUTH_TOKEN:-}
    if [ "${#token}" -lt 32 ]; then
      echo "Not starting: ENABLE_API=true needs RASA_AUTH_TOKEN, a secret of at least 32 characters" \
        "(for example: openssl rand -hex 32)." >&2
      exit 2
    fi
    api=(--enable-api --auth-token "$token") ;;
  *) echo "Not starting: ENABLE_API must be 'true' or 'false', not '$ENABLE_API'." >&2; exit 2 ;;
esac

if [ "$only" != rasa ]; then
  .venv/bin/python -m rasa_sdk --actions actions --port "$ACTIONS_PORT" &
  pids+=($!)
fi
if [ "$only" != actions ]; then
  .venv/bin/python -m bot.patched_rasa run --model "$MODEL" --endpoints endpoints.yml --credentials credentials.yml \
    --interface "$HOST" --port "$RASA_PORT" --response-timeout "${RESPONSE_TIMEOUT:-30}" ${cors[@]+"${cors[@]}"} \
    ${api[@]+"${api[@]}"} &
  pids+=($!)
fi

# Not among pids: the assistant keeps serving if the metrics endpoint ever stops.
if [ -n "${METRICS_PORT:-}" ]; then
  .venv/bin/python -m bot.metrics_exporter &
  exporter=$!
fi

if [ "$only" != actions ]; then
  echo "Starting: Rasa on http://$HOST:$RASA_PORT (REST: /webhooks/rest/webhook), actions on port $ACTIONS_PORT."
  echo "Try: curl -s http://$HOST:$RASA_PORT/webhooks/rest/webhook -d '{\"sender\":\"a\",\"message\":\"how long is a session?\"}'"
  echo "Website widget demo: http://$HOST:$RASA_PORT/widget/"
fi
# Whichever process ends first takes the other with it.
wait -n "${pids[@]}"
