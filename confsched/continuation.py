"""Continued training: which changes a run may make when it resumes another run's checkpoint, and
the LR at the resume point.

A spec with a ``continuation`` section (:class:`~confsched.spec.continuation.ContinuationSpec`)
continues the run whose checkpoint it loads. :func:`check_resume` is the rule the scheduler's
``load_state_dict`` applies to a state saved under another spec, and ``confsched diff`` applies to
two spec files:

1. only the fields of :data:`CONTINUABLE` may differ: the run's length (a longer budget), its batch
   and world size (an elastic restart), and the ``continuation`` section itself (a cooldown);
2. the checkpoint is where ``continuation.at`` says;
3. the LR does not jump at the resume point: every group's LR there is the same under both specs
   (to :data:`JUMP_RTOL`). A run counted in samples is compared at the samples the checkpoint had
   consumed, so a new batch or world size keeps the LR continuous.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from confsched.errors import ConfschedError, ResumeError
from confsched.schedules import WithMomentum
from confsched.spec.root import Spec, validate
from confsched.time.axis import OnSamples

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "CONTINUABLE",
    "JUMP_RTOL",
    "Jump",
    "ResumePoint",
    "check_resume",
    "lr_at",
    "planned_point",
    "resume_jump",
]

CONTINUABLE: dict[str, str] = {
    "training.epochs": "a longer budget",
    "training.max_steps": "a longer budget",
    "training.max_samples": "a longer budget",
    "training.max_tokens": "a longer budget",
    "training.world_size": "another world size",
    "training.grad_accum_steps": "another global batch",
    "data.batch_size": "another global batch",
    "training.batch_rampup": "another batch ramp",
    "continuation": "the continuation itself",
}
"""The fields (and sections) a continuation may change, each with what the change is."""

JUMP_RTOL = 1e-9
"""Relative LR difference at the resume point above which the LR jumps (an ulp of rounding is not
a jump: a cooldown starts from ``level x 1.0`` computed as ``level x ((1 - r) + r)``)."""


@dataclass(frozen=True)
class ResumePoint:
    """Where a checkpoint is: optimizer steps done, and the samples they consumed."""

    step: int
    samples: int

    def __str__(self) -> str:
        return f"step {self.step} ({self.samples} samples consumed)"


@dataclass(frozen=True)
class Jump:
    """The LR of each common group at a resume point under the run continued and the continuation."""

    point: ResumePoint
    groups: tuple[str, ...]
    old: tuple[float, ...]
    new: tuple[float, ...]

    @property
    def largest(self) -> tuple[str, float, float]:
        """``(group, old LR, new LR)`` of the group whose LR jumps most (relative)."""
        i = int(np.argmax([_relative(a, b) for a, b in zip(self.old, self.new, strict=True)]))
        return self.groups[i], self.old[i], self.new[i]

    @property
    def jumps(self) -> bool:
        """Whether some group's LR differs by more than :data:`JUMP_RTOL`."""
        return any(_relative(a, b) > JUMP_RTOL for a, b in zip(self.old, self.new, strict=True))

    def describe(self) -> str:
        """``LR at step 12000 (...): 0.0003 -> 0.0003 (no jump)`` for the group that moves most."""
        group, old, new = self.largest
        verdict = "an unplanned jump" if self.jumps else "no jump"
        return f"LR at the resume point, {self.point}, group {group}: {old:.6g} -> {new:.6g} ({verdict})"


def _relative(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def lr_at(spec: Spec, steps: npt.ArrayLike, samples: npt.ArrayLike) -> FloatArray:
    """Every group's LR (columns) at positions given as steps and the samples consumed by then
    (rows): a run counted in samples is evaluated at the samples, any other at the step."""
    k = np.atleast_1d(np.asarray(steps, dtype=np.int64))
    c = np.atleast_1d(np.asarray(samples, dtype=np.int64))
    out = np.empty((len(k), len(spec.group_names)), dtype=np.float64)
    for i, (name, schedule) in enumerate(zip(spec.group_names, spec.group_schedules, strict=True)):
        base = spec.group_base_lrs[name]
        inner = schedule.lr if isinstance(schedule, WithMomentum) else schedule
        if isinstance(inner, OnSamples):
            out[:, i] = base * inner.schedule(c)
        elif callable(inner):
            out[:, i] = base * inner(k)
        else:  # metric-driven: the LR is the metric's business; the planned level is the base LR
            out[:, i] = base
    return out


def resume_jump(old: Spec, new: Spec, point: ResumePoint) -> Jump:
    """The LRs of the groups both specs have, at ``point``, under ``old`` and under ``new``."""
    groups = tuple(name for name in old.group_names if name in new.group_names)
    a, b = lr_at(old, point.step, point.samples)[0], lr_at(new, point.step, point.samples)[0]
    return Jump(
        point,
        groups,
        tuple(float(a[old.group_names.index(g)]) for g in groups),
        tuple(float(b[new.group_names.index(g)]) for g in groups),
    )


def planned_point(old: Spec, new: Spec) -> ResumePoint:
    """The resume point ``new.continuation.at`` names, placed on the run ``old`` describes."""
    assert new.continuation is not None
    at = new.continuation.at
    if at.unit == "steps":
        step = int(at.amount)
        return ResumePoint(step, int(old.plan.consumed_samples(min(step, old.total_steps + 1))))
    samples = new.plan.samples(at)
    return ResumePoint(old.plan.steps(at), samples)


def check_resume(old_config: Mapping[str, Any], new: Spec, step: int, samples: int | None = None) -> str:
    """Check that ``new`` may continue the run of ``old_config`` from its checkpoint after ``step``
    optimizer steps (and ``samples`` samples, saved by a run counted in samples; else computed).

    Returns what the continuation does, in one line; raises :class:`~confsched.errors.ResumeError`
    naming the first rule broken (the module docstring's three).
    """
    try:
        old = validate(dict(old_config))
    except ConfschedError as error:
        raise ResumeError(
            "scheduler", f"the checkpoint's spec does not validate any more ({error})"
        ) from None
    assert new.continuation is not None
    if samples is None:
        samples = int(old.plan.consumed_samples(min(step, old.total_steps + 1)))
    point = ResumePoint(step, samples)
    changes = list(_changes(old.to_config(), new.to_config()))
    refused = [c for c in changes if _continuable(c[0]) is None]
    if refused:
        shown = "; ".join(f"{path}: {a!r} -> {b!r}" for path, a, b in refused[:3])
        raise ResumeError(
            refused[0][0],
            f"a continuation cannot change {shown}; it may change the run's length, its batch and "
            "world size, and branch a cooldown (continuation.cooldown)",
        )
    at = new.continuation.at
    if new.plan.counts_samples:  # where the checkpoint is in the data: samples consumed
        wanted, found = new.plan.position(at), point.samples
    else:
        wanted, found = new.plan.steps(at), point.step
    if wanted != found:
        raise ResumeError(
            "continuation.at",
            f"{at}, but the checkpoint is at {point}: set continuation.at to {point.step} "
            f"(or '{point.samples} sp')",
        )
    jump = resume_jump(old, new, point)
    if jump.jumps:
        raise ResumeError("continuation", jump.describe())
    what = sorted({_continuable(path) or "" for path, _, _ in changes if not path.startswith("continuation")})
    cooldown = new.continuation.cooldown
    if cooldown is not None:
        what.append(f"a {cooldown.shape} cooldown over {cooldown.length} to {cooldown.min_lr_ratio:g}")
    done = ", ".join(what) or "the same schedule"
    return f"continues the run from {point} with {done}; {jump.describe()}"


def _continuable(path: str) -> str | None:
    for prefix, what in CONTINUABLE.items():
        if path == prefix or path.startswith(prefix + "."):
            return what
    return None


def _changes(old: Any, new: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """``(dotted path, old value, new value)`` of every leaf that differs."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from _changes(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
    elif old != new:
        yield prefix, old, new
