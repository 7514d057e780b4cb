#!/usr/bin/env bash
# Set up (with dev tools), then lint and run the whole test suite.
#   bash scripts/run_tests.sh [extra pytest options for both pytest runs]
# Exits non-zero if any step fails, including a pytest run that collects no tests.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup_env.sh --dev || { echo "run_tests.sh: set-up failed" >&2; exit 1; }
VENV="${GGMI_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
failed=()

run_step() {
    local name="$1"
    shift
    echo "=== $name: $*"
    "$@"
    local rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "run_tests.sh: $name collected no tests (pytest exit 5): counted as a failure" >&2
    fi
    if [ "$rc" -ne 0 ]; then
        failed+=("$name (exit $rc)")
    fi
}

run_step "ruff" "$PY" -m ruff check .
# Compile the numba kernels once (or load them from the disk cache) before the test
# processes start, so the pytest workers load them instead of each compiling them.
run_step "compile kernels" "$PY" -c "from ggmi_core._jit import compile_all; compile_all()"
run_step "unit and AppTest" "$PY" -m pytest -n 2 -m "not browser and not isolated" "$@"
# Replays that compare one client's time alone and under a flood: with nothing else
# running beside them, so the other test worker's load does not skew the ratio.
run_step "isolated" "$PY" -m pytest -p no:xdist -m isolated "$@"
# Browser tests share one live server and one Chromium; run them in one process.
run_step "browser" "$PY" -m pytest -p no:xdist -m browser tests/browser "$@"
# Browser tests elsewhere (the replica stack's, through its proxy) start their own
# Playwright, which cannot run beside the browser folder's session-wide one.
run_step "browser (stack)" "$PY" -m pytest -p no:xdist -m browser --ignore=tests/browser "$@"

if [ "${#failed[@]}" -gt 0 ]; then
    echo "run_tests.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "run_tests.sh: all steps passed"
