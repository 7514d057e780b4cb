"""``python -m ggmi_core``: the command line (see ``ggmi_core.cli``)."""

import sys

from ggmi_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
