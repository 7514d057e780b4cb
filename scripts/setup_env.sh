#!/usr/bin/env bash
# Set up everything GGMI Explorer needs, idempotently.
#
#   bash scripts/setup_env.sh          # runtime: .venv + requirements.txt
#   bash scripts/setup_env.sh --dev    # also requirements-dev.txt (tests, lint)
#   bash scripts/setup_env.sh --stack  # also redis-server and haproxy (scripts/run_stack.sh)
#
# - Creates the virtual environment (default ./.venv; override with GGMI_VENV) with
#   python3.11, else python3 (must be >= 3.11).
# - When run as root on Debian/Ubuntu: installs Debian's `chromium` (server-side PNG
#   export) and `python3-venv` if they are missing; with --dev or --stack also
#   `redis-server` and `haproxy` (the replica stack of scripts/run_stack.sh, its tests).
# - Skips pip when a stamp file in the venv matches the hash of the requirement files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEV=0
STACK=0
for arg in "$@"; do
    case "$arg" in
        --dev) DEV=1; STACK=1 ;;
        --stack) STACK=1 ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "setup_env.sh: unknown option '$arg' (use --dev or --stack)" >&2; exit 2 ;;
    esac
done

VENV="${GGMI_VENV:-$ROOT/.venv}"

find_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# --- system packages (root only) -------------------------------------------------
apt_packages=()
if [ ! -x /usr/bin/chromium ]; then
    apt_packages+=(chromium)
fi
if [ "$STACK" -eq 1 ]; then
    command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] \
        || apt_packages+=(redis-server)
    command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || apt_packages+=(haproxy)
fi
PYTHON="$(find_python || true)"
if [ ! -x "$VENV/bin/python" ] && [ -n "$PYTHON" ] \
    && ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_packages+=(python3-venv)
fi
if [ "${#apt_packages[@]}" -gt 0 ]; then
    if is_root && command -v apt-get >/dev/null 2>&1; then
        echo "setup_env.sh: installing ${apt_packages[*]} with apt-get"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${apt_packages[@]}"
    else
        echo "setup_env.sh: warning: missing ${apt_packages[*]}; run as root to install" \
            "(without chromium, PNG export falls back to the chart toolbar; without" \
            "redis-server and haproxy, the replica stack and its tests cannot run)" >&2
    fi
fi
PYTHON="${PYTHON:-$(find_python || true)}"

# --- virtual environment ------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    if [ -z "$PYTHON" ]; then
        echo "setup_env.sh: Python >= 3.11 not found (install python3.11)" >&2
        exit 1
    fi
    echo "setup_env.sh: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

requirements=(requirements.txt)
if [ "$DEV" -eq 1 ]; then
    requirements+=(requirements-dev.txt)
fi

# The stamp covers the requirement files, the Python version and the --dev choice.
want="$(
    {
        cat "${requirements[@]}"
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
        echo "dev=$DEV"
    } | sha256sum | cut -d' ' -f1
)"
stamp="$VENV/.ggmi-requirements-$DEV.sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup_env.sh: requirements up to date in $VENV"
else
    pip_args=()
    for file in "${requirements[@]}"; do
        pip_args+=(-r "$file")
    done
    echo "setup_env.sh: installing ${requirements[*]} into $VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check "${pip_args[@]}"
    echo "$want" >"$stamp"
fi
