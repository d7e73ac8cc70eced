"""``python -m confsched``: the same as the ``confsched`` command."""

from confsched.cli import console

console()
