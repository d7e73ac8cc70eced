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


# ---- layer-wise LR decay ----------------------------------------------------------------------


def tiny_hf(kind: str) -> torch.nn.Module:
    """A real transformers model of 2 blocks, built from a config (no download)."""
    import transformers

    torch.manual_seed(0)
    sizes = {"hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 16}
    if kind == "hf_bert":
        return transformers.BertForSequenceClassification(
            transformers.BertConfig(vocab_size=30, max_position_embeddings=16, num_labels=3, **sizes)
        )
    if kind == "hf_roberta":
        return transformers.RobertaForSequenceClassification(
            transformers.RobertaConfig(vocab_size=30, max_position_embeddings=20, num_labels=3, **sizes)
        )
    return transformers.ViTForImageClassification(
        transformers.ViTConfig(image_size=8, patch_size=4, num_labels=3, **sizes)
    )


def layered(preset: str, layer_decay: float = 0.75, num_blocks: int = 2, **optimizer: Any) -> confsched.Spec:
    return spec_with(
        layer_decay=layer_decay, layers={"preset": preset, "num_blocks": num_blocks}, **optimizer
    )


# The hand-derived table for BertForSequenceClassification with 2 blocks and layer_decay 0.75
# (ELECTRA's and BEiT's rule, embeddings layer 0, head last): layer l of 4 trains at lr x 0.75^(3 - l).
BERT_TABLE = {
    "bert.embeddings.": (0, 0.421875),  # 0.75^3: word, position, token type embeddings, LayerNorm
    "bert.encoder.layer.0.": (1, 0.5625),  # 0.75^2
    "bert.encoder.layer.1.": (2, 0.75),
    "bert.pooler.": (3, 1.0),  # the top layer: the pooler and the task head
    "classifier.": (3, 1.0),
}


def test_layer_decay_on_a_real_bert_matches_the_hand_derived_table():
    model = tiny_hf("hf_bert")
    spec = layered("hf_bert", no_decay=["*.bias", "*LayerNorm.weight"])
    assert spec.group_names == ("layer_0", "layer_1", "layer_2", "layer_3")
    optimizer, _ = confsched.build(spec, model)
    names = {id(p): n for n, p in model.named_parameters()}
    group_of = {names[id(p)]: g for g in optimizer.param_groups for p in g["params"]}
    assert len(group_of) == len(names) == 41
    for name in names.values():
        (layer, scale), *others = [row for prefix, row in BERT_TABLE.items() if name.startswith(prefix)]
        assert not others
        group = group_of[name]
        assert group["initial_lr"] == 1e-3 * scale, name
        assert group["lr_group"] == f"layer_{layer}"
        no_decay = name.endswith(".bias") or name.endswith("LayerNorm.weight")
        assert group["weight_decay"] == (0.0 if no_decay else 0.05)
        assert group["name"] == f"layer_{layer}" + (".no_decay" if no_decay else "")


@pytest.mark.parametrize("preset", ["hf_bert", "hf_roberta", "hf_vit"])
def test_every_parameter_of_a_real_transformers_model_is_in_exactly_one_group(preset):
    model = tiny_hf(preset)
    spec = layered(preset, groups=[{"name": "head", "params": ["classifier.*"], "lr_scale": 10.0}])
    optimizer, _ = confsched.build(spec, model)
    scheduled = [id(p) for g in optimizer.param_groups for p in g["params"]]
    assert sorted(scheduled) == sorted(id(p) for p in model.parameters())  # none dropped, none twice
    layers = {g["lr_group"]: len(g["params"]) for g in optimizer.param_groups}
    blocks = {"hf_bert": 16, "hf_roberta": 16, "hf_vit": 16}[preset]
    embeddings = {"hf_bert": 5, "hf_roberta": 5, "hf_vit": 4}[preset]
    top = {"hf_bert": 2, "hf_roberta": 0, "hf_vit": 0}[preset]  # BERT's pooler; RoBERTa has none
    final = {"hf_vit": 2}.get(preset, 0)  # ViT's final layernorm goes with the last block, as in timm
    head = {"hf_roberta": 4}.get(preset, 2)
    expected = {
        "layer_0": embeddings,
        "layer_1": blocks,
        "layer_2": blocks + final,
        "layer_3": top,
        "head": head,
    }
    assert layers == {name: n for name, n in expected.items() if n}
    assert spec.group_base_lrs == {
        "layer_0": 1e-3 * 0.421875,
        "layer_1": 1e-3 * 0.5625,
        "layer_2": 1e-3 * 0.75,
        "layer_3": 1e-3,
        "head": 1e-3 * 10.0,
    }


@pytest.mark.parametrize(
    ("depth", "vit"),
    [(3, {}), (2, {"global_pool": "avg", "fc_norm": True, "class_token": False, "reg_tokens": 2})],
)
def test_layer_decay_equals_timm_param_groups_layer_decay_on_a_real_timm_vit(depth, vit):
    from tests.timm_models import timm_vit_layer_decay

    model, theirs = timm_vit_layer_decay(depth, layer_decay=0.65, weight_decay=0.05, **vit)
    names = {id(p): n for n, p in model.named_parameters()}
    timm_scale = {names[id(p)]: g["lr_scale"] for g in theirs for p in g["params"]}
    timm_decay = {names[id(p)]: g["weight_decay"] for g in theirs for p in g["params"]}
    spec = layered(
        "timm_vit",
        layer_decay=0.65,
        num_blocks=depth,
        # timm's exemptions: 1-d parameters (biases, norms) and the model's no_weight_decay() names
        no_decay=["*.bias", "*norm*", "cls_token", "reg_token", "pos_embed"],
    )
    optimizer, _ = confsched.build(spec, model)
    ours = {names[id(p)]: g for g in optimizer.param_groups for p in g["params"]}
    assert sorted(ours) == sorted(timm_scale)  # the same parameters, each once
    for name, group in ours.items():
        assert group["initial_lr"] == 1e-3 * timm_scale[name], name  # identical scales, same float ops
        assert group["weight_decay"] == timm_decay[name], name
    assert (
        len({g["lr_group"] for g in optimizer.param_groups})
        == len({g["lr_scale"] for g in theirs})
        == depth + 2
    )


def test_a_custom_block_pattern_embeddings_and_final():
    class Stack(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = torch.nn.Linear(2, 2)
            self.stages = torch.nn.ModuleList(torch.nn.Linear(2, 2) for _ in range(3))
            self.out_norm = torch.nn.LayerNorm(2)
            self.fc = torch.nn.Linear(2, 2)

    spec = spec_with(
        layer_decay=0.5,
        layers={
            "num_blocks": 3,
            "block": r"^stages\.(\d+)\.",
            "embeddings": ["stem.*"],
            "final": ["out_norm.*"],
        },
    )
    model = Stack()
    optimizer, _ = confsched.build(spec, model)
    assert [(g["name"], len(g["params"]), g["initial_lr"]) for g in optimizer.param_groups] == [
        ("layer_0", 2, 1e-3 * 0.0625),
        ("layer_1", 2, 1e-3 * 0.125),
        ("layer_2", 2, 1e-3 * 0.25),
        ("layer_3", 4, 1e-3 * 0.5),  # the last stage and the final norm
        ("layer_4", 2, 1e-3),  # fc: the top layer
    ]


def test_num_blocks_must_fit_the_model():
    with pytest.raises(confsched.GroupError) as info:
        confsched.build(layered("hf_bert", num_blocks=12), tiny_hf("hf_bert"))
    assert str(info.value) == (
        "optimizer.layers.num_blocks: 12, but the model's blocks (preset hf_bert) are numbered 0 to 1: "
        "set num_blocks to 2"
    )
    with pytest.raises(confsched.GroupError) as info:
        confsched.build(layered("timm_vit"), tiny_hf("hf_bert"))
    assert str(info.value).startswith(
        "optimizer.layers: preset timm_vit matches no parameter outside optimizer.groups (the model's "
        "parameters: bert.embeddings.word_embeddings.weight, "
    )


def test_layer_decay_groups_plan_on_names():
    spec = layered("timm_vit", num_blocks=1, groups=[{"name": "head", "params": ["head.*"], "lr": 5e-3}])
    names = ["cls_token", "patch_embed.proj.weight", "blocks.0.mlp.fc1.weight", "norm.weight", "head.weight"]
    assert plan_groups(spec.optimizer, names, base_lrs=spec.group_base_lrs) == [
        ParamGroupPlan("layer_0", "layer_0", ("cls_token", "patch_embed.proj.weight"), 1e-3 * 0.5625, 0.05),
        ParamGroupPlan("layer_1", "layer_1", ("blocks.0.mlp.fc1.weight", "norm.weight"), 1e-3 * 0.75, 0.05),
        ParamGroupPlan("head", "head", ("head.weight",), 5e-3, 0.05),  # layer_2 (the top) is empty
    ]
