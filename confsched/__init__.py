"""confsched: a declarative, version-controlled LR schedule config -> a torch optimizer + scheduler.

>>> import confsched
>>> spec = confsched.load("conf/examples/worked_example.yaml")   # doctest: +SKIP
>>> spec.total_steps                                               # doctest: +SKIP
1950

Importing ``confsched`` does not import torch: ``build``, ``build_optimizer``, ``build_scheduler``
and the scheduler classes are loaded on first use.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confsched.errors import (
    ConfigError,
    ConfschedError,
    GroupError,
    ResumeError,
    SpecError,
    render,
)

if TYPE_CHECKING:
    from confsched.builder import build, build_optimizer, build_scheduler
    from confsched.compose.hydra_app import from_hydra
    from confsched.curve import lr_curve, momentum_curve, weight_decay_curve
    from confsched.families import FAMILIES, Family
    from confsched.loading import compose, load
    from confsched.lr_scheduler import (
        MetricDrivenLR,
        ScheduledLR,
        ScheduleOverrunWarning,
        SpecChangedWarning,
    )
    from confsched.spec.optimizer import OPTIMIZERS, register_optimizer
    from confsched.spec.root import Spec, validate
    from confsched.steps import StepPlan, plan_steps

__version__ = "0.1.0"

# In a wheel the config tree is the subpackage confsched/conf. In a checkout (an editable install)
# it is the top-level conf/ next to this package: make it importable as confsched.conf there too,
# so that Hydra's `pkg://confsched.conf` search path works in both.
_checkout = Path(__file__).resolve().parent.parent
if not (Path(__file__).resolve().parent / "conf").is_dir() and (_checkout / "conf" / "__init__.py").is_file():
    __path__.append(str(_checkout))

__all__ = [
    "FAMILIES",
    "OPTIMIZERS",
    "ConfigError",
    "ConfschedError",
    "Family",
    "GroupError",
    "MetricDrivenLR",
    "ResumeError",
    "ScheduleOverrunWarning",
    "ScheduledLR",
    "Spec",
    "SpecChangedWarning",
    "SpecError",
    "StepPlan",
    "__version__",
    "build",
    "build_optimizer",
    "build_scheduler",
    "compose",
    "from_hydra",
    "load",
    "lr_curve",
    "momentum_curve",
    "plan_steps",
    "register_optimizer",
    "render",
    "validate",
    "weight_decay_curve",
]

_LAZY = {
    # pure: the models and the math (numpy, pydantic)
    **dict.fromkeys(("lr_curve", "momentum_curve", "weight_decay_curve"), "confsched.curve"),
    **dict.fromkeys(("FAMILIES", "Family"), "confsched.families"),
    **dict.fromkeys(("OPTIMIZERS", "register_optimizer"), "confsched.spec.optimizer"),
    **dict.fromkeys(("Spec", "validate"), "confsched.spec.root"),
    **dict.fromkeys(("StepPlan", "plan_steps"), "confsched.steps"),
    # the Hydra side
    "load": "confsched.loading",
    "from_hydra": "confsched.compose.hydra_app",
    # torch
    **dict.fromkeys(("build", "build_optimizer", "build_scheduler"), "confsched.builder"),
    **dict.fromkeys(
        ("MetricDrivenLR", "ScheduledLR", "ScheduleOverrunWarning", "SpecChangedWarning"),
        "confsched.lr_scheduler",
    ),
}
"""Every public name but the errors, by the module that holds it: imported on first use (PEP 562),
so ``import confsched`` costs what the errors cost, ``confsched.Spec`` builds the pydantic models
(once, when their module is imported), ``confsched.compose`` imports Hydra, ``confsched.build``
imports torch."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'confsched' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(types.ModuleType):
    """``confsched`` itself. Its name ``compose`` is the function (``confsched.compose([...])``),
    although ``confsched.compose`` is also a subpackage: when the subpackage is first imported, the
    import system records it as the attribute ``compose`` of this package, which would hide the
    function. With the imports lazy, that may happen at any time, so the attribute is a property
    and the import system's record is dropped (``from confsched.compose.sweep import ...`` and
    ``sys.modules`` still reach the subpackage)."""

    @property
    def compose(self) -> Any:
        from confsched.loading import compose

        return compose

    @compose.setter
    def compose(self, value: Any) -> None:
        pass

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by name, as pickle and cloudpickle take a plain module (a launcher's job holds
        functions that refer to ``confsched``)."""
        return (importlib.import_module, (self.__name__,))


sys.modules[__name__].__class__ = _Package
