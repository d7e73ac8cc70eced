"""Sweeps beyond one machine: each Hydra launcher runs a real sweep, the report, the Optuna study.

Every launcher runs the same two sweeps as Hydra's basic launcher, and must leave the same outputs:
``confsched plot -m`` (each job's exact CSV, its ``confsched_job.json`` and the report's table) and
``examples/train_digits.py -m`` (each job's test accuracy, trained for one epoch of a small CNN).

- joblib and ``submitit_local``: run here, as they would on a workstation;
- ``hydra/launcher=slurm`` (confsched's ``conf/hydra/launcher/slurm.yaml`` on top of submitit's
  SLURM launcher): submitit writes its real sbatch script and submits it to a stand-in for SLURM
  (``tests/fake_slurm.py``) that runs the job array's elements here;
- Ray: on a one-CPU local Ray cluster that the test starts and stops. Ray is a 240 MB install
  whose cluster takes 5 s to start, so these tests are marked ``slow`` and need the ``ray`` extra.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from omegaconf import OmegaConf

import confsched
from confsched.integrations.sweep import JOB_FILE, JobResult, read_result, write_result
from confsched.report import REPORT_CSV, REPORT_MD, REPORT_PNG, read_sweep
from tests import fake_slurm
from tests.test_examples import SHORT

ROOT = Path(__file__).resolve().parents[1]
CONFSCHED = shutil.which("confsched")
EXAMPLE = ROOT / "examples" / "train_digits.py"

PLOT_SWEEP = ("-m", "scheduler=linear,cosine", "scheduler.warmup=5%")
EXAMPLE_SWEEP = ("-m", "scheduler=linear,cosine", *SHORT)
"""The documented sweep of the example (docs/training.md), 2 epochs (as tests/test_examples.py runs it)."""


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


needs_cli = pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")
needs_sklearn = pytest.mark.skipif(not _has("sklearn"), reason="the examples extra is not installed")


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def plot_sweep(sweep_dir: Path, *launcher: str, env: dict[str, str] | None = None) -> str:
    assert CONFSCHED is not None
    args = [
        CONFSCHED,
        "plot",
        *PLOT_SWEEP,
        *launcher,
        f"hydra.sweep.dir={sweep_dir}",
    ]  # absolute: Ray workers run elsewhere
    return run(args, sweep_dir.parent, env).stdout


def example_sweep(sweep_dir: Path, *launcher: str, env: dict[str, str] | None = None) -> str:
    args = [
        sys.executable,
        str(EXAMPLE),
        *EXAMPLE_SWEEP,
        *launcher,
        f"hydra.sweep.dir={sweep_dir}",
    ]  # absolute: Ray workers run elsewhere
    return run(args, sweep_dir.parent, env).stdout


def results(sweep_dir: Path) -> list[JobResult]:
    return [read_result(path) for path in sorted(sweep_dir.glob(f"*/{JOB_FILE}"))]


def same_plot_outputs(sweep_dir: Path, basic: Path) -> None:
    """Each job's CSV bit for bit, its result file and the report's table equal the basic launcher's."""
    for job in ("0", "1"):
        assert (sweep_dir / job / "lr_schedule.csv").read_bytes() == (
            basic / job / "lr_schedule.csv"
        ).read_bytes()
        assert (sweep_dir / job / "lr_schedule.png").is_file()
    assert results(sweep_dir) == results(basic)
    assert [r.status for r in results(sweep_dir)] == ["completed", "completed"]
    assert (sweep_dir / REPORT_CSV).read_text() == (basic / REPORT_CSV).read_text()
    assert (sweep_dir / REPORT_PNG).is_file()


def same_example_outputs(sweep_dir: Path, basic: Path) -> None:
    """Each job's spec and test accuracy (the same training in another process) equal the basic one's."""
    ours, theirs = results(sweep_dir), results(basic)
    assert [r.overrides for r in ours] == [r.overrides for r in theirs]
    assert [r.spec for r in ours] == [r.spec for r in theirs]
    assert [r.metrics for r in ours] == [r.metrics for r in theirs]
    assert all(0.3 < r.metrics["test_accuracy"] <= 1 for r in ours), ours


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Path]:
    """The two sweeps with Hydra's basic launcher (jobs one after another, in this process)."""
    found = {"plot": tmp_path_factory.mktemp("basic") / "plot"}
    if _has("sklearn"):
        found["example"] = request.getfixturevalue("readme_sweep").sweep_dir
    if CONFSCHED is not None:
        plot_sweep(found["plot"])
    return found


# ---- the basic launcher's own outputs ---------------------------------------------------------


@needs_cli
def test_plot_m_ends_with_the_report_of_its_jobs(basic):
    sweep = basic["plot"]
    for job, family in enumerate(["linear", "cosine"]):
        values = np.loadtxt(sweep / str(job) / "lr_schedule.csv", delimiter=",", skiprows=1, ndmin=2)
        assert np.array_equal(
            values[:, 1:],
            confsched.lr_curve(confsched.compose([f"scheduler={family}", "scheduler.warmup=5%"])),
        )
    with (sweep / REPORT_CSV).open() as file:
        rows = list(csv.DictReader(file))
    assert [(r["job"], r["status"], r["scheduler"], r["total_steps"], r["warmup_steps"]) for r in rows] == [
        ("0", "completed", "linear", "1950", "98"),
        ("1", "completed", "cosine", "1950", "98"),
    ]
    assert [float(r["peak_lr"]) for r in rows] == [0.001, 0.001]
    assert [r["overrides"] for r in rows] == [
        "scheduler=linear scheduler.warmup=5%",
        "scheduler=cosine scheduler.warmup=5%",
    ]
    assert "scheduler.warmup" not in rows[0]  # the same in every job: not a swept knob
    assert (sweep / REPORT_MD).read_text().startswith(f"# Sweep {sweep.name}: 2 jobs\n\n| job | status ")
    assert (sweep / REPORT_PNG).read_bytes().startswith(b"\x89PNG")


@needs_sklearn
def test_each_training_job_records_its_spec_and_accuracy(basic):
    (first, second) = results(basic["example"])
    assert (first.job, first.status, first.overrides) == (0, "completed", ("scheduler=linear", *SHORT))
    assert second.overrides[0] == "scheduler=cosine"
    assert first.spec is not None
    assert (first.spec["scheduler"]["name"], first.spec["training"]["epochs"]) == ("linear", 2)
    assert set(first.metrics) == {"test_accuracy"}
    sweep = read_sweep(basic["example"])
    assert (sweep.knobs, sweep.metrics) == (("scheduler",), ("test_accuracy",))


# ---- every launcher, the same outputs -----------------------------------------------------------


@pytest.fixture
def slurm(tmp_path: Path) -> dict[str, str]:
    """The stand-in for SLURM first on PATH (its state in ``tmp_path/slurm``)."""
    return fake_slurm.install(tmp_path / "bin", tmp_path / "slurm")


SLURM = (
    "hydra/launcher=slurm",
    "hydra.launcher.partition=debug",
    "hydra.launcher.gpus_per_node=1",
    "hydra.launcher.timeout_min=7",
    "hydra.launcher.array_parallelism=1",
)


SBATCH = {
    "#SBATCH --partition=debug",
    "#SBATCH --gpus-per-node=1",
    "#SBATCH --time=7",
    "#SBATCH --array=0-1%1",  # both jobs in one array, one at a time
    "#SBATCH --cpus-per-task=2",  # conf/hydra/launcher/slurm.yaml's
    "#SBATCH --mem=8GB",
}
"""What :data:`SLURM` and ``conf/hydra/launcher/slurm.yaml`` put in the sbatch script."""


def sbatch_lines(tmp_path: Path) -> set[str]:
    (script,) = (tmp_path / "slurm").glob("*.sh")
    return {line for line in script.read_text().splitlines() if line.startswith("#SBATCH")}


@needs_cli
@pytest.mark.parametrize(
    "launcher",
    [
        pytest.param(("hydra/launcher=joblib", "hydra.launcher.n_jobs=2"), id="joblib"),
        # a process per job: the sweep of a user's spec file below runs on it in the quick suite
        pytest.param(("hydra/launcher=submitit_local",), id="submitit_local", marks=pytest.mark.slow),
    ],
)
def test_a_plot_sweep_on_a_local_launcher_equals_the_basic_one(launcher, basic, tmp_path):
    assert CONFSCHED is not None
    args = [CONFSCHED, "plot", *PLOT_SWEEP, *launcher, "hydra.sweep.dir=sweep"]
    assert "Warning" not in run(args, tmp_path).stderr
    same_plot_outputs(tmp_path / "sweep", basic["plot"])


@pytest.mark.slow  # the training sweep below goes through the same stand-in, and checks the knobs too
@needs_cli
def test_a_plot_sweep_through_slurm_is_one_job_array_with_the_documented_knobs(basic, slurm, tmp_path):
    plot_sweep(tmp_path / "sweep", *SLURM, env=slurm)
    same_plot_outputs(tmp_path / "sweep", basic["plot"])
    assert sbatch_lines(tmp_path) >= SBATCH


@pytest.mark.slow  # 2 x 2 fresh processes importing torch and scikit-learn: the SLURM test below runs them
@needs_sklearn
@pytest.mark.parametrize(
    "launcher",
    [
        pytest.param(("hydra/launcher=joblib", "hydra.launcher.n_jobs=2"), id="joblib"),
        pytest.param(("hydra/launcher=submitit_local",), id="submitit_local"),
    ],
)
def test_a_training_sweep_on_a_local_launcher_equals_the_basic_one(launcher, basic, tmp_path):
    example_sweep(tmp_path / "sweep", *launcher)
    same_example_outputs(tmp_path / "sweep", basic["example"])


@needs_sklearn
def test_a_training_sweep_through_slurm_equals_the_basic_one(basic, slurm, tmp_path):
    example_sweep(tmp_path / "sweep", *SLURM, env=slurm)
    same_example_outputs(tmp_path / "sweep", basic["example"])
    assert {*SBATCH, "#SBATCH --job-name=train_digits"} <= sbatch_lines(tmp_path)


# ---- Ray: a local cluster, started and stopped here ---------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-CPU Ray head on the loopback address; yields its address. Stopped by its process group."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the ray extra is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [
            str(ray),
            "start",
            "--head",
            "--block",
            "--num-cpus=1",
            "--include-dashboard=false",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            f"--temp-dir={tmp_path_factory.mktemp('ray')}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "RAY_AUTH_MODE": "disabled"},
        cwd=tmp_path_factory.mktemp("ray_cwd"),  # the workers' cwd: never the checkout
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:  # SIGTERM: `ray start --block` stops what it started; whatever is left after 10 s is killed
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def ray_launcher(address: str) -> tuple[str, ...]:
    # The plugin sets object_store_memory for a cluster of its own; Ray refuses it for a running one.
    return (
        "hydra/launcher=ray",
        f"hydra.launcher.ray.init.address={address}",
        "+hydra.launcher.ray.init.object_store_memory=null",
    )


@pytest.mark.slow
@needs_cli
def test_a_plot_sweep_on_a_local_ray_cluster_equals_the_basic_one(basic, ray_cluster, tmp_path):
    plot_sweep(tmp_path / "sweep", *ray_launcher(ray_cluster), env={"RAY_AUTH_MODE": "disabled"})
    same_plot_outputs(tmp_path / "sweep", basic["plot"])


@pytest.mark.slow
@needs_sklearn
def test_a_training_sweep_on_a_local_ray_cluster_equals_the_basic_one(basic, ray_cluster, tmp_path):
    example_sweep(tmp_path / "sweep", *ray_launcher(ray_cluster), env={"RAY_AUTH_MODE": "disabled"})
    same_example_outputs(tmp_path / "sweep", basic["example"])


# ---- the report, on a sweep directory written by hand -------------------------------------------


def completed_job(sweep: Path, number: int, lr: str, accuracy: float) -> None:
    from confsched.spec.root import validate
    from tests.conftest import WORKED_EXAMPLE, merged

    spec = validate(
        merged(WORKED_EXAMPLE, optimizer={"name": "adamw", "lr": float(lr)}, scheduler={"name": "linear"})
    )
    overrides = (f"optimizer.lr={lr}", "scheduler=linear")
    write_result(
        sweep / str(number),
        JobResult(number, overrides, "completed", None, {"acc": accuracy}, spec.to_config()),
    )


def test_the_report_lists_every_job_with_its_knobs_spec_metric_and_failure(tmp_path):
    sweep = tmp_path / "multirun"
    completed_job(sweep, 0, "1e-3", 0.5)
    completed_job(sweep, 1, "1e-2", 0.75)
    error = "scheduler.warmup: 5000 steps exceeds the run (1950 steps)"
    write_result(sweep / "2", JobResult(2, ("optimizer.lr=1e-1", "scheduler=linear"), "failed", error))
    (sweep / "3" / ".hydra").mkdir(parents=True)  # started, never finished (killed on its node)
    (sweep / "3" / ".hydra" / "overrides.yaml").write_text("- optimizer.lr=1.0\n- scheduler=linear\n")
    (sweep / ".submitit").mkdir()  # a launcher's own files are not jobs
    from confsched.cli import main

    assert main(["report", str(sweep)]) == 0
    with (sweep / REPORT_CSV).open() as file:
        rows = list(csv.reader(file))
    assert rows[0] == [
        "job", "status", "optimizer.lr", "family", "optimizer", "lr", "total_steps", "warmup_steps",
        "peak_lr", "peak_step", "final_lr", "acc", "error", "overrides",
    ]  # fmt: skip
    assert rows[1] == [
        "0", "completed", "1e-3", "linear", "adamw", "0.001", "1950", "0", "0.001", "0",
        "5.128205128205128e-07", "0.5", "", "optimizer.lr=1e-3 scheduler=linear",
    ]  # fmt: skip
    assert rows[2][:3] == ["1", "completed", "1e-2"]
    assert rows[2][11] == "0.75"
    assert rows[3] == ["2", "failed", "1e-1", *[""] * 9, error, "optimizer.lr=1e-1 scheduler=linear"]
    assert rows[4][:3] == ["3", "no result", "1.0"]
    assert rows[4][12].startswith(f"no {JOB_FILE}: the job has not finished")
    assert (sweep / REPORT_MD).read_text().startswith("# Sweep multirun: 4 jobs, 2 failed\n\n| job ")
    assert (sweep / REPORT_PNG).read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["report"], "error: report takes one sweep directory (got none)"),
        (["report", "a", "b"], "error: report takes one sweep directory (got a b)"),
        (["report", "missing"], "error: no such sweep directory: missing"),
        (["report", "."], "error: .: no jobs here (a sweep directory holds a directory per job, each with"),
    ],
)
def test_report_refuses_what_is_not_a_sweep_dir_in_one_line(args, expected, tmp_path, monkeypatch, capsys):
    from confsched.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected)
    assert err.count("\n") == 1


@needs_cli
def test_a_sweep_of_a_users_own_spec_file_on_submitit_is_reported(tmp_path):
    (tmp_path / "run.yaml").write_text(
        "optimizer: {name: sgd, lr: 0.1}\nscheduler: {name: cosine, warmup: 10}\n"
        "data: {dataset_size: 100, batch_size: 10}\ntraining: {epochs: 5}\n"
    )
    assert CONFSCHED is not None
    args = [CONFSCHED, "plot", "run.yaml", "-m", "scheduler.warmup=0,10,25", "hydra/launcher=submitit_local"]
    out = run([*args, "hydra.sweep.dir=s"], tmp_path).stdout
    assert "sweep of 3 jobs in s:" in out
    for job, warmup in enumerate((0, 10, 25)):
        values = np.loadtxt(tmp_path / "s" / str(job) / "lr_schedule.csv", delimiter=",", skiprows=1, ndmin=2)
        spec = confsched.compose([f"scheduler.warmup={warmup}"], config_dir=tmp_path, config_name="run")
        assert np.array_equal(values[:, 1:], confsched.lr_curve(spec))  # what the basic launcher writes
    sweep = read_sweep(tmp_path / "s")
    assert sweep.knobs == ("scheduler.warmup",)
    figures = [
        (j.summary["optimizer"], j.summary["total_steps"], j.summary["warmup_steps"]) for j in sweep.jobs
    ]
    assert figures == [("sgd", "50", "0"), ("sgd", "50", "10"), ("sgd", "50", "25")]


# ---- the Optuna study ---------------------------------------------------------------------------


@needs_sklearn
def test_an_optuna_study_counts_invalid_trials_as_failed_and_goes_on(tmp_path):
    pytest.importorskip("optuna", reason="the optuna extra is not installed")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    args = [
        sys.executable, str(EXAMPLE), "+hparams_search=optuna", "hydra.sweeper.n_trials=4",
        f"hydra.sweeper.storage={storage}", "scheduler.warmup=choice(5,700)",  # 700 > the 30 steps
        "training.epochs=1", "digits.channels=4", "digits.progress_bar=false", "digits.tensorboard=false",
        "hydra.sweep.dir=study",
    ]  # fmt: skip
    result = run(args, tmp_path, env={"SQLALCHEMY_SILENCE_UBER_WARNING": "1"})
    with contextlib.closing(sqlite3.connect(tmp_path / "study.db")) as db:  # optuna 2's tables
        study = list(
            db.execute(
                "SELECT t.state, p.param_value, a.value_json FROM trials t"
                " JOIN trial_params p ON p.trial_id = t.trial_id AND p.param_name = 'scheduler.warmup'"
                " LEFT JOIN trial_user_attributes a ON a.trial_id = t.trial_id AND a.key = 'confsched_error'"
                " ORDER BY t.number"
            )
        )
    study = [(state, [5, 700][int(choice)], value and json.loads(value)) for state, choice, value in study]
    assert len(study) == 4
    failed = [t for t in study if t[0] == "FAIL"]
    assert len(failed) == 3, study  # with seed 0, trials 0-2 propose 700
    assert all(
        t[1] == 700 and t[2] == "scheduler.warmup: 700 steps exceeds the run (30 steps)" for t in failed
    )
    assert all(t[0] == "COMPLETE" and t[1] == 5 and t[2] is None for t in study if t not in failed)
    assert (
        "the study goes on: scheduler.warmup: 700 steps exceeds the run (30 steps)"
        in result.stdout + result.stderr
    )
    sweep = read_sweep(tmp_path / "study")
    assert [j.status for j in sweep.jobs] == [
        t[0].replace("FAIL", "failed").replace("COMPLETE", "completed") for t in study
    ]
    assert {j.error for j in sweep.failed} == {"scheduler.warmup: 700 steps exceeds the run (30 steps)"}
    assert sweep.metrics == ("test_accuracy",)


# ---- the pre-check: counted first, streamed, a file's own sweep, one composition per group choice


RUN_YAML = """\
optimizer: {name: adamw, lr: 1.0e-3}
scheduler: {name: cosine_with_restarts, warmup: 10, num_cycles: 2}
data: {dataset_size: 100, batch_size: 10}
training: {epochs: 5}
"""


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    (tmp_path / "run.yaml").write_text(RUN_YAML)
    return tmp_path / "run.yaml"


def check(*overrides: str, where: Path | None = None, **options: Any) -> Any:
    """``check_jobs`` of ``-m OVERRIDES`` on the shipped tree (or the spec file ``where``)."""
    from confsched.compose.primary import open_primary
    from confsched.compose.sweep import check_jobs

    directory, name = (None, "config") if where is None else (where.parent, where.stem)
    with open_primary(directory, name, "" if where is None else where.name) as primary:
        return check_jobs(primary, [], [], list(overrides), validate_specs=True, multirun=True, **options)


def test_a_sweep_is_counted_before_it_is_expanded_and_refused_above_the_limit():
    from confsched.errors import ConfigError

    with pytest.raises(ConfigError) as info:  # 10**24 jobs: listing them would never end
        check("scheduler.warmup=range(0,1000000000000)", "optimizer.lr=range(1,1000000000001)")
    assert str(info.value) == (
        "the sweep has 1,000,000,000,000,000,000,000,000 jobs (1000000000000 x 1000000000000), more than "
        "the limit of 10,000: sweep fewer values, or raise the limit with --max-jobs N"
    )
    with pytest.raises(ConfigError, match=r"^the sweep has 6 jobs \(3 x 2\), more than the limit of 5:"):
        check("scheduler=linear,cosine,polynomial", "scheduler.warmup=0,10", max_jobs=5)
    assert check("scheduler=linear,cosine,polynomial", "scheduler.warmup=0,10", max_jobs=6).jobs == 6
    assert check("scheduler.warmup=range(0,100,7)").jobs == 15  # ceil(100 / 7)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["scheduler.warmup=interval(0,1)"],
            "scheduler.warmup: interval(0,1) is for a sweeper that proposes",
        ),
        (
            ["scheduler.warmup=range(0,10,0)"],
            "scheduler.warmup: range(0,10,0) needs a step other than 0",
        ),
    ],
)
def test_a_sweep_the_basic_sweeper_cannot_run_is_one_line(overrides, expected):
    from confsched.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        check(*overrides)
    assert str(info.value).startswith(expected)


def test_glob_sweeps_the_options_of_a_group():
    seen: list[str] = []
    check("scheduler=glob(cosine*)", each=lambda n, task, spec: seen.append(spec.scheduler.name))
    assert seen == sorted(name for name in confsched.FAMILIES if name.startswith("cosine"))


def test_a_file_that_makes_its_own_sweep_is_checked_job_by_job(tmp_path):
    """hydra.mode: MULTIRUN and hydra.sweeper.params in a spec file: job 1 fails before job 0 runs."""
    (tmp_path / "run.yaml").write_text(
        RUN_YAML + "hydra:\n  mode: MULTIRUN\n  sweeper:\n    params:\n      scheduler.warmup: 10,5000\n"
    )
    code = subprocess.run(
        [
            sys.executable,
            "-m",
            "confsched",
            "plot",
            "run.yaml",
            "optimizer.lr=1e-3,3e-3",
            "hydra.sweep.dir=s",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (code.returncode, code.stdout) == (2, "")
    assert code.stderr == (  # the file's params first, then the command line's, as Hydra's basic sweeper
        "error: run.yaml, job 2 (scheduler.warmup=5000 optimizer.lr=0.001): scheduler.warmup: 5000 steps "
        "exceeds the run (50 steps)\n"
    )
    assert not (tmp_path / "s").exists()  # no job ran


def test_the_composer_composes_each_group_choice_once_and_equals_hydra(run_file):
    """A job composed from its group choices' composition, plus its values, is Hydra's composition."""
    from confsched.compose.config import compose_primary
    from confsched.compose.primary import open_primary
    from confsched.compose.sweep import Composer

    jobs = [
        ["scheduler.warmup=5", "optimizer.lr=3e-3"],
        ["scheduler=linear", "scheduler.warmup=5"],
        ["scheduler=linear", "scheduler.warmup=7", "+data.drop_last=true"],
        ["scheduler.name=linear", "scheduler.warmup=50%"],  # a change of type: num_cycles dropped
        ["scheduler=polynomial", "scheduler.power=2.0", "scheduler.warmup=5"],
        ["optimizer=sgd", "optimizer.momentum=0.8", "~scheduler.num_cycles"],
    ]
    with open_primary(run_file.parent, "run", "run.yaml") as primary:
        composer = Composer(primary)
        for job in jobs:
            fast, full = composer.compose(job), compose_primary(job, primary)
            assert OmegaConf.to_container(fast.config) == OmegaConf.to_container(full.config), job
            assert fast.promoted == full.promoted, job
            notes: tuple[list[str], list[str]] = ([], [])
            assert fast.spec(notes[0].append) == full.spec(notes[1].append), job
            assert notes[0] == notes[1], job
        assert len(composer._composed) == 4  # (file), linear, polynomial, sgd: not one per job


@pytest.mark.parametrize(
    ("overrides", "compositions"),
    [
        ([], 1),  # `confsched show`: the settings composition is the job's
        (["scheduler=linear"], 1),
        (["scheduler.warmup=5"], 2),  # a value: the job is composed without it, then it is applied
        (["hydra.job.chdir=false"], 2),  # a Hydra override of the user's: the job is composed without it
    ],
)
def test_a_single_run_reuses_the_settings_composition(monkeypatch, overrides, compositions):
    """The pre-check of one job composes once (not twice) when only the command's own Hydra
    overrides differ; the job's spec is the one Hydra's composition of the job gives."""
    from confsched.compose import config, sweep
    from confsched.compose.primary import open_primary
    from confsched.compose.sweep import Composer, check_jobs

    calls: list[list[str]] = []
    real = config.compose_primary

    def counting(given: Any, primary: Any) -> Any:
        calls.append(list(given))
        return real(given, primary)

    monkeypatch.setattr(sweep, "compose_primary", counting)
    injected = ["hydra.job.name=show", "hydra.output_subdir=null"]
    with open_primary(None, "config", "") as primary:
        composers: dict[Any, Composer] = {}
        specs: list[confsched.Spec] = []
        check_jobs(
            primary,
            [],
            injected,
            overrides,
            validate_specs=True,
            multirun=False,
            composers=composers,
            each=lambda _, task, spec: specs.append(spec),
        )
        assert len(calls) == compositions
        assert calls[0] == [*injected, *overrides]
        assert composers[primary].spec(overrides) == specs[0] == real(overrides, primary).spec()
        assert len(calls) == compositions  # the job (as Hydra hands it over) is not composed again


def test_the_jobs_configs_equal_hydras_own():
    """What the launcher hands each job (the hydra node too) through SweepConfigs, against Hydra."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.utils import setup_globals
    from hydra.types import RunMode

    from confsched.compose.search import search_dirs, search_path
    from confsched.compose.sweep import SweepConfigs

    setup_globals()
    loader = ConfigLoaderImpl(config_search_path=search_path(search_dirs(None)))
    master = loader.load_configuration("config", ["hydra.job.name=x", "scheduler=linear"], RunMode.MULTIRUN)
    configs = SweepConfigs(loader)
    for job in (
        ["scheduler=linear", "scheduler.warmup=5"],
        ["scheduler=linear", "scheduler.warmup=9", "++scheduler.warmup_start=0.1"],
        ["scheduler=cosine", "optimizer.lr=0.01", "scheduler.warmup=5"],
    ):
        ours, hydras = configs.load_sweep_config(master, job), loader.load_sweep_config(master, job)
        assert OmegaConf.to_container(ours) == OmegaConf.to_container(hydras), job
    assert len(configs._composed) == 2


def test_a_second_sweep_into_a_used_sweep_dir_is_refused(tmp_path):
    from confsched.errors import ConfschedError
    from confsched.integrations.sweep import SWEEP_MARK, claim_sweep_dir

    claim_sweep_dir(tmp_path / "s")
    assert (tmp_path / "s" / SWEEP_MARK).is_file()
    with pytest.raises(ConfschedError, match=r"^hydra.sweep.dir: .*s holds another sweep already"):
        claim_sweep_dir(tmp_path / "s")
    (tmp_path / "hydras" / "0").mkdir(parents=True)  # a sweep of Hydra's own, unmarked
    with pytest.raises(ConfschedError, match="holds another sweep already"):
        claim_sweep_dir(tmp_path / "hydras")


@needs_cli
def test_plot_m_into_a_used_sweep_dir_says_so_and_leaves_it_alone(tmp_path):
    assert CONFSCHED is not None
    run([CONFSCHED, "plot", "-m", "scheduler=linear,cosine,polynomial", "hydra.sweep.dir=s"], tmp_path)
    before = sorted(p.name for p in (tmp_path / "s").iterdir())
    second = subprocess.run(
        [CONFSCHED, "plot", "-m", "scheduler=linear,cosine", "hydra.sweep.dir=s"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (second.returncode, second.stdout) == (2, "")
    assert second.stderr == (
        "error: hydra.sweep.dir: s holds another sweep already; give each sweep its own directory "
        "(another hydra.sweep.dir=..., or delete that one)\n"
    )
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == before
    assert len(read_sweep(tmp_path / "s").jobs) == 3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["show", "-m", "scheduler.warmup=range(0,3)", "--max-jobs", "2"],
            "error: the sweep has 3 jobs (3), more than the limit of 2: sweep fewer values, or raise the "
            "limit with --max-jobs N\n",
        ),
        (
            ["show", "-m", "--max-jobs=many"],
            "error: --max-jobs takes a whole number of jobs, at least 1 (got 'many')\n",
        ),
        (["show", "--max-jobs", "2", "--max-jobs", "3"], "error: --max-jobs: give one job limit\n"),
    ],
)
def test_the_job_limit_is_an_option_of_the_command(args, expected, capsys):
    from confsched.cli import main

    assert main(args) == 2
    assert capsys.readouterr().err == expected
