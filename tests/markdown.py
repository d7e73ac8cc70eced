"""The fenced code blocks of a Markdown file, for the tests that run the docs.

A block is opted out of running by an HTML comment on the line right before its fence (it does not
show on GitHub): ``<!-- not-run: <why> -->``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DOCS", "Block", "code_blocks", "doc_blocks"]

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "README.md",
    *(
        ROOT / "docs" / name
        for name in (
            "cli.md",
            "sweeps.md",
            "families.md",
            "finetuning.md",
            "tokens.md",
            "training.md",
            "bridges.md",
            "migrating.md",
            "performance.md",
            "spec-reference.md",
        )
    ),
]
"""The README, then the pages of ``docs/`` in the order the README links them (the order their
text had when it was one file: a later page's Python blocks may use the names of an earlier one's)."""

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
    source: Path = ROOT / "README.md"
    """The Markdown file the block is in."""

    @property
    def where(self) -> str:
        """``docs/cli.md:12``: the file (relative to the repository) and the line of the fence."""
        return f"{self.source.relative_to(ROOT)}:{self.line}"

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
        blocks.append(Block(match["lang"], match["text"], line, reason, path))
    return blocks


def doc_blocks() -> list[Block]:
    """Every fenced block of the README and of each page of ``docs/``, in :data:`DOCS` order."""
    return [block for path in DOCS for block in code_blocks(path)]
