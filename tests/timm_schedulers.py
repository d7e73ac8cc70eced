"""Load timm's scheduler modules without importing ``timm`` itself.

``timm/__init__.py`` imports torchvision, which cannot be installed beside every CPU torch build.
The scheduler modules need only torch, so :func:`timm_scheduler` registers empty stand-ins for the
``timm`` and ``timm.scheduler`` packages (their ``__path__`` pointing at the installed directories),
imports the one module asked for, and then takes the stand-ins out of ``sys.modules`` again.
Tests skip when timm is not installed (CI: ``pip install --no-deps timm==1.0.31``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import types
from pathlib import Path

import pytest


@functools.cache
def timm_scheduler(module: str) -> types.ModuleType:
    """``timm.scheduler.<module>`` (e.g. ``"cosine_lr"``), loaded without running timm's ``__init__``."""
    found = importlib.util.find_spec("timm")
    if found is None or not found.submodule_search_locations:
        pytest.skip("timm is not installed (pip install --no-deps timm)")
    root = Path(next(iter(found.submodule_search_locations)))
    before = set(sys.modules)
    stand_ins = {"timm": root, "timm.scheduler": root / "scheduler"}
    for name, path in stand_ins.items():
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(path)]
            sys.modules[name] = package
    try:
        return importlib.import_module(f"timm.scheduler.{module}")
    finally:
        for name in set(sys.modules) - before:
            del sys.modules[name]
