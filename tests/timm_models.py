"""Build a real (tiny) timm ``VisionTransformer`` and run timm's own ``param_groups_layer_decay`` on
it, without importing ``timm`` itself.

``timm/__init__.py`` imports torchvision (not installable beside every CPU torch build). The ViT
and the parameter-group code need only torch, except that ``timm.layers`` imports the name
``FrozenBatchNorm2d`` from ``torchvision.ops.misc`` (for ResNets; a ViT never builds one). So
:func:`timm_vit_layer_decay` registers stand-ins (empty ``timm``, ``timm.models`` and ``timm.optim``
packages pointing at the installed directories, a ``timm.data`` holding the constants of
``timm/data/constants.py``, and a ``torchvision.ops.misc`` whose ``FrozenBatchNorm2d`` is a bare
``nn.Module``), imports the real ``timm.models.vision_transformer`` and ``timm.optim._param_groups``
modules, builds the model and its groups, and takes every stand-in out of ``sys.modules`` again.
Tests skip when timm is not installed (CI: ``pip install --no-deps timm==1.0.31``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch


def _package(name: str, path: Path | None = None) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = [str(path)] if path is not None else []
    sys.modules[name] = module
    return module


def timm_vit_layer_decay(
    depth: int, layer_decay: float, weight_decay: float, **vit: Any
) -> tuple[torch.nn.Module, list[dict[str, Any]]]:
    """A timm ``VisionTransformer`` of ``depth`` blocks (tiny: 8-dim, 16x16 images) and the param
    groups ``timm.optim.param_groups_layer_decay`` makes of it, as timm's ``create_optimizer_v2``
    calls it (with the model's ``no_weight_decay()`` names)."""
    found = importlib.util.find_spec("timm")
    if found is None or not found.submodule_search_locations:
        pytest.skip("timm is not installed (pip install --no-deps timm)")
    root = Path(next(iter(found.submodule_search_locations)))
    before = set(sys.modules)
    try:
        _package("timm", root).__version__ = "stand-in"  # timm.models._hub reads it
        _package("timm.models", root / "models")
        _package("timm.optim", root / "optim")
        data = _package("timm.data", root / "data")
        constants = importlib.import_module("timm.data.constants")
        data.__dict__.update({k: v for k, v in vars(constants).items() if k.isupper()})
        _package("torchvision")
        _package("torchvision.ops")
        misc = types.ModuleType("torchvision.ops.misc")
        misc.FrozenBatchNorm2d = type("FrozenBatchNorm2d", (torch.nn.Module,), {})  # type: ignore[attr-defined]
        sys.modules["torchvision.ops.misc"] = misc
        vision_transformer = importlib.import_module("timm.models.vision_transformer")
        manipulate = importlib.import_module("timm.models._manipulate")
        sys.modules["timm.models"].group_parameters = manipulate.group_parameters  # type: ignore[attr-defined]
        param_groups = importlib.import_module("timm.optim._param_groups")
        torch.manual_seed(0)
        options = {"img_size": 16, "patch_size": 8, "embed_dim": 8, "num_heads": 2, "num_classes": 3} | vit
        model = vision_transformer.VisionTransformer(depth=depth, **options)
        groups = param_groups.param_groups_layer_decay(
            model,
            weight_decay=weight_decay,
            layer_decay=layer_decay,
            no_weight_decay_list=model.no_weight_decay(),
        )
    finally:
        for name in set(sys.modules) - before:
            del sys.modules[name]
    return model, groups
