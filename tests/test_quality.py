"""The code stays lint-clean and typed: ruff and mypy run as part of the suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed")
def test_ruff_is_clean():
    result = _run("ruff", "check", "confsched", "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    result = _run("ruff", "format", "--check", "confsched", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean():
    pytest.importorskip("mypy")
    import numpy

    if int(numpy.__version__.split(".")[0]) < 2:
        # NumPy 1.x's type stubs infer other dtypes for the same expressions (int // int, x ** y):
        # the types are checked with NumPy 2's, in CI's first install (newest versions).
        pytest.skip(f"the types are checked with NumPy 2's stubs, not {numpy.__version__}'s")
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr
