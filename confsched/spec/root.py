"""The whole schedule spec, its derived figures, and validation with one-line errors.

Data flows one way: a plain mapping (from YAML or Hydra) -> :func:`validate` -> :class:`Spec`, whose
after-validator computes the step plan, resolves durations and builds the family's schedule (which
checks every rule that needs the whole run). Nothing later can produce an invalid schedule.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Discriminator, Field, PrivateAttr, Tag, ValidationError, model_validator

from confsched.adaptive import MetricPolicy
from confsched.errors import ConfschedError, SpecError, did_you_mean
from confsched.families import COMBINATORS, FAMILIES, Family, MomentumKey, momentum_key, warmup_of
from confsched.schedules import Schedule, WithMomentum, momentum_schedule, segment, sequence
from confsched.spec import quantities
from confsched.spec.base import StrictModel
from confsched.spec.bounds import LIMIT, MAX_RUN_STEPS, shown
from confsched.spec.continuation import ContinuationSpec
from confsched.spec.duration import Duration, parse_duration
from confsched.spec.optimizer import OPTIMIZERS, OptimizerBase, RegisteredOptimizerSpec
from confsched.spec.run import DataSpec, TrainingSpec
from confsched.spec.scheduler import SchedulerBase
from confsched.steps import StepPlan, Timeline, plan_steps
from confsched.time.axis import on_samples

__all__ = ["GroupScheduleSpec", "Spec", "validate"]


def _tagged_union(models: list[type[StrictModel]]) -> Any:
    return Annotated[Union[tuple(models)], Field(discriminator="name")]  # noqa: UP007


def _optimizer_tag(value: Any) -> str | None:
    """The union member of an optimizer section: its name, or ``registered`` for Python-registered."""
    name = value.get("name") if isinstance(value, Mapping) else getattr(value, "name", None)
    if not isinstance(name, str):
        return None
    entry = OPTIMIZERS.get(name)
    registered = entry is not None and entry.optimizer_class is not None
    return RegisteredOptimizerSpec.union_tag if registered else name


def _optimizer_union() -> Any:
    builtins = [Annotated[e.model, Tag(n)] for n, e in OPTIMIZERS.items() if e.optimizer_class is None]
    members = (*builtins, Annotated[RegisteredOptimizerSpec, Tag(RegisteredOptimizerSpec.union_tag)])
    return Annotated[Union[members], Discriminator(_optimizer_tag)]  # noqa: UP007


if TYPE_CHECKING:
    OptimizerSpec = OptimizerBase
    SchedulerSpec = SchedulerBase
else:
    OptimizerSpec = _optimizer_union()
    SchedulerSpec = _tagged_union([family.model for family in FAMILIES.values()])


class GroupScheduleSpec(StrictModel):
    """An LR group's own schedule (``group_schedulers.<group>``): its own family, knobs and warmup,
    and an optional frozen start for gradual unfreezing."""

    scheduler: SchedulerSpec | None = None
    """The group's own family and knobs, with its own warmup; default: the spec's ``scheduler``."""
    frozen_until: Duration = Field(default=parse_duration(0))
    """LR 0 before this step (a duration from the start of the run); the group's schedule then runs
    over the rest of the run, its warmup first. Only the LR is held: ``requires_grad`` is not
    touched, so the parameters still get gradients and the optimizer's state (momentum buffers,
    Adam moments) still accumulates while their LR is 0; the weights do not move."""


class Spec(StrictModel):
    """A validated schedule spec: optimizer, scheduler, data and training sections, and optional
    continuation, weight_decay_scheduler, momentum_scheduler and group_schedulers.

    Derived, read-only: :attr:`steps_per_epoch`, :attr:`total_steps`, :attr:`warmup_steps`,
    :attr:`lr`, :attr:`group_base_lrs`, :attr:`schedule` (the multiplier function of the step),
    :attr:`group_schedules`, :attr:`weight_decay_schedule` and :attr:`momentum_schedule`.
    """

    optimizer: OptimizerSpec
    """The optimizer, its knobs and parameter groups."""
    scheduler: SchedulerSpec
    """The schedule family and its knobs."""
    data: DataSpec
    """The data the step count is computed from."""
    training: TrainingSpec
    """Epochs, max_steps, max_samples or max_tokens, gradient accumulation, world size, batch ramp."""
    continuation: ContinuationSpec | None = None
    """This run continues another run's schedule from a checkpoint (null: a run from scratch)."""
    weight_decay_scheduler: SchedulerSpec | None = None
    """A schedule of the weight decay (any step-driven family, its own warmup): each param group's
    weight_decay is its base value x the family's multiplier (groups without decay stay at 0)."""
    momentum_scheduler: SchedulerSpec | None = None
    """A schedule of the momentum (SGD, RMSprop) or beta1 (Adam family): the optimizer's value x the
    family's multiplier, in every group; it must stay below 1."""
    group_schedulers: dict[str, GroupScheduleSpec] = Field(default_factory=dict)
    """LR groups that follow a schedule of their own, by group name (``default``, a name of
    ``optimizer.groups``, or ``layer_0``, ``layer_1``, ... with layer decay); the other groups
    follow ``scheduler``."""

    _plan: StepPlan = PrivateAttr()
    _warmup_steps: int = PrivateAttr()
    _lr: float = PrivateAttr()
    _group_base_lrs: dict[str, float] = PrivateAttr()
    _schedule: Schedule | MetricPolicy = PrivateAttr()
    _group_schedules: tuple[Schedule | MetricPolicy, ...] = PrivateAttr()
    _weight_decay_schedule: Schedule | None = PrivateAttr(default=None)
    _momentum_schedule: Schedule | None = PrivateAttr(default=None)
    _peaks: dict[str, float] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _derive(self) -> Spec:
        plan = plan_steps(
            dataset_size=self.data.dataset_size,
            batch_size=self.data.batch_size,
            drop_last=self.data.drop_last,
            world_size=self.training.world_size,
            grad_accum_steps=self.training.grad_accum_steps,
            epochs=self.training.epochs,
            max_steps=self.training.max_steps,
            limit_train_batches=self.training.limit_train_batches,
            tokens_per_sample=self.data.tokens_per_sample,
            max_samples=self.training.max_samples,
            max_tokens=self.training.max_tokens,
            batch_rampup=self.training.batch_rampup,
        )
        _check_run_length(plan, self.training)
        timeline = plan.timeline  # steps, or samples for a run counted in samples
        lr = self._scaled_lr(plan)
        try:
            base_lrs = self.optimizer.group_lrs(lr)
        except ConfschedError as error:
            raise error.within("optimizer") from None
        key = momentum_key(self.optimizer)
        try:
            names, lrs = tuple(base_lrs), tuple(base_lrs.values())
            made, _ = quantities.make_schedule(
                self.scheduler, timeline, lr, momentum_key=key, group_names=names, group_base_lrs=lrs
            )
            shared = {
                name: quantities.make_schedule(
                    self.scheduler,
                    timeline,
                    lr,
                    momentum_key=key,
                    group_lr=group_lr,
                    group_name=name,
                    group_names=names,
                    group_base_lrs=lrs,
                )[0]
                if self.family.is_per_group(self.scheduler) and group_lr != lr
                else made
                for name, group_lr in base_lrs.items()
            }
        except ConfschedError as error:
            raise error.within("scheduler") from None
        # the spec's schedule last: it changes (branch, sample axis) with the groups' schedules
        per_group = [*{**shared, **self._own_schedules(timeline, lr, base_lrs)}.values(), made]
        if self.continuation is not None and self.family.driven_by == "metric":
            raise SpecError(
                "continuation",
                f"{self.scheduler.name} sets the LR from a metric: there is no planned schedule to "
                "continue; resume it without a continuation section",
            )
        if self.continuation is not None and self.continuation.cooldown is not None:
            plan, per_group = self._branch(plan, per_group)
        if plan.batches is not None:  # a schedule of samples, evaluated at each step's consumed samples
            per_group = _each(per_group, lambda s: on_samples(s, plan.batches))  # type: ignore[arg-type]
        *per_group, made = per_group
        self._plan = plan
        self._warmup_steps = warmup_of(self.scheduler, plan)
        self._lr = lr
        self._group_base_lrs = base_lrs
        self._schedule = made
        self._group_schedules = tuple(per_group)
        self._weight_decay_schedule = self._weight_decay(timeline, plan)
        self._momentum_schedule = self._momentum(timeline, plan, key)
        return self

    def _scaled_lr(self, plan: StepPlan) -> float:
        """``optimizer.lr``, scaled by ``optimizer.lr_scaling`` when set."""
        scaling = self.optimizer.lr_scaling
        if scaling is None:
            return self.optimizer.lr
        lr = self.optimizer.lr * scaling.factor(plan.global_batch_size)
        if not lr <= LIMIT or lr < sys.float_info.min:
            raise SpecError(
                "optimizer.lr_scaling",
                f"{scaling.explain(self.optimizer.lr, plan)}: outside the usable LRs "
                f"({sys.float_info.min:.3g} .. {LIMIT:g})",
            )
        return lr

    def _own_schedules(
        self, timeline: Timeline, lr: float, base_lrs: dict[str, float]
    ) -> dict[str, Schedule | MetricPolicy]:
        """The schedules of the groups in ``group_schedulers``."""
        if not self.group_schedulers:
            return {}
        try:
            quantities.check_names(self.group_schedulers, tuple(base_lrs))
            if self.family.driven_by == "metric":
                raise SpecError(
                    "",
                    f"scheduler {self.scheduler.name} changes every group's LR from a metric; "
                    "groups with schedules of their own need a step-driven scheduler",
                )
        except ConfschedError as error:
            raise error.within("group_schedulers") from None
        own: dict[str, Schedule | MetricPolicy] = {}
        for name, group in self.group_schedulers.items():
            where = f"group_schedulers.{name}"
            frozen = group.frozen_until
            start = _in_run(f"{where}.frozen_until", lambda: timeline.steps(frozen))  # noqa: B023 (called at once)
            try:
                own[name] = quantities.frozen_then(
                    group.scheduler or self.scheduler,
                    timeline,
                    start,
                    lr,
                    base_lrs[name],
                    momentum_key=self.momentum_key,
                )
            except ConfschedError as error:
                if error.path == "frozen_until" or group.scheduler is not None:
                    raise error.within(
                        where if error.path == "frozen_until" else f"{where}.scheduler"
                    ) from None
                # the spec's scheduler, fitted to what the frozen start leaves of the run
                raise SpecError(
                    f"{where}.frozen_until",
                    f"{timeline.describe(group.frozen_until)} leaves {timeline.total_steps - start} "
                    f"{timeline.unit}, too few for the spec's scheduler (scheduler.{error.path}: "
                    f"{error.message}); give the group a scheduler of its own",
                ) from None
        return own

    def _weight_decay(self, timeline: Timeline, plan: StepPlan) -> Schedule | None:
        spec = self.weight_decay_scheduler
        if spec is None:
            return None
        base = self.optimizer.weight_decay
        try:
            if self.family.driven_by == "metric":
                raise SpecError(
                    "", f"needs a step-driven scheduler (scheduler {self.scheduler.name} is metric-driven)"
                )
            if base == 0:
                raise SpecError(
                    "",
                    "optimizer.weight_decay is 0: the schedule multiplies it (and each group's "
                    "weight_decay); set optimizer.weight_decay to the base value",
                )
            schedule, peak = quantities.quantity_schedule(
                spec, timeline, base, "optimizer.weight_decay", momentum_key=momentum_key(self.optimizer)
            )
        except ConfschedError as error:
            raise error.within("weight_decay_scheduler") from None
        self._peaks["weight_decay"] = peak
        return schedule if plan.batches is None else on_samples(schedule, plan.batches)

    def _momentum(self, timeline: Timeline, plan: StepPlan, key: MomentumKey | None) -> Schedule | None:
        cycled = momentum_schedule(self._schedule)
        spec = self.momentum_scheduler
        if spec is None:
            return cycled
        base = quantities.momentum_base(self.optimizer, key)
        field = f"optimizer.{'betas[0]' if key == 'betas' else 'momentum'}"
        try:
            if self.family.driven_by == "metric":
                raise SpecError(
                    "", f"needs a step-driven scheduler (scheduler {self.scheduler.name} is metric-driven)"
                )
            if cycled is not None:
                raise SpecError(
                    "",
                    "scheduler one_cycle already cycles the momentum (cycle_momentum: true); set "
                    "scheduler.cycle_momentum: false or remove momentum_scheduler",
                )
            if base is None:
                raise SpecError("", f"{self.optimizer.name} has neither momentum nor betas to schedule")
            if base == 0:
                raise SpecError(
                    "", f"{field} is 0: the schedule multiplies it; set {field} to the base value"
                )
            schedule, peak = quantities.quantity_schedule(spec, timeline, base, field, momentum_key=key)
            if base * peak >= 1:
                raise SpecError(
                    "",
                    f"{field} {base:g} x the schedule's peak multiplier {peak:g} = {base * peak:g}; "
                    "the momentum must stay below 1",
                )
        except ConfschedError as error:
            raise error.within("momentum_scheduler") from None
        self._peaks["momentum"] = peak
        values = quantities.absolute(schedule, base)
        return values if plan.batches is None else on_samples(values, plan.batches)

    def _branch(self, plan: StepPlan, schedules: list[Made]) -> tuple[StepPlan, list[Made]]:
        """The run branched into ``continuation.cooldown`` at ``continuation.at``: each group's
        schedule until then, a decay from its multiplier there to ``min_lr_ratio``, then the end."""
        assert self.continuation is not None
        assert self.continuation.cooldown is not None
        at, cooldown = self.continuation.at, self.continuation.cooldown
        if at.unit == "steps" and at.amount > plan.total_steps:
            raise SpecError(
                "continuation.at", f"step {at} is past the end of the run ({plan.total_steps} steps)"
            )
        timeline = plan.timeline
        start = _in_run("continuation.at", lambda: plan.position(at))
        if start > timeline.total_steps:
            raise SpecError(
                "continuation.at",
                f"{timeline.describe(at)} is past the end of the run it continues "
                f"({timeline.total_steps} {timeline.unit})",
            )
        length = _in_run("continuation.cooldown.length", lambda: timeline.steps(cooldown.length))
        if length == 0:
            raise SpecError(
                "continuation.cooldown.length",
                f"{cooldown.length} = 0 {timeline.unit}; a cooldown needs length",
            )

        def branch(schedule: Schedule) -> Schedule:
            if isinstance(schedule, WithMomentum):
                raise SpecError(
                    "continuation.cooldown",
                    f"{self.scheduler.name} also cycles the momentum; a cooldown branch would stop it "
                    "mid-cycle",
                )
            level = float(schedule(start))
            if cooldown.min_lr_ratio > level:
                raise SpecError(
                    "continuation.cooldown.min_lr_ratio",
                    f"{cooldown.min_lr_ratio:g} is above the LR at the branch point ({level:.6g} of the base "
                    "LR): a cooldown goes down",
                )
            return sequence(
                [(start, schedule)], segment(length, cooldown.shape, level, cooldown.min_lr_ratio)
            )

        return plan.branched(start, length), _each(schedules, branch)

    @property
    def family(self) -> Family:
        """The registry row of ``scheduler.name`` (a ``chain`` with a metric-driven member is
        metric-driven)."""
        family = FAMILIES[self.scheduler.name]
        driven_by = family.driven_by_for(self.scheduler)
        return family if driven_by == family.driven_by else dataclasses.replace(family, driven_by=driven_by)

    @property
    def plan(self) -> StepPlan:
        """All step figures of the run (see :mod:`confsched.steps`)."""
        return self._plan

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch on each rank."""
        return self._plan.steps_per_epoch

    @property
    def total_steps(self) -> int:
        """Optimizer steps in the whole run: the scheduler's ``num_training_steps``."""
        return self._plan.total_steps

    @property
    def warmup_steps(self) -> int:
        """``scheduler.warmup`` in steps."""
        return self._warmup_steps

    @property
    def schedule(self) -> Schedule | MetricPolicy:
        """The LR multiplier as a function of the step (a policy for metric-driven families)."""
        return self._schedule

    @property
    def group_schedules(self) -> tuple[Schedule | MetricPolicy, ...]:
        """Each LR group's schedule, in :attr:`group_names` order. Groups that follow the same
        multiplier share one object (``is``): all of them unless the family is ``per_group`` or
        a group has its own (``group_schedulers``)."""
        return self._group_schedules

    @property
    def group_names(self) -> tuple[str, ...]:
        """LR group names in optimizer order: ``default`` (or ``layer_0``, ``layer_1``, ... with
        ``optimizer.layer_decay``), then ``optimizer.groups``."""
        return self.optimizer.group_names

    @property
    def lr(self) -> float:
        """``optimizer.lr``, scaled by ``optimizer.lr_scaling`` when set: the default group's base LR."""
        return self._lr

    @property
    def group_base_lrs(self) -> dict[str, float]:
        """Base LR of each group (the LR the schedule's multiplier 1.0 stands for)."""
        return dict(self._group_base_lrs)

    @property
    def group_weight_decays(self) -> dict[str, float]:
        """Weight decay of each LR group's decayed parameters (its ``.no_decay`` companion has 0)."""
        decays = {name: self.optimizer.weight_decay for name in self.group_names}
        for group in self.optimizer.groups:
            if group.weight_decay is not None:
                decays[group.name] = group.weight_decay
        return decays

    @property
    def weight_decay_schedule(self) -> Schedule | None:
        """The multiplier of every param group's weight decay (``weight_decay_scheduler``), or ``None``."""
        return self._weight_decay_schedule

    @property
    def momentum_schedule(self) -> Schedule | None:
        """The momentum (or beta1) every group uses at each step, as absolute values: from
        ``momentum_scheduler``, or one_cycle's own cycle; ``None`` when neither sets it."""
        return self._momentum_schedule

    @property
    def momentum_key(self) -> MomentumKey | None:
        """What :attr:`momentum_schedule` sets: ``betas`` (beta1) or ``momentum``."""
        return momentum_key(self.optimizer)

    @property
    def peaks(self) -> dict[str, float]:
        """Upper bounds of the weight-decay and momentum multipliers (the keys that are scheduled)."""
        return dict(self._peaks)

    def to_config(self) -> dict[str, Any]:
        """The spec as plain data (durations as written); ``validate`` of it gives an equal spec.

        The optional sections (``weight_decay_scheduler``, ``momentum_scheduler``,
        ``group_schedulers``) appear only when set."""
        data = self.model_dump(mode="json", exclude_unset=False)
        for key in (*quantities.QUANTITY_KEYS, "group_schedulers"):
            if not data[key]:
                del data[key]
        return data

    @property
    def fingerprint(self) -> str:
        """A short hash of the resolved spec: equal specs, equal fingerprints."""
        text = json.dumps(self.to_config(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


Made = Schedule | MetricPolicy


def _check_run_length(plan: StepPlan, training: TrainingSpec) -> None:
    """A run of at most :data:`~confsched.spec.bounds.MAX_RUN_STEPS` optimizer steps, reported at
    the knob that sets its length."""
    if plan.total_steps <= MAX_RUN_STEPS:
        return
    knob = next(
        (k for k in ("max_steps", "max_samples", "max_tokens") if getattr(training, k) is not None), "epochs"
    )
    raise SpecError(
        f"training.{knob}",
        f"{shown(getattr(training, knob))} makes a run of {_count(plan.total_steps)} optimizer steps; "
        f"the longest run confsched schedules is {MAX_RUN_STEPS:,} steps",
    )


def _count(n: int) -> str:
    text = str(n)
    return text if len(text) <= 24 else f"about 10^{len(text) - 1}"


def _each(schedules: list[Made], change: Callable[[Schedule], Schedule]) -> list[Made]:
    """``change`` applied to every distinct schedule once; groups that shared one still share."""
    done: dict[int, Made] = {}
    for schedule in schedules:
        if id(schedule) not in done:
            done[id(schedule)] = change(schedule) if callable(schedule) else schedule
    return [done[id(schedule)] for schedule in schedules]


def _in_run(path: str, length: Callable[[], int]) -> int:
    """``length()``, with a problem it finds (a token count without tokens_per_sample) put at ``path``."""
    try:
        return length()
    except SpecError as error:
        if error.path:
            raise
        raise SpecError(path, error.message) from None


def validate(data: object, *, source: str = "") -> Spec:
    """Validate plain data (a mapping from YAML, Hydra or Python) into a :class:`Spec`.

    Raises :class:`~confsched.errors.SpecError` with one line naming the config path, the bad value
    and what is allowed; ``source`` (a file name) is put in front when given.
    """
    if isinstance(data, Spec):
        return data
    if not isinstance(data, Mapping):
        raise SpecError("", f"a spec must be a mapping of sections, got {_describe(data)}", source=source)
    check_plain(data, source=source, int_bound=UNPRINTABLE_INT)
    try:
        data = refuse_code(data)
    except SpecError as error:
        raise error.within("", source=source) from None
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise spec_error(exc, source=source) from None
    check_plain(data, source=source, int_bound=INT_BOUND)  # after the knobs' own, more specific checks
    return spec


# ---- bounded input: nesting depth (before pydantic sees it) and integer size (after) ---------------------

INT_BOUND = 2**63
"""Integers of a spec lie in ``(-2**63, 2**63)``: a step count, a size or a seed beyond 64 bits is a
mistake (``training.epochs=10**400`` would overflow the step arithmetic)."""
UNPRINTABLE_INT = 2**14_000
"""Integers this large have more than 4,214 digits: ``str()`` refuses those over 4,300, so no message
could show them; they are refused before the knobs' own checks, which would print them."""


def check_plain(data: Mapping[str, Any], *, source: str = "", int_bound: int = UNPRINTABLE_INT) -> None:
    """Refuse data nested deeper than the ``depth`` limit (:mod:`confsched.limits`) or holding an
    integer outside ``(-int_bound, int_bound)``, with one line naming the path; checked without
    recursion, so a 10,000-deep mapping is an error, not a RecursionError."""
    from confsched.limits import LIMITS

    most = LIMITS["depth"].value()
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, Mapping | list | tuple):
            if depth >= most:
                raise SpecError(path, f"nests {LIMITS['depth'].exceeded()}", source=source)
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, item in items:
                where = (
                    f"{path}[{key}]"
                    if not isinstance(value, Mapping)
                    else ".".join(p for p in (path, str(key)) if p)
                )
                stack.append((where, item, depth + 1))
        elif isinstance(value, int) and not isinstance(value, bool) and not -int_bound < value < int_bound:
            power = int(abs(value).bit_length() * math.log10(2))  # str() refuses 4,300+ digits
            raise SpecError(
                path,
                f"about 10**{power} is out of range (integers lie between -2**63 and 2**63)",
                source=source,
            )


# ---- a config is data: keys that would import or call something ------------------------------

CALL_KEYS = frozenset({"_target_", "_partial_", "_args_", "_recursive_", "_convert_"})
"""Hydra's instantiate keys. confsched never instantiates a config, and refuses them."""


def refuse_code(data: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """A copy of ``data`` without instantiate keys, or a :class:`SpecError` naming the first one.

    The one exception: ``optimizer._target_`` naming a class on the optimizer allowlist
    (``torch.optim.AdamW``, or a class registered with ``register_optimizer``) is read as
    ``optimizer.name``, and ``optimizer._partial_: true`` beside it is ignored. Nothing is imported.
    """
    out: dict[str, Any] = {}
    for key, value in sorted(data.items(), key=lambda item: item[0] != "_target_"):  # _target_ first
        where = f"{path}.{key}" if path else str(key)
        if key in CALL_KEYS:
            if path == "optimizer" and key == "_partial_" and value is True and "_target_" in data:
                continue
            if path == "optimizer" and key == "_target_":
                out.setdefault("name", _allowlisted_optimizer(value, data.get("name")))
                continue
            raise SpecError(
                where,
                f"{_describe(value)} is refused: a confsched config is data, it never imports or calls "
                f"anything; name a {'family' if path == 'scheduler' else 'value'} instead",
            )
        out[key] = _refuse_in(value, where)
    return {key: out[key] for key in data if key in out} | out


def _refuse_in(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return refuse_code(value, where)
    if isinstance(value, list):
        return [_refuse_in(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


def _allowlisted_optimizer(target: object, name: object) -> str:
    by_target = {entry.target: n for n, entry in OPTIMIZERS.items()}
    found = by_target.get(str(target))
    if found is None:
        raise SpecError(
            "optimizer._target_",
            f"{_describe(target)} is refused: a config only names optimizers on the allowlist "
            f"({', '.join(sorted(by_target))}) or registered with confsched.register_optimizer()",
        )
    if name is not None and name != found:
        raise SpecError("optimizer._target_", f"{target} contradicts optimizer.name {name!r}")
    return found


# ---- pydantic errors -> one line with the config path ------------------------------------------


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (Union, types.UnionType):
        # an optional union (``SchedulerSpec | None``) nests one union in another: flatten it
        return [m for a in typing.get_args(annotation) if a is not type(None) for m in _members(a)]
    return [annotation]


def _tag_of(model: Any) -> str | None:
    if isinstance(getattr(model, "union_tag", None), str):
        return str(model.union_tag)
    field = getattr(model, "model_fields", {}).get("name")
    if field is None or typing.get_origin(field.annotation) is not typing.Literal:
        return None
    return str(typing.get_args(field.annotation)[0])


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, StrictModel)


def _walk(loc: tuple[int | str, ...]) -> tuple[str, Any]:
    """Map a pydantic ``loc`` to a dotted path and the type found there (union tags skipped)."""
    path = ""
    here: Any = Spec
    for item in loc:
        members = _members(here)
        models = [m for m in members if _is_model(m)]
        tagged = {_tag_of(m): m for m in models if _tag_of(m) is not None}
        if isinstance(item, str) and len(tagged) > 1 and item in tagged:
            here = tagged[item]
            continue
        if isinstance(item, int):
            path += f"[{item}]"
            seq = [m for m in members if typing.get_origin(m) in (list, tuple)]
            args = typing.get_args(seq[0]) if seq else ()
            here = args[0] if args else Any
            continue
        mappings = [m for m in members if typing.get_origin(m) is dict]
        if mappings:  # a key of a mapping section (group_schedulers.<group>)
            path = f"{path}.{item}" if path else str(item)
            here = typing.get_args(mappings[0])[1]
            continue
        path = f"{path}.{item}" if path else str(item)
        if len(models) == 1 and item in models[0].model_fields:
            here = models[0].model_fields[item].annotation
        else:
            here = Any
    return path, here


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p).replace(".[", "[")


def _choices(names: list[str]) -> str:
    return ", ".join(names)


def _length(annotation: Any) -> int:
    """The number of items of a fixed-length tuple type (``betas``: 2)."""
    tuples = [m for m in _members(annotation) if typing.get_origin(m) is tuple]
    return len(typing.get_args(tuples[0])) if tuples else 0


def _wrong_length(kind: str, ctx: dict[str, Any], annotation: Any, value: object) -> str:
    """``must have exactly 2 items (got [0.9])``: a list of the wrong length, or not a list."""
    if kind == "tuple_type" or ctx.get("field_type") == "Tuple":
        bound, count = "exactly", _length(annotation)
    elif kind == "too_short":
        bound, count = "at least", ctx["min_length"]
    else:
        bound, count = "at most", ctx["max_length"]
    items = f"{bound} {count} item{'' if count == 1 else 's'}"
    if not isinstance(value, list | tuple):
        return f"must be a list of {items} (got {_describe(value)})"
    text = repr(list(value))
    return f"must have {items} (got {text if len(text) <= 60 else text[:57] + '...'})"


def _in_report_order(errors: list[Any]) -> list[Any]:
    """pydantic's errors, an unknown key that is a misspelling of a missing one first, standing for
    both (``schedular`` rather than "scheduler: required key is missing")."""
    missing = [e for e in errors if e["type"] == "missing" and isinstance(e["loc"][-1], str)]
    typos, explained = [], []
    for error in errors:
        if error["type"] != "extra_forbidden":
            continue
        for gap in missing:
            same_parent = tuple(gap["loc"][:-1]) == tuple(error["loc"][:-1])
            if same_parent and gap not in explained and did_you_mean(error["loc"][-1], [gap["loc"][-1]]):
                typos.append(error)
                explained.append(gap)
                break
    return typos + [e for e in errors if e not in typos and e not in explained]


def spec_error(exc: ValidationError, *, source: str = "") -> SpecError:
    """Turn pydantic's errors into a :class:`SpecError` with one line per problem, each with its
    config path (up to ``MAX_PROBLEMS``; a single problem is one line)."""
    problems = [_problem(err, source) for err in _in_report_order(exc.errors(include_url=False))]
    error = ConfschedError.of(problems)
    assert isinstance(error, SpecError)
    return error


def _problem(err: Any, source: str) -> SpecError:
    """One of pydantic's errors as a one-line :class:`SpecError` with the config path."""
    loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx", {})
    if kind == "missing" and isinstance(loc[-1], int):  # a list too short for a fixed-length tuple
        loc, kind, ctx = loc[:-1], "too_short", {"field_type": "Tuple"}
    path, here = _walk(loc)

    if kind == "value_error" and isinstance(ctx.get("error"), ConfschedError):
        inner = ctx["error"]
        return SpecError(_join(path, inner.path), inner.message, source=source)
    if kind == "extra_forbidden":
        _, parent = _walk(loc[:-1])
        key = str(loc[-1])
        allowed = sorted(_members(parent)[0].model_fields) if _is_model(_members(parent)[0]) else []
        hint = did_you_mean(key, allowed)
        return SpecError(
            path, f"unknown key '{key}'{hint} (allowed here: {_choices(allowed)})", source=source
        )
    if kind == "union_tag_not_found" and not isinstance(value, Mapping):
        return SpecError(path, f"expected a mapping of keys, got {_describe(value)}", source=source)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        section = path.split(".")[-1].split("[")[0]
        if section.endswith("scheduler"):  # scheduler, weight_decay_scheduler, group_schedulers.<g>.scheduler
            section = "scheduler"
        names = list(FAMILIES) if section == "scheduler" else list(OPTIMIZERS)
        if section == "schedulers":  # a member of chain / sequential: any family but those two
            section, names = "member", [name for name in FAMILIES if name not in COMBINATORS]
            if str(ctx.get("tag")) in COMBINATORS:
                return SpecError(
                    _join(path, "name"),
                    f"{ctx.get('tag')} cannot be a member: chain and sequential take the other families",
                    source=source,
                )
        if kind == "union_tag_not_found":
            return SpecError(_join(path, "name"), f"missing; choose one of: {_choices(names)}", source=source)
        tag = str(ctx.get("tag"))
        return SpecError(
            _join(path, "name"),
            f"unknown {section} '{tag}'{did_you_mean(tag, names)} (choose one of: {_choices(names)})",
            source=source,
        )
    if kind == "missing":
        return SpecError(path, "required key is missing", source=source)
    if kind in ("too_short", "too_long", "tuple_type"):
        return SpecError(path, f"{_wrong_length(kind, ctx, here, value)}", source=source)
    if kind in ("bool_parsing", "bool_type"):
        return SpecError(path, f"must be true or false (got {_describe(value)})", source=source)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return SpecError(path, f"expected a mapping of keys, got {_describe(value)}", source=source)
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        options = [o.strip().strip("'") for o in str(expected).replace(" or ", ", ").split(",")]
        hint = did_you_mean(str(value), options) if isinstance(value, str) else ""
        return SpecError(
            path, f"{_describe(value)} is not allowed{hint} (choose one of: {expected})", source=source
        )
    message = str(err["msg"])
    for prefix in ("Value error, ", "Input should be ", "Assertion failed, "):
        if message.startswith(prefix):
            message = ("must be " if prefix == "Input should be " else "") + message[len(prefix) :]
    if kind == "value_error":
        return SpecError(path, message, source=source)
    return SpecError(path, f"{message} (got {_describe(value)})", source=source)
