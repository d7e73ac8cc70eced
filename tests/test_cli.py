"""The installed ``confsched`` console script, run in a subprocess as a user runs it.

Each call costs about a second (Python, Hydra, and matplotlib for plots), so every test checks
as much as it can of one run.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import confsched

CONFSCHED = shutil.which("confsched")
pytestmark = pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")


def confsched_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert CONFSCHED is not None
    return subprocess.run(
        [CONFSCHED, *args], cwd=cwd, capture_output=True, text=True, check=False, env=env, timeout=120
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def read_lr_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="") as file:
        header, *rows = list(csv.reader(file))
    assert [int(row[0]) for row in rows] == list(range(len(rows)))
    return header, np.array([[float(cell) for cell in row[1:]] for row in rows])


def test_show_prints_the_spec_and_the_arithmetic_and_leaves_nothing_behind(tmp_path):
    out = ok(confsched_cli("show", cwd=tmp_path))
    assert "scheduler:\n  name: cosine\n  warmup: 100\n" in out
    assert "total steps: 1950  (batches per epoch = ceil(1235 / 32) = 39;" in out
    assert "total = 50 epochs x 39 = 1950)" in out
    assert "warmup steps: 100" in out
    assert "group default: base lr 0.001, peak lr 0.001 (step 100), final lr 7.20935e-10 (step 1949)" in out
    assert list(tmp_path.iterdir()) == []  # no outputs/ dir, no logs


def test_plot_writes_the_png_and_an_exact_csv_per_group(tmp_path):
    groups = "optimizer.groups=[{name: head, params: ['head.*'], lr_scale: 0.5}]"
    out = ok(confsched_cli("plot", "scheduler=linear", groups, "hydra.run.dir=run", cwd=tmp_path))
    assert "wrote run/lr_schedule.png" in out
    png = (tmp_path / "run" / "lr_schedule.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 20_000
    header, values = read_lr_csv(tmp_path / "run" / "lr_schedule.csv")
    spec = confsched.compose(["scheduler=linear", groups])
    assert header == ["step", "default", "head"]
    assert len(values) == spec.total_steps == 1950
    assert np.array_equal(values, confsched.lr_curve(spec))  # bit for bit


def test_python_m_confsched_and_no_torch_on_the_cli_path(tmp_path):
    """show, plot, diff and schema run without importing torch or transformers (checked in one
    process); show and schema without matplotlib either."""
    spec = tmp_path / "run.yaml"
    spec.write_text(
        "optimizer: {name: adamw, lr: 1.0e-3}\nscheduler: {name: linear, warmup: 10}\n"
        "data: {dataset_size: 100, batch_size: 10}\ntraining: {epochs: 5}\n"
    )
    script = textwrap.dedent(
        """\
        import contextlib, io, sys
        from confsched.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            codes = [main(["show"]), main(["schema"])]
            light = "matplotlib" not in sys.modules
            codes.append(main(["plot", "hydra.run.dir=p"]))
            codes.append(main(["diff", "run.yaml", "run.yaml", "hydra.run.dir=d"]))
        print(codes, light, [name for name in ("torch", "transformers") if name in sys.modules])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.stdout.split("\n")[0] == "[0, 0, 0, 0] True []", result.stderr
    out = subprocess.run(
        [sys.executable, "-m", "confsched", "show", "run.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "total steps: 50" in out.stdout


def test_show_composes_twice_like_a_bare_hydra_app(tmp_path):
    """A single run: the pre-check composes once (its job's config too), Hydra once for the job it
    runs; Hydra's get_mode is told the mode the pre-check read (and is Hydra's own again after)."""
    script = textwrap.dedent(
        """\
        import contextlib, io, sys
        from hydra._internal.config_loader_impl import ConfigLoaderImpl
        from hydra._internal.hydra import Hydra
        own, real, modes = Hydra.get_mode, ConfigLoaderImpl.load_configuration, []
        def counting(self, *args, **kwargs):
            modes.append(str(kwargs.get("run_mode")))
            return real(self, *args, **kwargs)
        ConfigLoaderImpl.load_configuration = counting
        from confsched.cli import main
        for argv in (["show"], ["show", "scheduler=linear", "scheduler.warmup=5"], ["show", "-m"]):
            modes.clear()
            with contextlib.redirect_stdout(io.StringIO()) as out:
                code = main(argv)
            print(code, modes, "total steps: 1950" in out.getvalue(), Hydra.get_mode is own)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.stdout.splitlines() == [
        "0 ['RunMode.RUN', 'RunMode.RUN'] True True",
        # a value: the pre-check composes the job without it, then applies it
        "0 ['RunMode.RUN', 'RunMode.RUN', 'RunMode.RUN'] True True",
        # -m: Hydra reads the mode itself, and composes the sweep and its one job
        "0 ['RunMode.RUN', 'RunMode.MULTIRUN', 'RunMode.MULTIRUN', 'RunMode.RUN'] True True",
    ], result.stderr


def test_diff_of_a_file_against_its_git_revision(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    run = tmp_path / "conf" / "run.yaml"
    run.parent.mkdir()
    run.write_text(
        "optimizer: {name: adamw, lr: 1.0e-3}\nscheduler: {name: cosine, warmup: 100}\n"
        "data: {dataset_size: 1235, batch_size: 32}\ntraining: {epochs: 50}\n"
    )
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t")
    env |= {"GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "schedule"]):
        subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True)
    run.write_text(run.read_text().replace("cosine", "linear").replace("epochs: 50", "epochs: 60"))
    out = ok(
        confsched_cli("diff", "HEAD:conf/run.yaml", "conf/run.yaml", "hydra.run.dir=review", cwd=tmp_path)
    )
    assert "--- HEAD:conf/run.yaml\n+++ conf/run.yaml\n" in out
    assert "  scheduler.name: 'cosine' -> 'linear'\n" in out
    assert "  training.epochs: 50 -> 60\n" in out
    assert "total steps: 1950 -> 2340\n" in out
    old = confsched.compose()  # what HEAD:conf/run.yaml says: the worked example
    new = confsched.load(tmp_path / "conf" / "run.yaml")
    gap = np.abs(confsched.lr_curve(old) - confsched.lr_curve(new, 1950))
    step = int(gap.argmax())
    assert f"largest LR difference: {gap.max():.6g} at step {step}, group default" in out
    assert (tmp_path / "review" / "lr_diff.png").read_bytes().startswith(b"\x89PNG")


def test_schema_is_json_schema_listing_every_family(tmp_path):
    schema = json.loads(ok(confsched_cli("schema", cwd=tmp_path)))
    assert schema["title"] == "Spec"
    mapping = schema["properties"]["scheduler"]["discriminator"]["mapping"]
    assert sorted(mapping) == sorted(confsched.FAMILIES)
    # a duration's default as a spec writes it: pydantic 2.7 (the floor) left it out with a warning,
    # later releases wrote the parsed object ({"amount": "0", "unit": "steps", "written": 0})
    assert schema["$defs"]["CosineSpec"]["properties"]["warmup"]["default"] == 0


def test_a_users_config_dir_and_hydras_own_flags(tmp_path):
    conf = tmp_path / "my_conf"
    (conf / "scheduler").mkdir(parents=True)
    (conf / "my_run.yaml").write_text(
        "defaults: [{optimizer: sgd}, {scheduler: my_linear}, {data: example}, _self_]\n"
        "training: {epochs: 4}\n"
    )
    (conf / "scheduler" / "my_linear.yaml").write_text("name: linear\nwarmup: 1ep\n")
    out = ok(confsched_cli("show", "--config-dir", "my_conf", "--config-name", "my_run", cwd=tmp_path))
    assert "total steps: 156" in out
    assert "warmup steps: 39  (scheduler.warmup: 1ep)" in out
    # flags and overrides in any order, as Hydra 1.4 allows
    args = ["scheduler.warmup=2", "--cfg", "job", "optimizer.lr=0.5", "-cd", "my_conf", "-cn", "my_run"]
    cfg = ok(confsched_cli("plot", *args, cwd=tmp_path))
    assert "name: sgd\n  lr: 0.5\n" in cfg
    assert "name: linear\n  warmup: 2\n" in cfg
    info = ok(confsched_cli("show", "--info", "searchpath", "-cd", "my_conf", cwd=tmp_path))
    assert info.index(str(conf)) < info.index(str(confsched.loading.shipped_config_dir()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_conf"]


def test_tab_completion_covers_subcommands_groups_and_keys(tmp_path):
    env = dict(os.environ, COMP_LINE="confsched plot scheduler=cos")
    choices = ok(confsched_cli("-sc", "query=bash", cwd=tmp_path, env=env)).split()
    assert "scheduler=cosine" in choices
    assert "scheduler=cosine_with_restarts" in choices
    env["COMP_LINE"] = "confsched pl"
    assert ok(confsched_cli("-sc", "query=bash", cwd=tmp_path, env=env)).split() == ["plot"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["show", "scheduler.warmpu=5"],
            "error: scheduler.warmpu: unknown key 'warmpu'; did you mean 'warmup'?",
        ),
        (["plot", "scheduler=cosin"], "error: scheduler: unknown option 'cosin'; did you mean 'cosine'?"),
        (["show", "optimizer=adamww"], "error: optimizer: unknown option 'adamww'; did you mean 'adamw'?"),
        (["plot", "-m", "scheduler=linear,cosin"], "did you mean 'cosine'?"),
        (["plot", "-m", "scheduler=linear,cosine", "scheduler.warmup=10,3000"], "3000 steps exceeds the run"),
        (["plto"], "error: unknown command 'plto'; did you mean 'plot'?"),
        (["show", "-m", "--cfg", "job"], "error: give only one of -m/--multirun, --cfg"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_code_2_before_anything_runs(tmp_path, args, fragment):
    result = confsched_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no job ran: no outputs/ or multirun/ dir


# ---- fine-tuning: layer decay, LR scaling, group schedules, weight decay and momentum ------------

FINETUNE = """\
optimizer:
  name: sgd
  lr: 0.1
  momentum: 0.9
  weight_decay: 1.0e-4
  lr_scaling: {rule: sqrt, reference_batch: 64}
  layer_decay: 0.5
  layers: {num_blocks: 2, block: '^stages\\.(\\d+)\\.', embeddings: ["stem.*"]}
  groups: [{name: head, params: ["fc.*"], lr_scale: 10.0}]
scheduler: {name: cosine, warmup: 10}
weight_decay_scheduler: {name: linear}
momentum_scheduler: {name: piecewise, knots: [[0, 1.0], ["50%", 0.9]]}
group_schedulers:
  layer_0: {frozen_until: 50}
  head: {scheduler: {name: constant}}
data: {dataset_size: 1000, batch_size: 16}
training: {epochs: 10, world_size: 4}
"""


def test_show_of_a_fine_tune_file_states_every_figure(tmp_path):
    (tmp_path / "finetune.yaml").write_text(FINETUNE)
    out = ok(confsched_cli("show", "finetune.yaml", cwd=tmp_path))
    assert out.splitlines()[-10:] == [
        "warmup steps: 10  (scheduler.warmup: 10)",
        "lr scaling: sqrt rule: global batch 16 x 1 x 4 = 64 (batch_size x grad_accum_steps x world_size); "
        "lr 0.1 x sqrt(64 / 64) = 0.1",
        "layer decay: 0.5 over 4 layers (block pattern ^stages\\.(\\d+)\\.): layer_0 the embeddings, "
        "layer_1 to layer_2 blocks 0 to 1, layer_3 the top (the head and every other parameter); layer l "
        "trains at lr x 0.5^(3 - l)",
        # frozen for 50 steps, then cosine with its 10-step warmup over the 110 steps left
        "group layer_0 (embeddings, lr x 0.5^3 = 0.125; frozen until step 50, then cosine): base lr 0.0125, "
        "peak lr 0.0125 (step 60), final lr 3.084e-06 (step 159)",
        "group layer_1 (block 0, lr x 0.5^2 = 0.25): base lr 0.025, peak lr 0.025 (step 10), "
        "final lr 2.74146e-06 (step 159)",
        "group layer_2 (block 1, lr x 0.5^1 = 0.5): base lr 0.05, peak lr 0.05 (step 10), "
        "final lr 5.48291e-06 (step 159)",
        "group layer_3 (top layer, lr x 0.5^0 = 1): base lr 0.1, peak lr 0.1 (step 10), "
        "final lr 1.09658e-05 (step 159)",
        "group head (own schedule: constant): base lr 1, peak lr 1 (step 0), final lr 1 (step 159)",
        "weight decay (linear x optimizer.weight_decay 0.0001; every group's weight_decay follows the same "
        "multiplier): 0.0001 at step 0, peak 0.0001 (step 0), final 6.25e-07 (step 159)",
        "momentum (piecewise, every group): 0.9 at step 0, peak 0.9 (step 0), final 0.81 (step 159)",
    ]


def test_a_layer_decay_sweep_on_the_shipped_preset_and_on_a_file(tmp_path):
    sweep = ["-m", "optimizer.layer_decay=0.65,0.75,0.85", "training.epochs=6", "hydra.sweep.dir=preset"]
    out = ok(confsched_cli("plot", "+experiment=vit_finetune", *sweep, cwd=tmp_path))
    assert "sweep of 3 jobs in preset:" in out
    for job, decay in enumerate([0.65, 0.75, 0.85]):
        header, values = read_lr_csv(tmp_path / "preset" / str(job) / "lr_schedule.csv")
        spec = confsched.compose(
            ["+experiment=vit_finetune", f"optimizer.layer_decay={decay}", "training.epochs=6"]
        )
        assert header == ["step", *(f"layer_{i}" for i in range(14)), "head"]
        assert np.array_equal(values, confsched.lr_curve(spec))
        assert values[6255, 0] == 5e-4 * (1024 / 256) * decay**13  # the embeddings at the peak
    (tmp_path / "finetune.yaml").write_text(FINETUNE)
    out = ok(
        confsched_cli(
            "plot",
            "finetune.yaml",
            "-m",
            "optimizer.layer_decay=0.5,0.9",
            "hydra.sweep.dir=file",
            cwd=tmp_path,
        )
    )
    assert "sweep of 2 jobs in file:" in out
    header, values = read_lr_csv(tmp_path / "file" / "1" / "lr_schedule.csv")
    assert header[:6] == ["step", "layer_0", "layer_1", "layer_2", "layer_3", "head"]
    assert header[6:] == [f"{q}/{g}" for q in ("weight_decay", "momentum") for g in header[1:6]]
    assert values[10, 1:4].tolist() == [0.1 * 0.9**2, 0.1 * 0.9, 0.1]  # layers 1 to 3 at their peak
    assert (tmp_path / "file" / "1" / "lr_schedule.png").read_bytes().startswith(b"\x89PNG")


def test_version_schema_help_and_plot_help(tmp_path):
    version = ok(confsched_cli("--version", cwd=tmp_path))
    assert version.startswith(f"confsched {confsched.__version__} (hydra-core 1.")
    assert "pydantic 2." in version
    assert ok(confsched_cli("schema", "--help", cwd=tmp_path)).splitlines()[0] == (
        "usage: confsched schema > confsched.schema.json"
    )
    plot_help = ok(confsched_cli("plot", "--help", cwd=tmp_path))
    assert plot_help.splitlines()[:4] == [
        "plot's own flags:",
        "  --x-axis steps|samples|tokens    what the x axis counts (default steps)",
        "  --log-y / --linear-y             the LR axis scale (default: log when the LR spans > 3 decades)",
        "  --format auto|csv|npz|parquet|none  the exact LR table (auto: CSV up to 1M rows, else NPZ)",
    ]
    assert "== Config groups ==" in plot_help


def test_import_confsched_imports_neither_hydra_nor_torch_nor_matplotlib():
    code = (
        "import sys, confsched; heavy = ('hydra', 'omegaconf', 'torch', 'matplotlib', 'pydantic'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
        "; confsched.lr_curve; print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "['pydantic']"]  # the math needs the models, not Hydra or torch


def test_the_lazy_package_pickles_by_name():
    import pickle

    cloudpickle = pytest.importorskip("cloudpickle")
    assert pickle.loads(pickle.dumps(confsched)) is confsched
    assert cloudpickle.loads(cloudpickle.dumps(confsched)) is confsched  # submitit pickles jobs so
    assert callable(confsched.compose)  # the function, though confsched.compose is a subpackage too
