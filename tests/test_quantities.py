"""What a spec schedules besides ``scheduler``: weight decay (Megatron's increment styles, DINO's
cosine), momentum / beta1, each group's own schedule with a frozen start, and LR scaling by the
global batch (timm's ``train.py`` rule). Reference values are the peers' own formulas, ported
literally (Megatron-LM and DINO cannot be installed here), and the parameters of their own tests."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

import confsched
from tests.conftest import RTOL, WORKED_EXAMPLE, assert_lrs_match, layers, merged, step_lrs


def spec_of(**sections: Any) -> confsched.Spec:
    return confsched.validate(merged(WORKED_EXAMPLE, **sections))


def run(total: int, **sections: Any) -> confsched.Spec:
    """A ``total``-step run (max_steps) of the worked example with ``sections`` replaced."""
    return spec_of(training={"max_steps": total}, **sections)


# ---- weight decay: Megatron-LM's OptimizerParamScheduler.get_wd ---------------------------------


def megatron_get_wd(num_steps: int, start_wd: float, end_wd: float, wd_incr_steps: int, style: str) -> float:
    """megatron/core/optimizer_param_scheduler.py, ``get_wd``, ported literally."""
    if num_steps > wd_incr_steps:
        return end_wd
    if style == "constant":
        assert start_wd == end_wd
        return end_wd
    incr_ratio = float(num_steps) / float(wd_incr_steps)
    assert incr_ratio >= 0.0
    assert incr_ratio <= 1.0
    delta_wd = end_wd - start_wd
    if style == "linear":
        coeff = incr_ratio
    elif style == "cosine":
        coeff = 0.5 * (math.cos(math.pi * (1 - incr_ratio)) + 1.0)
    else:
        raise ValueError(style)
    return start_wd + coeff * delta_wd


def megatron_spec(start_wd: float, end_wd: float, style: str, total: int = 1000) -> confsched.Spec:
    """Megatron's increment from start_wd to end_wd over the run (``wd_incr_steps`` = train_iters):
    ``optimizer.weight_decay`` is end_wd, the schedule one phase from start_wd / end_wd to 1."""
    shape = {"linear": "linear", "cosine": "cosine"}[style]
    phase = {"duration": None, "shape": shape, "start": start_wd / end_wd, "end": 1.0}
    return run(
        total,
        optimizer={"name": "adamw", "lr": 0.1, "weight_decay": end_wd},
        scheduler={"name": "linear", "warmup": 100},
        weight_decay_scheduler={"name": "phases", "phases": [phase]},
    )


def test_megatron_unit_test_values():
    """tests/unit_tests/test_optimizer_param_scheduler.py of Megatron-LM: wd 0 -> 0.1 over 1000 steps."""
    linear = confsched.weight_decay_curve(megatron_spec(0.0, 0.1, "linear"), [100, 500])
    assert linear[0, 0] == 0.0 + 0.1 * 0.1  # test_step_function: isclose(wd, 0.01, rel_tol=1e-5)
    assert linear[1, 0] == 0.05  # test_get_wd_linear: wd == 0.05
    cosine = confsched.weight_decay_curve(megatron_spec(0.0, 0.1, "cosine"), [500])
    assert math.isclose(cosine[0, 0], 0.05 * (math.cos(math.pi * (1 - 0.5)) + 1.0), rel_tol=1e-15)
    # test_get_wd_constant: start_wd == end_wd == 0.1 is the unscheduled weight decay
    constant = run(1000, optimizer={"name": "adamw", "lr": 0.1, "weight_decay": 0.1})
    assert confsched.weight_decay_curve(constant) is None
    model = layers(1)
    optimizer, scheduler = confsched.build(constant, model)
    step_lrs(optimizer, scheduler, 500)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.1]


@pytest.mark.parametrize("style", ["linear", "cosine"])
@pytest.mark.parametrize(("start_wd", "end_wd"), [(0.0, 0.1), (0.01, 0.1), (0.033, 0.05)])
def test_megatron_increment_styles_at_every_step(style, start_wd, end_wd):
    spec = megatron_spec(start_wd, end_wd, style)
    ours = confsched.weight_decay_curve(spec, 1011)[:, 0]
    theirs = [megatron_get_wd(k, start_wd, end_wd, 1000, style) for k in range(1011)]
    worst = assert_lrs_match(ours, theirs, rtol=RTOL)
    if style == "linear" and start_wd == 0:
        assert ours.tolist() == theirs  # end_wd x (k / T) is Megatron's (k / T) x end_wd: exact
    assert worst < RTOL


def test_groups_without_decay_stay_at_zero_and_the_scheduler_writes_every_group():
    """Megatron's wd_mult 0 (test_step_updates_empty_param_groups) is a no_decay companion here."""
    spec = megatron_spec(0.0, 0.1, "linear", total=200)
    spec = confsched.validate(
        {**spec.to_config(), "optimizer": {**spec.to_config()["optimizer"], "no_decay": ["*.bias"]}}
    )
    optimizer, scheduler = confsched.build(spec, layers(1))
    assert [g["name"] for g in optimizer.param_groups] == ["default", "default.no_decay"]
    written = []
    for _ in range(200):
        written.append([g["weight_decay"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    curve = confsched.weight_decay_curve(spec)
    assert [row[0] for row in written] == curve[:, 0].tolist()  # bit for bit
    assert {row[1] for row in written} == {0.0}
    assert written[100] == [0.1 * (100 / 200), 0.0]


# ---- weight decay: DINO's cosine_scheduler -------------------------------------------------------


def dino_cosine_scheduler(
    base_value, final_value, epochs, niter_per_ep, warmup_epochs=0, start_warmup_value=0
):
    """facebookresearch/dino utils.py, ``cosine_scheduler``, ported literally."""
    warmup_schedule = np.array([])
    warmup_iters = warmup_epochs * niter_per_ep
    if warmup_epochs > 0:
        warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)
    iters = np.arange(epochs * niter_per_ep - warmup_iters)
    schedule = final_value + 0.5 * (base_value - final_value) * (1 + np.cos(np.pi * iters / len(iters)))
    schedule = np.concatenate((warmup_schedule, schedule))
    assert len(schedule) == epochs * niter_per_ep
    return schedule


@pytest.mark.parametrize("how", ["phases", "piecewise"])
def test_dino_weight_decay_0_04_to_0_4(how):
    """main_dino.py: wd_schedule = cosine_scheduler(0.04, 0.4, epochs, len(data_loader)), set on the
    regularized param group only (the others have weight decay 0)."""
    epochs, per_epoch = 10, 25
    schedule = {
        "phases": {
            "name": "phases",
            "phases": [{"duration": None, "shape": "cosine", "start": 1, "end": 10}],
        },
        "piecewise": {"name": "piecewise", "knots": [[0, 1], ["100%", 10]], "interpolation": "cosine"},
    }[how]
    spec = spec_of(
        optimizer={"name": "adamw", "lr": 5e-4, "weight_decay": 0.04, "no_decay": ["*.bias"]},
        data={"dataset_size": 250, "batch_size": 10},
        training={"epochs": epochs},
        weight_decay_scheduler=schedule,
    )
    theirs = dino_cosine_scheduler(0.04, 0.4, epochs, per_epoch)
    ours = confsched.weight_decay_curve(spec)[:, 0]
    worst = assert_lrs_match(ours, theirs, rtol=RTOL)
    assert worst < 1e-14  # the same function; the operations differ in order
    optimizer, scheduler = confsched.build(spec, layers(1))
    seen = []
    for _ in range(epochs * per_epoch):
        seen.append([g["weight_decay"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    assert [row[0] for row in seen] == ours.tolist()
    assert {row[1] for row in seen} == {0.0}


# ---- momentum and beta1 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "key"), [("sgd", "momentum"), ("rmsprop", "momentum"), ("adamw", "betas")])
def test_a_momentum_schedule_sets_momentum_or_beta1_of_every_group(name, key):
    knobs = {"momentum": 0.9} if key == "momentum" else {"betas": [0.9, 0.98]}
    spec = run(
        60,
        optimizer={
            "name": name,
            "lr": 0.01,
            **knobs,
            "groups": [{"name": "head", "params": ["1.*"], "lr": 0.1}],
        },
        scheduler={"name": "cosine", "warmup": 5},
        momentum_scheduler={"name": "piecewise", "knots": [[0, 0.95], ["50%", 1.05], ["100%", 0.95]]},
    )
    curve = confsched.momentum_curve(spec)
    assert curve.shape == (60, 2)
    assert curve[0].tolist() == [0.9 * 0.95] * 2
    assert curve[30].tolist() == [0.9 * 1.05] * 2
    optimizer, scheduler = confsched.build(spec, layers(2))
    seen = []
    for _ in range(60):
        seen.append([g[key][0] if key == "betas" else g[key] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    assert seen == curve.tolist()
    if key == "betas":
        assert {g["betas"][1] for g in optimizer.param_groups} == {0.98}  # beta2 untouched


def test_one_cycle_keeps_its_own_momentum_and_refuses_a_second():
    one_cycle = {"name": "one_cycle", "max_lr": 0.1, "warmup": 0}
    spec = run(100, optimizer={"name": "sgd", "lr": 0.01, "momentum": 0.9}, scheduler=one_cycle)
    reference = torch.optim.lr_scheduler.OneCycleLR(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01, momentum=0.9),
        max_lr=0.1,
        total_steps=100,
    )
    momenta = []
    for _ in range(100):
        momenta.append(reference.optimizer.param_groups[0]["momentum"])
        reference.optimizer.step()
        reference.step()
    assert_lrs_match(confsched.momentum_curve(spec)[:, 0], momenta)
    with pytest.raises(confsched.SpecError) as info:
        run(
            100,
            optimizer={"name": "sgd", "lr": 0.01, "momentum": 0.9},
            scheduler=one_cycle,
            momentum_scheduler={"name": "cosine"},
        )
    assert str(info.value) == (
        "momentum_scheduler: scheduler one_cycle already cycles the momentum (cycle_momentum: true); "
        "set scheduler.cycle_momentum: false or remove momentum_scheduler"
    )


# ---- each group's own schedule -------------------------------------------------------------------


def test_head_constant_backbone_cosine_with_a_longer_warmup():
    spec = run(
        100,
        optimizer={
            "name": "adamw",
            "lr": 1e-3,
            "groups": [{"name": "head", "params": ["1.*"], "lr_scale": 10.0}],
        },
        scheduler={"name": "cosine", "warmup": 5},
        group_schedulers={
            "head": {"scheduler": {"name": "constant"}},
            "default": {"scheduler": {"name": "cosine", "warmup": 20}},
        },
    )
    curve = confsched.lr_curve(spec)
    assert (curve[:, 1] == 1e-2).all()
    cosine_20 = confsched.lr_curve(run(100, scheduler={"name": "cosine", "warmup": 20}))[:, 0]
    assert curve[:, 0].tolist() == cosine_20.tolist()
    optimizer, scheduler = confsched.build(spec, layers(2))
    assert step_lrs(optimizer, scheduler, 100)[:100] == curve.tolist()


def test_a_frozen_group_trains_at_lr_0_until_its_step_then_warms_up():
    spec = run(
        100,
        optimizer={"name": "adamw", "lr": 1e-3, "groups": [{"name": "body", "params": ["0.*"]}]},
        scheduler={"name": "linear", "warmup": 10},
        group_schedulers={"body": {"frozen_until": "30%"}},
    )
    curve = confsched.lr_curve(spec)
    assert (curve[:30, 1] == 0).all()
    # from step 30 on: the spec's linear schedule, warmup first, over the 70 steps left
    alone = confsched.lr_curve(run(70, scheduler={"name": "linear", "warmup": 10}))[:, 0]
    assert curve[30:, 1].tolist() == alone.tolist()
    assert (
        curve[:, 0].tolist()
        == confsched.lr_curve(run(100, scheduler={"name": "linear", "warmup": 10}))[:, 0].tolist()
    )
    model = layers(2)
    optimizer, scheduler = confsched.build(spec, model)
    frozen_at_start = [p.detach().clone() for p in model[0].parameters()]
    rows = step_lrs(optimizer, scheduler, 30, loss=lambda: model(torch.ones(1, 2)).square().sum())
    assert rows == curve[:31].tolist()
    assert all(p.requires_grad for p in model.parameters())  # requires_grad is not touched
    assert all(torch.equal(a, b) for a, b in zip(frozen_at_start, model[0].parameters(), strict=True))
    assert optimizer.state[model[0].weight]["exp_avg"].abs().sum() > 0  # but AdamW's moments did accumulate


@pytest.mark.parametrize("name", sorted(confsched.OPTIMIZERS))
def test_lr_0_leaves_the_weights_of_every_optimizer_unchanged(name):
    spec = run(
        10,
        optimizer={
            "name": name,
            "lr": 1e-2,
            "weight_decay": 0.1,
            "groups": [{"name": "body", "params": ["0.*"]}],
        },
        scheduler={"name": "constant"},
        group_schedulers={"body": {"frozen_until": 10 - 1}},
    )
    model = layers(2)
    before = [p.detach().clone() for p in model[0].parameters()]
    optimizer, scheduler = confsched.build(spec, model)
    step_lrs(optimizer, scheduler, 9, loss=lambda: model(torch.ones(1, 2)).square().sum())
    assert all(torch.equal(a, b) for a, b in zip(before, model[0].parameters(), strict=True))


# ---- LR scaling: timm's train.py ------------------------------------------------------------------


def timm_lr(
    lr_base: float, lr_base_size: int, lr_base_scale: str, batch_size: int, world_size: int, accum: int
) -> float:
    """timm train.py, "if not args.lr", ported literally."""
    global_batch_size = batch_size * world_size * accum
    batch_ratio = global_batch_size / lr_base_size
    if lr_base_scale == "sqrt":
        batch_ratio = batch_ratio**0.5
    return lr_base * batch_ratio


@pytest.mark.parametrize("rule", ["linear", "sqrt"])
@pytest.mark.parametrize(
    ("batch", "world", "accum", "reference"), [(128, 8, 1, 256), (32, 3, 5, 256), (64, 1, 1, 4096)]
)
def test_lr_scaling_is_timms_rule_before_group_multipliers(rule, batch, world, accum, reference):
    spec = spec_of(
        optimizer={
            "name": "adamw",
            "lr": 5e-4,
            "lr_scaling": {"rule": rule, "reference_batch": reference},
            "groups": [
                {"name": "head", "params": ["1.*"], "lr_scale": 10.0},
                {"name": "fixed", "params": ["2.*"], "lr": 3e-4},
            ],
        },
        scheduler={"name": "cosine", "warmup": 0},
        data={"dataset_size": 100_000, "batch_size": batch},
        training={"epochs": 1, "world_size": world, "grad_accum_steps": accum},
    )
    lr = timm_lr(5e-4, reference, rule, batch, world, accum)
    assert spec.lr == lr
    assert spec.group_base_lrs == {"default": lr, "head": lr * 10.0, "fixed": 3e-4}  # absolute: as written
    optimizer, _ = confsched.build(spec, layers(3))
    assert [g["initial_lr"] for g in optimizer.param_groups] == [lr, lr * 10.0, 3e-4]
    assert optimizer.defaults["lr"] == lr


def test_lr_scaling_with_layer_decay_scales_first():
    spec = spec_of(
        optimizer={
            "name": "adamw",
            "lr": 1e-3,
            "lr_scaling": {"rule": "linear"},
            "layer_decay": 0.5,
            "layers": {"num_blocks": 1, "block": r"^(\d+)\."},
        },
        data={"dataset_size": 10_000, "batch_size": 512},
    )
    assert spec.lr == 1e-3 * (512 / 256)
    assert spec.group_base_lrs == {"layer_0": spec.lr * 0.25, "layer_1": spec.lr * 0.5, "layer_2": spec.lr}


# ---- refusals ------------------------------------------------------------------------------------

BAD = [
    (
        {"weight_decay_scheduler": {"name": "reduce_lr_on_plateau"}},
        "weight_decay_scheduler.name: reduce_lr_on_plateau changes the LR from a metric; a schedule of "
        "optimizer.weight_decay needs a step-driven family (one of: ",
    ),
    (
        {"optimizer": {"name": "adam", "lr": 1e-3}, "weight_decay_scheduler": {"name": "cosine"}},
        "weight_decay_scheduler: optimizer.weight_decay is 0: the schedule multiplies it (and each group's "
        "weight_decay); set optimizer.weight_decay to the base value",
    ),
    (
        {"weight_decay_scheduler": {"name": "polynomial", "lr_end": 0.5}},
        "weight_decay_scheduler.lr_end: 0.5 must be below optimizer.weight_decay (0.01)",
    ),
    (
        {"weight_decay_scheduler": {"name": "cosine", "warmup": 5000}},
        "weight_decay_scheduler.warmup: 5000 steps exceeds the run (1950 steps)",
    ),
    (
        {"momentum_scheduler": {"name": "piecewise", "knots": [[0, 1], ["50%", 1.2]]}},
        "momentum_scheduler: optimizer.betas[0] 0.9 x the schedule's peak multiplier 1.2 = 1.08; the "
        "momentum must stay below 1",
    ),
    (
        {"optimizer": {"name": "sgd", "lr": 0.1}, "momentum_scheduler": {"name": "cosine"}},
        "momentum_scheduler: optimizer.momentum is 0: the schedule multiplies it; set optimizer.momentum "
        "to the base value",
    ),
    (
        {"optimizer": {"name": "adagrad", "lr": 0.1}, "momentum_scheduler": {"name": "cosine"}},
        "momentum_scheduler: adagrad has neither momentum nor betas to schedule",
    ),
    (
        {"momentum_scheduler": {"name": "one_cycle"}},
        "momentum_scheduler.cycle_momentum: true: only the LR scheduler's one_cycle cycles the momentum; "
        "set cycle_momentum: false",
    ),
    (
        {"scheduler": {"name": "greedy"}, "momentum_scheduler": {"name": "cosine"}},
        "momentum_scheduler: needs a step-driven scheduler (scheduler greedy is metric-driven)",
    ),
    (
        {"group_schedulers": {"defualt": {"frozen_until": 10}}},
        "group_schedulers.defualt: no LR group is called 'defualt'; did you mean 'default'? "
        "(the groups: default)",
    ),
    (
        {"group_schedulers": {"default": {"frozen_until": "100%"}}},
        "group_schedulers.default.frozen_until: 1950 steps leaves none of the run (1950 steps) to train",
    ),
    (
        {"group_schedulers": {"default": {"frozen_until": 1900}}},
        "group_schedulers.default.frozen_until: 1900 steps leaves 50 steps, too few for the spec's scheduler "
        "(scheduler.warmup: 100 steps exceeds the run (50 steps)); give the group a scheduler of its own",
    ),
    (
        {"group_schedulers": {"default": {"scheduler": {"name": "one_cycle"}}}},
        "group_schedulers.default.scheduler.cycle_momentum: true: a group's own schedule sets only its LR; "
        "the momentum follows the main scheduler or momentum_scheduler. Set cycle_momentum: false",
    ),
    (
        {"group_schedulers": {"default": {"scheduler": {"name": "cosine", "warmpu": 3}}}},
        "group_schedulers.default.scheduler.warmpu: unknown key 'warmpu'; did you mean 'warmup'? (allowed "
        "here: after_run_lr, floor_lr, hold, name, noise, num_cycles, warmup, warmup_prefix, "
        "warmup_rounding, warmup_shape, warmup_start)",
    ),
    (
        {"scheduler": {"name": "reduce_lr_on_plateau"}, "group_schedulers": {"default": {"frozen_until": 3}}},
        "group_schedulers: scheduler reduce_lr_on_plateau changes every group's LR from a metric; groups "
        "with schedules of their own need a step-driven scheduler",
    ),
    (
        {"optimizer": {"name": "adamw", "lr": 1e-3, "layer_decay": 0.7}},
        "optimizer.layers: required with layer_decay: name a preset, e.g. {preset: hf_bert, num_blocks: 12}",
    ),
    (
        {"optimizer": {"name": "adamw", "lr": 1e-3, "layers": {"preset": "hf_bert", "num_blocks": 12}}},
        "optimizer.layer_decay: missing: layers is set, but without layer_decay it does nothing",
    ),
    (
        {
            "optimizer": {
                "name": "adamw",
                "lr": 1e-3,
                "layer_decay": 0.7,
                "layers": {"num_blocks": 12, "block": "x"},
            }
        },
        "optimizer.layers.block: 'x' has 0 capturing groups; it needs exactly one, capturing the block index "
        r"(e.g. 'encoder\.layer\.(\d+)\.')",
    ),
    (
        {
            "optimizer": {
                "name": "adamw",
                "lr": 1e-3,
                "layer_decay": 0.7,
                "layers": {"preset": "hf_bert", "num_blocks": 2},
                "groups": [{"name": "layer_1", "params": ["x"]}],
            }
        },
        "optimizer.groups[0].name: 'layer_1' is the name of one of layer_decay's groups (layer_0 to "
        "layer_3); name the group otherwise",
    ),
    (
        {
            "optimizer": {
                "name": "adamw",
                "lr": 1e-3,
                "layer_decay": 0.01,
                "layers": {"preset": "hf_bert", "num_blocks": 300},
            }
        },
        "optimizer.layer_decay: 0.01 over 302 layers takes layer 0's LR down to 0.001 x 0.01^301, below the "
        "smallest normal float; use a larger layer_decay or fewer layers",
    ),
    (
        {"optimizer": {"name": "adamw", "lr": 1e-3, "lr_scaling": {"rule": "cubic"}}},
        "optimizer.lr_scaling.rule: 'cubic' is not allowed (choose one of: 'linear' or 'sqrt')",
    ),
]


@pytest.mark.parametrize(
    ("sections", "message"), BAD, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(BAD)]
)
def test_bad_sections_give_one_line(sections, message):
    with pytest.raises(confsched.SpecError) as info:
        spec_of(**sections)
    assert "\n" not in str(info.value)
    assert (
        str(info.value).startswith(message) if message.endswith("(one of: ") else str(info.value) == message
    )


def test_a_phases_momentum_schedule_without_levels_holds_the_momentum():
    """Found by the long fuzz profile: phases that only hold (no start or end) peak at 1."""
    spec = spec_of(momentum_scheduler={"name": "phases", "phases": [{"duration": 0}]})
    assert spec.peaks == {"momentum": 1.0}
    assert confsched.momentum_curve(spec, [0, 1949])[:, 0].tolist() == [0.9, 0.9]


def test_on_a_run_counted_in_samples_every_schedule_follows_the_samples_consumed():
    """A sample budget with a batch ramp: the frozen start, the weight decay and the momentum are
    schedules of samples too, evaluated at the samples consumed before each step."""
    spec = spec_of(
        optimizer={
            "name": "sgd",
            "lr": 0.1,
            "momentum": 0.9,
            "weight_decay": 1e-3,
            "groups": [{"name": "head", "params": ["1.*"]}],
        },
        scheduler={"name": "cosine", "warmup": "200 sp"},
        weight_decay_scheduler={"name": "linear", "warmup": "10%"},
        momentum_scheduler={"name": "piecewise", "knots": [[0, 1.0], ["1000 sp", 0.9]]},
        group_schedulers={"head": {"frozen_until": "500 sp"}},
        data={"dataset_size": 1000, "batch_size": 2},
        training={
            "max_samples": 3000,
            "world_size": 2,
            "grad_accum_steps": 2,
            "batch_rampup": {"start": 4, "increment": 4, "length": "800 sp"},
        },
    )
    assert spec.plan.ramps
    optimizer, scheduler = confsched.build(spec, layers(2))
    seen = []
    for _ in range(spec.total_steps):
        seen.append([(g["lr"], g["weight_decay"], g["momentum"]) for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    lrs, decays, momenta = (
        confsched.lr_curve(spec),
        confsched.weight_decay_curve(spec),
        confsched.momentum_curve(spec),
    )
    assert seen == [
        [(lrs[k, c], decays[k, c], momenta[k, c]) for c in (0, 1)] for k in range(spec.total_steps)
    ]
    consumed = spec.plan.consumed_samples(np.arange(spec.total_steps))
    assert (lrs[consumed < 500, 1] == 0).all()
    assert (lrs[consumed > 500, 1] > 0).all()
    assert momenta[consumed >= 1000, 0].tolist() == [0.9 * 0.9] * int((consumed >= 1000).sum())
