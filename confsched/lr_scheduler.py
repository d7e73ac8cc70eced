"""The torch adapters: a thin, picklable ``LRScheduler`` over a pure schedule.

:class:`ScheduledLR` sets group :math:`g`'s LR to :math:`\\eta_g\\, m_g(k)` after the
:math:`k`-th ``step()`` (``LambdaLR``'s contract, and transformers'), where :math:`m_g` is the very
schedule object :func:`confsched.lr_curve` evaluates for the group's LR group. Multipliers are
computed a block of steps at a time with the vectorised schedule, so a step costs a list lookup and
one multiply per group. Given a momentum schedule too (``one_cycle``, ``momentum_scheduler``), it
also sets every group's momentum, or beta1 for optimizers with ``betas``, to the value
:func:`confsched.momentum_curve` shows; given a weight-decay schedule, every group's
``weight_decay`` to its base value times the multiplier (:func:`confsched.weight_decay_curve`).
A param group added to the optimizer while training (``optimizer.add_param_group``) joins at the
next ``step()``: its LR then is its own ``lr`` (as added) times its LR group's multiplier.

Its state is the step count plus the spec's fingerprint, under a format version
(``confsched_state``, :data:`STATE_FORMAT`) and the scheduler's kind (``step`` or ``metric``
driven): saving at any step and loading into a freshly built pair continues bit-identically. A
state that is not confsched's (torch's own schedulers', an empty ``{}``), of the other kind, of a
newer format or truncated is refused with a :class:`~confsched.errors.ResumeError`; so is one saved
under a changed spec, unless ``allow_spec_change=True``: the state then continues at its step
under the new spec, from the new spec's base LRs, with a :class:`SpecChangedWarning` naming the
changed fields and the base LRs old -> new. States of the first released format (no version, no
kind, but a fingerprint) are read as format 0, their kind told by their keys.

:class:`MetricDrivenLR` does the same for ``reduce_lr_on_plateau`` and ``greedy``; it subclasses
``ReduceLROnPlateau`` so that Lightning and the HF Trainer pass it the monitored metric.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from confsched.adaptive import MetricPolicy, MetricState, step_factor
from confsched.errors import ResumeError
from confsched.schedules import Schedule
from confsched.time.axis import consumed_samples, planned_steps, resumed

__all__ = ["STATE_FORMAT", "MetricDrivenLR", "ScheduleOverrunWarning", "ScheduledLR", "SpecChangedWarning"]

_BLOCK = 4096

STATE_FORMAT = 1
"""The format version of the states :meth:`ScheduledLR.state_dict` and
:meth:`MetricDrivenLR.state_dict` write (key ``confsched_state``); 0 is the released format
without it."""

Kind = Literal["step", "metric"]

_KEYS: dict[str, tuple[str, ...]] = {
    "step": ("last_epoch", "_step_count", "base_lrs", "_last_lr", "fingerprint"),
    "metric": ("state", "base_lrs", "fingerprint"),
}
"""The keys a state of each kind must have."""


class ScheduleOverrunWarning(UserWarning):
    """The loop stepped the scheduler past the planned total: the plan and the loop disagree."""


class SpecChangedWarning(UserWarning):
    """A state saved under another spec was loaded with ``allow_spec_change=True``."""


def _changed_fields(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    changed = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            changed += _changed_fields(a, b, path)
        elif a != b:
            changed.append(f"{path}: {a!r} -> {b!r}")
    return changed


def _family(config: object) -> str:
    """The scheduler family a spec config names (for messages), or ``?``."""
    scheduler = config.get("scheduler") if isinstance(config, Mapping) else None
    name = scheduler.get("name") if isinstance(scheduler, Mapping) else None
    return str(name) if name is not None else "?"


def _keys(state: Mapping[Any, Any]) -> str:
    keys = [str(key) for key in state]
    shown = ", ".join(keys[:6]) + (f", ... ({len(keys)} keys)" if len(keys) > 6 else "")
    return shown


def _saved_kind(state: Mapping[str, Any]) -> Kind | None:
    """The kind of a state: its ``kind`` key, or (format 0) the keys only that kind writes."""
    kind = state.get("kind")
    if kind in ("step", "metric"):
        return kind
    if isinstance(state.get("state"), Mapping) and "last_epoch" not in state:
        return "metric"
    if "last_epoch" in state and "_step_count" in state and "state" not in state:
        return "step"
    return None


def _numbers(*values: Any) -> None:
    """Raise ``TypeError`` / ``ValueError`` unless every value is a number (or a 0-d tensor)."""
    for value in values:
        float(value)


def _lrs_text(lrs: Sequence[Any]) -> str:
    return "[" + ", ".join(f"{float(lr):g}" for lr in lrs) + "]"


class _SpecState:
    """The checks of a saved state shared by both adapters: format, kind, fingerprint."""

    kind: Kind
    fingerprint: str
    spec_config: dict[str, Any]
    allow_spec_change: bool
    resume_note: str = ""
    """What a planned continuation did when its checkpoint was loaded (empty otherwise)."""

    def _check_state(self, state: object) -> Mapping[str, Any]:
        """``state`` if it is a confsched state of this kind with every key it needs; else one line
        saying what it is and what is expected."""
        expected = (
            f"expected the state_dict() of a confsched {self.kind}-driven scheduler "
            f"(confsched_state {STATE_FORMAT}, kind {self.kind!r}, the spec's fingerprint)"
        )
        if not isinstance(state, Mapping):
            raise ResumeError(
                "scheduler", f"the saved scheduler state is a {type(state).__name__}; {expected}"
            )
        version = state.get("confsched_state")
        if version is None and "fingerprint" not in state:
            found = "an empty state {}" if not state else f"a state with keys {_keys(state)}"
            raise ResumeError(
                "scheduler",
                f"{found} was not saved by confsched (no format version, no spec fingerprint: another "
                f"scheduler's, e.g. torch's own); {expected}",
            )
        if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
            raise ResumeError("scheduler", f"confsched_state {version!r} is not a format version; {expected}")
        if version is not None and version > STATE_FORMAT:
            raise ResumeError(
                "scheduler",
                f"the saved state has format {version}, newer than this confsched reads "
                f"(up to {STATE_FORMAT}); upgrade confsched to load it",
            )
        kind = _saved_kind(state)
        if kind is None:
            raise ResumeError(
                "scheduler",
                f"the saved state (keys {_keys(state)}) is neither a step-driven nor a metric-driven "
                f"confsched scheduler's; {expected}",
            )
        if kind != self.kind:
            raise ResumeError(
                "scheduler",
                f"the saved state is of a {kind}-driven scheduler ({_family(state.get('spec_config'))}), "
                f"this one is {self.kind}-driven ({_family(self.spec_config)}): a run cannot swap a "
                "step-driven family for a metric-driven one (or back) and resume; start the new "
                "family from scratch, or resume with the saved family",
            )
        missing = [key for key in _KEYS[kind] if key not in state]
        if missing:
            raise ResumeError(
                "scheduler",
                f"the saved {kind}-driven state is truncated: {', '.join(missing)} missing (it has "
                f"{_keys(state)}); {expected}",
            )
        return state

    def _check_spec(self, state: Mapping[str, Any]) -> str | None:
        """``None`` when ``state`` was saved under this spec (or a continuation planned from it);
        the message naming the changed fields when it was not and ``allow_spec_change`` is set."""
        saved = state.get("fingerprint")
        if saved == self.fingerprint:
            return None
        if self.spec_config.get("continuation") is not None:  # a planned continuation: its own rules
            self.resume_note = _check_continuation(self.spec_config, state)
            return None
        config = state.get("spec_config")
        changes = _changed_fields(config if isinstance(config, Mapping) else {}, self.spec_config)
        message = (
            f"the saved scheduler state is from another spec (fingerprint {saved}, now "
            f"{self.fingerprint}); changed: {'; '.join(changes or ['(unknown fields)'])}"
        )
        if not self.allow_spec_change:
            raise ResumeError("scheduler", message + "; pass allow_spec_change=True to load it anyway")
        return message

    def _warn_rebased(self, message: str, old: Sequence[Any], new: Sequence[Any]) -> None:
        """Warn that a state of another spec was loaded, and what its base LRs became."""
        lrs = (
            f"base LRs {_lrs_text(old)} -> {_lrs_text(new)}"
            if [float(x) for x in old] != [float(x) for x in new]
            else f"base LRs {_lrs_text(new)} (unchanged)"
        )
        warnings.warn(
            f"{message}; continuing at the saved step under the new spec, {lrs}",
            SpecChangedWarning,
            stacklevel=3,
        )


def _check_continuation(spec_config: dict[str, Any], state: Mapping[str, Any]) -> str:
    """:func:`confsched.continuation.check_resume` of the saved run and this spec; logs what it does."""
    from confsched.continuation import check_resume
    from confsched.spec.root import validate

    step, samples = int(state.get("last_epoch", 0)), state.get("consumed_samples")
    note = check_resume(state.get("spec_config", {}), validate(spec_config), step, samples)
    logging.getLogger("confsched").info(note)
    return note


def _read_lrs(optimizer: Optimizer) -> list[float | torch.Tensor]:
    """The groups' LRs as ``get_last_lr()`` returns them: floats, or copies of tensor LRs."""
    lrs = (group["lr"] for group in optimizer.param_groups)
    return [lr.clone() if isinstance(lr, torch.Tensor) else lr for lr in lrs]


def _write_lrs(optimizer: Optimizer, lrs: list[float]) -> None:
    for group, lr in zip(optimizer.param_groups, lrs, strict=True):
        current = group["lr"]
        if isinstance(current, torch.Tensor):
            current.fill_(lr)
        else:
            group["lr"] = lr


def _momentum_key(optimizer: Optimizer) -> str:
    """``betas`` if the optimizer has them (beta1 is set), else ``momentum`` (torch's OneCycleLR rule)."""
    for key in ("betas", "momentum"):
        if key in optimizer.defaults:
            return key
    raise ValueError(
        f"{type(optimizer).__name__} has neither momentum nor betas: it cannot follow a momentum "
        "schedule (set scheduler.cycle_momentum: false)"
    )


def _initial_weight_decays(groups: Sequence[dict[str, Any]]) -> list[float]:
    """Each group's base weight decay: its ``initial_weight_decay``, set from ``weight_decay`` the
    first time (as torch sets ``initial_lr``), so a scheduler built again after a resume keeps it."""
    for group in groups:
        if "weight_decay" not in group:
            raise ValueError("a param group has no 'weight_decay': it cannot follow a weight-decay schedule")
        group.setdefault("initial_weight_decay", group["weight_decay"])
    return [float(group["initial_weight_decay"]) for group in groups]


def _write_momentum(optimizer: Optimizer, key: str, value: float) -> None:
    for group in optimizer.param_groups:
        group[key] = (value, *group[key][1:]) if key == "betas" else value


_ORDER = "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"


def _check_order(optimizer: Optimizer) -> None:
    """torch's two warnings at the first ``scheduler.step()``: ``optimizer.step`` replaced after the
    scheduler wrapped it (the order cannot be checked), or not called yet (the order is wrong)."""
    if not hasattr(optimizer.step, "_wrapped_by_lr_sched"):
        warnings.warn(
            "`optimizer.step()` has been overridden after the scheduler was built, so confsched cannot "
            "check that it runs before `scheduler.step()`: call `optimizer.step()` first, or the "
            f"first LR of the schedule is skipped (see {_ORDER})",
            UserWarning,
            stacklevel=3,
        )
    elif not getattr(optimizer, "_opt_called", False):
        warnings.warn(
            "scheduler.step() was called before optimizer.step(): call optimizer.step() first, "
            f"or the first LR of the schedule is skipped (see {_ORDER})",
            UserWarning,
            stacklevel=3,
        )


class _Blocks:
    """A schedule's values at consecutive steps, computed a block at a time (vectorised)."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.start = 0
        self.values: list[float] = []

    def at(self, step: int) -> float:
        offset = step - self.start
        if 0 <= offset < len(self.values):
            return self.values[offset]
        self.start = step
        self.values = self.schedule(np.arange(step, step + _BLOCK, dtype=np.int64)).tolist()
        return self.values[0]


GroupSchedules = Schedule | Sequence[Schedule] | Mapping[str, Schedule]
"""One schedule for every param group, one per param group, or one per LR group (by name)."""


def _per_param_group(schedule: GroupSchedules, optimizer: Optimizer) -> list[Schedule]:
    """One schedule per param group of ``optimizer``: ``schedule`` for all, the sequence's, or the
    mapping's entry for each group's ``lr_group`` key."""
    if isinstance(schedule, Mapping):
        return [_of_lr_group(schedule, group, i) for i, group in enumerate(optimizer.param_groups)]
    if not isinstance(schedule, Sequence):
        return [schedule] * len(optimizer.param_groups)
    schedules = list(schedule)
    if len(schedules) != len(optimizer.param_groups):
        raise ValueError(
            f"{len(schedules)} schedules for {len(optimizer.param_groups)} param groups: give one "
            "schedule, or one per param group"
        )
    return schedules


def _of_lr_group(schedules: Mapping[str, Schedule], group: Mapping[str, Any], index: int) -> Schedule:
    """The schedule of the LR group a param group names in its ``lr_group`` key (``default`` when
    it has none and the mapping has a ``default``)."""
    name = group.get("lr_group", "default")
    if name in schedules:
        return schedules[name]
    if len({id(s) for s in schedules.values()}) == 1:
        return next(iter(schedules.values()))
    raise ValueError(
        f"param group {index} has lr_group {name!r}, which names none of the LR groups "
        f"({', '.join(schedules)}): set its 'lr_group' key to the LR group whose schedule it follows"
    )


class ScheduledLR(_SpecState, LRScheduler):
    """LR of group :math:`g` after :math:`k` calls of ``step()``: :math:`\\eta_g\\, m_g(k)`.

    ``schedule`` is one multiplier function for every param group, a sequence with one per param
    group, or a mapping from LR group names to schedules, each param group following the entry of
    its ``lr_group`` key (what :func:`confsched.build` passes when groups have schedules of their own).

    Call ``step()`` once after every ``optimizer.step()`` (the first call warns, as torch's
    schedulers do, when ``optimizer.step()`` has not run yet or was replaced after the scheduler was
    built). ``last_epoch`` is torch's: a scheduler built with ``last_epoch=k`` starts at step
    ``k + 1`` without a state dict (the groups need ``initial_lr``, their base LRs, as in torch).
    ``total_steps`` is the planned run;
    stepping past it warns once (:class:`ScheduleOverrunWarning`) with ``plan`` (how the total was
    computed) in the message. With ``momentum`` (a schedule of absolute values), every group's
    ``momentum``, or beta1 of its ``betas``, is set to ``momentum(k)`` as well; with
    ``weight_decay`` (a multiplier), every group's ``weight_decay`` to its initial value (kept in
    ``initial_weight_decay``, as torch keeps ``initial_lr``) times ``weight_decay(k)``.

    A param group added with ``optimizer.add_param_group`` joins at the next ``step()``: its base LR
    is its ``lr`` when added (its ``initial_lr``), and it follows the schedule of its ``lr_group``
    (the shared schedule, when every group follows one), on the run's step count. torch's own
    schedulers differ here: ``LambdaLR`` and the other closed-form ones leave an added group's LR
    alone, the chainable ones (``StepLR``) scale whatever LR it has, ``ReduceLROnPlateau`` cuts it
    with the others.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedule: GroupSchedules,
        *,
        total_steps: int,
        plan: str = "",
        fingerprint: str = "",
        spec_config: dict[str, Any] | None = None,
        allow_spec_change: bool = False,
        momentum: Schedule | None = None,
        weight_decay: Schedule | None = None,
        last_epoch: int = -1,
    ) -> None:
        self.kind = "step"
        self.total_steps = total_steps
        self.plan = plan
        self.fingerprint = fingerprint
        self.spec_config = spec_config or {}
        self.allow_spec_change = allow_spec_change
        self.overrun_warned = False
        self._by_lr_group = dict(schedule) if isinstance(schedule, Mapping) else None
        self.base_weight_decays = (
            [] if weight_decay is None else _initial_weight_decays(optimizer.param_groups)
        )
        self._use(_per_param_group(schedule, optimizer), momentum, weight_decay)
        self._momentum_key = None if momentum is None else _momentum_key(optimizer)
        self._tensor_lrs = any(isinstance(g["lr"], torch.Tensor) for g in optimizer.param_groups)
        super().__init__(optimizer, last_epoch)

    def _use(
        self, schedules: list[Schedule], momentum: Schedule | None, weight_decay: Schedule | None
    ) -> None:
        """Follow ``schedules`` (one per param group), ``momentum`` and ``weight_decay``, with fresh
        value caches."""
        self.schedule = schedules[0]
        self.schedules = schedules
        self.momentum = momentum
        self.weight_decay = weight_decay
        self._blocks: dict[int, _Blocks] = {}
        self._group_blocks = [self._blocks.setdefault(id(x), _Blocks(x)) for x in schedules]
        self._multipliers = self._group_blocks[0]
        self._shared = len(self._blocks) == 1
        self._momenta = None if momentum is None else _Blocks(momentum)
        self._weight_decays = None if weight_decay is None else _Blocks(weight_decay)

    def _follow_samples(self, samples: int) -> None:
        """A run counted in samples resumed after ``samples`` samples continues from there with its
        own batches (another world size or global batch moves the steps, not the LR of the data)."""
        step = self.last_epoch
        moved = {id(s): resumed(s, step, samples) for s in self.schedules}
        if all(moved[id(s)] is s for s in self.schedules):
            return
        momentum = None if self.momentum is None else resumed(self.momentum, step, samples)
        weight_decay = None if self.weight_decay is None else resumed(self.weight_decay, step, samples)
        if self._by_lr_group is not None:
            groups = self._by_lr_group.items()
            self._by_lr_group = {
                name: moved.setdefault(id(s), resumed(s, step, samples)) for name, s in groups
            }
        self._use([moved[id(s)] for s in self.schedules], momentum, weight_decay)
        self.total_steps = planned_steps(self.schedule) or self.total_steps

    def multiplier(self, step: int, group: int = 0) -> float:
        """:math:`m(\\text{step})` of param group ``group``, from a cached block of
        ``schedule(np.arange(...))``."""
        return self._group_blocks[group].at(step)

    def _lrs(self, step: int) -> list[Any]:
        if self._shared:
            m = self._multipliers.at(step)
            return [base * m for base in self.base_lrs]
        return [
            base * blocks.at(step) for base, blocks in zip(self.base_lrs, self._group_blocks, strict=True)
        ]

    def _set_momentum(self, step: int) -> None:
        if self._momenta is not None and self._momentum_key is not None:
            _write_momentum(self.optimizer, self._momentum_key, self._momenta.at(step))

    def _set_weight_decay(self, step: int) -> None:
        if self._weight_decays is not None:
            w = self._weight_decays.at(step)
            for group, base in zip(self.optimizer.param_groups, self.base_weight_decays, strict=True):
                group["weight_decay"] = base * w

    def _adopt_new_groups(self) -> None:
        """Take in the param groups added since the last step: their ``lr`` (and ``weight_decay``)
        become their base values, and they follow their LR group's schedule."""
        groups = self.optimizer.param_groups
        if len(groups) < len(self.base_lrs):
            raise RuntimeError(
                f"the optimizer has {len(groups)} param groups, the scheduler was built for "
                f"{len(self.base_lrs)}: param groups cannot be removed while training"
            )
        for group in groups[len(self.base_lrs) :]:
            initial = group["lr"]
            group.setdefault("initial_lr", initial.clone() if isinstance(initial, torch.Tensor) else initial)
            self.base_lrs.append(group["initial_lr"])
        if self._weight_decays is not None:
            self.base_weight_decays += _initial_weight_decays(groups[len(self.base_weight_decays) :])
        self._extend_schedules()

    def _extend_schedules(self) -> None:
        """Give each param group beyond those the scheduler knows its LR group's schedule."""
        for index, group in enumerate(
            self.optimizer.param_groups[len(self.schedules) :], len(self.schedules)
        ):
            if self._by_lr_group is not None:
                schedule = _of_lr_group(self._by_lr_group, group, index)
            elif self._shared:
                schedule = self.schedule
            else:
                raise ValueError(
                    f"param group {index} was added to the optimizer after the scheduler was built, and "
                    "the groups follow different schedules: build the scheduler with a mapping of LR "
                    "group names to schedules (as confsched.build does) and give the group an 'lr_group' key"
                )
            self.schedules.append(schedule)
            self._group_blocks.append(self._blocks.setdefault(id(schedule), _Blocks(schedule)))
        self._shared = len(self._blocks) == 1
        self._tensor_lrs = any(isinstance(g["lr"], torch.Tensor) for g in self.optimizer.param_groups)

    def get_lr(self) -> list[float | torch.Tensor]:
        """The LRs for the current ``last_epoch`` (torch's protocol)."""
        return self._lrs(self.last_epoch)

    def step(self, epoch: int | None = None) -> None:
        """Advance one optimizer step and set every group's LR (no ``epoch`` argument)."""
        if epoch is not None:
            raise TypeError(
                "ScheduledLR.step() takes no epoch: it counts optimizer steps; "
                "to resume, use load_state_dict()"
            )
        if self._step_count == 1:
            _check_order(self.optimizer)
        if len(self.optimizer.param_groups) != len(self.base_lrs):
            self._adopt_new_groups()
        self._step_count += 1
        self.last_epoch = step = self.last_epoch + 1
        if step > self.total_steps and not self.overrun_warned:
            self.overrun_warned = True
            warnings.warn(
                f"the scheduler was stepped past the planned {self.total_steps} optimizer steps "
                f"({self.plan or 'as configured'}); the training loop runs longer than the spec "
                "says: fix data/training in the spec so the plan matches the loop",
                ScheduleOverrunWarning,
                stacklevel=2,
            )
        lrs = self._lrs(step)
        if self._tensor_lrs:
            _write_lrs(self.optimizer, lrs)
            self._last_lr = [lr.clone() if isinstance(lr, torch.Tensor) else lr for lr in lrs]
        else:  # the hot path: plain floats
            for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
                group["lr"] = lr
            self._last_lr = lrs
        if self._momenta is not None:
            self._set_momentum(step)
        if self._weight_decays is not None:
            self._set_weight_decay(step)

    def state_dict(self) -> dict[str, Any]:
        """Step count, base LRs (and weight decays) and the spec's fingerprint (not the schedule: it
        comes from the spec)."""
        return {
            "confsched_state": STATE_FORMAT,
            "kind": self.kind,
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "base_lrs": list(self.base_lrs),
            "base_weight_decays": list(self.base_weight_decays),
            "_last_lr": list(self._last_lr),
            "total_steps": self.total_steps,
            "overrun_warned": self.overrun_warned,
            "fingerprint": self.fingerprint,
            "spec_config": self.spec_config,
            "consumed_samples": consumed_samples(self.schedule, self.last_epoch),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` and put its LRs into the optimizer.

        A state saved under another spec loads only when this spec plans the continuation (a
        ``continuation`` section; :func:`confsched.continuation.check_resume` says what it may
        change, and :attr:`resume_note` what it did), or with ``allow_spec_change``.
        """
        state = self._check_state(state_dict)
        changed = self._check_spec(state)
        try:
            last_epoch, step_count = int(state["last_epoch"]), int(state["_step_count"])
            saved_lrs, last_lr = list(state["base_lrs"]), list(state["_last_lr"])
            saved_decays = list(state.get("base_weight_decays") or [])
            samples = state.get("consumed_samples")
            samples = None if samples is None else int(samples)
            _numbers(*saved_lrs, *last_lr, *saved_decays)
        except (TypeError, ValueError) as error:
            raise ResumeError("scheduler", f"the saved step-driven state is malformed ({error})") from None
        new_lrs, new_decays = list(self.base_lrs), list(self.base_weight_decays)
        self.last_epoch, self._step_count = last_epoch, step_count
        self.overrun_warned = bool(state.get("overrun_warned", False))
        if changed is None:  # the same spec: the saved base LRs, bit for bit
            self.base_lrs = saved_lrs
            if self._weight_decays is not None:
                self.base_weight_decays = saved_decays or self.base_weight_decays
        else:  # another spec: its own base LRs (and groups added since the save keep theirs)
            self.base_lrs = new_lrs + saved_lrs[len(new_lrs) :]
            if self._weight_decays is not None:
                self.base_weight_decays = new_decays + saved_decays[len(new_decays) :]
            for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=False):
                group["initial_lr"] = base
        self._extend_schedules()  # groups added before the state was saved, and again since
        if samples is not None:
            self._follow_samples(samples)
        if changed is not None:
            last_lr = self._lrs(self.last_epoch)
            self._warn_rebased(changed, saved_lrs, self.base_lrs)
        self._last_lr = last_lr
        _write_lrs(self.optimizer, [float(lr) for lr in self._last_lr])
        self._set_momentum(self.last_epoch)
        self._set_weight_decay(self.last_epoch)


class MetricDrivenLR(_SpecState, ReduceLROnPlateau):
    """A metric-driven family (``reduce_lr_on_plateau``, ``greedy``): call ``step(metric)``.

    The LR changes only when a metric update says so (see :mod:`confsched.adaptive`). A family with
    a step-driven factor too (a warmup before the plateau, a ``chain``) also takes ``step()``
    without a metric after each ``optimizer.step()``: the LR of group :math:`g` is its plateau LR
    times the factor at the number of such steps. ``factors`` gives each param group its own
    factor (default: the policy's). A param group added with ``optimizer.add_param_group`` joins at
    the next ``step`` with its own LR, and is cut (or raised) with the others from then on, as
    torch's ``ReduceLROnPlateau`` does.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        policy: MetricPolicy,
        *,
        fingerprint: str = "",
        spec_config: dict[str, Any] | None = None,
        allow_spec_change: bool = False,
        factors: Sequence[Schedule | None] | None = None,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.kind = "metric"
        self.optimizer = optimizer
        self.policy = policy
        self.fingerprint = fingerprint
        self.spec_config = spec_config or {}
        self.allow_spec_change = allow_spec_change
        for group in optimizer.param_groups:
            # a copy of a tensor LR, as LRScheduler does: the LR tensor is filled in place later
            initial_lr = group["lr"]
            group.setdefault(
                "initial_lr", initial_lr.clone() if isinstance(initial_lr, torch.Tensor) else initial_lr
            )
        base_lrs = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.base_lrs = list[float | torch.Tensor](base_lrs)
        groups = [str(group.get("lr_group", "default")) for group in optimizer.param_groups]
        self.state: MetricState = policy.start(base_lrs, groups)
        self.last_epoch = 0
        if factors is None:
            factors = [step_factor(policy)] * len(optimizer.param_groups)
        self.factors = list(factors)
        self.steps = 0
        if any(factor is not None for factor in self.factors):
            _write_lrs(self.optimizer, self._lrs())
        self._last_lr = _read_lrs(optimizer)

    def _lrs(self) -> list[float]:
        """The policy's LRs times each group's step-driven factor at the step count."""
        return [
            lr if factor is None else lr * float(factor(self.steps))
            for lr, factor in zip(self.state.lrs, self.factors, strict=True)
        ]

    def step(self, metrics: Any = None, epoch: int | None = None) -> None:  # type: ignore[override]
        """Feed one metric value (a float or a 0-d tensor) and update the LRs; without a metric,
        advance the step-driven factor by one step (only when the family has one)."""
        if metrics is None and all(factor is None for factor in self.factors):
            raise TypeError(
                f"this scheduler adapts the LR to a metric: call scheduler.step(metric), e.g. "
                f"scheduler.step(val_loss) ({type(self.policy).__name__})"
            )
        if len(self.optimizer.param_groups) != len(self.state.lrs):
            self._adopt_new_groups()
        if metrics is None:
            self.steps += 1
        else:
            self.policy.update(self.state, float(metrics))
            self.last_epoch = self.state.updates
        _write_lrs(self.optimizer, self._lrs())
        self._last_lr = _read_lrs(self.optimizer)

    def _adopt_new_groups(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) < len(self.state.lrs):
            raise RuntimeError(
                f"the optimizer has {len(groups)} param groups, the scheduler was built for "
                f"{len(self.state.lrs)}: param groups cannot be removed while training"
            )
        for group in groups[len(self.state.lrs) :]:
            lr = group["lr"]
            group.setdefault("initial_lr", lr.clone() if isinstance(lr, torch.Tensor) else lr)
            self.base_lrs.append(float(group["initial_lr"]))
            self.state.initial_lrs.append(float(group["initial_lr"]))
            self.state.lrs.append(float(lr))
            self.factors.append(step_factor(self.policy))

    def state_dict(self) -> dict[str, Any]:
        """The metric state, the step count, base LRs and the spec's fingerprint."""
        return {
            "confsched_state": STATE_FORMAT,
            "kind": self.kind,
            "state": self.state.to_dict(),
            "steps": self.steps,
            "base_lrs": list(self.base_lrs),
            "fingerprint": self.fingerprint,
            "spec_config": self.spec_config,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` and put its LRs into the optimizer."""
        state = self._check_state(state_dict)
        changed = self._check_spec(state)
        try:
            saved_lrs = [float(lr) for lr in state["base_lrs"]]
            metric_state = MetricState(**state["state"])
            steps = int(state.get("steps", 0))
        except (TypeError, ValueError) as error:
            raise ResumeError("scheduler", f"the saved metric-driven state is malformed ({error})") from None
        if changed is not None:  # another spec: the saved LRs rebased to its base LRs, its floors
            new_lrs = [float(lr) for lr in self.base_lrs]
            new_lrs += saved_lrs[len(new_lrs) :]
            metric_state.lrs = [
                lr * new / old if old > 0 else new
                for lr, new, old in zip(metric_state.lrs, new_lrs, saved_lrs, strict=False)
            ]
            metric_state.initial_lrs = list(new_lrs)
            metric_state.min_lrs = list(self.state.min_lrs)
            for group, base in zip(self.optimizer.param_groups, new_lrs, strict=False):
                group["initial_lr"] = base
            self._warn_rebased(changed, saved_lrs, new_lrs)
            saved_lrs = new_lrs
        self.base_lrs = list[float | torch.Tensor](saved_lrs)
        self.state = metric_state
        self.steps = steps
        self.last_epoch = self.state.updates
        _write_lrs(self.optimizer, self._lrs())
        self._last_lr = _read_lrs(self.optimizer)
