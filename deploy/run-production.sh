#!/usr/bin/env bash
# Run Rectify the way production does, on this machine: PostgreSQL, gunicorn with several
# workers (deploy/gunicorn.conf.py), one scheduler and a standby scheduler. Ctrl-C (or SIGTERM)
# stops everything it started.
#
#   deploy/run-production.sh [--workers N] [--port PORT] [--data DIR] [--env FILE] [--demo]
#
# --workers N   gunicorn workers (default 3)
# --port PORT   listen on 127.0.0.1:PORT (default 8000)
# --data DIR    where the private PostgreSQL cluster and the instance folder live
#               (default: instance/production under the project)
# --env FILE    read settings from FILE (see deploy/rectify.env.example) before starting
# --demo        load the demo ledger (once) before serving
#
# Without RECTIFY_DATABASE_URL a private PostgreSQL cluster is created under DIR/pg and started
# on 127.0.0.1 and a free port (trust authentication: for trying the profile on one machine, not
# for a server others can reach). As root, PostgreSQL's programs run as the postgres user.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
WORKERS=3
PORT=8000
DATA=$ROOT/instance/production
DEMO=0

die() { echo "run-production: $*" >&2; exit 2; }
say() { echo "run-production: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --workers) WORKERS=${2:?}; shift 2 ;;
        --port) PORT=${2:?}; shift 2 ;;
        --data) DATA=${2:?}; shift 2 ;;
        --env) [ -r "${2:?}" ] || die "cannot read $2"; set -a; . "$2"; set +a; shift 2 ;;
        --demo) DEMO=1; shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
done
case "$WORKERS" in ''|*[!0-9]*) die "--workers must be a number" ;; esac
case "$PORT" in ''|*[!0-9]*) die "--port must be a number" ;; esac
[ -x "$VENV/bin/rectify" ] || die "no $VENV/bin/rectify: run 'make install' (or set VENV)"

mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
export RECTIFY_INSTANCE=${RECTIFY_INSTANCE:-$DATA/instance}
mkdir -p "$RECTIFY_INSTANCE"
PIDS=()
PG_STARTED=""

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
    command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return
    die "no PostgreSQL binaries found: install PostgreSQL or set RECTIFY_DATABASE_URL"
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cleanup() {
    trap - INT TERM EXIT
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$PG_STARTED" ]; then
        as_postgres "$PG_STARTED/pg_ctl" -D "$DATA/pg/data" -m fast -w stop >/dev/null 2>&1 || true
        say "PostgreSQL stopped"
    fi
    say "stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

if [ -z "${RECTIFY_DATABASE_URL:-}" ]; then
    BIN=$(pg_bin)
    mkdir -p "$DATA/pg"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$DATA/pg"; chmod 700 "$DATA/pg"; fi
    as_postgres test -w "$DATA/pg" || die "the postgres user cannot reach $DATA/pg (a parent folder is private?): use --data elsewhere"
    if [ ! -f "$DATA/pg/data/PG_VERSION" ]; then
        say "creating a PostgreSQL cluster in $DATA/pg/data"
        as_postgres "$BIN/initdb" -D "$DATA/pg/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
    fi
    PGPORT=$(free_port)
    as_postgres "$BIN/pg_ctl" -D "$DATA/pg/data" -l "$DATA/pg/log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$DATA/pg" start >/dev/null
    PG_STARTED=$BIN
    if ! as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -Atqc \
            "SELECT 1 FROM pg_database WHERE datname = 'rectify'" postgres | grep -q 1; then
        as_postgres "$BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres rectify
    fi
    export RECTIFY_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/rectify"
    say "PostgreSQL on 127.0.0.1:$PGPORT"
fi

cd "$ROOT"
"$VENV/bin/rectify" init-db
if [ "$DEMO" = 1 ]; then
    "$VENV/bin/rectify" demo --load-only
fi

export RECTIFY_BIND="127.0.0.1:$PORT" WEB_CONCURRENCY="$WORKERS"
export RECTIFY_BASE_URL=${RECTIFY_BASE_URL:-http://127.0.0.1:$PORT}
"$VENV/bin/gunicorn" -c "$ROOT/deploy/gunicorn.conf.py" 'web:create_app()' &
GUNICORN=$!
PIDS+=("$GUNICORN")
"$VENV/bin/rectify" scheduler &
PIDS+=("$!")
sleep 1  # let the first one take the lead, so the logs read in order
"$VENV/bin/rectify" scheduler &
PIDS+=("$!")

for _ in $(seq 1 150); do
    if "$VENV/bin/python" -c "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=2)" 2>/dev/null; then
        say "serving on http://127.0.0.1:$PORT/ with $WORKERS workers; scheduler and standby running (Ctrl-C stops)"
        break
    fi
    kill -0 "$GUNICORN" 2>/dev/null || die "gunicorn exited; see the log above"
    sleep 0.2
done

# until gunicorn ends (or a signal arrives); the schedulers restart nothing by themselves here
wait "$GUNICORN"
