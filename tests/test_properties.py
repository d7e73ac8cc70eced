"""Fuzzed specs (hypothesis) across every family and knob, legal and not.

Every generated spec either validates, and then every group's LR is finite, >= 0 and <= the
largest peak the spec allows at every step up to total + 100 (and finite, >= 0 at total + 1000 and
at 10 x the run: the numeric contract of :mod:`confsched.spec.bounds`; every numeric knob is also
drawn at extreme magnitudes, 5e-324 to 1.7e308 and 2**31 to 10**400), its weight decay finite, >= 0 and
within the bound validation promised, its momentum (or beta1) in [0, 1), with ``lr_curve``,
``weight_decay_curve`` and ``momentum_curve`` equal to what the stepped torch scheduler writes; or it
fails validation (or, for parameter names the layer patterns do not fit, building) with a one-line
error naming a config path. Never anything else. Strategies are derived from the pydantic models, so
a new family or knob is fuzzed without editing this file: the optional sections
(``weight_decay_scheduler``, ``momentum_scheduler``, ``group_schedulers``) draw from every family.

CI runs the default profile (a few hundred examples); the long profile is on demand:
``python -m pytest tests/test_properties.py --hypothesis-profile=long`` (10,000 examples).
"""

from __future__ import annotations

import math
import types
import typing
import warnings
from typing import Any

import annotated_types as at
import numpy as np
import pytest
import torch
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import confsched
from confsched.spec.duration import Duration
from confsched.spec.optimizer import LayersSpec, LRScalingSpec
from confsched.spec.quantities import rest_of
from confsched.spec.root import CALL_KEYS

SECTIONS = tuple(confsched.Spec.model_fields)
STEP_CHECK_LIMIT = 3_000
"""Runs up to this many steps are stepped in full; longer ones are checked at sampled steps."""

# ---- strategies derived from the models ---------------------------------------------------------

durations = st.one_of(
    st.integers(0, 400),
    st.floats(0, 1, exclude_max=True),
    st.integers(0, 100).map(lambda p: f"{p}%"),
    st.sampled_from(["1ep", "0.5ep", "2ep"]),
)
EXTREME_FLOATS = (5e-324, 1e-300, 1e-30, 1e30, 1e300, 1.7e308)
EXTREME_INTS = (2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 10**19, 10**400)
"""Magnitudes every numeric knob is also drawn at (those its declared bounds allow): the numeric
contract says a spec that validates gives finite LRs >= 0 whatever they are."""


def _extremes(
    values: tuple[Any, ...], low: float, high: float, lo_open: bool, hi_open: bool
) -> st.SearchStrategy[Any]:
    inside = [
        v for v in values if (v > low if lo_open else v >= low) and (v < high if hi_open else v <= high)
    ]
    return st.sampled_from(inside) if inside else st.nothing()


bad_scalars = st.sampled_from(
    [-1, -0.5, 0, float("nan"), float("inf"), "abc", "10 %", "-2ep", 1.5, True, [1], {"a": 1}, None]
)


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None, bool, bool]:
    lo = hi = None
    lo_open = hi_open = False
    for item in metadata:
        if isinstance(item, at.Gt):
            lo, lo_open = float(item.gt), True  # type: ignore[arg-type]
        elif isinstance(item, at.Ge):
            lo = float(item.ge)  # type: ignore[arg-type]
        elif isinstance(item, at.Lt):
            hi, hi_open = float(item.lt), True  # type: ignore[arg-type]
        elif isinstance(item, at.Le):
            hi = float(item.le)  # type: ignore[arg-type]
    return lo, hi, lo_open, hi_open


def _split(annotation: Any) -> tuple[Any, list[Any]]:
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation, metadata = args[0], [*metadata, *args[1:]]
    return annotation, metadata


def strategy_for(annotation: Any, metadata: list[Any] = ()) -> st.SearchStrategy[Any]:  # type: ignore[assignment]
    """A strategy for values of ``annotation`` that mostly satisfy its constraints."""
    annotation, extra = _split(annotation)
    metadata = [*metadata, *extra]
    for item in metadata:  # FieldInfo metadata may nest constraints
        metadata += getattr(item, "metadata", [])
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        options = [strategy_for(m, metadata) for m in members]
        if len(members) < len(typing.get_args(annotation)):
            options.append(st.none())
        return st.one_of(options)
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if annotation is Duration:
        return durations
    if annotation is bool:
        return st.booleans()
    if annotation is str:  # names and patterns (globs, regular expressions) over the fuzzed model's names
        return st.one_of(
            st.sampled_from(["*", "0.*", "1.*", r"^(\d+)\.", r"^(0)\.", "(", r"(\d)(\d)"]),
            st.text(max_size=6),
        )
    if origin is list:
        (item,) = typing.get_args(annotation)
        min_size = next((m.min_length for m in metadata if isinstance(m, at.MinLen)), 0)
        return st.lists(strategy_for(item), min_size=min_size, max_size=max(min_size, 4))
    if origin is tuple:
        return st.tuples(*(strategy_for(a) for a in typing.get_args(annotation)))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_strategy(annotation)
    lo, hi, lo_open, hi_open = _bounds(metadata)
    if annotation is int:
        low = int(lo) + (1 if lo_open else 0) if lo is not None else -3
        high = int(hi) - (1 if hi_open else 0) if hi is not None else low + 600
        huge = _extremes(EXTREME_INTS, low, math.inf if hi is None else high, False, False)
        return st.one_of(st.integers(low, min(high, low + 600)), st.integers(low, min(high, low + 600)), huge)
    if annotation is float:
        low = lo if lo is not None else -2.0
        high = hi if hi is not None else max(low, 0.0) + 3.0
        tiny = (
            st.sampled_from([v for v in (1e-12, 1e-8) if low < v < high])
            if low < 1e-8 < high
            else st.nothing()
        )
        extreme = _extremes(
            (*EXTREME_FLOATS, *(-v for v in EXTREME_FLOATS)),
            -math.inf if lo is None else lo,
            math.inf if hi is None else hi,
            lo_open,
            hi_open,
        )
        return st.one_of(
            st.floats(low, high, exclude_min=lo_open, exclude_max=hi_open, allow_nan=False),
            tiny,
            extreme,
        )
    return st.nothing()


def model_strategy(
    model: type[BaseModel], fixed: dict[str, Any] | None = None, *, bad: bool = True
) -> st.SearchStrategy[dict]:
    """Dicts for ``model``: each optional field omitted, legal-ish, or (rarely, unless ``bad`` is
    false) plainly bad."""
    fixed = fixed or {}
    parts: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, field in model.model_fields.items():
        if name in fixed:
            continue
        value = strategy_for(field.annotation, list(field.metadata))
        if bad:
            value = st.one_of(value, value, value, value, value, value, value, value, value, bad_scalars)
        (parts if field.is_required() else optional)[name] = value
    return st.fixed_dictionaries({**{k: st.just(v) for k, v in fixed.items()}, **parts}, optional=optional)


def _family_strategy(name: str) -> st.SearchStrategy[dict]:
    return model_strategy(confsched.FAMILIES[name].model, {"name": name})


def _legal_family_strategy(name: str) -> st.SearchStrategy[dict]:
    return model_strategy(confsched.FAMILIES[name].model, {"name": name}, bad=False)


schedulers = st.sampled_from(sorted(confsched.FAMILIES)).flatmap(_family_strategy)
legal_schedulers = st.sampled_from(sorted(confsched.FAMILIES)).flatmap(_legal_family_strategy)
groups = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["body", "head"]), "params": st.just(["1.*"])},
        optional={
            "lr": st.one_of(st.floats(1e-9, 1.0), st.sampled_from(EXTREME_FLOATS)),
            "lr_scale": st.one_of(st.floats(1e-3, 10.0), st.sampled_from(EXTREME_FLOATS)),
            "weight_decay": st.floats(0, 0.1),
        },
    ),
    max_size=1,
)
# Layers of the fuzzed model (two Linear layers): block 0 is "0.*", the top layer "1.*" (unless a
# group takes it); or patterns derived from the model, which building may refuse.
fitting_layers = st.fixed_dictionaries(
    {"num_blocks": st.just(1), "block": st.just(r"^(0)\.")}, optional={"embeddings": st.just(["nothing"])}
)
layering = st.fixed_dictionaries(
    {
        "layer_decay": st.one_of(st.floats(0.3, 1.0), strategy_for(float, [at.Gt(0), at.Le(1)])),
        "layers": st.one_of(fitting_layers, fitting_layers, fitting_layers, model_strategy(LayersSpec)),
    }
)


def _optimizer(name: str) -> st.SearchStrategy[dict]:
    knobs = {"momentum": st.floats(0, 0.99)} if name in ("sgd", "rmsprop") else {}
    return st.fixed_dictionaries(
        {
            "name": st.just(name),
            "lr": st.one_of(
                st.floats(1e-9, 1.0), st.sampled_from([1e-3, 3e-4, 1.0, *EXTREME_FLOATS]), bad_scalars
            ),
        },
        optional={
            "groups": groups,
            "weight_decay": st.floats(0, 0.1),
            "lr_scaling": model_strategy(LRScalingSpec),
            **knobs,
        },
    )


def _merged(parts: tuple[dict, dict]) -> dict:
    return {**parts[0], **parts[1]}


optimizers = st.tuples(
    st.sampled_from(["adamw", "sgd", "adam", "rmsprop"]).flatmap(_optimizer),
    st.one_of(st.just({}), layering),
).map(_merged)
group_schedulers = st.dictionaries(
    st.sampled_from(["default", "head", "body", "layer_0", "layer_1", "layer_2"]),
    st.fixed_dictionaries({}, optional={"frozen_until": durations, "scheduler": legal_schedulers}),
    min_size=1,
    max_size=2,
)
data = st.fixed_dictionaries(
    {
        "dataset_size": st.one_of(
            st.integers(1, 5_000), st.integers(1, 5_000), st.sampled_from(EXTREME_INTS)
        ),
        "batch_size": st.one_of(st.integers(1, 600), st.integers(1, 600), st.sampled_from(EXTREME_INTS)),
    },
    optional={"drop_last": st.booleans()},
)
training = st.one_of(
    st.fixed_dictionaries(
        {"epochs": st.one_of(st.integers(1, 6), st.integers(1, 6), st.sampled_from(EXTREME_INTS))},
        optional={
            "grad_accum_steps": st.one_of(st.integers(1, 8), st.sampled_from(EXTREME_INTS)),
            "world_size": st.one_of(st.integers(1, 8), st.sampled_from(EXTREME_INTS)),
        },
    ),
    st.fixed_dictionaries(
        {
            "max_steps": st.one_of(
                st.integers(1, 2_500), st.integers(10**6, 10**8), st.sampled_from([10**8 + 1, *EXTREME_INTS])
            )
        },
        optional={"epochs": st.integers(1, 4), "grad_accum_steps": st.integers(1, 8)},
    ),
)
specs = st.fixed_dictionaries(
    {"optimizer": optimizers, "scheduler": schedulers, "data": data, "training": training}
)
# The sections besides the four, each drawn from every family, on an optimizer whose weight decay and
# momentum can be scheduled: a spec of their own, with one to three of them, so that most examples
# validate and schedule something.
SECTION_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "weight_decay_scheduler": legal_schedulers,
    "momentum_scheduler": legal_schedulers,
    "group_schedulers": group_schedulers,
}
sections = st.sets(st.sampled_from(sorted(SECTION_STRATEGIES)), min_size=1).flatmap(
    lambda keys: st.fixed_dictionaries({key: SECTION_STRATEGIES[key] for key in sorted(keys)})
)
fine_tuning_base = st.fixed_dictionaries(
    {
        "optimizer": st.tuples(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["adamw", "sgd", "rmsprop"]),
                    "lr": st.floats(1e-6, 1.0),
                    "weight_decay": st.floats(1e-4, 0.1),
                    "groups": groups,
                }
            ),
            st.one_of(
                st.just({}), st.just({"layer_decay": 0.75, "layers": {"num_blocks": 1, "block": r"^(0)\."}})
            ),
        )
        .map(_merged)
        .map(lambda o: {**o, "momentum": 0.9} if o["name"] != "adamw" else o),
        "scheduler": legal_schedulers,
        "data": data,
        "training": training,
    }
)
fine_tuning = st.tuples(fine_tuning_base, sections).map(_merged)


# ---- the properties ---------------------------------------------------------------------------


def multiplier_bound(
    spec: confsched.Spec, sc: Any = None, plan: Any = None, reference: float = 0.0, base: float = 0.0
) -> float:
    """The largest multiplier the spec allows (1 unless a knob asks for more): of ``sc`` (default:
    ``spec.scheduler``; a member of chain / sequential too) over ``plan`` (default: the run),
    absolute knobs read against ``reference`` (default: the LR), and the absolute LRs every group
    shares (floors, the LR after the run, the SWA LR, T5's 1/sqrt) against a group's ``base`` LR
    (default: ``reference``)."""
    sc = spec.scheduler if sc is None else sc
    plan = spec.plan.timeline if plan is None else plan
    reference = reference or spec.lr
    base = base or reference
    bound = 1.0
    if sc.name == "one_cycle" and sc.max_lr is not None:
        bound = sc.max_lr / reference
    elif sc.name == "cyclic":
        bound = max(bound, sc.max_lr / reference, (sc.base_lr or reference) / reference)
    elif sc.name == "piecewise":
        bound = max([bound, *(value for _, value in sc.knots)])
    elif sc.name == "phases":
        bound = max([bound, *(v for p in sc.phases for v in (p.start, p.end) if v is not None)])
    elif sc.name == "sgdr":
        bound = max([bound, *(v for c in sc.cycles for v in (c.start, c.peak, c.end))])
    elif sc.name in ("cosine_cycles", "tanh"):
        bound = max(bound, sc.cycle_decay ** (sc.cycle_limit - 1))
    elif sc.name in ("exponential", "step", "multistep"):
        decay_steps = plan.total_steps - plan.steps(sc.warmup)  # growth (gamma > 1) stops at the end
        if sc.name == "exponential" and sc.gamma is None:
            bound = max(bound, sc.final_lr_ratio)
        elif sc.name == "exponential":
            period = plan.steps(sc.period) or 1
            bound = max(bound, sc.gamma ** -(-decay_steps // period))
        elif sc.name == "step":
            bound = max(bound, sc.gamma ** (decay_steps // plan.steps(sc.step_size)))
        else:
            bound = max(bound, sc.gamma ** len(sc.milestones))
    elif sc.name == "chain":
        bound = math.prod(multiplier_bound(spec, m, plan, reference, base) for m in sc.schedulers)
    elif sc.name == "sequential":
        bound = max(multiplier_bound(spec, m, plan, reference, base) for m in sc.schedulers)
    absolute = [v for v in (sc.floor_lr, sc.after_run_lr) if v is not None]
    if getattr(sc, "floor_groups", "scaled") == "same":
        absolute += [v for v in (getattr(sc, "min_lr", None), getattr(sc, "lr_end", None)) if v]
    absolute += [sc.swa_lr] if sc.name == "swalr" else []
    absolute += [1.0] if sc.name == "t5_inverse_sqrt" else []
    bound = max([bound, *(v / base for v in absolute)])
    return bound * (1 + sc.noise.pct if sc.noise is not None else 1.0)


def group_bounds(spec: confsched.Spec) -> np.ndarray:
    """Each LR group's largest multiplier: the spec's scheduler's, or its own (over what a frozen
    start leaves of the run)."""
    bounds = []
    for name in spec.group_names:
        own = spec.group_schedulers.get(name)
        base = spec.group_base_lrs[name]
        if own is None:
            bounds.append(multiplier_bound(spec, base=base))
            continue
        timeline = spec.plan.timeline
        rest = rest_of(timeline, timeline.steps(own.frozen_until))
        bounds.append(multiplier_bound(spec, own.scheduler or spec.scheduler, rest, base=base))
    return np.array(bounds)


def sample_steps(spec: confsched.Spec) -> list[int]:
    total, warmup = spec.total_steps, spec.warmup_steps
    points = {0, 1, warmup - 1, warmup, warmup + 1, total // 3, total // 2, total - 1, total, total + 1}
    points |= {total + 99}
    return sorted(p for p in points if p >= 0)


def far_steps(spec: confsched.Spec) -> list[int]:
    """Steps of the numeric contract besides the run: its end + 1000 and 10 x the run."""
    total = spec.total_steps
    return [total + 999, total + 1000, 10 * total - 1, 10 * total, 10 * total + 1]


def written(optimizer: torch.optim.Optimizer, key: str) -> list[float]:
    """Each param group's ``lr``, ``weight_decay`` or momentum (beta1 of ``betas``)."""
    if key == "momentum":
        return [
            float(g["betas"][0] if "betas" in g else g.get("momentum", 0.0)) for g in optimizer.param_groups
        ]
    return [float(g[key]) for g in optimizer.param_groups]


def scheduler_settings_at(spec: confsched.Spec, steps: list[int]) -> tuple[list[str], dict[str, np.ndarray]]:
    """The LR group of each param group, and the LR, weight decay and momentum the torch scheduler
    writes into each param group at ``steps`` (stepped, or resumed just before)."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    optimizer, scheduler = confsched.build(spec, model)
    keys = ("lr", "weight_decay", "momentum")
    rows: dict[str, list[list[float]]] = {key: [] for key in keys}
    if steps[-1] <= STEP_CHECK_LIMIT:
        wanted = set(steps)
        for k in range(steps[-1] + 1):
            if k in wanted:
                for key in keys:
                    rows[key].append(written(optimizer, key))
            optimizer.step()
            scheduler.step()
    else:
        optimizer.step()  # (no gradients: a no-op) the loop's order, before scheduler.step()
        state = scheduler.state_dict()
        for k in steps:
            scheduler.load_state_dict({**state, "last_epoch": k - 1, "_step_count": k + 1})
            scheduler.step()
            for key in keys:
                rows[key].append(written(optimizer, key))
    return [g["lr_group"] for g in optimizer.param_groups], {key: np.array(rows[key]) for key in keys}


def _is_path_error(message: str) -> bool:
    head = message.split(":", 1)[0]
    return head.split(".")[0].split("[")[0] in SECTIONS and "\n" not in message


def _validate_or_refuse(raw: dict[str, Any]) -> confsched.Spec | None:
    """The spec, or ``None`` after checking that each problem of the refusal is one line naming a path."""
    try:
        return confsched.validate(raw)
    except confsched.ConfschedError as error:
        problems = error.problems
    assert problems
    for problem in problems:
        assert _is_path_error(str(problem)), str(problem)
    return None


@given(specs)
def test_a_fuzzed_spec_is_valid_and_sane_or_refused_with_a_path(raw):
    check(raw)


@given(fine_tuning)
@settings(max_examples=150)
def test_a_fuzzed_fine_tuning_spec_is_valid_and_sane_or_refused_with_a_path(raw):
    """Weight-decay, momentum and group schedules of every family (and layer decay)."""
    check(raw)


def check(raw: dict[str, Any]) -> None:
    spec = _validate_or_refuse(raw)
    event("refused" if spec is None else f"valid {spec.family.driven_by}-driven")
    if spec is None:
        return
    if spec.family.driven_by == "metric":
        curve = confsched.lr_curve(spec, metrics=[1.0, 0.5, 0.5, 0.5, 2.0] * 5)
        assert np.isfinite(curve).all()
        assert (curve >= 0).all()
        return
    steps = sample_steps(spec)
    if steps[-1] <= STEP_CHECK_LIMIT:
        steps = list(range(steps[-1] + 1))
    curve = confsched.lr_curve(spec, steps)
    assert np.isfinite(curve).all()
    assert (curve >= 0).all()
    base = np.array([spec.group_base_lrs[n] for n in spec.group_names])
    assert (curve <= base * group_bounds(spec) * (1 + 1e-12)).all()
    far = far_steps(spec)  # the numeric contract: past the end and at 10 x the run too
    for values in (confsched.lr_curve(spec, far), confsched.weight_decay_curve(spec, far)):
        assert values is None or (np.isfinite(values).all() and (values >= 0).all())
    decays = confsched.weight_decay_curve(spec, steps)
    if decays is not None:
        event("weight decay scheduled")
        assert np.isfinite(decays).all()
        assert (decays >= 0).all()
        limit = np.array([spec.group_weight_decays[n] for n in spec.group_names]) * spec.peaks["weight_decay"]
        assert (decays <= limit * (1 + 1e-12)).all()
        wd_sc = spec.weight_decay_scheduler
        assert spec.peaks["weight_decay"] >= multiplier_bound(
            spec, wd_sc, reference=spec.optimizer.weight_decay
        )
    momenta = confsched.momentum_curve(spec, steps)
    if momenta is not None:
        event("momentum scheduled")
        assert np.isfinite(momenta).all()
        assert ((momenta >= 0) & (momenta < 1)).all()
    refused_when_built = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", confsched.ScheduleOverrunWarning)
        try:
            lr_groups, stepped = scheduler_settings_at(spec, steps)
        except confsched.GroupError as error:  # layer patterns that do not fit the model's names
            refused_when_built = str(error)
            event("refused when built")
    if refused_when_built is not None:
        assert _is_path_error(refused_when_built), refused_when_built
        return
    columns = [spec.group_names.index(name) for name in lr_groups]
    assert np.array_equal(stepped["lr"], curve[:, columns])
    if decays is not None:
        assert np.array_equal(stepped["weight_decay"], decays[:, columns])
    if momenta is not None:
        assert np.array_equal(stepped["momentum"], momenta[:, columns])


@given(st.sampled_from(sorted(CALL_KEYS)), st.sampled_from(SECTIONS), st.text(max_size=20))
@settings(max_examples=50)
def test_instantiate_keys_are_always_refused_with_a_path(key, section, target):
    raw = {
        "optimizer": {"name": "adamw", "lr": 1e-3},
        "scheduler": {"name": "linear"},
        "data": {"dataset_size": 100, "batch_size": 10},
        "training": {"epochs": 1},
    }
    raw[section] = {**raw.get(section, {}), key: target}
    with pytest.raises(confsched.SpecError) as caught:
        confsched.validate(raw)
    assert str(caught.value).startswith(f"{section}.")
    assert math.isfinite(len(str(caught.value)))
