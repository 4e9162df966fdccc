"""``python -m perfcost``: the same command line as ``perfcost``."""

import sys

from perfcost.book.cli import main

sys.exit(main())
