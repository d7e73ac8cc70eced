"""The shipped config tree: one file per registry entry, and every file composes and validates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra.core.global_hydra import GlobalHydra

import confsched
from confsched.loading import HYDRA_VERSION_BASE, compose_config, shipped_config_dir

CONF = shipped_config_dir()


@pytest.fixture(autouse=True)
def clean_hydra() -> Iterator[None]:
    """Each test starts and ends without Hydra's global state (hydra-zen's habit)."""
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_the_shipped_tree_is_the_checkout_conf_dir():
    assert Path(__file__).resolve().parents[1] / "conf" == CONF


def test_one_scheduler_file_per_family_named_as_the_family():
    assert _options("scheduler") == sorted(confsched.FAMILIES)
    for name in confsched.FAMILIES:
        assert yaml.safe_load((CONF / "scheduler" / f"{name}.yaml").read_text())["name"] == name


def test_one_optimizer_file_per_allowed_optimizer():
    assert _options("optimizer") == sorted(confsched.OPTIMIZERS)
    for name in confsched.OPTIMIZERS:
        assert yaml.safe_load((CONF / "optimizer" / f"{name}.yaml").read_text())["name"] == name


@pytest.mark.parametrize("family", _options("scheduler"))
def test_every_family_file_has_warmup_so_a_sweep_can_override_it(family):
    """`-m scheduler=linear,cosine scheduler.warmup=5%,10%` needs the key in every option."""
    assert "warmup" in yaml.safe_load((CONF / "scheduler" / f"{family}.yaml").read_text())


@pytest.mark.parametrize(
    ("group", "option"),
    [(group, option) for group in ("optimizer", "scheduler", "data") for option in _options(group)],
)
def test_every_group_option_composes_and_validates(group, option):
    spec = confsched.compose([f"{group}={option}"])
    assert spec.total_steps > 0
    section = getattr(spec, group)
    if group != "data":
        assert section.name == option


EXPERIMENTS = {
    # name: (family, optimizer, total steps, warmup steps, groups)
    "bert_finetune": ("linear", "adamw", 36816, 2209, ("default", "classifier")),
    "llm_tokens": ("warmup_stable_decay", "adamw", 245307, 1908, ("default",)),
    "llm_wsd": ("warmup_stable_decay", "adamw", 20000, 2000, ("default",)),
    "resnet_imagenet": ("cosine", "sgd", 56250, 3125, ("default",)),
    "vit_finetune": (
        "cosine_with_min_lr",
        "adamw",
        125100,
        6255,
        (*(f"layer_{i}" for i in range(14)), "head"),
    ),
}


def test_the_experiment_table_lists_every_preset():
    assert sorted(EXPERIMENTS) == _options("experiment")


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_composes_to_its_documented_figures(name):
    family, optimizer, total, warmup, groups = EXPERIMENTS[name]
    spec = confsched.compose([f"+experiment={name}"])
    assert (spec.scheduler.name, spec.optimizer.name) == (family, optimizer)
    assert (spec.total_steps, spec.warmup_steps, spec.group_names) == (total, warmup, groups)


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_is_global_and_states_its_command(name):
    text = (CONF / "experiment" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_\n")
    assert f"confsched plot +experiment={name}" in text


def test_an_experiment_still_takes_overrides_after_it():
    spec = confsched.compose(["+experiment=bert_finetune", "scheduler=cosine", "training.epochs=2"])
    assert (spec.scheduler.name, spec.total_steps, spec.warmup_steps) == ("cosine", 24544, 1473)


def test_the_help_template_composes():
    config = compose_config(["hydra/help=confsched"])
    assert set(config) == {"optimizer", "scheduler", "data", "training"}


def _with_hydra(overrides: list[str]) -> Any:
    """The composed config with its ``hydra`` node (what the launcher and sweeper are given)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(CONF), **HYDRA_VERSION_BASE):
        return compose("config", overrides, return_hydra_config=True)


def test_the_optuna_preset_searches_confsched_knobs_and_every_corner_validates():
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="the optuna extra is not installed")
    from hydra.core.override_parser.overrides_parser import OverridesParser

    hydra = _with_hydra(["+hparams_search=optuna"]).hydra
    assert (hydra.mode.name, hydra.sweeper.direction, hydra.sweeper.sampler.seed) == (
        "MULTIRUN",
        "maximize",
        0,
    )
    assert hydra.sweeper._target_ == "hydra_plugins.confsched_sweepers.optuna_sweeper.OptunaSweeper"
    params = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in hydra.sweeper.params.items()])
    family, warmup, lr = params
    assert (family.key_or_group, warmup.key_or_group, lr.key_or_group) == (
        "scheduler",
        "scheduler.warmup",
        "optimizer.lr",
    )
    families = list(family.sweep_string_iterator())
    assert len(families) >= 3
    assert set(families) <= set(confsched.FAMILIES)
    assert (warmup.value().start, warmup.value().end) == (0.0, 0.3)  # a fraction of the run
    assert (lr.value().start, lr.value().end, lr.value().tags) == (1e-4, 3e-2, {"log"})  # log-uniform
    for name in families:  # no corner of the space is an invalid trial
        for fraction in (warmup.value().start, warmup.value().end):
            for value in (lr.value().start, lr.value().end):
                spec = confsched.compose(
                    [f"scheduler={name}", f"scheduler.warmup={fraction}", f"optimizer.lr={value}"]
                )
                assert spec.warmup_steps == round(fraction * spec.total_steps)


def test_the_slurm_launcher_config_sets_the_knobs_people_set():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="the slurm extra is not installed")
    launcher = _with_hydra(["hydra/launcher=slurm", "hydra.launcher.partition=gpu"]).hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    knobs = (
        "partition",
        "gpus_per_node",
        "cpus_per_task",
        "mem_gb",
        "timeout_min",
        "array_parallelism",
        "nodes",
    )
    assert [launcher[k] for k in knobs] == ["gpu", None, 2, 8, 60, 32, 1]
    text = (CONF / "hydra" / "launcher" / "slurm.yaml").read_text()
    assert all(f"\n{k}: " in text for k in knobs)  # each documented in the file


def test_every_yaml_file_under_conf_is_covered_by_a_test_above():
    covered = {
        "config.yaml",
        "hydra/help/confsched.yaml",
        "hydra/launcher/slurm.yaml",
        "hparams_search/optuna.yaml",
    }
    for group in ("optimizer", "scheduler", "data", "experiment"):
        covered |= {f"{group}/{option}.yaml" for option in _options(group)}
    assert {str(p.relative_to(CONF)) for p in CONF.rglob("*.yaml")} == covered


def test_the_vit_finetune_preset_scales_the_lr_and_decays_it_by_layer():
    spec = confsched.compose(["+experiment=vit_finetune"])
    assert spec.lr == 5e-4 * (1024 / 256)
    lrs = spec.group_base_lrs
    assert [lrs[f"layer_{i}"] for i in range(14)] == [spec.lr * 0.65 ** (13 - i) for i in range(14)]
    assert lrs["head"] == spec.lr * 10.0


@pytest.mark.parametrize("decay", [0.65, 0.75, 0.85])
def test_layer_decay_is_an_override(decay):
    spec = confsched.compose(["+experiment=vit_finetune", f"optimizer.layer_decay={decay}"])
    assert spec.group_base_lrs["layer_0"] == spec.lr * decay**13


# a value other than the default for each knob every family model has (SchedulerBase)
_SHARED_KNOB_TRIALS: dict[str, Any] = {
    "warmup_shape": "cosine",
    "warmup_start": 0.1,
    "warmup_prefix": False,
    "warmup_rounding": "floor",
    "hold": 10,
    "floor_lr": 1e-6,
    "after_run_lr": 1e-6,
    "noise": {"start": "50%"},
}


@pytest.mark.parametrize("family", _options("scheduler"))
def test_a_family_file_leaves_out_only_the_shared_knobs_its_family_refuses(family):
    """Every key of the family's model is in its file (so `--cfg job` shows it), except a shared
    knob the family refuses: setting that one is an error at its own path."""
    shipped = yaml.safe_load((CONF / "scheduler" / f"{family}.yaml").read_text())
    model_fields = set(confsched.FAMILIES[family].model.model_fields)
    assert set(shipped) <= model_fields
    for knob in sorted(model_fields - set(shipped)):
        assert knob in _SHARED_KNOB_TRIALS, f"{family}.yaml lacks its own knob {knob}"
        scheduler = {**shipped, knob: _SHARED_KNOB_TRIALS[knob]}
        with pytest.raises(confsched.SpecError) as refused:
            confsched.validate({**confsched.compose().to_config(), "scheduler": scheduler})
        assert str(refused.value).startswith(f"scheduler.{knob}"), (family, knob, str(refused.value))
