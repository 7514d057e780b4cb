#!/usr/bin/env bash
# Install what is missing (see setup_env.sh) and start the dashboard on port 8501.
#   bash scripts/run_app.sh [extra streamlit options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup_env.sh
VENV="${GGMI_VENV:-$ROOT/.venv}"
exec "$VENV/bin/python" -m streamlit run app.py --server.port "${PORT:-8501}" "$@"
