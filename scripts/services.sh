#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL and Redis on loopback, with all their files in
# one folder: for the scale-out and outage tests, and to try several Rasa servers by hand.
# Not a production set-up: PostgreSQL trusts every loopback connection and Redis keeps
# nothing on disk. Debian's packages provide the servers (`make services-packages`).
#
#   scripts/services.sh start DIR     start both (DIR is created, or reused with its database);
#                                     prints DB_URL=... and REDIS_URL=...
#   scripts/services.sh stop DIR      stop both (DIR stays, with postgres.log and redis.log)
#   scripts/services.sh stop-postgres DIR / start-postgres DIR   simulate a database outage
#
# Ports come from PG_PORT and REDIS_PORT (default 5432 and 6379). PostgreSQL refuses to
# run as root, so as root its files belong to the `postgres` user that Debian creates.
set -euo pipefail

usage() { echo "usage: $0 start|stop|start-postgres|stop-postgres DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
command=$1
dir=$2
pgdata=$dir/postgres
env_file=$dir/services.env

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_bin" ] || { echo "PostgreSQL is not installed: run 'make services-packages'" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "Redis is not installed: run 'make services-packages'" >&2; exit 1; }

# Runs a PostgreSQL program as the owner of the cluster.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  # Statements are never written to the log (log_min_error_statement=panic): a failed
  # INSERT would otherwise put what someone wrote into postgres.log.
  as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$dir/postgres.log" -w -t 60 -s \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories='' -c log_min_error_statement=panic -c fsync=off" \
    start
}

stop_postgres() {
  if [ -f "$pgdata/postmaster.pid" ]; then as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w -t 60 -s stop; fi
}

case $command in
  start)
    PG_PORT=${PG_PORT:-5432}
    REDIS_PORT=${REDIS_PORT:-6379}
    mkdir -p "$dir"
    chmod 755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      mkdir -p "$pgdata"
      chown postgres: "$pgdata"
      runuser -u postgres -- test -w "$pgdata" \
        || { echo "the postgres user cannot reach $dir: use a folder under /tmp" >&2; exit 1; }
      touch "$dir/postgres.log"
      chown postgres: "$dir/postgres.log"
    fi
    # A folder used before keeps its database (start again after stop).
    if [ -f "$pgdata/PG_VERSION" ]; then
      start_postgres
    else
      as_pg "$pg_bin/initdb" -D "$pgdata" -U rasa --auth=trust -E UTF8 --no-instructions >"$dir/initdb.log"
      start_postgres
      as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U rasa rasa
    fi
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes --daemonize yes \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' --appendonly no
    for _ in $(seq 100); do
      redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
      sleep 0.2
    done
    redis-cli -p "$REDIS_PORT" ping | grep -q PONG
    {
      echo "PG_PORT=$PG_PORT"
      echo "REDIS_PORT=$REDIS_PORT"
      echo "DB_URL=postgresql://rasa@127.0.0.1:$PG_PORT/rasa"
      echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/1"
    } >"$env_file"
    grep -E '^(DB_URL|REDIS_URL)=' "$env_file"
    ;;
  stop)
    [ -f "$env_file" ] || exit 0
    # shellcheck source=/dev/null
    . "$env_file"
    stop_postgres
    if [ -f "$dir/redis.pid" ]; then
      pid=$(cat "$dir/redis.pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
  stop-postgres)
    stop_postgres
    ;;
  start-postgres)
    # shellcheck source=/dev/null
    . "$env_file"
    start_postgres
    ;;
  *)
    usage
    ;;
esac
