"""``python -m bot`` runs the ``chatpanel`` command line."""

import sys

from bot.cli import main

sys.exit(main())
