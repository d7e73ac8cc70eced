"""The limits on what one config may cost to read, in one table.

A spec file is small: the shipped ones are under 2 KB, nest 4 levels, have a handful of
interpolations. These limits are far above that and far below what hurts: a 700-byte YAML alias
bomb expands to a billion nodes, a 1.1 KB chain of doubling ``${...}`` interpolations to 2^40
characters, a 1 MB name echoed in an error is a 1 MB line. Each is checked before the expensive
step (the YAML composer, OmegaConf's resolution, the error renderer), so a file over a limit fails
in milliseconds with one line naming the limit and how to raise it:

    CONFSCHED_MAX_FILE_BYTES=5000000 confsched show big.yaml

Every limit is read from its environment variable each time it is checked (so a test or a user can
raise it for one command); the variable must hold a positive whole number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["LIMITS", "Limit", "limit"]


@dataclass(frozen=True)
class Limit:
    """One limit: its default, what it counts, and the environment variable that raises it."""

    name: str
    default: int
    counts: str
    """What is counted, for messages: ``bytes in a spec file``."""

    @property
    def variable(self) -> str:
        """The environment variable that sets it: ``CONFSCHED_MAX_<NAME>``."""
        return f"CONFSCHED_MAX_{self.name.upper()}"

    def value(self, *, strict: bool = True) -> int:
        """The limit in force: the environment variable when set, else the default (also when the
        variable is not a positive whole number and not ``strict``; when ``strict``, that is an error)."""
        text = os.environ.get(self.variable, "").strip()
        if not text:
            return self.default
        if not text.isdigit() or int(text) < 1:
            if not strict:
                return self.default
            from confsched.errors import ConfigError  # errors.py reads a limit: imported here

            raise ConfigError("", f"{self.variable} must be a whole number of at least 1 (got {text[:40]!r})")
        return int(text)

    def exceeded(self, found: int | None = None) -> str:
        """The end of a message for a count over the limit (``found``, when known): what the limit is
        and how to raise it: ``200 characters, more than the limit of 100 (raise it with ...=N)``."""
        if found is None:
            return f"more than {self.value():,} {self.counts} (raise the limit with {self.variable}=N)"
        most = self.value()
        return f"{found:,} {self.counts}, more than the limit of {most:,} (raise it with {self.variable}=N)"


LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("file_bytes", 1_000_000, "bytes"),
        Limit("yaml_nodes", 100_000, "YAML nodes (an alias counts the nodes it repeats)"),
        Limit("depth", 32, "levels"),
        Limit("interpolations", 1_000, "interpolations (${...})"),
        Limit("interpolated_chars", 100_000, "characters"),
        Limit("echoed_chars", 200, "characters"),
        Limit("name_chars", 100, "characters"),
    )
}
"""name -> :class:`Limit`.

==================== ========= ===============================================================
limit                default   what it bounds
==================== ========= ===============================================================
file_bytes           1,000,000 size of one spec file (checked before it is read)
yaml_nodes           100,000   YAML nodes of one file, each alias counted as what it repeats
depth                32        nesting of mappings and lists (YAML, plain data)
interpolations       1,000     ``${...}`` expressions in one file
interpolated_chars   100,000   length of any value once its interpolations are expanded
echoed_chars         200       a value quoted in an error line (longer ones are cut, length said)
name_chars           100       a parameter group name (a plot label and CSV column)
==================== ========= ===============================================================
"""


def limit(name: str) -> int:
    """The value in force of the limit ``name`` (a key of :data:`LIMITS`)."""
    return LIMITS[name].value()
