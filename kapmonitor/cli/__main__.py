"""``python -m kapmonitor.cli``: the same entry point as the ``kapmonitor`` command."""

import sys

from kapmonitor.cli.parser import main

sys.exit(main())
