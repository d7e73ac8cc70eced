"""Print pip constraints pinning each core dependency to the lowest version pyproject.toml admits.

    python .ci/floors.py > floors.txt && pip install -c floors.txt -e ".[dev]"

The floor install of CI: a floor that no longer works (an API confsched uses, a bug fixed later, a
NumPy whose arithmetic differs from the references) fails the suite there. torch is not pinned (CI
installs the CPU build of the README first, in both installs).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PINNED = ("hydra-core", "omegaconf", "pydantic", "numpy", "pyyaml", "matplotlib", "pyarrow")
"""The dependencies whose floors CI installs (everything else resolves to what pip picks). pyarrow
is the ``parquet`` extra's: its newest releases refuse NumPy 1.x, so its floor must work with
NumPy's."""


def floors(pyproject: Path) -> dict[str, str]:
    """``{name: lowest version}`` of the :data:`PINNED` dependencies (each must have a ``>=`` floor,
    in the dependencies or, failing that, in an extra)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = project.get("optional-dependencies", {}).values()
    found: dict[str, str] = {}
    for requirement in [*project["dependencies"], *(r for extra in extras for r in extra)]:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(?:,.*)?", requirement)
        if match and match[1].lower() in PINNED:
            found.setdefault(match[1].lower(), match[2])
    missing = sorted(set(PINNED) - set(found))
    if missing:
        raise SystemExit(f"pyproject.toml gives no '>=' floor for {', '.join(missing)}")
    return found


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    sys.stdout.write("".join(f"{name}=={version}\n" for name, version in floors(root / "pyproject.toml").items()))
