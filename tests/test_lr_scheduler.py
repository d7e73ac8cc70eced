"""The torch scheduler object: an ``LRScheduler`` that pickles, resumes bit for bit, refuses a state
from another spec, warns once when the loop outruns the plan, and can hold LRs as tensors."""

from __future__ import annotations

import contextlib
import functools
import io
import math
import pickle
import warnings
from typing import Any

import pytest
import torch
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

import confsched
from tests.conftest import layers, run_spec, step_lrs

TOTAL = 40
WARMUP = 8
LRS = (1e-3, 3e-4)
INPUT = torch.linspace(-1.0, 1.0, 8).reshape(4, 2)

STEP_SCHEDULERS = {
    "linear": {},
    "cosine": {"num_cycles": 0.7},
    "cosine_with_restarts": {"num_cycles": 3},
    "polynomial": {"power": 2.0, "lr_end": 1e-5},
    "constant": {},
    "constant_with_warmup": {},
    "inverse_sqrt": {"timescale": 7},
    "cosine_with_min_lr": {"min_lr_rate": 0.1},
    "cosine_warmup_with_min_lr": {"min_lr": 1e-5, "warmup_lr_rate": 0.1},
    "warmup_stable_decay": {"decay": 12, "stable": 15, "decay_type": "1-sqrt", "min_lr_ratio": 0.1},
    "cosine_cycles": {"cycle_length": 8, "cycle_mul": 2.0, "cycle_decay": 0.7, "min_lr_rate": 0.01},
    "step": {"step_size": 5, "gamma": 0.5},
    "multistep": {"milestones": [10, 20, 20], "gamma": 0.1},
    "exponential": {"gamma": 0.95},
    "one_cycle": {"max_lr": 3e-3, "three_phase": True},
    "piecewise": {"knots": [[0, 0.0], [10, 1.0], [32, 0.1]], "interpolation": "cosine"},
    "phases": {
        "phases": [{"duration": 10, "shape": "constant"}, {"duration": None, "shape": "cosine", "end": 0.0}]
    },
    "tanh": {"cycle_length": 10, "cycle_mul": 1.5, "cycle_limit": 3, "min_lr": 1e-5, "floor_groups": "same"},
    "cyclic": {"max_lr": 4e-3, "step_size_up": 3, "step_size_down": 5, "mode": "exp_range", "gamma": 0.97},
    "swalr": {"swa_lr": 2e-4, "anneal": 12},
    "noam": {"d_model": 16},
    "t5_inverse_sqrt": {"constant_steps": 5},
    "sgdr": {
        "cycles": [{"duration": 12, "warmup": 3, "end": 0.1}, {"duration": 20, "peak": 0.5, "exponent": 2.0}]
    },
    "chain": {"schedulers": [{"name": "cosine"}, {"name": "step", "step_size": 7, "gamma": 0.5}]},
    "sequential": {
        "schedulers": [{"name": "exponential", "gamma": 0.9}, {"name": "swalr", "swa_lr": 1e-4, "anneal": 4}],
        "milestones": [20],
    },
}
NO_WARMUP = {"constant", "one_cycle", "t5_inverse_sqrt"}
METRIC_SCHEDULERS = {
    "reduce_lr_on_plateau": {"patience": 1, "factor": 0.5, "cooldown": 2},
    "greedy": {"patience": 1, "min_lr": 1e-5, "reset_start": 4, "smooth": True, "window_size": 3},
}
METRICS = [1.0, 0.9, 0.95, 0.97, 0.96, 0.8, 0.7, 0.6, 0.5, 0.55, 0.56, 0.57, 0.58, 0.59] * 3


def make_spec(name: str, *, total: int = TOTAL, **overrides: Any) -> confsched.Spec:
    knobs = {**STEP_SCHEDULERS.get(name, {}), **METRIC_SCHEDULERS.get(name, {}), **overrides}
    warmup = 0 if name in METRIC_SCHEDULERS or name in NO_WARMUP else WARMUP
    return confsched.validate(run_spec({"name": name, "warmup": warmup, **knobs}, total=total, lrs=LRS))


def test_every_family_has_a_scheduler_case():
    assert set(STEP_SCHEDULERS) | set(METRIC_SCHEDULERS) == set(confsched.FAMILIES)
    assert {n for n, f in confsched.FAMILIES.items() if f.driven_by == "metric"} == set(METRIC_SCHEDULERS)


@pytest.mark.parametrize("name", sorted(confsched.FAMILIES))
def test_is_a_torch_lr_scheduler(name):
    spec = make_spec(name)
    optimizer, scheduler = confsched.build(spec, layers(2))
    assert isinstance(scheduler, LRScheduler)
    if name in METRIC_SCHEDULERS:
        assert isinstance(scheduler, confsched.MetricDrivenLR)
        assert isinstance(scheduler, ReduceLROnPlateau)  # Lightning and the HF Trainer pass it the metric
    else:
        assert isinstance(scheduler, confsched.ScheduledLR)
    assert scheduler.optimizer is optimizer
    assert scheduler.get_last_lr() == confsched.lr_curve(spec, 1)[0].tolist()
    assert [g["lr"] for g in optimizer.param_groups] == scheduler.get_last_lr()
    assert [g["initial_lr"] for g in optimizer.param_groups] == list(LRS)


@pytest.mark.parametrize("name", sorted(confsched.FAMILIES))
def test_pickles_and_the_copy_carries_on(name):
    spec = make_spec(name)
    optimizer, scheduler = confsched.build(spec, layers(2))
    metrics = METRICS if name in METRIC_SCHEDULERS else None
    step_lrs(optimizer, scheduler, 15, metrics)
    copy_ = pickle.loads(pickle.dumps(scheduler))
    assert type(copy_) is type(scheduler)
    assert copy_.get_last_lr() == scheduler.get_last_lr()
    ours = step_lrs(optimizer, scheduler, 10, metrics[15:] if metrics else None)
    theirs = step_lrs(copy_.optimizer, copy_, 10, metrics[15:] if metrics else None)
    assert ours == theirs


# ---- resume --------------------------------------------------------------------------------------


def train(optimizer, scheduler, model, steps: int, metrics=None) -> list[list[float]]:
    """Real training steps (forward, backward, optimizer, scheduler); the LRs after each."""
    return step_lrs(optimizer, scheduler, steps, metrics, loss=lambda: model(INPUT).square().mean())[1:]


def overrun(start: int, steps: int, total: int | None) -> Any:
    """``pytest.warns`` when ``steps`` steps from ``start`` first pass ``total``, else no warning."""
    if total is not None and start <= total < start + steps:
        return pytest.warns(confsched.ScheduleOverrunWarning)
    return contextlib.nullcontext()


@functools.cache
def uninterrupted(name: str, end: int) -> tuple[list[list[float]], list[torch.Tensor]]:
    """The LRs of ``end`` training steps without a break, and the parameters at the end."""
    spec = make_spec(name)
    metrics = METRICS if name in METRIC_SCHEDULERS else None
    model = layers(2)
    optimizer, scheduler = confsched.build(spec, model)
    with overrun(0, end, None if metrics else spec.total_steps):
        lrs = train(optimizer, scheduler, model, end, metrics)
    return lrs, [p.detach().clone() for p in model.parameters()]


def run_and_resume(name: str, at: int, end: int):
    """Train ``at`` steps, save, build a fresh pair, load, train to ``end``; the uninterrupted run."""
    spec = make_spec(name)
    metrics = METRICS if name in METRIC_SCHEDULERS else None
    total = None if metrics else spec.total_steps  # a metric-driven run has no planned end
    full, _ = uninterrupted(name, end)
    model = layers(2)
    optimizer, scheduler = confsched.build(spec, model)
    with overrun(0, at, total):
        train(optimizer, scheduler, model, at, metrics)
    buffer = io.BytesIO()
    torch.save((model.state_dict(), optimizer.state_dict(), scheduler.state_dict()), buffer)

    fresh_model = layers(2)
    fresh_optimizer, fresh_scheduler = confsched.build(spec, fresh_model)
    buffer.seek(0)
    model_state, optimizer_state, scheduler_state = torch.load(buffer, weights_only=False)
    fresh_model.load_state_dict(model_state)
    fresh_optimizer.load_state_dict(optimizer_state)
    fresh_scheduler.load_state_dict(scheduler_state)
    saved_lrs = full[at - 1] if at else confsched.lr_curve(spec, 1)[0].tolist()
    assert [g["lr"] for g in fresh_optimizer.param_groups] == saved_lrs
    rest_metrics = metrics[at:] if metrics is not None else None
    with overrun(at, end - at, total):
        resumed = train(fresh_optimizer, fresh_scheduler, fresh_model, end - at, rest_metrics)
    return full, resumed, fresh_model


@pytest.mark.parametrize("at", [0, WARMUP, TOTAL // 2, TOTAL, TOTAL + 10])
@pytest.mark.parametrize("name", sorted(STEP_SCHEDULERS))
def test_resume_is_bit_exact(name, at):
    full, resumed, _ = run_and_resume(name, at, TOTAL + 20)
    assert resumed == full[at:]  # ==, not approx


@pytest.mark.parametrize("at", [0, 5, 20])
@pytest.mark.parametrize("name", sorted(METRIC_SCHEDULERS))
def test_resume_metric_driven_is_bit_exact(name, at):
    full, resumed, _ = run_and_resume(name, at, len(METRICS))
    assert resumed == full[at:]
    assert len({tuple(row) for row in full}) > 3  # the metrics move the LR


@pytest.mark.parametrize("name", ["cosine", "greedy"])
def test_resume_continues_the_training_bit_for_bit(name):
    end = TOTAL + 20 if name in STEP_SCHEDULERS else len(METRICS)
    _, parameters = uninterrupted(name, end)
    _, _, resumed_model = run_and_resume(name, 17, end)
    for a, b in zip(parameters, resumed_model.parameters(), strict=True):
        assert torch.equal(a, b)


def saved_state(name: str, steps: int = 12, **overrides: Any) -> dict[str, Any]:
    spec = make_spec(name, **overrides)
    optimizer, scheduler = confsched.build(spec, layers(2))
    step_lrs(optimizer, scheduler, steps, METRICS if name in METRIC_SCHEDULERS else None)
    return scheduler.state_dict()


@pytest.mark.parametrize(
    ("name", "saved", "now", "changed"),
    [
        ("cosine", {}, {"num_cycles": 0.5}, "scheduler.num_cycles: 0.7 -> 0.5"),
        ("cosine", {}, {"total": 50}, "data.dataset_size: 40 -> 50"),
        ("polynomial", {}, {"lr_end": 1e-6}, "scheduler.lr_end: 1e-05 -> 1e-06"),
        ("greedy", {}, {"patience": 2}, "scheduler.patience: 1 -> 2"),
    ],
)
def test_loading_under_a_changed_spec_is_refused(name, saved, now, changed):
    state = saved_state(name, **saved)
    spec = make_spec(name, **now)
    _, scheduler = confsched.build(spec, layers(2))
    with pytest.raises(confsched.ResumeError) as info:
        scheduler.load_state_dict(state)
    message = str(info.value)
    assert info.value.path == "scheduler"
    assert message.startswith("scheduler: the saved scheduler state is from another spec (fingerprint ")
    assert f"now {spec.fingerprint}); changed: {changed}; pass allow_spec_change=True" in message


def test_loading_under_a_changed_spec_can_be_allowed():
    state = saved_state("cosine", 12)
    spec = make_spec("cosine", num_cycles=0.5)
    optimizer, scheduler = confsched.build(spec, layers(2), allow_spec_change=True)
    with pytest.warns(
        confsched.SpecChangedWarning,
        match=r"changed: scheduler\.num_cycles: 0\.7 -> 0\.5; continuing at the saved step under the new "
        r"spec, base LRs \[0\.001, 0\.0003\] \(unchanged\)$",
    ):
        scheduler.load_state_dict(state)
    # the step count is kept; the LRs follow the new spec from there
    assert step_lrs(optimizer, scheduler, 3)[1:] == confsched.lr_curve(spec, 16)[13:].tolist()


def cosine_with_lrs(lrs: tuple[float, ...]) -> confsched.Spec:
    return confsched.validate(
        run_spec({"name": "cosine", "warmup": WARMUP, **STEP_SCHEDULERS["cosine"]}, total=TOTAL, lrs=lrs)
    )


def test_an_allowed_spec_change_rebases_to_the_new_base_lrs():
    old = cosine_with_lrs(LRS)
    optimizer, scheduler = confsched.build(old, layers(2))
    step_lrs(optimizer, scheduler, 12)
    saved = (optimizer.state_dict(), scheduler.state_dict())
    new = cosine_with_lrs((2e-3, 3e-4))
    optimizer, scheduler = confsched.build(new, layers(2), allow_spec_change=True)
    optimizer.load_state_dict(saved[0])  # the optimizer's saved groups carry the old LRs
    with pytest.warns(confsched.SpecChangedWarning) as record:
        scheduler.load_state_dict(saved[1])
    assert str(record[0].message).endswith(
        "changed: optimizer.lr: 0.001 -> 0.002; continuing at the saved step under the new spec, "
        "base LRs [0.001, 0.0003] -> [0.002, 0.0003]"
    )
    assert scheduler.base_lrs == [2e-3, 3e-4]
    assert [g["initial_lr"] for g in optimizer.param_groups] == [2e-3, 3e-4]
    # at step 12 and after: the new spec's LRs, not the old base LRs times the multiplier
    rows = step_lrs(optimizer, scheduler, 4)
    assert rows == confsched.lr_curve(new, 17)[12:].tolist()
    assert rows[0] == [2e-3 * new.schedule(12), 3e-4 * new.schedule(12)]
    # cosine, 0.7 cycles over the 32 steps after the 8-step warmup: step 12 is 4 / 32 into it
    assert rows[0][0] == pytest.approx(2e-3 * 0.5 * (1 + math.cos(2 * math.pi * 0.7 * 4 / 32)), rel=1e-12)
    assert rows[0][0] == pytest.approx(0.0018526401643540922, rel=1e-12)


def test_an_allowed_spec_change_rebases_a_metric_driven_state():
    def plateau(lr: float) -> confsched.Spec:
        knobs = METRIC_SCHEDULERS["reduce_lr_on_plateau"]
        return confsched.validate(
            run_spec({"name": "reduce_lr_on_plateau", **knobs}, total=TOTAL, lrs=(lr, 3e-4))
        )

    optimizer, scheduler = confsched.build(plateau(1e-3), layers(2))
    step_lrs(optimizer, scheduler, 6, METRICS)
    state = scheduler.state_dict()
    assert state["state"]["lrs"] == [5e-4, 1.5e-4]  # one cut by 0.5
    optimizer, scheduler = confsched.build(plateau(4e-3), layers(2), allow_spec_change=True)
    with pytest.warns(
        confsched.SpecChangedWarning, match=r"base LRs \[0\.001, 0\.0003\] -> \[0\.004, 0\.0003\]$"
    ):
        scheduler.load_state_dict(state)
    assert scheduler.get_last_lr() == [2e-3, 1.5e-4]  # the cut kept, on the new base LR
    assert scheduler.state.initial_lrs == [4e-3, 3e-4]
    assert scheduler.state.num_bad == state["state"]["num_bad"]


# ---- what a scheduler state must be ----------------------------------------------------------


def torch_states() -> dict[str, dict[str, Any]]:
    model = layers(2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    plateau = ReduceLROnPlateau(torch.optim.SGD(model.parameters(), lr=0.1))
    return {"cosine_annealing": cosine.state_dict(), "plateau": plateau.state_dict(), "empty": {}}


FOREIGN = (
    "was not saved by confsched (no format version, no spec fingerprint: another scheduler's, e.g. "
    "torch's own)"
)


@pytest.mark.parametrize("name", ["cosine", "reduce_lr_on_plateau"])
@pytest.mark.parametrize(
    ("state", "found"),
    [
        (
            "cosine_annealing",
            "a state with keys T_max, eta_min, base_lrs, last_epoch, _step_count, _is_initial, ...",
        ),
        ("plateau", "a state with keys factor, "),
        ("empty", "an empty state {}"),
    ],
)
def test_a_state_not_saved_by_confsched_is_refused(name, state, found):
    _, scheduler = confsched.build(make_spec(name), layers(2))
    kind = "step" if name == "cosine" else "metric"
    with pytest.raises(confsched.ResumeError) as caught:
        scheduler.load_state_dict(torch_states()[state])
    message = str(caught.value)
    assert message.startswith(f"scheduler: {found}")
    assert message.endswith(
        f"{FOREIGN}; expected the state_dict() of a confsched {kind}-driven scheduler (confsched_state 1, "
        f"kind '{kind}', the spec's fingerprint)"
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("saved", "now"), [("cosine", "reduce_lr_on_plateau"), ("reduce_lr_on_plateau", "cosine")]
)
def test_a_family_kind_swap_is_refused(saved, now):
    state = saved_state(saved, 6)
    _, scheduler = confsched.build(make_spec(now), layers(2), allow_spec_change=True)
    with pytest.raises(confsched.ResumeError) as caught:
        scheduler.load_state_dict(state)
    kinds = {"cosine": "step", "reduce_lr_on_plateau": "metric"}
    assert str(caught.value) == (
        f"scheduler: the saved state is of a {kinds[saved]}-driven scheduler ({saved}), this one is "
        f"{kinds[now]}-driven ({now}): a run cannot swap a step-driven family for a metric-driven one "
        "(or back) and resume; start the new family from scratch, or resume with the saved family"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"confsched_state": 2},
            "scheduler: the saved state has format 2, newer than this confsched reads (up to 1); upgrade "
            "confsched to load it",
        ),
        (
            {"confsched_state": "1"},
            "scheduler: confsched_state '1' is not a format version; expected the state_dict() of a "
            "confsched step-driven scheduler (confsched_state 1, kind 'step', the spec's fingerprint)",
        ),
        (
            {"_last_lr": None},
            "scheduler: the saved step-driven state is truncated: _last_lr missing (it has confsched_state, "
            "kind, last_epoch, _step_count, base_lrs, base_weight_decays, ... (10 keys)); expected the "
            "state_dict() of a confsched step-driven scheduler (confsched_state 1, kind 'step', the spec's "
            "fingerprint)",
        ),
        (
            {"last_epoch": "twelve"},
            "scheduler: the saved step-driven state is malformed (invalid literal for int() with base 10: "
            "'twelve')",
        ),
        (
            {"base_lrs": [1e-3, "x"]},
            "scheduler: the saved step-driven state is malformed (could not convert string to float: 'x')",
        ),
    ],
)
def test_a_newer_truncated_or_malformed_state_is_refused_with_one_line(change, message):
    state = {**saved_state("cosine"), **change}
    state = {k: v for k, v in state.items() if v is not None}
    _, scheduler = confsched.build(make_spec("cosine"), layers(2))
    with pytest.raises(confsched.ResumeError) as caught:
        scheduler.load_state_dict(state)
    assert str(caught.value) == message


def test_a_truncated_metric_driven_state_is_refused():
    state = saved_state("greedy")
    del state["state"]
    _, scheduler = confsched.build(make_spec("greedy"), layers(2))
    with pytest.raises(
        confsched.ResumeError,
        match=r"^scheduler: the saved metric-driven state is truncated: state missing \(it has confsched_st",
    ):
        scheduler.load_state_dict(state)
    state = saved_state("greedy")
    state["state"] = {"lrs": [1e-3]}
    with pytest.raises(
        confsched.ResumeError, match=r"^scheduler: the saved metric-driven state is malformed \("
    ):
        scheduler.load_state_dict(state)


@pytest.mark.parametrize("name", ["cosine", "greedy"])
def test_a_state_of_the_released_format_without_a_version_still_loads(name):
    """Format 0: the keys of confsched 0.x's state (a fingerprint, no version, no kind)."""
    end = TOTAL if name == "cosine" else len(METRICS)
    metrics = METRICS if name == "greedy" else None
    spec = make_spec(name)
    optimizer, scheduler = confsched.build(spec, layers(2))
    full = step_lrs(optimizer, scheduler, end, metrics)
    optimizer, scheduler = confsched.build(spec, layers(2))
    step_lrs(optimizer, scheduler, 9, metrics)
    state = scheduler.state_dict()
    del state["confsched_state"], state["kind"]
    optimizer, scheduler = confsched.build(spec, layers(2))
    scheduler.load_state_dict(state)
    assert step_lrs(optimizer, scheduler, end - 9, metrics[9:] if metrics else None) == full[9:]


def test_loading_the_same_spec_from_another_build_is_silent():
    state = saved_state("cosine")
    _, scheduler = confsched.build(make_spec("cosine"), layers(2))
    scheduler.load_state_dict(state)  # filterwarnings = error: no warning either
    assert scheduler.last_epoch == 12


# ---- the planned total ---------------------------------------------------------------------------


def test_overrun_warns_once_naming_the_plan():
    data = {
        "optimizer": {"name": "sgd", "lr": 0.1},
        "scheduler": {"name": "linear", "warmup": 3},
        "data": {"dataset_size": 50, "batch_size": 4},
        "training": {"epochs": 3, "grad_accum_steps": 2},
    }
    spec = confsched.validate(data)
    assert spec.total_steps == 21
    optimizer, scheduler = confsched.build(spec, layers(1))
    step_lrs(optimizer, scheduler, 21)  # the planned run: no warning
    with pytest.warns(confsched.ScheduleOverrunWarning) as record:
        step_lrs(optimizer, scheduler, 1)
    assert len(record) == 1
    assert str(record[0].message) == (
        "the scheduler was stepped past the planned 21 optimizer steps "
        "(batches per epoch = ceil(50 / 4) = 13; steps per epoch = ceil(13 / 2) = 7; "
        "total = 3 epochs x 7 = 21); the training loop runs longer than the spec says: "
        "fix data/training in the spec so the plan matches the loop"
    )
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        rows = step_lrs(optimizer, scheduler, 30)
    assert later == []
    assert rows[-1] == [0.0]


def test_step_takes_no_epoch():
    optimizer, scheduler = confsched.build(make_spec("cosine"), layers(2))
    optimizer.step()
    with pytest.raises(TypeError, match=r"ScheduledLR\.step\(\) takes no epoch: it counts optimizer steps"):
        scheduler.step(5)
    assert scheduler.last_epoch == 0


def test_metric_driven_step_needs_a_metric():
    optimizer, scheduler = confsched.build(make_spec("greedy"), layers(2))
    optimizer.step()
    with pytest.raises(TypeError, match=r"call scheduler\.step\(metric\)"):
        scheduler.step()
    scheduler.step(torch.tensor(0.5))  # a 0-d tensor is a metric too
    assert scheduler.last_epoch == 1


def test_stepping_the_scheduler_first_warns():
    _, scheduler = confsched.build(make_spec("cosine"), layers(2))
    with pytest.warns(UserWarning, match=r"scheduler\.step\(\) was called before optimizer\.step\(\)"):
        scheduler.step()


def test_state_dict_holds_the_step_and_the_spec():
    spec = make_spec("cosine")
    optimizer, scheduler = confsched.build(spec, layers(2))
    step_lrs(optimizer, scheduler, 7)
    state = scheduler.state_dict()
    assert (state["last_epoch"], state["base_lrs"], state["total_steps"]) == (7, list(LRS), TOTAL)
    assert (state["fingerprint"], state["spec_config"]) == (spec.fingerprint, spec.to_config())
    assert (state["confsched_state"], state["kind"]) == (1, "step")
    assert not {"schedule", "optimizer"} & set(state)


# ---- LRs as tensors ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cosine", "warmup_stable_decay", "greedy", "reduce_lr_on_plateau"])
def test_lr_as_tensor(name):
    data = make_spec(name).to_config()
    data["optimizer"]["lr_as_tensor"] = True
    spec = confsched.validate(data)
    model = layers(2)
    optimizer, scheduler = confsched.build(spec, model)
    tensors = [g["lr"] for g in optimizer.param_groups]
    metrics = METRICS[:30] if name in METRIC_SCHEDULERS else None
    expected = confsched.lr_curve(spec, 31, metrics=metrics)
    for k in range(31):
        lrs = [g["lr"] for g in optimizer.param_groups]
        assert all(a is b for a, b in zip(lrs, tensors, strict=True))  # filled in place, never replaced
        assert all(lr.dtype == torch.float64 and lr.dim() == 0 for lr in lrs)
        assert [lr.item() for lr in lrs] == expected[k].tolist()
        last = scheduler.get_last_lr()
        assert all(isinstance(lr, torch.Tensor) and lr is not t for lr, t in zip(last, tensors, strict=True))
        assert [lr.item() for lr in last] == expected[k].tolist()
        if k < 30:
            train(optimizer, scheduler, model, 1, metrics[k:] if metrics else None)
    initial = [g["initial_lr"] for g in optimizer.param_groups]
    assert [float(lr) for lr in initial] == list(LRS)  # the base LRs are copies, not the filled tensors
    assert not any(a is b for a, b in zip(initial, tensors, strict=True))


# ---- groups with schedules of their own ----------------------------------------------------------


def test_groups_share_one_schedule_object_unless_the_family_is_per_group() -> None:
    spec = make_spec("cosine")
    assert len(spec.group_schedules) == 2
    assert all(schedule is spec.schedule for schedule in spec.group_schedules)


def _floored_at_absolute(spec: Any, ctx: Any) -> Any:
    """A per-group family for the test: an absolute floor of 5e-4 shared by the groups, reached
    linearly over the run (multiplier ``1 -> 5e-4 / base_lr``)."""
    from confsched.schedules import Decay

    return Decay(ctx.total_steps, "linear", 5e-4 / ctx.base_lr)


def test_a_per_group_family_gives_each_group_its_own_curve_in_lr_curve_and_the_scheduler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    from confsched.families import FAMILIES

    monkeypatch.setitem(
        FAMILIES, "linear", dataclasses.replace(FAMILIES["linear"], make=_floored_at_absolute, per_group=True)
    )
    spec = make_spec("linear", warmup=0)
    default, head = spec.group_schedules
    assert default is not head
    curve = confsched.lr_curve(spec)
    # both groups end at the same absolute LR, from their own base LRs (1e-3 and 3e-4)
    assert curve[0].tolist() == [1e-3, 3e-4]
    assert curve[-1].tolist() == pytest.approx([5e-4 + 5e-4 / TOTAL, 5e-4 - 2e-4 / TOTAL], rel=1e-12)
    model = layers(2)
    optimizer, scheduler = confsched.build(spec, model)
    stepped = step_lrs(optimizer, scheduler, TOTAL)
    # no no_decay patterns: one param group per LR group, in the same order as the curve's columns
    assert stepped[:TOTAL] == curve.tolist()


def test_a_sequence_of_schedules_must_match_the_param_groups() -> None:
    from confsched.schedules import Constant

    optimizer = torch.optim.SGD(layers(1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="2 schedules for 1 param groups"):
        confsched.ScheduledLR(optimizer, [Constant(1.0), Constant(0.5)], total_steps=3)


# ---- fine-tuning: layer decay, own and frozen group schedules, weight decay and momentum -------

SETTINGS_STEPS = TOTAL + 10


def finetune_spec(optimizer: str) -> confsched.Spec:
    """Every scheduled quantity at once, on :func:`layers` (3): layer 1 is block ``0.*`` (frozen for
    10 steps), ``1.*`` the top layer, ``2.*`` a head at 10x with a constant LR of its own."""
    knobs = {"momentum": 0.9} if optimizer == "sgd" else {"betas": [0.9, 0.999]}
    return confsched.validate(
        {
            "optimizer": {
                "name": optimizer,
                "lr": 1e-2,
                "weight_decay": 1e-3,
                **knobs,
                "layer_decay": 0.5,
                "layers": {"num_blocks": 1, "block": r"^(0)\."},
                "groups": [{"name": "head", "params": ["2.*"], "lr_scale": 10.0}],
                "no_decay": ["*.bias"],
                "lr_scaling": {"rule": "sqrt", "reference_batch": 4},
            },
            "scheduler": {"name": "cosine", "warmup": 5},
            "weight_decay_scheduler": {
                "name": "phases",
                "phases": [{"duration": None, "shape": "cosine", "start": 0.1, "end": 1.0}],
            },
            "momentum_scheduler": {"name": "piecewise", "knots": [[0, 1.0], ["50%", 0.9], ["100%", 1.0]]},
            "group_schedulers": {
                "head": {"scheduler": {"name": "constant"}},
                "layer_1": {"frozen_until": 10},
            },
            "data": {"dataset_size": TOTAL, "batch_size": 1},
            "training": {"epochs": 1},
        }
    )


def settings(optimizer: torch.optim.Optimizer) -> list[tuple[float, float, float]]:
    """Each param group's (lr, weight_decay, momentum or beta1)."""
    return [
        (g["lr"], g["weight_decay"], g["betas"][0] if "betas" in g else g["momentum"])
        for g in optimizer.param_groups
    ]


def train_settings(optimizer, scheduler, model, steps: int) -> list[list[tuple[float, float, float]]]:
    """The settings each of ``steps`` training steps uses."""
    seen = []
    for _ in range(steps):
        seen.append(settings(optimizer))
        optimizer.zero_grad()
        model(INPUT).square().mean().backward()
        optimizer.step()
        scheduler.step()
    return seen


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_every_scheduled_setting_follows_its_curve(name):
    spec = finetune_spec(name)
    assert spec.group_names == ("layer_0", "layer_1", "layer_2", "head")
    model = layers(3)
    optimizer, scheduler = confsched.build(spec, model)
    assert [g["name"] for g in optimizer.param_groups] == [
        "layer_1",
        "layer_1.no_decay",
        "layer_2",
        "layer_2.no_decay",
        "head",
        "head.no_decay",
    ]
    with pytest.warns(confsched.ScheduleOverrunWarning):
        seen = train_settings(optimizer, scheduler, model, SETTINGS_STEPS)
    lrs = confsched.lr_curve(spec, SETTINGS_STEPS)
    decays = confsched.weight_decay_curve(spec, SETTINGS_STEPS)
    momenta = confsched.momentum_curve(spec, SETTINGS_STEPS)
    columns = [spec.group_names.index(g["lr_group"]) for g in optimizer.param_groups]
    decayed = [not g["name"].endswith(".no_decay") for g in optimizer.param_groups]
    expected = [
        [
            (lrs[k, c], decays[k, c] if d else 0.0, momenta[k, c])
            for c, d in zip(columns, decayed, strict=True)
        ]
        for k in range(SETTINGS_STEPS)
    ]
    assert seen == expected  # bit for bit
    assert {row[0][0] for row in seen[:11]} == {0.0}  # frozen for 10 steps, then warms up from 0
    assert seen[11][0][0] > 0.0
    assert {row[4][0] for row in seen} == {spec.lr * 10.0}  # the head's constant schedule


@pytest.mark.parametrize("at", [0, 7, 10, 25, TOTAL, TOTAL + 3])
@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_resume_with_every_scheduled_setting_is_bit_exact(name, at):
    spec = finetune_spec(name)
    model = layers(3)
    optimizer, scheduler = confsched.build(spec, model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", confsched.ScheduleOverrunWarning)
        full = train_settings(optimizer, scheduler, model, SETTINGS_STEPS)
        model, resumed_model = layers(3), layers(3)
        optimizer, scheduler = confsched.build(spec, model)
        train_settings(optimizer, scheduler, model, at)
        buffer = io.BytesIO()
        torch.save((model.state_dict(), optimizer.state_dict(), scheduler.state_dict()), buffer)
        buffer.seek(0)
        states = torch.load(buffer, weights_only=False)  # copies: the run below goes on with its own
        fresh_optimizer, fresh_scheduler = confsched.build(spec, resumed_model)
        resumed_model.load_state_dict(states[0])
        fresh_optimizer.load_state_dict(states[1])
        fresh_scheduler.load_state_dict(states[2])
        resumed = train_settings(fresh_optimizer, fresh_scheduler, resumed_model, SETTINGS_STEPS - at)
        rest = train_settings(optimizer, scheduler, model, SETTINGS_STEPS - at)
    assert resumed == rest == full[at:]
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), resumed_model.parameters(), strict=True))


# ---- param groups added while training -----------------------------------------------------------


def new_group(lr: float, **keys: Any) -> dict[str, Any]:
    return {"params": [torch.nn.Parameter(torch.ones(2))], "lr": lr, **keys}


def test_an_added_group_follows_the_shared_schedule_from_its_own_lr():
    spec = make_spec("cosine")
    optimizer, scheduler = confsched.build(spec, layers(2))
    step_lrs(optimizer, scheduler, 10)
    optimizer.add_param_group(new_group(0.05))
    assert optimizer.param_groups[-1]["lr"] == 0.05  # as added, until the next step
    rows = step_lrs(optimizer, scheduler, 20)
    multipliers = spec.schedule(range(10, 31)).tolist()
    assert [row[2] for row in rows[1:]] == [0.05 * m for m in multipliers[1:]]
    assert [row[:2] for row in rows] == confsched.lr_curve(spec, 31)[10:].tolist()  # the others as before
    assert optimizer.param_groups[-1]["initial_lr"] == 0.05
    assert scheduler.state_dict()["base_lrs"] == [*LRS, 0.05]


def test_an_added_group_follows_its_lr_group_and_gets_weight_decay_and_momentum():
    spec = finetune_spec("sgd")
    model = layers(3)
    optimizer, scheduler = confsched.build(spec, model)
    train_settings(optimizer, scheduler, model, 12)
    optimizer.add_param_group(new_group(0.3, lr_group="head", weight_decay=2e-3))
    optimizer.add_param_group(new_group(0.01, lr_group="layer_1", weight_decay=0.0))
    seen = train_settings(optimizer, scheduler, model, 10)
    wd = spec.weight_decay_schedule(range(12, 22)).tolist()
    momentum = confsched.momentum_curve(spec, range(12, 22))[:, 0].tolist()
    layer_1 = spec.group_schedules[1](range(12, 22)).tolist()
    assert seen[0][-2:] == [(0.3, 2e-3, 0.9), (0.01, 0.0, 0.9)]  # as added (SGD's momentum 0.9) until a step
    assert [row[-2] for row in seen[1:]] == [
        (0.3 * 1.0, 2e-3 * w, m) for w, m in zip(wd[1:], momentum[1:], strict=True)
    ]
    assert [row[-1] for row in seen[1:]] == [
        (0.01 * f, 0.0, m) for f, m in zip(layer_1[1:], momentum[1:], strict=True)
    ]


def test_an_added_group_without_its_lr_group_is_refused_when_groups_differ():
    spec = finetune_spec("adamw")
    optimizer, scheduler = confsched.build(spec, layers(3))
    optimizer.add_param_group(new_group(0.01))
    optimizer.step()
    with pytest.raises(ValueError, match=r"param group 6 has lr_group 'default', which names none of the LR"):
        scheduler.step()


def test_resume_after_adding_a_group_is_bit_exact():
    spec = finetune_spec("adamw")
    model = layers(3)
    optimizer, scheduler = confsched.build(spec, model)
    train_settings(optimizer, scheduler, model, 8)
    optimizer.add_param_group(new_group(0.3, lr_group="head"))
    train_settings(optimizer, scheduler, model, 4)
    buffer = io.BytesIO()
    torch.save((model.state_dict(), optimizer.state_dict(), scheduler.state_dict()), buffer)
    buffer.seek(0)
    model_state, optimizer_state, scheduler_state = torch.load(buffer, weights_only=False)
    rest = train_settings(optimizer, scheduler, model, 10)

    fresh_model = layers(3)
    fresh_model.load_state_dict(model_state)
    fresh_optimizer, fresh_scheduler = confsched.build(spec, fresh_model)
    fresh_optimizer.add_param_group(new_group(0.3, lr_group="head"))  # as torch requires to load the state
    fresh_optimizer.load_state_dict(optimizer_state)
    fresh_scheduler.load_state_dict(scheduler_state)
    assert train_settings(fresh_optimizer, fresh_scheduler, fresh_model, 10) == rest
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), fresh_model.parameters(), strict=True))


@pytest.mark.parametrize("name", ["reduce_lr_on_plateau", "greedy"])
def test_a_metric_driven_scheduler_takes_in_added_groups_like_torch(name):
    """torch's test_add_param_group_does_not_break_reduce_lr_on_plateau (scalar min_lr): two groups
    at 0.5, a third added at epoch 8 at 0.05; every group's LR against torch's own scheduler."""
    knobs = {"mode": "min", "threshold_mode": "rel", "threshold": 0.1, "patience": 5, "cooldown": 5}
    metrics = [1] * 7 + [0.6] + [0.5] * 12
    spec = confsched.validate(
        run_spec(
            {"name": name, **knobs, **({"min_lr": 0.0} if name == "greedy" else {})}, total=20, lrs=(0.5, 0.5)
        )
    )
    optimizer, scheduler = confsched.build(spec, layers(2))
    reference = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(2)], lr=0.5)
    theirs = ReduceLROnPlateau(reference, min_lr=0, **knobs)
    ours_lrs, their_lrs = [], []
    for epoch in range(20):
        if epoch == 8:
            optimizer.add_param_group(new_group(0.05))
            reference.add_param_group(new_group(0.05))
        optimizer.step()
        scheduler.step(metrics[epoch])
        reference.step()
        theirs.step(metrics[epoch])
        ours_lrs.append([g["lr"] for g in optimizer.param_groups])
        their_lrs.append([g["lr"] for g in reference.param_groups])
    if name == "reduce_lr_on_plateau":
        assert ours_lrs == their_lrs
        targets = [0.5] * 6 + [0.05] * (5 + 6) + [0.005] * 3  # torch's test: atol 1e-5
        assert [row[0] for row in ours_lrs] == pytest.approx(targets, abs=1e-5, rel=0)
        assert ours_lrs[-1][2] == 0.05 * 0.1  # the added group is cut with the others
    else:
        assert all(len(row) == 3 for row in ours_lrs[8:])
