"""The spec: bad configs as a data table of exact one-line errors, strictness, round trips and the
derived figures."""

from __future__ import annotations

import copy
import math
import pickle
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import confsched
from confsched.spec.optimizer import OptimizerBase
from tests.conftest import WORKED_EXAMPLE, merged

FAMILIES = ", ".join(confsched.FAMILIES)
OPTIMIZERS = ", ".join(confsched.OPTIMIZERS)
DURATION = (
    "a duration is an int number of steps (100), a fraction of the run (0.06 or '6%'), "
    "epochs ('2ep'), samples ('1.5M sp') or tokens ('2B tok')"
)


def with_(section: str, **fields: Any) -> dict[str, Any]:
    """The worked example with ``fields`` set in ``section`` (``None`` deletes a key)."""
    data = copy.deepcopy(WORKED_EXAMPLE)
    data.setdefault(section, {})
    for key, value in fields.items():
        if value is None:
            del data[section][key]
        else:
            data[section][key] = value
    return data


def scheduler(**fields: Any) -> dict[str, Any]:
    return merged(WORKED_EXAMPLE, scheduler=fields)


def group(**fields: Any) -> dict[str, Any]:
    return with_("optimizer", groups=[{"name": "head", "params": ["classifier.*"], **fields}])


BAD_SPECS = [
    # unknown keys and names, with "did you mean"
    (
        with_("scheduler", warmpu=10),
        "scheduler.warmpu: unknown key 'warmpu'; did you mean 'warmup'? "
        "(allowed here: after_run_lr, floor_lr, hold, name, noise, num_cycles, warmup, warmup_prefix, "
        "warmup_rounding, warmup_shape, warmup_start)",
    ),
    (
        merged(WORKED_EXAMPLE, trainer={"epochs": 3}),
        "trainer: unknown key 'trainer'; did you mean 'training'? "
        "(allowed here: continuation, data, group_schedulers, momentum_scheduler, optimizer, scheduler, "
        "training, weight_decay_scheduler)",
    ),
    (
        group(lr_sclae=0.1),
        "optimizer.groups[0].lr_sclae: unknown key 'lr_sclae'; did you mean 'lr_scale'? "
        "(allowed here: lr, lr_scale, name, params, weight_decay)",
    ),
    (
        with_("data", batchsize=3),
        "data.batchsize: unknown key 'batchsize'; did you mean 'batch_size'? "
        "(allowed here: batch_size, dataset_size, drop_last, tokens_per_sample)",
    ),
    (
        merged(WORKED_EXAMPLE, optimizer={"name": "sgd", "lr": 0.1, "betas": [0.9, 0.99]}),
        "optimizer.betas: unknown key 'betas' (allowed here: dampening, groups, layer_decay, layers, lr, "
        "lr_as_tensor, lr_scaling, momentum, name, nesterov, no_decay, weight_decay)",
    ),
    (
        scheduler(name="cosin"),
        f"scheduler.name: unknown scheduler 'cosin'; did you mean 'cosine'? (choose one of: {FAMILIES})",
    ),
    (
        scheduler(name="plateau"),
        "scheduler.name: unknown scheduler 'plateau' (choose one of: " + FAMILIES + ")",
    ),
    (
        with_("optimizer", name="adamww"),
        f"optimizer.name: unknown optimizer 'adamww'; did you mean 'adamw'? (choose one of: {OPTIMIZERS})",
    ),
    (scheduler(warmup=10), f"scheduler.name: missing; choose one of: {FAMILIES}"),
    (
        scheduler(name="warmup_stable_decay", decay=10, decay_type="cosin"),
        "scheduler.decay_type: 'cosin' is not allowed; did you mean 'cosine'? "
        "(choose one of: 'linear', 'cosine', '1-sqrt', 'exponential' or 'polynomial')",
    ),
    (
        scheduler(name="reduce_lr_on_plateau", mode="minimum"),
        "scheduler.mode: 'minimum' is not allowed; did you mean 'min'? (choose one of: 'min' or 'max')",
    ),
    # wrong types
    (
        with_("optimizer", lr="fast"),
        "optimizer.lr: must be a valid number, unable to parse string as a number (got 'fast')",
    ),
    (with_("optimizer", lr=True), "optimizer.lr: must be a number, not a boolean (got True)"),
    (with_("training", epochs=False), "training.epochs: must be a number, not a boolean (got False)"),
    (
        with_("optimizer", betas=[0.9, True]),
        "optimizer.betas[1]: must be a number, not a boolean (got True)",
    ),
    (
        with_("data", batch_size=2.5),
        "data.batch_size: must be a valid integer, got a number with a fractional part (got 2.5)",
    ),
    (
        with_("data", drop_last="maybe"),
        "data.drop_last: must be true or false (got 'maybe')",
    ),
    (
        scheduler(name="cosine", num_cycles="half"),
        "scheduler.num_cycles: must be a valid number, unable to parse string as a number (got 'half')",
    ),
    # a list where a mapping belongs, and the reverse
    (merged(WORKED_EXAMPLE, scheduler=["cosine"]), "scheduler: expected a mapping of keys, got a list"),
    (merged(WORKED_EXAMPLE, optimizer="adamw"), "optimizer: expected a mapping of keys, got 'adamw'"),
    (with_("optimizer", groups=[["head"]]), "optimizer.groups[0]: expected a mapping of keys, got a list"),
    (
        with_("optimizer", groups={"name": "head"}),
        "optimizer.groups: must be a valid list (got a mapping)",
    ),
    ([WORKED_EXAMPLE], "a spec must be a mapping of sections, got a list"),
    # negative, zero, NaN, inf
    (with_("optimizer", lr=-1.0), "optimizer.lr: must be greater than 0 (got -1.0)"),
    (with_("optimizer", lr=0), "optimizer.lr: must be greater than 0 (got 0)"),
    (with_("optimizer", lr=math.nan), "optimizer.lr: must be a finite number (got nan)"),
    (with_("optimizer", lr=math.inf), "optimizer.lr: must be a finite number (got inf)"),
    (
        with_("optimizer", weight_decay=-0.1),
        "optimizer.weight_decay: must be greater than or equal to 0 (got -0.1)",
    ),
    (with_("optimizer", betas=[0.9, 1.0]), "optimizer.betas[1]: must be less than 1 (got 1.0)"),
    (
        with_("optimizer", betas=[0.9, 0.99, 0.999]),
        "optimizer.betas: must have exactly 2 items (got [0.9, 0.99, 0.999])",
    ),
    (with_("data", dataset_size=0), "data.dataset_size: must be greater than 0 (got 0)"),
    (with_("training", epochs=-1), "training.epochs: must be greater than 0 (got -1)"),
    (with_("training", grad_accum_steps=0), "training.grad_accum_steps: must be greater than 0 (got 0)"),
    (with_("training", world_size=0), "training.world_size: must be greater than 0 (got 0)"),
    (scheduler(name="cosine", num_cycles=0), "scheduler.num_cycles: must be greater than 0 (got 0)"),
    (
        scheduler(name="cosine", num_cycles=-math.inf),
        "scheduler.num_cycles: must be a finite number (got -inf)",
    ),
    (scheduler(name="polynomial", power=0), "scheduler.power: must be greater than 0 (got 0)"),
    (
        scheduler(name="polynomial", lr_end=-1e-7),
        "scheduler.lr_end: must be greater than or equal to 0 (got -1e-07)",
    ),
    (scheduler(name="inverse_sqrt", timescale=0), "scheduler.timescale: must be greater than 0 (got 0)"),
    (
        scheduler(name="cosine_with_min_lr", min_lr_rate=2),
        "scheduler.min_lr_rate: must be less than or equal to 1 (got 2)",
    ),
    (scheduler(name="reduce_lr_on_plateau", factor=1.5), "scheduler.factor: must be less than 1 (got 1.5)"),
    (
        scheduler(name="greedy", patience=-1),
        "scheduler.patience: must be greater than or equal to 0 (got -1)",
    ),
    # durations
    (scheduler(name="cosine", warmup="10 %"), f"scheduler.warmup: '10 %' is not a duration; {DURATION}"),
    (scheduler(name="cosine", warmup="-2ep"), f"scheduler.warmup: '-2ep' is not a duration; {DURATION}"),
    (scheduler(name="cosine", warmup="1.5"), f"scheduler.warmup: '1.5' is not a duration; {DURATION}"),
    (scheduler(name="cosine", warmup="ep2"), f"scheduler.warmup: 'ep2' is not a duration; {DURATION}"),
    (scheduler(name="cosine", warmup="6%%"), f"scheduler.warmup: '6%%' is not a duration; {DURATION}"),
    (scheduler(name="cosine", warmup=-5), f"scheduler.warmup: -5 is negative; {DURATION}"),
    (scheduler(name="cosine", warmup=math.nan), f"scheduler.warmup: nan is not a duration; {DURATION}"),
    (scheduler(name="cosine", warmup=-0.5), f"scheduler.warmup: -0.5 is not a duration; {DURATION}"),
    (scheduler(name="cosine", warmup=True), f"scheduler.warmup: True is not a duration; {DURATION}"),
    (scheduler(name="cosine", warmup=[1]), f"scheduler.warmup: [1] (list) is not a duration; {DURATION}"),
    (
        scheduler(name="cosine", warmup=1.5),
        "scheduler.warmup: 1.5 is ambiguous: a float must be a fraction of the run below 1; "
        "write 1 for steps or '150%'",
    ),
    (
        scheduler(name="cosine", warmup=1.0),
        "scheduler.warmup: 1.0 is ambiguous: a float must be a fraction of the run below 1; "
        "write 1 for steps or '100%'",
    ),
    (scheduler(name="cosine", warmup="150%"), "scheduler.warmup: '150%' is more than the whole run (100%)"),
    # warmup longer than the run
    (scheduler(name="cosine", warmup=5000), "scheduler.warmup: 5000 steps exceeds the run (1950 steps)"),
    (scheduler(name="linear", warmup=1951), "scheduler.warmup: 1951 steps exceeds the run (1950 steps)"),
    (
        scheduler(name="cosine", warmup="60ep"),
        "scheduler.warmup: 60ep = 2340 steps exceeds the run (1950 steps)",
    ),
    # rules between fields
    (
        group(lr=1e-4, lr_scale=0.1),
        "optimizer.groups[0].lr_scale: both lr (0.0001) and lr_scale (0.1) are set; give one of them",
    ),
    (
        merged(WORKED_EXAMPLE, optimizer={"name": "sgd", "lr": 0.1, "nesterov": True}),
        "optimizer.nesterov: true needs momentum > 0 and dampening 0 (got momentum 0, dampening 0)",
    ),
    (
        merged(
            WORKED_EXAMPLE,
            optimizer={"name": "sgd", "lr": 0.1, "nesterov": True, "momentum": 0.9, "dampening": 0.1},
        ),
        "optimizer.nesterov: true needs momentum > 0 and dampening 0 (got momentum 0.9, dampening 0.1)",
    ),
    (
        with_("optimizer", groups=[{"name": "a", "params": ["x"]}, {"name": "a", "params": ["y"]}]),
        "optimizer.groups[1].name: group name 'a' is used twice",
    ),
    (
        with_("optimizer", groups=[{"name": "default", "params": ["x"]}]),
        "optimizer.groups[0].name: 'default' is not a usable group name "
        "(letters, digits, '_', '.', '-'; 'default' is reserved for unmatched parameters)",
    ),
    (
        with_("optimizer", groups=[{"name": "my head", "params": ["x"]}]),
        "optimizer.groups[0].name: 'my head' is not a usable group name "
        "(letters, digits, '_', '.', '-'; 'default' is reserved for unmatched parameters)",
    ),
    (
        scheduler(name="polynomial", lr_end=1e-3),
        "scheduler.lr_end: 0.001 must be below optimizer.lr (0.001)",
    ),
    (
        scheduler(name="cosine_with_min_lr", min_lr=1e-2),
        "scheduler.min_lr: 0.01 must not exceed optimizer.lr (0.001)",
    ),
    (
        scheduler(name="greedy", min_lr=1.0),
        "scheduler.min_lr: 1 must be below max_lr (1)",
    ),
    # missing pieces
    (
        {k: v for k, v in WORKED_EXAMPLE.items() if k != "data"},
        "data: required key is missing",
    ),
    (with_("optimizer", lr=None), "optimizer.lr: required key is missing"),
    (
        merged(WORKED_EXAMPLE, training={"grad_accum_steps": 2}),
        "training.epochs: set epochs, max_steps, max_samples or max_tokens to say how long the run is",
    ),
    (scheduler(name="warmup_stable_decay"), "scheduler.decay: required key is missing"),
]


@pytest.mark.parametrize(
    ("data", "message"), BAD_SPECS, ids=[m.split(":")[0] + "-" + str(i) for i, (_, m) in enumerate(BAD_SPECS)]
)
def test_bad_spec_gives_one_exact_line(data, message):
    with pytest.raises(confsched.SpecError) as info:
        confsched.validate(data)
    error = info.value
    assert str(error) == message
    assert "\n" not in str(error)
    assert isinstance(error, ValueError)
    path = message.split(": ")[0] if ": " in message and not message.startswith("a spec") else ""
    assert error.path == path
    assert confsched.render(error) == f"error: {message}"


def test_every_problem_is_reported_each_on_its_line():
    data = with_("optimizer", lr=-1.0, weight_decay=-1.0)
    data["data"]["batch_size"] = 0
    with pytest.raises(confsched.SpecError) as info:
        confsched.validate(data, source="run.yaml")
    error = info.value
    assert str(error).splitlines() == [
        "run.yaml: optimizer.lr: must be greater than 0 (got -1.0)",
        "run.yaml: optimizer.weight_decay: must be greater than or equal to 0 (got -1.0)",
        "run.yaml: data.batch_size: must be greater than 0 (got 0)",
    ]
    assert [p.path for p in error.problems] == ["optimizer.lr", "optimizer.weight_decay", "data.batch_size"]
    assert (error.path, error.message, error.source) == (
        "optimizer.lr",
        "must be greater than 0 (got -1.0)",
        "run.yaml",
    )
    assert all("\n" not in str(p) for p in error.problems)
    assert confsched.render(error) == "\n".join(f"error: {line}" for line in str(error).splitlines())
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_at_most_twenty_problems_are_listed_and_the_rest_counted():
    data = with_("optimizer", groups=[{"name": f"g{i}", "params": ["x"], "lr": -1.0} for i in range(25)])
    with pytest.raises(confsched.SpecError) as info:
        confsched.validate(data)
    lines = str(info.value).splitlines()
    assert len(lines) == 21
    assert lines[0] == "optimizer.groups[0].lr: must be greater than 0 (got -1.0)"
    assert lines[19] == "optimizer.groups[19].lr: must be greater than 0 (got -1.0)"
    assert lines[20] == "(and 5 more problems)"


def test_source_is_named_first():
    with pytest.raises(confsched.SpecError) as info:
        confsched.validate(scheduler(name="cosine", warmup=5000), source="my.yaml")
    assert str(info.value) == "my.yaml: scheduler.warmup: 5000 steps exceeds the run (1950 steps)"
    assert (info.value.path, info.value.source) == ("scheduler.warmup", "my.yaml")


# ---- strictness ----------------------------------------------------------------------------------


def test_spec_is_frozen():
    spec = confsched.validate(WORKED_EXAMPLE)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        spec.optimizer.lr = 3.0
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        spec.scheduler = spec.scheduler
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        spec.total_steps = 3  # type: ignore[misc]
    assert spec.total_steps == 1950


def test_every_model_forbids_extra_keys_and_is_frozen():
    models = [confsched.Spec, *(f.model for f in confsched.FAMILIES.values())]
    models += [entry.model for entry in confsched.OPTIMIZERS.values()]
    for model in models:
        assert model.model_config["extra"] == "forbid", model
        assert model.model_config["frozen"] is True, model


# ---- round trips ---------------------------------------------------------------------------------

ROUND_TRIP = [
    WORKED_EXAMPLE,
    merged(
        WORKED_EXAMPLE,
        optimizer={
            "name": "sgd",
            "lr": 0.1,
            "momentum": 0.9,
            "nesterov": True,
            "no_decay": ["*.bias"],
            "groups": [{"name": "head", "params": ["classifier.*"], "lr_scale": 0.1, "weight_decay": 0.0}],
        },
        scheduler={"name": "warmup_stable_decay", "warmup": "6%", "decay": 0.1, "stable": "2ep"},
    ),
    merged(
        WORKED_EXAMPLE,
        scheduler={
            "name": "cosine_warmup_with_min_lr",
            "warmup": "0.5ep",
            "min_lr": 1e-5,
            "warmup_lr_rate": 0.1,
        },
        training={"epochs": 3, "max_steps": 100, "grad_accum_steps": 3, "world_size": 2},
        data={"dataset_size": 1000, "batch_size": 8, "drop_last": True},
    ),
    merged(WORKED_EXAMPLE, scheduler={"name": "greedy", "smooth": True, "mode": "max"}),
]


@pytest.mark.parametrize("data", ROUND_TRIP)
def test_round_trip(data):
    spec = confsched.validate(data)
    again = confsched.validate(spec.to_config())
    assert again == spec
    assert again.fingerprint == spec.fingerprint
    assert again.to_config() == spec.to_config()
    assert (again.total_steps, again.warmup_steps) == (spec.total_steps, spec.warmup_steps)
    assert confsched.validate(spec) is spec


def test_fingerprint_changes_with_any_field():
    spec = confsched.validate(WORKED_EXAMPLE)
    assert len(spec.fingerprint) == 16
    fingerprints = {spec.fingerprint}
    for section, key, value in [
        ("optimizer", "lr", 2e-3),
        ("scheduler", "warmup", 101),
        ("scheduler", "warmup", "100"),  # the same steps written differently: the same spec
        ("data", "drop_last", True),
        ("training", "epochs", 51),
    ]:
        fingerprints.add(confsched.validate(with_(section, **{key: value})).fingerprint)
    assert len(fingerprints) == 5


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(
        ["linear", "cosine", "cosine_with_restarts", "constant_with_warmup", "inverse_sqrt"]
    ),
    warmup=st.one_of(
        st.integers(0, 200),
        st.integers(0, 100).map(lambda p: f"{p}%"),
        st.integers(0, 5).map(lambda e: f"{e}ep"),
        st.sampled_from([0.0, 0.06, 0.25, 0.5]),
    ),
    lr=st.floats(1e-6, 1.0),
    dataset_size=st.integers(1, 3000),
    batch_size=st.integers(1, 64),
    epochs=st.integers(5, 20),
)
def test_round_trip_fuzz(name, warmup, lr, dataset_size, batch_size, epochs):
    data = {
        "optimizer": {"name": "adamw", "lr": lr},
        "scheduler": {"name": name, "warmup": warmup},
        "data": {"dataset_size": dataset_size, "batch_size": batch_size},
        "training": {"epochs": epochs},
    }
    try:
        spec = confsched.validate(data)
    except confsched.SpecError as error:
        refused = error.path
    else:
        refused = ""
    if refused:
        assert refused == "scheduler.warmup"  # only a warmup longer than the run is refused
        return
    again = confsched.validate(spec.to_config())
    assert again == spec
    assert again.fingerprint == spec.fingerprint


# ---- derived figures -----------------------------------------------------------------------------


def test_derived_figures_of_the_worked_example():
    spec = confsched.validate(WORKED_EXAMPLE)
    assert (spec.steps_per_epoch, spec.total_steps, spec.warmup_steps) == (39, 1950, 100)
    assert spec.group_names == ("default",)
    assert spec.group_base_lrs == {"default": 1e-3}
    assert spec.family is confsched.FAMILIES["cosine"]
    assert spec.optimizer.weight_decay == 0.01  # AdamW's torch default


def test_group_base_lrs():
    data = with_(
        "optimizer",
        lr=2e-3,
        groups=[
            {"name": "head", "params": ["h.*"], "lr": 1e-4},
            {"name": "body", "params": ["b.*"], "lr_scale": 0.25},
            {"name": "tail", "params": ["t.*"]},
        ],
    )
    spec = confsched.validate(data)
    assert spec.group_names == ("default", "head", "body", "tail")
    assert spec.group_base_lrs == {"default": 2e-3, "head": 1e-4, "body": 5e-4, "tail": 2e-3}


def test_optimizer_specific_fields():
    spec = confsched.validate(with_("optimizer", betas=[0.8, 0.99], amsgrad=True))
    assert spec.optimizer.torch_kwargs() == {"betas": (0.8, 0.99), "eps": 1e-8, "amsgrad": True}
    sgd = merged(WORKED_EXAMPLE, optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True})
    assert confsched.validate(sgd).optimizer.torch_kwargs() == {
        "momentum": 0.9,
        "dampening": 0.0,
        "nesterov": True,
    }
    assert set(OptimizerBase.model_fields) == {
        "name",
        "lr",
        "weight_decay",
        "groups",
        "no_decay",
        "lr_as_tensor",
        "layer_decay",
        "layers",
        "lr_scaling",
    }


def test_every_family_validates_from_its_name_alone_or_with_its_required_knobs():
    required = {
        "cosine_with_min_lr": {"min_lr_rate": 0.1},
        "cosine_warmup_with_min_lr": {"min_lr_rate": 0.1},
        "warmup_stable_decay": {"decay": "10%"},
        "step": {"step_size": "1ep"},
        "multistep": {"milestones": ["50%"]},
        "exponential": {"gamma": 0.99},
        "piecewise": {"knots": [[0, 1.0], ["50%", 0.1]]},
        "phases": {"phases": [{"duration": None, "shape": "cosine", "end": 0.0}]},
        "cyclic": {"max_lr": 3e-3, "step_size_up": "10%"},
        "swalr": {"swa_lr": 1e-4},
        "noam": {"d_model": 64},
        "t5_inverse_sqrt": {"constant_steps": 100},
        "sgdr": {"cycles": [{"duration": "50%"}]},
        "chain": {"schedulers": [{"name": "cosine"}, {"name": "constant"}]},
        "sequential": {"schedulers": [{"name": "cosine"}, {"name": "constant"}], "milestones": ["50%"]},
    }
    for name in confsched.FAMILIES:
        spec = confsched.validate(scheduler(name=name, **required.get(name, {})))
        assert spec.scheduler.name == name
        assert spec.family.name == name
