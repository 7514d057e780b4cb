"""Write the Diagnostics page's example embeddings to assets/ (run from the repo root).

    /tmp/venv/bin/python bench/make_example_embeddings.py [--check]

With ``--check`` nothing is written; the exit status says whether the committed files
equal a fresh regeneration.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ggmi_core.example_data import example_files

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    stale = []
    for name, data in example_files().items():
        path = ASSETS / name
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.write_bytes(data)
            print(f"wrote {path} ({len(data):,} bytes)")
    if stale:
        print("stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
