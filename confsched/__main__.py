"""``python -m confsched``: the same as the ``confsched`` command."""

import sys

from confsched.cli import main

sys.exit(main())
