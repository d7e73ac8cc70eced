"""compose / load / compose_config: Hydra composes, OmegaConf resolves, pydantic validates."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

import confsched
from confsched.errors import ConfigError, SpecError
from confsched.loading import HYDRA_VERSION_BASE, compose_config, shipped_config_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_hydra() -> Iterator[None]:
    """Each test starts and ends without Hydra's global state (hydra-zen's habit)."""
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_compose_defaults_is_the_worked_example(worked_example):
    assert confsched.compose() == confsched.validate(worked_example)


def test_compose_applies_group_and_value_overrides():
    spec = confsched.compose(["scheduler=linear", "scheduler.warmup=10%", "optimizer.lr=3e-4"])
    assert (spec.scheduler.name, spec.warmup_steps, spec.optimizer.lr) == ("linear", 195, 3e-4)


def test_compose_resolves_interpolations_before_validating():
    spec = confsched.compose(["training.max_steps=${data.dataset_size}"])
    assert spec.total_steps == 1235


# ---- errors: one line, the key, a did-you-mean ----------------------------------------------

BAD_OVERRIDES = [
    # (overrides, error type, path, message fragment)
    (["scheduler.warmpu=5"], SpecError, "scheduler.warmpu", "unknown key 'warmpu'; did you mean 'warmup'?"),
    (["scheduler=cosin"], ConfigError, "scheduler", "unknown option 'cosin'; did you mean 'cosine'?"),
    (["optimizer=adamww"], ConfigError, "optimizer", "unknown option 'adamww'; did you mean 'adamw'?"),
    (["schedular=linear"], ConfigError, "schedular", "unknown key 'schedular'; did you mean 'scheduler'?"),
    (["+experiment=bert_fintune"], ConfigError, "experiment", "did you mean 'bert_finetune'?"),
    (["hydra/launcher=joblb"], ConfigError, "hydra/launcher", "did you mean 'joblib'?"),
    (["scheduler.warmup=["], ConfigError, "", "cannot parse override 'scheduler.warmup=['"),
    (["scheduler.warmup=5%,10%"], ConfigError, "", "add -m (--multirun)"),
    (["optimizer.lr=${nope}"], ConfigError, "optimizer.lr", "cannot resolve interpolation"),
    (["+scheduler.warmpu=5"], SpecError, "scheduler.warmpu", "unknown key 'warmpu'; did you mean 'warmup'?"),
    (["scheduler.warmup=5000"], SpecError, "scheduler.warmup", "5000 steps exceeds the run (1950 steps)"),
    (["data.batch_size=abc"], SpecError, "data.batch_size", "valid integer"),
]


@pytest.mark.parametrize(("overrides", "kind", "path", "fragment"), BAD_OVERRIDES)
def test_a_bad_override_is_one_error_naming_the_key(overrides, kind, path, fragment):
    with pytest.raises(kind) as caught:
        confsched.compose(overrides)
    assert type(caught.value) is kind
    assert caught.value.path == path
    assert fragment in caught.value.message
    assert "\n" not in str(caught.value)


def test_a_missing_primary_config_suggests_the_close_name():
    with pytest.raises(ConfigError, match=r"primary config 'confg'; did you mean 'config'\?"):
        confsched.compose(config_name="confg")


def test_a_missing_config_dir_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config directory not found"):
        confsched.compose(config_dir=tmp_path / "nowhere")


# ---- a user's own config directory ----------------------------------------------------------


@pytest.fixture
def user_conf(tmp_path: Path) -> Path:
    """A user's config dir: a primary config, a new scheduler option, and a shadowed shipped one."""
    conf = tmp_path / "conf"
    _write(
        conf / "my_run.yaml",
        """\
        defaults:
          - optimizer: adamw
          - scheduler: my_cosine
          - data: example
          - _self_
        optimizer:
          lr: 3.0e-4
        training:
          epochs: 10
        """,
    )
    _write(conf / "scheduler" / "my_cosine.yaml", "name: cosine\nwarmup: 5%\nnum_cycles: 0.5\n")
    _write(conf / "data" / "example.yaml", "dataset_size: 640\nbatch_size: 32\n")
    return conf


def test_compose_searches_the_user_dir_first_then_the_shipped_tree(user_conf):
    spec = confsched.compose(config_dir=user_conf, config_name="my_run")
    # my_cosine comes from the user's dir, adamw from the shipped tree, and the user's
    # data/example.yaml shadows the shipped one: 640 / 32 = 20 steps per epoch.
    assert (spec.scheduler.name, spec.optimizer.name) == ("cosine", "adamw")
    assert spec.optimizer.betas == (0.9, 0.999)
    assert (spec.steps_per_epoch, spec.total_steps, spec.warmup_steps) == (20, 200, 10)
    assert spec.optimizer.lr == 3e-4


def test_shipped_options_can_be_selected_from_a_user_config(user_conf):
    spec = confsched.compose(["scheduler=linear", "data=mnli"], config_dir=user_conf, config_name="my_run")
    assert (spec.scheduler.name, spec.steps_per_epoch) == ("linear", 12272)


def test_a_yaml_error_in_a_group_file_names_that_file(user_conf, monkeypatch):
    (user_conf / "scheduler" / "my_cosine.yaml").write_text("name: cosine\nwarmup: [5%\n")
    monkeypatch.chdir(user_conf.parent)
    with pytest.raises(ConfigError) as caught:
        confsched.compose(config_dir=user_conf, config_name="my_run")
    assert str(caught.value) == (
        "conf/scheduler/my_cosine.yaml: YAML syntax error at line 3, column 1: "
        "expected ',' or ']', but got '<stream end>' (while parsing a flow sequence at line 2, column 9)"
    )


@pytest.mark.parametrize("entry", ["file://{shipped}", "pkg://confsched.conf"])
def test_a_users_own_hydra_app_can_extend_the_shipped_tree_with_searchpath(tmp_path, entry):
    """The `hydra.searchpath` route: a user's Hydra app (not confsched's) composes the shipped groups,
    by path or as the package `confsched.conf` (in a wheel and in this checkout's editable install)."""
    conf = _write(
        tmp_path / "app" / "train.yaml",
        f"""\
        defaults:
          - optimizer: sgd
          - scheduler: linear
          - data: example
          - _self_
        hydra:
          searchpath:
            - {entry.format(shipped=shipped_config_dir())}
        training:
          epochs: 3
        """,
    ).parent
    with initialize_config_dir(config_dir=str(conf), **HYDRA_VERSION_BASE):
        config = hydra_compose(config_name="train", overrides=["optimizer.lr=0.05"])
    spec = confsched.validate(OmegaConf.to_container(config, resolve=True))
    assert spec == confsched.compose(["optimizer.lr=0.05"], config_dir=conf, config_name="train")
    assert (spec.optimizer.name, spec.total_steps) == ("sgd", 117)


def test_compose_leaves_hydras_global_state_alone(user_conf):
    with initialize_config_dir(config_dir=str(shipped_config_dir()), **HYDRA_VERSION_BASE):
        confsched.compose(["scheduler=linear"], config_dir=user_conf, config_name="my_run")
        assert GlobalHydra.instance().is_initialized()
        assert hydra_compose(config_name="config").training.epochs == 50


def test_compose_config_drops_hydras_node_and_keeps_interpolations():
    config = compose_config(["training.max_steps=${data.dataset_size}"])
    assert "hydra" not in config
    assert OmegaConf.to_container(config)["training"]["max_steps"] == "${data.dataset_size}"


# ---- load: one spec file --------------------------------------------------------------------


def test_load_reads_one_file_with_interpolations(tmp_path, worked_example):
    file = tmp_path / "run.yaml"
    data = dict(worked_example, training={"epochs": 50, "max_steps": "${data.dataset_size}"})
    file.write_text(OmegaConf.to_yaml(OmegaConf.create(data)))
    assert confsched.load(file).total_steps == 1235


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("optimizer: [", "YAML syntax error at line "),
        ("- a\n- b\n", "a spec must be a mapping"),
        ("", "the file is empty"),
        ("training:\n  epochs: ${nope}\n", "training.epochs: cannot resolve interpolation"),
    ],
)
def test_load_errors_name_the_file(tmp_path, text, fragment):
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=r"bad\.yaml: ") as caught:
        confsched.load(file)
    assert fragment in str(caught.value)


def test_the_curve_of_a_composed_spec_is_the_curve_of_the_same_file(tmp_path):
    spec = confsched.compose(["+experiment=llm_wsd"])
    file = tmp_path / "llm.yaml"
    file.write_text(OmegaConf.to_yaml(OmegaConf.create(spec.to_config())))
    assert np.array_equal(confsched.lr_curve(confsched.load(file)), confsched.lr_curve(spec))


# ---- a non-editable install finds the shipped configs ---------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("confsched-*.whl")
    return built


def test_the_wheel_ships_every_config_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"confsched/conf/{p.relative_to(ROOT / 'conf')}" for p in (ROOT / "conf").rglob("*.yaml")}
    assert "confsched/conf/config.yaml" in expected
    assert expected <= names


def test_an_installed_wheel_composes_from_its_own_configs(wheel, tmp_path):
    """Install the wheel (no deps: they are in this venv) into a target dir and use it from there,
    including a user config that extends the shipped tree with `pkg://confsched.conf`."""
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    user = _write(
        tmp_path / "user" / "train.yaml",
        """\
        defaults:
          - optimizer: adamw
          - scheduler: linear
          - data: example
          - _self_
        hydra:
          searchpath: [pkg://confsched.conf]
        training:
          epochs: 4
        """,
    ).parent
    script = textwrap.dedent(
        f"""\
        import warnings; warnings.simplefilter("error")
        import confsched
        from confsched.loading import HYDRA_VERSION_BASE, shipped_config_dir
        from hydra import compose, initialize_config_dir
        from omegaconf import OmegaConf
        print(confsched.__file__)
        print(shipped_config_dir())
        print(confsched.compose(["scheduler=linear"]).total_steps)
        with initialize_config_dir(config_dir={str(user)!r}, **HYDRA_VERSION_BASE):
            config = compose(config_name="train")
        print(confsched.validate(OmegaConf.to_container(config, resolve=True)).total_steps)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    module, conf, total, user_total = result.stdout.split()
    assert Path(module).is_relative_to(site)
    assert Path(conf) == site / "confsched" / "conf"
    assert (total, user_total) == ("1950", "156")
