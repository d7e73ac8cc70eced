"""Pydantic models of a schedule spec (the leaf sections; the root model is in ``root``)."""

from confsched.spec.continuation import ContinuationSpec, CooldownSpec
from confsched.spec.duration import Duration, parse_duration
from confsched.spec.optimizer import OPTIMIZERS, GroupSpec, OptimizerBase
from confsched.spec.run import BatchRampSpec, DataSpec, TrainingSpec
from confsched.spec.scheduler import SchedulerBase

__all__ = [
    "OPTIMIZERS",
    "BatchRampSpec",
    "ContinuationSpec",
    "CooldownSpec",
    "DataSpec",
    "Duration",
    "GroupSpec",
    "OptimizerBase",
    "SchedulerBase",
    "TrainingSpec",
    "parse_duration",
]
