"""``python -m symbolic`` runs the command line."""

import sys

from symbolic.cli import main

sys.exit(main())
