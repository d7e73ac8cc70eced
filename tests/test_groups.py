"""Parameter groups: names -> optimizer param groups (default, named groups, no_decay companions),
their LRs and weight decays, the errors, and the curve columns each param group follows."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import confsched
from confsched.groups import ParamGroupPlan, plan_groups
from tests.conftest import WORKED_EXAMPLE, merged, step_lrs


class Net(torch.nn.Module):
    """A frozen embedding, an encoder, a norm and a classifier head."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(5, 4)
        self.encoder = torch.nn.Linear(4, 4)
        self.norm = torch.nn.LayerNorm(4)
        self.classifier = torch.nn.Linear(4, 2)
        self.embed.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.norm(self.encoder(self.embed(x))))


TRAINABLE = [
    "encoder.weight",
    "encoder.bias",
    "norm.weight",
    "norm.bias",
    "classifier.weight",
    "classifier.bias",
]


def spec_with(**optimizer: Any) -> confsched.Spec:
    return confsched.validate(
        merged(
            WORKED_EXAMPLE,
            optimizer={"name": "adamw", "lr": 1e-3, "weight_decay": 0.05, **optimizer},
            scheduler={"name": "linear", "warmup": 5},
            training={"max_steps": 40},
        )
    )


def groups_of(optimizer: torch.optim.Optimizer, model: torch.nn.Module) -> list[tuple[Any, ...]]:
    """Each param group as (name, lr_group, parameter names, initial_lr, weight_decay)."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [
        (g["name"], g["lr_group"], [names[id(p)] for p in g["params"]], g["initial_lr"], g["weight_decay"])
        for g in optimizer.param_groups
    ]


FULL = {
    "groups": [
        {"name": "head", "params": ["classifier.*"], "lr": 1e-4, "weight_decay": 0.0},
        {"name": "enc", "params": ["encoder.*"], "lr_scale": 0.5},
    ],
    "no_decay": ["*.bias", "norm.*"],
}


def test_default_group_only():
    model = Net()
    optimizer, _ = confsched.build(spec_with(), model)
    assert groups_of(optimizer, model) == [("default", "default", TRAINABLE, 1e-3, 0.05)]
    assert isinstance(optimizer, torch.optim.AdamW)


def test_named_groups_and_no_decay_companions():
    model = Net()
    spec = spec_with(**FULL)
    optimizer, _ = confsched.build(spec, model)
    assert groups_of(optimizer, model) == [
        # the default group's parameters all match no_decay: only its companion remains
        ("default.no_decay", "default", ["norm.weight", "norm.bias"], 1e-3, 0.0),
        ("head", "head", ["classifier.weight"], 1e-4, 0.0),
        ("head.no_decay", "head", ["classifier.bias"], 1e-4, 0.0),
        ("enc", "enc", ["encoder.weight"], 1e-3 * 0.5, 0.05),  # lr_scale x optimizer.lr, the default decay
        ("enc.no_decay", "enc", ["encoder.bias"], 1e-3 * 0.5, 0.0),
    ]
    assert spec.group_names == ("default", "head", "enc")
    assert spec.group_base_lrs == {"default": 1e-3, "head": 1e-4, "enc": 5e-4}


def test_group_without_lr_uses_the_optimizer_lr_and_decay():
    model = Net()
    spec = spec_with(groups=[{"name": "head", "params": ["classifier.weight", "classifier.bias"]}])
    optimizer, _ = confsched.build(spec, model)
    assert groups_of(optimizer, model) == [
        ("default", "default", TRAINABLE[:4], 1e-3, 0.05),
        ("head", "head", ["classifier.weight", "classifier.bias"], 1e-3, 0.05),
    ]


def test_frozen_parameters_are_left_out():
    model = Net()
    optimizer, _ = confsched.build(spec_with(**FULL), model)
    scheduled = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert id(model.embed.weight) not in scheduled
    assert len(scheduled) == len(TRAINABLE)


def test_named_parameters_instead_of_a_module():
    model = Net()
    optimizer, _ = confsched.build(spec_with(**FULL), list(model.named_parameters()))
    assert groups_of(optimizer, model) == groups_of(confsched.build(spec_with(**FULL), model)[0], model)


def test_plan_groups_works_on_names():
    spec = spec_with(groups=FULL["groups"][:1], no_decay=["*.bias"])
    names = ["x", "classifier.weight", "x.bias", "classifier.bias"]
    assert plan_groups(spec.optimizer, names) == [
        ParamGroupPlan("default", "default", ("x",), 1e-3, 0.05),
        ParamGroupPlan("default.no_decay", "default", ("x.bias",), 1e-3, 0.0),
        ParamGroupPlan("head", "head", ("classifier.weight",), 1e-4, 0.0),
        ParamGroupPlan("head.no_decay", "head", ("classifier.bias",), 1e-4, 0.0),
    ]


def test_a_group_matching_nothing_names_the_group_and_suggests():
    with pytest.raises(confsched.GroupError) as info:
        confsched.build(spec_with(groups=[{"name": "head", "params": ["clasifier.*"]}]), Net())
    assert info.value.path == "optimizer.groups[0].params"
    assert str(info.value) == (
        "optimizer.groups[0].params: group 'head': ['clasifier.*'] match no parameter; "
        "did you mean 'classifier.bias'? (the model's parameters: encoder.weight, encoder.bias, "
        "norm.weight, norm.bias, ...)"
    )
    assert isinstance(info.value, ValueError)


def test_a_group_of_frozen_parameters_says_they_are_frozen():
    with pytest.raises(confsched.GroupError) as info:
        confsched.build(spec_with(groups=[{"name": "emb", "params": ["embed.*"]}]), Net())
    assert str(info.value) == (
        "optimizer.groups[0].params: group 'emb': ['embed.*'] match only frozen parameters "
        "(requires_grad=False: embed.weight); unfreeze them or change the patterns"
    )


def test_an_overlap_names_both_groups_and_the_parameter():
    groups = [{"name": "a", "params": ["enc*"]}, {"name": "b", "params": ["*.weight"]}]
    with pytest.raises(confsched.GroupError) as info:
        confsched.build(spec_with(groups=groups), Net())
    assert str(info.value) == (
        "optimizer.groups[1].params: parameter 'encoder.weight' matches both group 'a' and group 'b'"
    )


def test_no_decay_matching_nothing_is_an_error():
    with pytest.raises(confsched.GroupError) as info:
        confsched.build(spec_with(no_decay=["*.beta", "ln.*"]), Net())
    assert str(info.value) == (
        "optimizer.no_decay: ['*.beta', 'ln.*'] match no parameter "
        "(the model's parameters: encoder.weight, encoder.bias, norm.weight, norm.bias, ...)"
    )


def test_a_model_without_trainable_parameters():
    model = torch.nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(confsched.GroupError, match=r"the model has no trainable parameters"):
        confsched.build(spec_with(groups=[{"name": "head", "params": ["*"]}]), model)


@pytest.mark.parametrize("name", sorted(confsched.OPTIMIZERS))
def test_every_optimizer_builds_with_groups(name):
    data = merged(
        WORKED_EXAMPLE,
        optimizer={"name": name, "lr": 1e-2, **FULL},
    )
    spec = confsched.validate(data)
    model = Net()
    optimizer, scheduler = confsched.build(spec, model)
    assert f"torch.optim.{type(optimizer).__name__}" == confsched.OPTIMIZERS[name].target
    assert [g["lr_group"] for g in optimizer.param_groups] == ["default", "head", "head", "enc", "enc"]
    for key, value in spec.optimizer.torch_kwargs().items():
        assert all(g[key] == value for g in optimizer.param_groups), key
    before = [p.detach().clone() for p in model.parameters()]
    step_lrs(optimizer, scheduler, 2, loss=lambda: model(torch.tensor([1, 2])).square().sum())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert torch.equal(before[0], model.embed.weight)  # frozen: untouched


@pytest.mark.parametrize("name", ["cosine", "warmup_stable_decay", "greedy"])
def test_each_param_group_follows_its_curve_column(name):
    knobs = {"decay": "25%"} if name == "warmup_stable_decay" else {}
    data = merged(
        WORKED_EXAMPLE,
        optimizer={"name": "sgd", "lr": 0.1, **FULL},
        scheduler={"name": name, "warmup": 0 if name == "greedy" else 5, **knobs},
        training={"max_steps": 40},
    )
    spec = confsched.validate(data)
    metrics = [1.0 / (1 + k % 7) for k in range(40)] if name == "greedy" else None
    curve = confsched.lr_curve(spec, 41, metrics=metrics)
    assert curve.shape == (41, len(spec.group_names)) == (41, 3)
    optimizer, scheduler = confsched.build(spec, Net())
    rows = step_lrs(optimizer, scheduler, 40, metrics)
    columns = [spec.group_names.index(g["lr_group"]) for g in optimizer.param_groups]
    assert columns == [0, 1, 1, 2, 2]
    assert rows == curve[:, columns].tolist()
    assert len({tuple(row) for row in rows}) > 3  # the LRs move
