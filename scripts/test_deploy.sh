#!/usr/bin/env bash
# The hosted demo, built and run: the image from the Dockerfile and deploy/compose.yaml.
#
#   bash scripts/test_deploy.sh [--students N] [--keep] [--steps "bases image run compose dask"]
#
#   --students N   students of the short bench/lecture_hall.py run through the stack (30)
#   --keep         leave the compose stack running at the end (for a benchmark by hand)
#   --steps LIST   run only these steps (default: all, in this order)
#
# Runs as root on Debian (as CI does). It installs podman, runc, podman-compose,
# debootstrap, netavark and aardvark-dns from Debian's packages when they are missing,
# and the test venv with scripts/setup_env.sh --dev, then:
#   bases    builds stand-ins for the official python:3.11-slim-bookworm, redis:7-bookworm
#            and haproxy:2.6-bookworm images from Debian bookworm's packages (no image
#            registry is reachable here) and tags them with the official names; they are
#            kept in podman's image store, and debootstrap's packages in $GGMI_DEPLOY_CACHE
#            (default /var/cache/ggmi-deploy), so later runs on the machine reuse them;
#   image    builds the project's image from the unchanged Dockerfile;
#   run      runs it: health, non-root, a read-only root file system with a tmpfs, a page
#            drawn in headless Chromium and a PNG download (tests/deploy/);
#   compose  runs deploy/compose.yaml with podman-compose: a lecturer's room on one
#            replica followed from the other, a replica stopped, Redis restarted, and a
#            short lecture-hall run through the proxy with no errors;
#   dask     a sweep on a separate `dask scheduler` and `dask worker` (containers of the
#            image, the package installed, no PYTHONPATH) equals the local sweep.
# At run time the app and Redis are on internal podman networks (no route beyond this
# machine); only the proxy is also on a routed network, to publish its port, here on
# 127.0.0.1 only; the Dask containers share the host's network and listen on 127.0.0.1.
# Builds use the host's network (apt and PyPI).
# Exit status: 0 when every step passed. What the stand-ins cannot show: docs/DEPLOYMENT.md.
# The whole script is one block, so bash reads it all before it runs (an edit during a
# run cannot change what runs).
{
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STUDENTS=30
KEEP=0
STEPS="bases image run compose dask"
usage() { sed -n '2,30p' "$0"; }
while [ "$#" -gt 0 ]; do
    case "$1" in
        --students) STUDENTS="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --steps) STEPS="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "test_deploy.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

CACHE="${GGMI_DEPLOY_CACHE:-/var/cache/ggmi-deploy}"
IMAGE=localhost/ggmi-explorer:test
PY_BASE=docker.io/library/python:3.11-slim-bookworm
REDIS_BASE=docker.io/library/redis:7-bookworm
HAPROXY_BASE=docker.io/library/haproxy:2.6-bookworm
MINBASE=localhost/ggmi-standin/bookworm-minbase:latest
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ggmi-deploy.XXXXXX")"
VENV="${GGMI_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

log() { echo "=== test_deploy.sh [$(date -u +%H:%M:%S)] $*"; }
# The last line is a plain count of the steps for CI's log: "deploy: N passed, N failed".
fail() {
    echo "test_deploy.sh: FAILED in step ${FAILED_STEP:-set-up}: $*" >&2
    echo "deploy: ${PASSED:-0} passed, 1 failed"
    exit 1
}
seconds_since() { echo $(($(date +%s) - $1)); }

# podman on this kind of machine: runc (crun refuses hybrid cgroups) and resource limits
# within this shell's hard limits (podman's defaults are above them and refused:
# "setrlimit RLIMIT_NOFILE: Operation not permitted"; HAProxy wants about 8,200 open files
# for its maxconn 4096). podman and podman-compose read both from this file; builds get
# them as options too.
NOFILE="$(ulimit -Hn)"
[ "$NOFILE" = unlimited ] || [ "$NOFILE" -gt 65536 ] && NOFILE=65536
NPROC="$(ulimit -Hu)"
[ "$NPROC" = unlimited ] || [ "$NPROC" -gt 16384 ] && NPROC=16384
export CONTAINERS_CONF="$WORK/containers.conf"
cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
CONF
LIMITS=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")

# ------------------------------------------------------------------ tools
install_tools() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    command -v podman-compose >/dev/null || missing+=(podman-compose)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    # Container networks with names (compose's services find each other by name).
    [ -x /usr/lib/podman/netavark ] || missing+=(netavark)
    [ -x /usr/lib/podman/aardvark-dns ] || missing+=(aardvark-dns)
    command -v iptables >/dev/null || missing+=(iptables)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]} from Debian's packages"
        [ "$(id -u)" -eq 0 ] || fail "run as root to install ${missing[*]}"
        apt-get -o DPkg::Lock::Timeout=600 update -q
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
            --no-install-recommends "${missing[@]}"
    fi
}

# The test venv (Playwright, the lecture-hall client): only for the steps that use it.
setup_venv() {
    bash scripts/setup_env.sh --dev >"$WORK/setup_env.log" 2>&1 \
        || { tail -n 20 "$WORK/setup_env.log" >&2; fail "scripts/setup_env.sh --dev"; }
}

# ------------------------------------------------------------------ stand-in bases
# Debian's mirror, as the machine's own apt sources name it.
debian_mirror() {
    local uri
    uri="$(grep -h -o -E 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
        /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | head -n 1 | tr -d ' ')"
    echo "${uri:-http://deb.debian.org/debian}"
}

# What the stand-ins need from this machine to reach Debian's packages and PyPI the way
# the machine does: its apt sources and Acquire settings, its CA certificates (an egress
# proxy may sign with its own) and its global pip configuration.
machine_settings() {
    local into="$1" file
    mkdir -p "$into/etc/apt/sources.list.d" "$into/etc/apt/apt.conf.d" \
        "$into/usr/local/share/ca-certificates" "$into/etc/ssl/certs"
    for file in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] && cp "$file" "$into/etc/apt/sources.list.d/"
    done
    if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
        cp /etc/apt/sources.list "$into/etc/apt/sources.list"
    elif ls "$into"/etc/apt/sources.list.d/* >/dev/null 2>&1; then
        : >"$into/etc/apt/sources.list"
    fi
    for file in /etc/apt/apt.conf.d/*; do
        if [ -f "$file" ] && grep -q '^Acquire::' "$file"; then
            cp "$file" "$into/etc/apt/apt.conf.d/"
        fi
    done
    cp /usr/local/share/ca-certificates/*.crt "$into/usr/local/share/ca-certificates/" \
        2>/dev/null || true
    cp /etc/ssl/certs/ca-certificates.crt "$into/etc/ssl/certs/ca-certificates.crt"
    [ -f /etc/pip.conf ] && cp /etc/pip.conf "$into/etc/pip.conf"
    return 0
}

# One Containerfile per stand-in. Kept to what deploy/compose.yaml and the Dockerfile rely
# on: the commands on PATH, the config path, the users and the working directories.
python_containerfile() {
    cat <<'EOF'
FROM localhost/ggmi-standin/bookworm-minbase:latest
ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
# The official image's python and pip are on PATH in /usr/local/bin and may install
# packages system-wide; Debian's python3.11 does that once its PEP 668 marker is gone.
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3 python3-pip python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/bin/python3 /usr/local/bin/python \
    && ln -s /usr/bin/pip3 /usr/local/bin/pip \
    && rm -f /usr/lib/python3.*/EXTERNALLY-MANAGED
CMD ["python3"]
EOF
}

redis_containerfile() {
    cat <<'EOF'
FROM localhost/ggmi-standin/bookworm-minbase:latest
# The official image runs redis-server (on PATH) as the user redis in /data.
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server"]
EOF
}

haproxy_containerfile() {
    cat <<'EOF'
FROM localhost/ggmi-standin/bookworm-minbase:latest
# The official image reads /usr/local/etc/haproxy/haproxy.cfg, runs as the user haproxy
# in the foreground (its entrypoint adds -W -db) and stops gracefully on SIGUSR1.
RUN apt-get update && apt-get install -y --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /usr/local/etc/haproxy /var/lib/haproxy
USER haproxy
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
EOF
}

# A stand-in is rebuilt when its recipe (these functions) changed or it is missing.
standin_recipe() {
    { declare -f machine_settings python_containerfile redis_containerfile \
        haproxy_containerfile build_minbase; debian_mirror; } | sha256sum | cut -c1-16
}

image_recipe() {
    podman image inspect --format '{{ index .Labels "ggmi.standin.recipe" }}' "$1" \
        2>/dev/null || true
}

build_minbase() {
    local rootfs="$WORK/rootfs"
    mkdir -p "$CACHE/debs"
    log "debootstrap bookworm (minbase) from $(debian_mirror)"
    debootstrap --variant=minbase --cache-dir="$CACHE/debs" bookworm "$rootfs" \
        "$(debian_mirror)" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
    machine_settings "$rootfs"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import --change 'CMD ["bash"]' \
        --change "LABEL ggmi.standin.recipe=$RECIPE" - "$MINBASE" >/dev/null
    rm -rf "$rootfs"
}

build_standin() {
    local name="$1" tag="$2" dir="$WORK/standin-$1"
    mkdir -p "$dir"
    "${name}_containerfile" >"$dir/Containerfile"
    log "building the stand-in $tag"
    podman build --network host "${LIMITS[@]}" --pull=never --label "ggmi.standin=$name" \
        --label "ggmi.standin.recipe=$RECIPE" -t "$tag" "$dir" >"$WORK/standin-$name.log" 2>&1 \
        || { tail -n 30 "$WORK/standin-$name.log" >&2; fail "stand-in $tag"; }
}

step_bases() {
    local start name tag
    start=$(date +%s)
    RECIPE="$(standin_recipe)"
    if [ "$(image_recipe "$MINBASE")" != "$RECIPE" ]; then
        build_minbase
    fi
    for name in python redis haproxy; do
        case "$name" in
            python) tag="$PY_BASE" ;;
            redis) tag="$REDIS_BASE" ;;
            haproxy) tag="$HAPROXY_BASE" ;;
        esac
        if [ "$(image_recipe "$tag")" = "$RECIPE" ]; then
            log "stand-in $tag is up to date (recipe $RECIPE)"
        else
            build_standin "$name" "$tag"
        fi
    done
    log "bases ready in $(seconds_since "$start") s"
}

# ------------------------------------------------------------------ helpers
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until URL answers 200 (at most $2 s); print the seconds it took.
wait_healthy() {
    local url="$1" limit="$2" start
    start=$(date +%s)
    until python3 -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('$url', timeout=3).status != 200)" \
        2>/dev/null; do
        [ "$(seconds_since "$start")" -lt "$limit" ] || return 1
        sleep 0.5
    done
    seconds_since "$start"
}

CONTAINERS=()
cleanup() {
    local status=$?
    if [ "${#CONTAINERS[@]}" -gt 0 ]; then
        podman rm -f -t 5 "${CONTAINERS[@]}" >/dev/null 2>&1 || true
    fi
    if [ -n "${COMPOSE_UP:-}" ] && [ "$KEEP" -eq 0 ]; then
        compose down >/dev/null 2>&1 || true
        podman network rm -f "${PROJECT}_backend" "${PROJECT}_edge" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}

# ------------------------------------------------------------------ the image
step_image() {
    local start
    start=$(date +%s)
    log "building the project's image from the Dockerfile"
    # --format docker keeps the Dockerfile's HEALTHCHECK (OCI images have no such field).
    podman build --network host "${LIMITS[@]}" --pull=never --format docker \
        -t "$IMAGE" -t localhost/ggmi-explorer:latest -f Dockerfile . >"$WORK/build.log" 2>&1 \
        || { tail -n 40 "$WORK/build.log" >&2; fail "podman build"; }
    BUILD_S=$(seconds_since "$start")
    IMAGE_MB=$(( $(podman image inspect --format '{{.Size}}' "$IMAGE") / 1000000 ))
    log "image built in $BUILD_S s, $IMAGE_MB MB"
}

# ------------------------------------------------------------------ run the image
step_run() {
    local name="ggmi-deploy-run-$$" address url
    setup_venv
    # The image's own command (0.0.0.0:8501 in the container) on an internal network: the
    # host reaches it at the container's address on the bridge, the container reaches
    # nothing beyond the host. Read-only root file system; what the server writes
    # (temporary files, Chromium's profile in the user's home) goes to tmpfs mounts.
    podman network exists ggmi-deploy-internal \
        || podman network create --internal ggmi-deploy-internal >/dev/null
    CONTAINERS+=("$name")
    podman run -d --name "$name" --network ggmi-deploy-internal \
        --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,size=512m,mode=1777 \
        --tmpfs /home/app:rw,size=256m,mode=1777 \
        --memory 2g "$IMAGE" >/dev/null 2>"$WORK/podman-run.log" \
        || { cat "$WORK/podman-run.log" >&2; fail "podman run"; }
    address="$(podman inspect --format \
        '{{ (index .NetworkSettings.Networks "ggmi-deploy-internal").IPAddress }}' "$name")"
    url="http://$address:8501"
    START_S="$(wait_healthy "$url/_stcore/health" 120)" \
        || { podman logs "$name" 2>&1 | tail -n 40 >&2; fail "the image did not become healthy"; }
    log "the image answers /_stcore/health at $url $START_S s after podman run"
    podman healthcheck run "$name" 2>/dev/null || fail "the image's own HEALTHCHECK failed"
    GGMI_DEPLOY_URL="$url" GGMI_DEPLOY_CONTAINER="$name" \
        "$PY" -m pytest -p no:xdist -p no:cacheprovider -q tests/deploy/test_image.py \
        || { podman logs "$name" 2>&1 | tail -n 40 >&2; fail "tests/deploy/test_image.py"; }
    podman rm -f -t 5 "$name" >/dev/null 2>&1
}

# ------------------------------------------------------------------ compose
PROJECT=ggmi-deploy-test
compose() {
    podman-compose -p "$PROJECT" -f deploy/compose.yaml "$@"
}

step_compose() {
    local port start up_s pids
    setup_venv
    port="$(free_port)"
    # deploy/compose.yaml as it is, the proxy published on loopback only.
    export GGMI_PUBLISH="127.0.0.1:$port"
    export GGMI_CACHE_SECRET
    GGMI_CACHE_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
    # Every session of the drills and the lecture hall comes from this one machine, so
    # the proxy and the app see one client: lift their per-client limits
    # (docs/DEPLOYMENT.md) for this run; tests/test_stack.py and tests/test_rerun_flood.py
    # check the limits themselves.
    export GGMI_PROXY_CONNECTIONS_PER_CLIENT=4000 GGMI_PROXY_REQUESTS_PER_10S=100000 \
        GGMI_PROXY_STREAMS_PER_CLIENT=1000 GGMI_PROXY_STREAM_OPENS_PER_10S=1000 \
        GGMI_PAGE_RUNS_PER_CLIENT=0
    start=$(date +%s)
    COMPOSE_UP=1
    compose up -d >"$WORK/compose-up.log" 2>&1 \
        || { tail -n 40 "$WORK/compose-up.log" >&2; fail "podman-compose up"; }
    wait_healthy "http://127.0.0.1:$port/_stcore/health" 180 >/dev/null \
        || { compose logs 2>&1 | tail -n 60 >&2; fail "the stack did not become healthy"; }
    UP_S=$(seconds_since "$start")
    log "compose stack answers through the proxy $UP_S s after podman-compose up"
    GGMI_DEPLOY_URL="http://127.0.0.1:$port" GGMI_DEPLOY_PROJECT="$PROJECT" \
        "$PY" -m pytest -p no:xdist -p no:cacheprovider -q tests/deploy/test_stack_drills.py \
        || { compose logs 2>&1 | tail -n 80 >&2; fail "tests/deploy/test_stack_drills.py"; }
    # The drills stop replica1 and restart it; wait until both replicas serve again.
    pids="$(podman inspect --format '{{.State.Pid}}' "${PROJECT}_replica1_1" \
        "${PROJECT}_replica2_1" | paste -sd, -)"
    log "lecture hall: $STUDENTS students through the proxy"
    "$PY" bench/lecture_hall.py --url "http://127.0.0.1:$port" --server-pids "$pids" \
        --students "$STUDENTS" --ramp 15 --every 6 --seed 1 --out "$WORK/lecture_hall.md" \
        >"$WORK/lecture_hall.log" 2>&1 \
        || { tail -n 40 "$WORK/lecture_hall.log" >&2; fail "bench/lecture_hall.py reported errors"; }
    cat "$WORK/lecture_hall.md"
    if [ "$KEEP" -eq 1 ]; then
        log "the stack keeps running at http://127.0.0.1:$port/ (stop: podman-compose -p $PROJECT -f deploy/compose.yaml down)"
        COMPOSE_UP=""
    fi
}

# ------------------------------------------------------------------ dask
step_dask() {
    local port sched="ggmi-deploy-scheduler-$$" worker="ggmi-deploy-worker-$$" sweep
    port="$(free_port)"
    sweep=(ggmi sweep --param K --values 2:5 --rounds 20 --metric js --quiet)
    CONTAINERS+=("$sched" "$worker")
    # Two processes of the image: the package is installed there, PYTHONPATH is unset.
    podman run -d --name "$sched" --network host --no-healthcheck "$IMAGE" \
        dask scheduler --host 127.0.0.1 --port "$port" --no-dashboard >/dev/null
    podman run -d --name "$worker" --network host --no-healthcheck "$IMAGE" \
        dask worker "tcp://127.0.0.1:$port" --host 127.0.0.1 --nthreads 1 --nworkers 2 \
        --no-dashboard >/dev/null
    if podman exec "$worker" sh -c 'test -n "${PYTHONPATH:-}"'; then
        fail "PYTHONPATH is set in the image"
    fi
    log "a sweep on the Dask cluster and the same sweep locally"
    podman run --rm --network host --no-healthcheck "$IMAGE" "${sweep[@]}" \
        --dask-scheduler "tcp://127.0.0.1:$port" >"$WORK/sweep-dask.csv" 2>"$WORK/sweep-dask.err" \
        || { cat "$WORK/sweep-dask.err" >&2; podman logs "$sched" 2>&1 | tail -n 20 >&2; fail "the Dask sweep"; }
    podman run --rm --network none --no-healthcheck "$IMAGE" "${sweep[@]}" >"$WORK/sweep-local.csv" \
        2>"$WORK/sweep-local.err" || { cat "$WORK/sweep-local.err" >&2; fail "the local sweep"; }
    [ "$(wc -l <"$WORK/sweep-local.csv")" -ge 5 ] || fail "the local sweep wrote no table"
    cmp "$WORK/sweep-dask.csv" "$WORK/sweep-local.csv" \
        || { diff "$WORK/sweep-dask.csv" "$WORK/sweep-local.csv" | head >&2; fail "Dask and local sweeps differ"; }
    grep -q "Error during deserialization" <(podman logs "$sched" 2>&1) \
        && fail "the scheduler could not deserialise the task graph"
    log "Dask sweep equals the local sweep ($(($(wc -l <"$WORK/sweep-local.csv") - 1)) rows)"
    podman rm -f -t 5 "$sched" "$worker" >/dev/null 2>&1
}

# ------------------------------------------------------------------ main
trap cleanup EXIT
TOTAL_START=$(date +%s)
install_tools
PASSED=0
for step in $STEPS; do
    case "$step" in
        bases | image | run | compose | dask) ;;
        *) fail "unknown step '$step'" ;;
    esac
done
for step in $STEPS; do
    FAILED_STEP="$step"
    "step_$step"
    PASSED=$((PASSED + 1))
done
FAILED_STEP=""
log "all steps passed in $(seconds_since "$TOTAL_START") s" \
    "(image: build ${BUILD_S:-?} s, ${IMAGE_MB:-?} MB, healthy ${START_S:-?} s after start;" \
    "stack: ${UP_S:-?} s to serve)"
echo "deploy: $PASSED passed, 0 failed"
exit 0
}
