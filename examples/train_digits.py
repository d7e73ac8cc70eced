"""Train a small CNN on scikit-learn's digits with an optimizer and LR schedule from a confsched config.

    python examples/train_digits.py                               # cosine with 100 warmup steps
    python examples/train_digits.py -m scheduler=linear,cosine    # a sweep: one job per schedule

A Hydra application (``examples/conf/train_digits.yaml`` on top of confsched's shipped tree), so
every confsched override and Hydra flag works. Needs the ``examples`` extra (scikit-learn; tqdm
for the progress bar): ``pip install -e ".[examples]"``. Each job:

1. loads the digits (1797 8x8 images shipped inside scikit-learn: no download), holds out
   ``digits.test_size`` of them and checks that the rest is ``data.dataset_size`` images, the
   number the spec's step count is computed from;
2. builds the optimizer and scheduler with ``confsched.build``;
3. trains for ``training.epochs``, one optimizer step every ``training.grad_accum_steps`` batches
   (and one for a partial accumulation at the end of an epoch), the scheduler stepped after each,
   and logs every group's LR at every step with ``LRLogger`` to the job log (and to TensorBoard
   when it is installed);
4. checks that it stepped the optimizer exactly ``spec.total_steps`` times and reports the accuracy
   on the held-out images.

A config problem is one ``error:`` line and exit code 2, as in the ``confsched`` command.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import confsched
from confsched.errors import PlanMismatchError, SpecError
from confsched.integrations import dataloader_kwargs
from confsched.integrations.logging import LRLogger
from confsched.loading import HYDRA_VERSION_BASE, to_data
from confsched.spec import TrainingSpec

log = logging.getLogger(__name__)

Batch = tuple[torch.Tensor, ...]  # (images, labels)


def load_digits(test_size: int, seed: int) -> tuple[TensorDataset, TensorDataset]:
    """The digits as (image, label) tensors, split into train and test sets, stratified by label."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # N x 1 x 8 x 8 in [0, 1]
    labels = torch.tensor(digits.target)
    indices = np.arange(len(labels))
    train, test = train_test_split(indices, test_size=test_size, stratify=digits.target, random_state=seed)
    return TensorDataset(images[train], labels[train]), TensorDataset(images[test], labels[test])


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions and a max-pool (8x8 -> 4x4), then a linear ``head`` over the 10 digits."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Linear(2 * channels * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def optimizer_steps(loader: DataLoader[Batch], training: TrainingSpec) -> Iterator[list[Batch]]:
    """The batches of each optimizer step, as confsched counts them: every ``grad_accum_steps``
    batches and once more for a partial accumulation at the end of an epoch, for ``epochs`` epochs
    or, when it is set, until ``max_steps`` steps."""
    epochs = range(training.epochs or 0) if training.max_steps is None else itertools.count()
    steps = 0
    for _ in epochs:
        batches: list[Batch] = []
        for number, batch in enumerate(loader, 1):
            batches.append(batch)
            if len(batches) == training.grad_accum_steps or number == len(loader):
                yield batches
                batches = []
                steps += 1
                if steps == training.max_steps:
                    return


class _Bar:
    """A stand-in for tqdm when it is not installed: ``[####....] k/n`` redrawn on one stderr line."""

    def __init__(self, total: int, desc: str, *, draw: bool = True) -> None:
        self.total, self.desc, self.draw, self.n, self.postfix = total, desc, draw, 0, ""

    def update(self, n: int) -> None:
        self.n += n
        if self.draw and (self.n == self.total or self.n % max(1, self.total // 50) == 0):
            done = 30 * self.n // max(1, self.total)
            bar = "#" * done + "." * (30 - done)
            print(f"\r{self.desc}: [{bar}] {self.n}/{self.total} {self.postfix}", end="", file=sys.stderr)

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def close(self) -> None:
        if self.draw:
            print(file=sys.stderr)


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """tqdm on stderr when it is installed, else :class:`_Bar`; ``enabled=False``: draws nothing."""
    if not enabled:
        return _Bar(total, desc, draw=False)
    try:
        from tqdm import tqdm
    except ImportError:
        return _Bar(total, desc)
    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr)


def lr_writer(enabled: bool, directory: Path) -> Any:
    """A TensorBoard ``SummaryWriter`` into ``directory`` when asked for and installed, else ``None``."""
    if not enabled or importlib.util.find_spec("tensorboard") is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    log.info("TensorBoard: tensorboard --logdir %s", directory)
    return SummaryWriter(str(directory))


@torch.no_grad()
def accuracy(model: nn.Module, data: TensorDataset) -> float:
    model.eval()
    images, labels = data.tensors
    return float((model(images).argmax(dim=1) == labels).float().mean())


def split_config(config: DictConfig) -> tuple[confsched.Spec, dict[str, Any]]:
    """The confsched spec (every section but ``digits``) and the example's own ``digits`` settings."""
    data = to_data(config)  # interpolations resolved; a failing one is an error naming its key
    settings = data.pop("digits")
    spec = confsched.validate(data)
    if spec.family.driven_by != "step":
        raise SpecError(
            "scheduler.name",
            f"{spec.scheduler.name!r} is stepped with a metric; this example steps its scheduler once "
            "per optimizer step (choose a step-driven family)",
        )
    if spec.training.world_size != 1:
        raise PlanMismatchError(
            "training.world_size",
            f"{spec.training.world_size} in the spec, but this example trains in one process",
        )
    return spec, settings


def fit(spec: confsched.Spec, model: nn.Module, loader: DataLoader[Batch], settings: dict[str, Any]) -> None:
    """Train for the spec's run, one optimizer and scheduler step per :func:`optimizer_steps`."""
    optimizer, scheduler = confsched.build(spec, model)
    writer = lr_writer(settings["tensorboard"], Path(HydraConfig.get().runtime.output_dir) / "tensorboard")
    lr_logger = LRLogger(writer=writer)
    bar = progress_bar(spec.total_steps, spec.scheduler.name, settings["progress_bar"])
    steps = 0
    model.train()
    for batches in optimizer_steps(loader, spec.training):
        for images, labels in batches:
            loss = nn.functional.cross_entropy(model(images), labels) / len(batches)
            loss.backward()
        lr_logger(optimizer, steps)  # the LRs of this step: row `steps` of confsched.lr_curve(spec)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        steps += 1
        bar.set_postfix_str(f"loss {loss.item() * len(batches):.3f}", refresh=False)
        bar.update(1)
    bar.close()
    if writer is not None:
        writer.close()
    if steps != spec.total_steps:
        raise PlanMismatchError(
            "training",
            f"the loop stepped the optimizer {steps} times, the spec plans {spec.total_steps} "
            f"({spec.plan.explain()})",
        )
    log.info("stepped the optimizer and scheduler %d times, as planned", steps)


def train(config: DictConfig) -> float:
    """One job: check the data against the spec, train, return the accuracy on the held-out images."""
    spec, settings = split_config(config)
    train_set, test_set = load_digits(settings["test_size"], settings["seed"])
    if len(train_set) != spec.data.dataset_size:
        raise PlanMismatchError(
            "data.dataset_size",
            f"{spec.data.dataset_size} in the spec, but the digits train split has {len(train_set)} images "
            f"({len(train_set) + len(test_set)} - digits.test_size {len(test_set)}); "
            f"set data.dataset_size={len(train_set)}",
        )
    torch.set_num_threads(settings["threads"])
    torch.manual_seed(settings["seed"])
    log.info("%d optimizer steps: %s", spec.total_steps, spec.plan.explain())
    generator = torch.Generator().manual_seed(settings["seed"])
    loader = DataLoader(train_set, shuffle=True, generator=generator, **dataloader_kwargs(spec))
    model = DigitsCNN(settings["channels"])
    fit(spec, model, loader, settings)
    return accuracy(model, test_set)


@hydra.main(config_path="conf", config_name="train_digits", **HYDRA_VERSION_BASE)
def main(config: DictConfig) -> float:
    """One job of a run or sweep: train, then log the test accuracy with the job's overrides.

    A config problem is one ``error:`` line; a single run then exits with code 2, a job of a sweep
    fails (Hydra records it, ``confsched report`` lists it with the line, and a sweeper that proposes
    values, such as Optuna, counts the trial as failed and goes on).
    """
    started = time.perf_counter()
    try:
        result = train(config)
    except confsched.ConfschedError as error:
        print(confsched.render(error), file=sys.stderr)
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise
        raise SystemExit(2) from None
    overrides = " ".join(HydraConfig.get().overrides.task) or "the defaults"
    log.info("test accuracy %.4f (%s, %.1f s)", result, overrides, time.perf_counter() - started)
    return result


if __name__ == "__main__":
    main()
