#!/usr/bin/env bash
# Run GGMI Explorer as N Streamlit replicas behind HAProxy, sharing one Redis result
# cache, as plain processes on 127.0.0.1. Ctrl-C (or SIGTERM) stops all of them; so does
# any of them exiting.
#
#   bash scripts/run_stack.sh [--replicas N] [--port PROXY_PORT] [--replica-port FIRST]
#                             [--redis-port PORT] [--no-setup]
#
#   --replicas N         Streamlit processes (1..8, default 2)
#   --port P             the proxy's port (default 8080): open http://127.0.0.1:P/
#   --replica-port P     port of the first replica; the others follow (default 8511)
#   --redis-port P       Redis's port (default 6390)
#   --no-setup           skip scripts/setup_env.sh --stack (the environment is ready)
#
# Environment: GGMI_CACHE_SECRET (HMAC key of shared entries; a random one is made for
# this run if unset), GGMI_WORKERS (worker processes per replica, default 1 here),
# GGMI_PYTHON (the Python to run Streamlit with; default: the venv's), GGMI_STACK_DIR
# (folder for logs and Redis's files; default: a new temporary folder), GGMI_PROXY_HOSTS
# (host names the proxy accepts; default "127.0.0.1 localhost") and the proxy's
# per-client limits GGMI_PROXY_* (listed at the top of deploy/haproxy.cfg; all
# connections from this machine count as one client, so a load test from here must
# raise them, see bench/LECTURE_HALL.md).
# Configuration shared with deploy/compose.yaml: deploy/haproxy.cfg.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

REPLICAS=2
PROXY_PORT=8080
FIRST_PORT=8511
REDIS_PORT=6390
SETUP=1
usage() { sed -n '2,23p' "$0"; }
while [ "$#" -gt 0 ]; do
    case "$1" in
        --replicas) REPLICAS="$2"; shift 2 ;;
        --port) PROXY_PORT="$2"; shift 2 ;;
        --replica-port) FIRST_PORT="$2"; shift 2 ;;
        --redis-port) REDIS_PORT="$2"; shift 2 ;;
        --no-setup) SETUP=0; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "run_stack.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for value in "$REPLICAS" "$PROXY_PORT" "$FIRST_PORT" "$REDIS_PORT"; do
    case "$value" in
        '' | *[!0-9]*) echo "run_stack.sh: '$value' is not a number" >&2; exit 2 ;;
    esac
done
if [ "$REPLICAS" -lt 1 ] || [ "$REPLICAS" -gt 8 ]; then
    echo "run_stack.sh: --replicas must be in 1..8 (deploy/haproxy.cfg lists 8)" >&2
    exit 2
fi

if [ "$SETUP" -eq 1 ]; then
    bash scripts/setup_env.sh --stack
fi
PY="${GGMI_PYTHON:-${GGMI_VENV:-$ROOT/.venv}/bin/python}"
REDIS_SERVER="$(command -v redis-server || echo /usr/bin/redis-server)"
HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
for tool in "$PY" "$REDIS_SERVER" "$HAPROXY"; do
    if [ ! -x "$tool" ]; then
        echo "run_stack.sh: $tool not found (run as root: bash scripts/setup_env.sh --stack)" >&2
        exit 1
    fi
done

DIR="${GGMI_STACK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ggmi-stack.XXXXXX")}"
mkdir -p "$DIR"
if [ -z "${GGMI_CACHE_SECRET:-}" ]; then
    GGMI_CACHE_SECRET="$("$PY" -c 'import secrets; print(secrets.token_hex(32))')"
    echo "run_stack.sh: made a cache secret for this run (set GGMI_CACHE_SECRET to keep one)"
fi
export GGMI_CACHE_SECRET

pids=()
stop_all() {
    trap - EXIT INT TERM
    if [ "${#pids[@]}" -gt 0 ]; then
        echo "run_stack.sh: stopping ${#pids[@]} processes" >&2
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
    --save "" --appendonly no --maxmemory 256mb --maxmemory-policy volatile-lru \
    --dir "$DIR" >"$DIR/redis.log" 2>&1 &
pids+=("$!")

# Two cores: one worker process per replica unless told otherwise.
export GGMI_RESULT_CACHE="redis://127.0.0.1:$REDIS_PORT/0"
export GGMI_WORKERS="${GGMI_WORKERS:-1}"
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# Visitors reach this stack as 127.0.0.1 or localhost; any other Host is refused.
proxy_env=("GGMI_PROXY_BIND=127.0.0.1:$PROXY_PORT" "GGMI_PROXY_HOSTS=${GGMI_PROXY_HOSTS:-127.0.0.1 localhost}")
for i in $(seq 1 "$REPLICAS"); do
    port=$((FIRST_PORT + i - 1))
    # Warmed before it serves (ggmi_app.serve): the proxy's health check sees a replica
    # only once its first visitor will not wait for the imports.
    "$PY" -m ggmi_app.serve --server.address 127.0.0.1 --server.port "$port" \
        --server.headless true --browser.serverAddress 127.0.0.1 \
        >"$DIR/replica$i.log" 2>&1 &
    pids+=("$!")
    proxy_env+=("GGMI_REPLICA_$i=127.0.0.1:$port")
done
for i in 1 2 3 4 5 6 7 8; do
    unset "GGMI_REPLICA_$i"  # only the replicas started here
done
env "${proxy_env[@]}" "$HAPROXY" -db -f deploy/haproxy.cfg >"$DIR/haproxy.log" 2>&1 &
pids+=("$!")

# Ready when the proxy has sent the health route to every replica (so it sees them all
# up). The check runs in the background so that a signal stops the stack at once.
"$PY" - "$PROXY_PORT" "$REPLICAS" <<'PYTHON' &
import sys, time, urllib.request
url, replicas = f"http://127.0.0.1:{sys.argv[1]}/_stcore/health", int(sys.argv[2])
seen, deadline = set(), time.monotonic() + 180
# A pause after every try, answered or not: the proxy limits each client's request rate,
# and a tight loop while one replica still warms up would spend this machine's share.
while len(seen) < replicas and time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            seen.add(response.headers.get("X-GGMI-Replica"))
    except OSError:
        pass
    time.sleep(0.25 if seen else 0.5)
sys.exit(0 if len(seen) >= replicas else 1)
PYTHON
ready_pid=$!
pids+=("$ready_pid")
if ! wait "$ready_pid"; then
    echo "run_stack.sh: the proxy did not become healthy; logs in $DIR" >&2
    exit 1
fi
unset 'pids[-1]'  # the finished readiness check
echo "run_stack.sh: ready at http://127.0.0.1:$PROXY_PORT/ ($REPLICAS replicas," \
    "Redis on port $REDIS_PORT, logs in $DIR)"

# Run until stopped, or until one process ends (then stop the others).
set +e
wait -n "${pids[@]}"
status=$?
echo "run_stack.sh: a process of the stack exited (status $status); see $DIR" >&2
exit 1
