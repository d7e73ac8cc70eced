"""The whole schedule spec, its derived figures, and validation with one-line errors.

Data flows one way: a plain mapping (from YAML or Hydra) -> :func:`validate` -> :class:`Spec`, whose
after-validator computes the step plan, resolves durations and builds the family's schedule (which
checks every rule that needs the whole run). Nothing later can produce an invalid schedule.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Discriminator, Field, PrivateAttr, Tag, ValidationError, model_validator

from confsched.adaptive import MetricPolicy
from confsched.errors import ConfschedError, SpecError, did_you_mean
from confsched.families import FAMILIES, Family, ScheduleContext, momentum_key
from confsched.schedules import Schedule
from confsched.spec.base import StrictModel
from confsched.spec.optimizer import OPTIMIZERS, OptimizerBase, RegisteredOptimizerSpec
from confsched.spec.run import DataSpec, TrainingSpec
from confsched.spec.scheduler import SchedulerBase
from confsched.steps import StepPlan, plan_steps

__all__ = ["Spec", "validate"]


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


class Spec(StrictModel):
    """A validated schedule spec: optimizer, scheduler, data and training sections.

    Derived, read-only: :attr:`steps_per_epoch`, :attr:`total_steps`, :attr:`warmup_steps`,
    :attr:`group_base_lrs`, and :attr:`schedule` (the multiplier function of the step).
    """

    optimizer: OptimizerSpec
    """The optimizer, its knobs and parameter groups."""
    scheduler: SchedulerSpec
    """The schedule family and its knobs."""
    data: DataSpec
    """The data the step count is computed from."""
    training: TrainingSpec
    """Epochs or max_steps, gradient accumulation, world size."""

    _plan: StepPlan = PrivateAttr()
    _warmup_steps: int = PrivateAttr()
    _schedule: Schedule | MetricPolicy = PrivateAttr()
    _group_schedules: tuple[Schedule | MetricPolicy, ...] = PrivateAttr()

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
        )
        warmup = self.scheduler.warmup
        warmup_steps = plan.steps(warmup)
        if warmup_steps > plan.total_steps:
            raise SpecError(
                "scheduler.warmup", f"{plan.describe(warmup)} exceeds the run ({plan.total_steps} steps)"
            )
        context = ScheduleContext(
            plan=plan,
            warmup_steps=warmup_steps,
            lr=self.optimizer.lr,
            warmup_shape=self.scheduler.warmup_shape,
            warmup_start=self.scheduler.warmup_start,
            momentum_key=momentum_key(self.optimizer),
        )
        try:
            made = self.family.make(self.scheduler, context)
            per_group = [
                self.family.make(self.scheduler, dataclasses.replace(context, group_lr=lr))
                if self.family.per_group and name != "default"
                else made
                for name, lr in self.group_base_lrs.items()
            ]
        except ConfschedError as error:
            raise error.within("scheduler") from None
        self._plan = plan
        self._warmup_steps = warmup_steps
        self._schedule = made
        self._group_schedules = tuple(per_group)
        return self

    @property
    def family(self) -> Family:
        """The registry row of ``scheduler.name``."""
        return FAMILIES[self.scheduler.name]

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
        multiplier share one object (``is``): all of them unless the family is ``per_group``."""
        return self._group_schedules

    @property
    def group_names(self) -> tuple[str, ...]:
        """LR group names in optimizer order: ``default``, then ``optimizer.groups``."""
        return self.optimizer.group_names

    @property
    def group_base_lrs(self) -> dict[str, float]:
        """Base LR of each group (the LR the schedule's multiplier 1.0 stands for)."""
        return self.optimizer.group_base_lrs

    def to_config(self) -> dict[str, Any]:
        """The spec as plain data (durations as written); ``validate`` of it gives an equal spec."""
        return self.model_dump(mode="json", exclude_unset=False)

    @property
    def fingerprint(self) -> str:
        """A short hash of the resolved spec: equal specs, equal fingerprints."""
        text = json.dumps(self.to_config(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def validate(data: object, *, source: str = "") -> Spec:
    """Validate plain data (a mapping from YAML, Hydra or Python) into a :class:`Spec`.

    Raises :class:`~confsched.errors.SpecError` with one line naming the config path, the bad value
    and what is allowed; ``source`` (a file name) is put in front when given.
    """
    if isinstance(data, Spec):
        return data
    if not isinstance(data, Mapping):
        raise SpecError("", f"a spec must be a mapping of sections, got {_describe(data)}", source=source)
    try:
        data = refuse_code(data)
    except SpecError as error:
        raise error.within("", source=source) from None
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise spec_error(exc, source=source) from None


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
        return [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
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
        names = list(FAMILIES) if section in ("scheduler",) else list(OPTIMIZERS)
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
