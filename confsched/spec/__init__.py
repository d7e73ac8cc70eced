"""Pydantic models of a schedule spec (the leaf sections; the root model is in ``root``)."""

from confsched.spec.duration import Duration, parse_duration
from confsched.spec.optimizer import OPTIMIZERS, GroupSpec, OptimizerBase
from confsched.spec.run import DataSpec, TrainingSpec
from confsched.spec.scheduler import SchedulerBase

__all__ = [
    "OPTIMIZERS",
    "DataSpec",
    "Duration",
    "GroupSpec",
    "OptimizerBase",
    "SchedulerBase",
    "TrainingSpec",
    "parse_duration",
]
