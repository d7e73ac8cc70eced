"""``examples/train_digits.py`` trains for real, in a subprocess, with the commands of docs/training.md.

The documented two commands (one run, a two-schedule sweep) run with 2 epochs instead of 20 and
their output directories in a temporary directory; each takes a few seconds, most of it starting
Python, torch and scikit-learn.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

import confsched
from confsched.errors import PlanMismatchError
from confsched.integrations import dataloader_kwargs
from confsched.loading import compose_config
from tests.conftest import WORKED_EXAMPLE, load_script, merged
from tests.markdown import doc_blocks

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "train_digits.py"
SHORT = ("training.epochs=2", "scheduler.warmup=10%")
"""Appended to the documented commands: 2 epochs of 30 steps, 6 of them warmup (100 exceeds the run)."""

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="the examples extra (scikit-learn) is not installed"
)


@pytest.fixture(scope="module")
def example() -> Any:
    return load_script(SCRIPT)


def readme_commands() -> list[list[str]]:
    """The example's command lines in the docs (docs/training.md), as argument lists after ``python``."""
    (block,) = (b for b in doc_blocks() if b.lang == "bash" and "# one run" in b.text)
    commands = [shlex.split(command) for command, _ in block.commands()]
    assert all(words[:2] == ["python", "examples/train_digits.py"] for words in commands)
    return [words[1:] for words in commands]


def run_example(args: list[str], *more: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script, *overrides = args
    return subprocess.run(
        [sys.executable, str(ROOT / script), *overrides, *more],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def accuracies(output: str) -> dict[str, float]:
    """``{overrides: test accuracy}`` from the jobs' last log lines."""
    found = re.findall(r"test accuracy (\d\.\d+) \((.*), [\d.]+ s\)", output)
    return {overrides: float(value) for value, overrides in found}


def logged_lrs(log: str) -> list[dict[str, str]]:
    """The LRLogger lines of a job log, one ``{group: lr}`` per step, checked to come in step order."""
    rows = re.findall(r"\[confsched\.lr\]\[INFO\] - step (\d+): lr (.*)", log)
    assert [int(step) for step, _ in rows] == list(range(len(rows)))
    return [dict(pair.split("=") for pair in groups.split()) for _, groups in rows]


def test_one_run_trains_logs_each_groups_lr_per_step_and_checks_the_step_count(example, tmp_path):
    single, _ = readme_commands()
    head = "optimizer.groups=[{name: head, params: ['head.*'], lr_scale: 0.5}]"
    result = run_example(single, *SHORT, head, "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (accuracy,) = accuracies(result.stdout).values()
    assert accuracy > 0.5  # 10 digits: chance is 0.1; 2 epochs reach about 0.9

    spec, _ = example.split_config(OmegaConf.load(tmp_path / "run" / ".hydra" / "config.yaml"))
    assert spec.total_steps == 60
    log = (tmp_path / "run" / "train_digits.log").read_text()
    assert "stepped the optimizer and scheduler 60 times, as planned" in log
    assert "[confsched.lr]" not in result.stdout  # the per-step lines go to the job log only
    curve = confsched.lr_curve(spec)
    expected = [{g: f"{lr:.6g}" for g, lr in zip(spec.group_names, row, strict=True)} for row in curve]
    assert logged_lrs(log) == expected
    assert spec.group_names == ("default", "head")


def test_the_readme_sweep_reports_each_schedules_accuracy(readme_sweep):
    _, sweep = readme_commands()
    assert "-m" in sweep
    result = readme_sweep
    assert result.returncode == 0, result.stderr
    found = accuracies(result.stdout)
    assert [overrides.split()[0] for overrides in found] == ["scheduler=linear", "scheduler=cosine"]
    assert all(value > 0.5 for value in found.values()), found
    for job in ("0", "1"):
        log = (result.sweep_dir / job / "train_digits.log").read_text()
        assert "stepped the optimizer and scheduler 60 times, as planned" in log
        assert len(logged_lrs(log)) == 60


def test_a_data_section_that_does_not_match_the_split_is_refused_before_training(example):
    config = compose_config(["digits.test_size=360"], SCRIPT.parent / "conf", "train_digits")
    with pytest.raises(PlanMismatchError) as info:
        example.train(config)  # in process: it fails before anything global (threads, seed) is set
    assert confsched.render(info.value) == (
        "error: data.dataset_size: 1500 in the spec, but the digits train split has 1437 images "
        "(1797 - digits.test_size 360); set data.dataset_size=1437"
    )


# ---- the loop's step count, in process --------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "training"),
    [
        ({"dataset_size": 1500, "batch_size": 50}, {"epochs": 3}),
        ({"dataset_size": 101, "batch_size": 10}, {"epochs": 2, "grad_accum_steps": 4}),
        ({"dataset_size": 101, "batch_size": 10, "drop_last": True}, {"epochs": 2, "grad_accum_steps": 3}),
        ({"dataset_size": 20, "batch_size": 8}, {"epochs": 5, "max_steps": 7}),
        ({"dataset_size": 20, "batch_size": 8}, {"epochs": 1, "max_steps": 2, "grad_accum_steps": 2}),
    ],
)
def test_the_loop_takes_as_many_optimizer_steps_as_the_spec_plans(example, data, training):
    spec = confsched.validate(
        merged(WORKED_EXAMPLE, data=data, training=training, scheduler={"name": "linear"})
    )
    loader = DataLoader(TensorDataset(torch.arange(spec.data.dataset_size)), **dataloader_kwargs(spec))
    steps = list(example.optimizer_steps(loader, spec.training))
    assert len(steps) == spec.total_steps
    assert all(1 <= len(batches) <= spec.training.grad_accum_steps for batches in steps)


def test_the_progress_bar_without_tqdm(example, capsys):
    bar = example._Bar(4, "cosine")
    for _ in range(4):
        bar.set_postfix_str("loss 0.1", refresh=False)
        bar.update(1)
    bar.close()
    assert capsys.readouterr().err.endswith("\rcosine: [##############################] 4/4 loss 0.1\n")
