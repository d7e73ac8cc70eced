"""The "Overrides" table of docs/cli.md, row by row: on a user's own spec file (no defaults list), on the
shipped tree, and under ``-m`` (the pre-check every sweep job goes through), in Python; then the
installed ``confsched`` command in a subprocess for show, plot -m and diff, and a user's own
``@hydra.main`` application with ``confsched.from_hydra``."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from hydra.core.global_hydra import GlobalHydra

import confsched
from confsched.compose.primary import open_primary
from confsched.compose.sweep import check_jobs
from confsched.errors import ConfigError, SpecError

RUN_YAML = """\
optimizer:
  name: adamw
  lr: 1.0e-3
scheduler:
  name: cosine_with_restarts
  warmup: 100
  num_cycles: 2
data:
  dataset_size: 1235
  batch_size: 32
training:
  epochs: 50
"""
"""The issue's spec file: self-contained, no defaults list."""

CONFSCHED = shutil.which("confsched")


@pytest.fixture(autouse=True)
def clean_hydra() -> Iterator[None]:
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    file = tmp_path / "run.yaml"
    file.write_text(RUN_YAML)
    return file


@pytest.fixture(params=["file", "tree"])
def where(request: pytest.FixtureRequest, run_file: Path) -> str:
    return str(request.param)


def compose(where: str, run_file: Path, *overrides: str) -> confsched.Spec:
    """``confsched show run.yaml OVERRIDES`` (file) or ``confsched show OVERRIDES`` (tree), in Python."""
    if where == "file":
        return confsched.compose(list(overrides), config_dir=run_file.parent, config_name="run")
    return confsched.compose(list(overrides))


def keys(family: str) -> str:
    """The knobs of a family, as an error lists them (read from its spec model)."""
    return ", ".join(sorted(confsched.FAMILIES[family].model.model_fields))


def sweep(run_file: Path, *overrides: str) -> dict[tuple[str, ...], confsched.Spec]:
    """What ``confsched plot run.yaml -m OVERRIDES`` validates before the first job: each job's spec."""
    specs: dict[tuple[str, ...], confsched.Spec] = {}
    with open_primary(run_file.parent, "run", "run.yaml") as primary:
        check_jobs(
            primary,
            [],
            [],
            list(overrides),
            validate_specs=True,
            multirun=True,
            each=lambda _, task, spec: specs.setdefault(tuple(sorted(o.lstrip("+") for o in task)), spec),
        )
    return specs


# ---- 1. a group option replaces the section ---------------------------------------------------


def test_a_group_option_replaces_the_section_and_keeps_the_others(where, run_file):
    spec = compose(where, run_file, "scheduler=cosine")
    assert spec.scheduler == confsched.compose().scheduler  # conf/scheduler/cosine.yaml, whole
    assert spec.scheduler.num_cycles == 0.5  # not the file's 2: the option replaces the section
    assert (spec.optimizer.lr, spec.total_steps) == (1e-3, 1950)
    # a later key=value applies on top, whatever its place on the command line
    before = compose(where, run_file, "scheduler.warmup=10", "scheduler=linear")
    assert (before.scheduler.name, before.warmup_steps) == ("linear", 10)
    assert compose(where, run_file, "data=mnli").steps_per_epoch == 12272
    sgd = compose(where, run_file, "optimizer=sgd")
    assert (sgd.optimizer.name, sgd.optimizer.lr, sgd.optimizer.momentum) == ("sgd", 0.1, 0.9)


def test_an_option_beside_the_file_shadows_the_shipped_one(run_file):
    (run_file.parent / "scheduler").mkdir()
    (run_file.parent / "scheduler" / "cosine.yaml").write_text("name: cosine\nwarmup: 7\nnum_cycles: 1.5\n")
    spec = compose("file", run_file, "scheduler=cosine")
    assert (spec.warmup_steps, spec.scheduler.num_cycles) == (7, 1.5)
    assert compose("file", run_file).scheduler.name == "cosine_with_restarts"  # the file itself


def test_a_group_option_under_m(run_file):
    jobs = sweep(run_file, "scheduler=linear,cosine", "scheduler.warmup=5%")
    assert sorted(jobs) == [
        ("scheduler.warmup=5%", "scheduler=cosine"),
        ("scheduler.warmup=5%", "scheduler=linear"),
    ]
    for key, spec in jobs.items():
        assert spec.scheduler.name in key[1]
        assert (spec.warmup_steps, spec.optimizer.lr) == (98, 1e-3)


# ---- 2. changing a family re-types its section --------------------------------------------------


def test_changing_the_family_keeps_shared_knobs_and_drops_the_old_ones_with_a_note(where, run_file, capsys):
    spec = compose(where, run_file, "scheduler.name=linear")
    assert (
        spec.scheduler
        == confsched.validate({**RUN_SPEC, "scheduler": {"name": "linear", "warmup": 100}}).scheduler
    )
    assert capsys.readouterr().err == "note: scheduler.num_cycles dropped: linear has no such knob\n"


def test_changing_the_optimizer_keeps_the_common_keys(where, run_file, capsys):
    spec = compose(where, run_file, "optimizer.name=sgd", "optimizer.momentum=0.9")
    assert (spec.optimizer.name, spec.optimizer.lr, spec.optimizer.momentum) == ("sgd", 1e-3, 0.9)
    dropped = [line.split()[1].split(".")[1] for line in capsys.readouterr().err.splitlines()]
    assert dropped == ([] if where == "file" else ["betas", "eps", "amsgrad"])  # the file sets none
    if where == "tree":
        assert spec.optimizer.weight_decay == 0.01  # adamw.yaml's, a knob sgd has too


def test_a_knob_the_user_typed_that_the_new_family_lacks_is_an_error(where, run_file):
    with pytest.raises(SpecError) as caught:
        compose(where, run_file, "scheduler.name=linear", "scheduler.num_cycles=3")
    assert caught.value.path == "scheduler.num_cycles"
    assert caught.value.message == f"unknown key 'num_cycles' (allowed here: {keys('linear')})"
    with pytest.raises(SpecError, match=r"unknown key 'powr'; did you mean 'power'\?"):
        compose(where, run_file, "scheduler.name=polynomial", "scheduler.powr=2")


def test_a_family_change_under_m(run_file):
    jobs = sweep(run_file, "scheduler.name=linear,polynomial", "scheduler.warmup=10")
    assert sorted(spec.scheduler.name for spec in jobs.values()) == ["linear", "polynomial"]
    with pytest.raises(SpecError) as caught:
        sweep(run_file, "scheduler.name=polynomial,linear", "scheduler.power=2")
    assert caught.value.source == "run.yaml, job 1 (scheduler.name=linear scheduler.power=2)"
    assert caught.value.path == "scheduler.power"


# ---- 3. known keys need no + ---------------------------------------------------------------------


def test_known_keys_need_no_plus(where, run_file):
    spec = compose(
        where, run_file, "scheduler.name=polynomial", "scheduler.power=2", "training.max_steps=500"
    )
    assert (spec.scheduler.power, spec.total_steps) == (2.0, 500)
    spec = compose(where, run_file, "data.drop_last=true", "optimizer.groups=[{name: head, params: [h.*]}]")
    assert spec.data.drop_last
    spec = compose(
        where, run_file, "optimizer.groups=[{name: head, params: [h.*]}]", "optimizer.groups.0.lr_scale=3"
    )
    assert spec.group_base_lrs["head"] == pytest.approx(3e-3)
    assert compose(where, run_file, "+scheduler.warmup=5").warmup_steps == 5  # a + too many is fine


def test_unknown_keys_still_fail_with_a_did_you_mean_every_one_at_once(where, run_file):
    with pytest.raises(SpecError) as caught:
        compose(where, run_file, "scheduler.warmpu=5", "training.max_step=9")
    assert [(p.path, p.message.split(" (")[0]) for p in caught.value.problems] == [
        ("scheduler.warmpu", "unknown key 'warmpu'; did you mean 'warmup'?"),
        ("training.max_step", "unknown key 'max_step'; did you mean 'max_steps'?"),
    ]
    with pytest.raises(ConfigError, match=r"^schedular: unknown key 'schedular'; did you mean 'scheduler'\?"):
        compose(where, run_file, "schedular.warmup=5")


def test_known_keys_under_m(run_file):
    jobs = sweep(run_file, "scheduler.name=polynomial", "scheduler.power=1,2")
    assert sorted(spec.scheduler.power for spec in jobs.values()) == [1.0, 2.0]


# ---- 4. experiments explain themselves -----------------------------------------------------------


def test_experiment_without_plus_adds_the_experiment(where, run_file):
    spec = compose(where, run_file, "experiment=bert_finetune")
    assert spec == compose(where, run_file, "+experiment=bert_finetune")
    assert (spec.scheduler.name, spec.total_steps, spec.group_names) == (
        "linear",
        36816,
        ("default", "classifier"),
    )


def test_a_swap_after_an_experiment_drops_its_keys_and_names_it(where, run_file, capsys):
    spec = compose(where, run_file, "+experiment=bert_finetune", "optimizer=sgd")
    assert (spec.optimizer.name, spec.optimizer.lr, spec.group_names) == (
        "sgd",
        2e-5,
        ("default", "classifier"),
    )
    assert capsys.readouterr().err.splitlines() == [
        "note: optimizer.betas (set by experiment/bert_finetune) dropped: sgd has no such knob",
        "note: optimizer.eps (set by experiment/bert_finetune) dropped: sgd has no such knob",
    ]


def test_a_value_an_experiment_set_names_it_when_it_conflicts(where, run_file):
    with pytest.raises(SpecError) as caught:
        compose(where, run_file, "+experiment=resnet_imagenet", "scheduler=one_cycle")
    assert str(caught.value) == (
        "scheduler.warmup (set by experiment/resnet_imagenet): 5ep = 3125 steps: one_cycle warms up "
        "itself, over pct_start of the run; set warmup: 0"
    )


def test_experiments_under_m(run_file):
    jobs = sweep(run_file, "experiment=bert_finetune,llm_wsd", "optimizer=sgd")
    assert sorted(spec.scheduler.name for spec in jobs.values()) == ["linear", "warmup_stable_decay"]


# ---- 5. every problem, each on its line ----------------------------------------------------------


def test_every_problem_of_a_composed_spec(where, run_file):
    with pytest.raises(SpecError) as caught:
        compose(where, run_file, "optimizer.lr=-1", "data.batch_size=0", "scheduler.warmpu=5")
    assert [p.path for p in caught.value.problems] == ["optimizer.lr", "scheduler.warmpu", "data.batch_size"]
    assert len(str(caught.value).splitlines()) == 3


def test_every_problem_under_m_names_the_job(run_file):
    with pytest.raises(SpecError) as caught:
        sweep(run_file, "optimizer.lr=-1,0.1", "data.batch_size=0")
    assert [p.source for p in caught.value.problems] == [
        "run.yaml, job 0 (optimizer.lr=-1 data.batch_size=0)"
    ] * 2


# ---- the command itself ----------------------------------------------------------------------------

RUN_SPEC = {
    "optimizer": {"name": "adamw", "lr": 1e-3},
    "scheduler": {"name": "cosine_with_restarts", "warmup": 100, "num_cycles": 2},
    "data": {"dataset_size": 1235, "batch_size": 32},
    "training": {"epochs": 50},
}

needs_cli = pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert CONFSCHED is not None
    return subprocess.run(
        [CONFSCHED, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


@needs_cli
def test_cli_show_on_a_spec_file_re_types_and_takes_known_keys(run_file):
    result = cli(
        "show",
        "run.yaml",
        "scheduler.name=polynomial",
        "scheduler.power=2",
        "data.drop_last=true",
        cwd=run_file.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "note: run.yaml: scheduler.num_cycles dropped: polynomial has no such knob\n"
    shown = yaml.safe_load(result.stdout.split("\n\n")[0])
    assert (shown["scheduler"]["name"], shown["scheduler"]["warmup"], shown["scheduler"]["power"]) == (
        "polynomial",
        100,
        2.0,
    )
    assert "num_cycles" not in shown["scheduler"]
    assert "drop_last: true" in result.stdout
    assert "batches per epoch = floor(1235 / 32) = 38;" in result.stdout


@needs_cli
def test_cli_plot_m_on_a_spec_file_swaps_the_group_per_job(run_file):
    args = [
        "plot",
        "run.yaml",
        "-m",
        "scheduler=linear,cosine",
        "scheduler.warmup=5%",
        "hydra.sweep.dir=sweep",
    ]
    result = cli(*args, cwd=run_file.parent)
    assert result.returncode == 0, result.stderr
    for job, family in enumerate(["linear", "cosine"]):
        with (run_file.parent / "sweep" / str(job) / "lr_schedule.csv").open() as file:
            values = np.array([[float(x) for x in row[1:]] for row in list(csv.reader(file))[1:]])
        spec = compose("file", run_file, f"scheduler={family}", "scheduler.warmup=5%")
        assert np.array_equal(values, confsched.lr_curve(spec))
    with (run_file.parent / "sweep" / "sweep_report.csv").open() as file:
        assert [(row["overrides"], row["family"]) for row in csv.DictReader(file)] == [
            ("scheduler=linear scheduler.warmup=5%", "linear"),
            ("scheduler=cosine scheduler.warmup=5%", "cosine"),
        ]


@needs_cli
def test_cli_show_on_the_tree_experiment_without_plus_and_a_swap_after_it(tmp_path):
    result = cli("show", "experiment=bert_finetune", "optimizer=sgd", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "note: optimizer.betas (set by experiment/bert_finetune) dropped: sgd has no such knob",
        "note: optimizer.eps (set by experiment/bert_finetune) dropped: sgd has no such knob",
    ]
    assert "optimizer:\n  name: sgd\n  lr: 2.0e-05\n" in result.stdout
    assert list(tmp_path.iterdir()) == []


@needs_cli
def test_cli_reports_every_problem_on_its_line_and_exits_2(run_file):
    result = cli(
        "show", "run.yaml", "optimizer.lr=-1", "data.batch_size=0", "scheduler.warmpu=5", cwd=run_file.parent
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "error: run.yaml: optimizer.lr: must be greater than 0 (got -1)",
        "error: run.yaml: scheduler.warmpu: unknown key 'warmpu'; did you mean 'warmup'? "
        f"(allowed here: {keys('cosine_with_restarts')})",
        "error: run.yaml: data.batch_size: must be greater than 0 (got 0)",
    ]


@needs_cli
def test_cli_diff_and_config_dir_on_spec_files_without_a_defaults_list(run_file):
    (run_file.parent / "longer.yaml").write_text(RUN_YAML.replace("epochs: 50", "epochs: 60"))
    result = cli(
        "diff", "run.yaml", "longer.yaml", "scheduler=linear", "hydra.run.dir=d", cwd=run_file.parent
    )
    assert result.returncode == 0, result.stderr
    assert "changed fields:\n  training.epochs: 50 -> 60\ntotal steps: 1950 -> 2340\n" in result.stdout
    result = cli("show", "--config-dir", ".", "--config-name", "run", "data=mnli", cwd=run_file.parent)
    assert result.returncode == 0, result.stderr
    assert "steps per epoch: 12272" in result.stdout


def test_a_users_own_hydra_app_with_from_hydra(tmp_path):
    """The user's ``@hydra.main`` app extending the shipped tree: a family change drops the old
    knobs with a note, and every problem is reported; Hydra itself still wants ``++`` for a key the
    composed config lacks and ``+experiment``."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "train.yaml").write_text(
        "defaults: [{optimizer: adamw}, {scheduler: cosine_with_restarts}, {data: example}, _self_]\n"
        "hydra:\n  searchpath: [pkg://confsched.conf]\ntraining:\n  epochs: 3\n"
    )
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """\
            import hydra, confsched
            from confsched.loading import HYDRA_VERSION_BASE

            @hydra.main(config_path="conf", config_name="train", **HYDRA_VERSION_BASE)
            def main(cfg):
                try:
                    spec = confsched.from_hydra(cfg)
                except confsched.ConfschedError as error:
                    print(confsched.render(error))
                    return
                print(spec.scheduler.name, spec.optimizer.name, spec.total_steps)

            main()
            """
        )
    )

    def app(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "app.py", *args, "hydra.run.dir=out"]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120)

    result = app(
        "+experiment=bert_finetune", "optimizer=sgd", "scheduler.name=polynomial", "++scheduler.power=2"
    )
    assert result.stdout == "polynomial sgd 36816\n", result.stderr
    assert result.stderr.splitlines() == [
        "note: optimizer.betas (set by experiment/bert_finetune) dropped: sgd has no such knob",
        "note: optimizer.eps (set by experiment/bert_finetune) dropped: sgd has no such knob",
    ]
    result = app("optimizer.lr=-1", "data.batch_size=0")
    assert result.stdout.splitlines() == [
        "error: optimizer.lr: must be greater than 0 (got -1)",
        "error: data.batch_size: must be greater than 0 (got 0)",
    ]


def test_where_hydra_refuses_the_line_says_what_works(where, run_file):
    with pytest.raises(ConfigError) as caught:
        compose(where, run_file, "+experiment=bert_finetune", "+experiment=llm_wsd")
    assert str(caught.value) == (
        "experiment: experiment is chosen 2 times (+experiment=bert_finetune +experiment=llm_wsd): give one"
    )
    with pytest.raises(ConfigError) as caught:
        compose("tree", run_file, "optimizer.groups.3.lr=1")  # the tree's optimizer has groups: []
    assert str(caught.value) == (
        "optimizer.groups[3]: the list has no such item: set the whole list to add one (key=[...])"
    )


@needs_cli
def test_tab_completion_on_a_spec_file_offers_the_group_options(run_file):
    env_line = "confsched plot run.yaml scheduler=cos"
    result = subprocess.run(
        [CONFSCHED or "", "-sc", "query=bash"],
        cwd=run_file.parent,
        env={**os.environ, "COMP_LINE": env_line},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert "scheduler=cosine scheduler=cosine_cycles" in result.stdout, result.stderr


def test_every_section_typed_by_name_is_re_typed(tmp_path, capsys):
    """Not only ``scheduler`` and ``optimizer``: any mapping the schema types by ``name``
    (``weight_decay_scheduler``, ``group_schedulers.<group>.scheduler``)."""
    file = tmp_path / "wd.yaml"
    file.write_text(
        RUN_YAML
        + "weight_decay_scheduler: {name: cosine, num_cycles: 1.0}\n"
        + "group_schedulers: {default: {scheduler: {name: step, step_size: 100, gamma: 0.5}}}\n"
    )
    overrides = ["weight_decay_scheduler.name=linear", "group_schedulers.default.scheduler.name=linear"]
    spec = confsched.compose(overrides, config_dir=tmp_path, config_name="wd")
    assert spec.weight_decay_scheduler is not None
    assert spec.weight_decay_scheduler.name == "linear"
    assert capsys.readouterr().err.splitlines() == [
        "note: weight_decay_scheduler.num_cycles dropped: linear has no such knob",
        "note: group_schedulers.default.scheduler.step_size dropped: linear has no such knob",
        "note: group_schedulers.default.scheduler.gamma dropped: linear has no such knob",
    ]
