"""The fenced code blocks of a Markdown file, for the tests that run the docs.

A block is opted out of running by an HTML comment on the line right before its fence (it does not
show on GitHub): ``<!-- not-run: <why> -->``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Block", "code_blocks"]

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<text>.*?)^```$", re.DOTALL | re.MULTILINE)
_NOT_RUN = re.compile(r"<!--\s*not-run:(?P<reason>.*?)-->\s*$")
_FILE_HEADER = re.compile(r"#\s*(?P<path>[\w./-]+\.ya?ml)\b")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, its text, where it starts and whether it is opted out."""

    lang: str
    text: str
    line: int
    """The line of the opening fence (1-based); the block's first line is ``line + 1``."""
    not_run: str | None
    """The reason given by a ``<!-- not-run: ... -->`` marker right before the fence (may be empty)."""

    @property
    def file(self) -> str | None:
        """For a YAML block whose first line is ``# <path>.yaml``: that path (the file it shows)."""
        first = self.text.split("\n", 1)[0]
        match = _FILE_HEADER.match(first)
        return match["path"] if self.lang == "yaml" and match else None

    def commands(self) -> list[tuple[str, str]]:
        """``(command, comment)`` for each line of a shell block with a command (``# ...`` after it)."""
        found = []
        for line in self.text.splitlines():
            command, _, comment = line.partition("#")
            if command.strip():
                found.append((command.strip(), comment.strip()))
        return found


def code_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, in order."""
    text = path.read_text()
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _NOT_RUN.search(before)
        reason = marker["reason"].strip() if marker else None
        blocks.append(Block(match["lang"], match["text"], line, reason))
    return blocks
