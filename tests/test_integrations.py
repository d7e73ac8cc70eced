"""The framework integrations, each run for real on CPU for a few steps.

In every framework the LR of every group at every optimizer step must equal ``lr_curve`` row by
row, and the optimizer must step exactly ``spec.total_steps`` times. Each framework is optional:
its tests skip when it is not installed (``pip install -e ".[dev,lightning,hf,tensorboard]"``).
"""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler, TensorDataset

import confsched
from confsched.errors import PlanMismatchError
from confsched.integrations import dataloader_kwargs
from confsched.integrations.logging import LRLogger, group_lrs


def make_spec(
    *,
    dataset_size: int,
    batch_size: int,
    accum: int = 1,
    epochs: int | None = 2,
    max_steps: int | None = None,
    drop_last: bool = False,
    scheduler: dict[str, Any] | None = None,
) -> confsched.Spec:
    """SGD over a body and a head at half the LR; linear decay after 2 warmup steps by default."""
    return confsched.validate(
        {
            "optimizer": {
                "name": "sgd",
                "lr": 0.1,
                "groups": [{"name": "head", "params": ["*head.*"], "lr_scale": 0.5}],
            },
            "scheduler": scheduler or {"name": "linear", "warmup": 2},
            "data": {"dataset_size": dataset_size, "batch_size": batch_size, "drop_last": drop_last},
            "training": {"epochs": epochs, "max_steps": max_steps, "grad_accum_steps": accum},
        }
    )


class TinyNet(nn.Module):
    """Two linear layers: ``body.*`` in the default group, ``head.*`` in the group ``head``."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Linear(3, 4)
        self.head = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x)))


def tensors(n: int) -> TensorDataset:
    generator = torch.Generator().manual_seed(1)
    return TensorDataset(torch.randn(n, 3, generator=generator), torch.randn(n, 1, generator=generator))


def lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    return [float(group["lr"]) for group in optimizer.param_groups]


def expected(spec: confsched.Spec) -> list[list[float]]:
    return confsched.lr_curve(spec).tolist()


def settings(optimizer: torch.optim.Optimizer) -> list[tuple[float, float, float]]:
    """Each param group's (lr, weight_decay, momentum)."""
    return [(float(g["lr"]), float(g["weight_decay"]), float(g["momentum"])) for g in optimizer.param_groups]


def finetune_spec(run: str) -> confsched.Spec:
    """The run of ``RUNS[run]`` with SGD's weight decay and momentum scheduled, the head at a
    constant LR of its own and the body frozen for 2 steps, then warmed up."""
    n, b, a, e, m, d = RUNS[run]
    return confsched.validate(
        {
            "optimizer": {
                "name": "sgd",
                "lr": 0.1,
                "momentum": 0.9,
                "weight_decay": 1e-3,
                "no_decay": ["*.bias"],
                "groups": [{"name": "head", "params": ["*head.*"], "lr_scale": 0.5}],
            },
            "scheduler": {"name": "linear", "warmup": 2},
            "weight_decay_scheduler": {"name": "cosine"},
            "momentum_scheduler": {"name": "piecewise", "knots": [[0, 1.0], ["100%", 0.9]]},
            "group_schedulers": {"default": {"frozen_until": 2}, "head": {"scheduler": {"name": "constant"}}},
            "data": {"dataset_size": n, "batch_size": b, "drop_last": d},
            "training": {"epochs": e, "max_steps": m, "grad_accum_steps": a},
        }
    )


def expected_settings(
    spec: confsched.Spec, optimizer: torch.optim.Optimizer
) -> list[list[tuple[float, float, float]]]:
    """The settings of each param group at each step, from the curves (bit for bit)."""
    lrs_, decays, momenta = (
        confsched.lr_curve(spec),
        confsched.weight_decay_curve(spec),
        confsched.momentum_curve(spec),
    )
    columns = [spec.group_names.index(g["lr_group"]) for g in optimizer.param_groups]
    decayed = [not g["name"].endswith(".no_decay") for g in optimizer.param_groups]
    return [
        [
            (lrs_[k, c], decays[k, c] if d else 0.0, momenta[k, c])
            for c, d in zip(columns, decayed, strict=True)
        ]
        for k in range(spec.total_steps)
    ]


# (dataset_size, batch_size, accum, epochs, max_steps, drop_last) -> steps per epoch, total
RUNS = {
    "plain": (10, 4, 1, 2, None, False),  # 3 batches, 3 steps/epoch, 6 steps
    "accum-partial": (10, 2, 2, 2, None, False),  # 5 batches, ceil(5/2) = 3 steps/epoch, 6 steps
    "max-steps": (10, 2, 2, None, 7, False),  # 3 steps/epoch, stops 1 step into the 3rd epoch
    "drop-last": (22, 4, 2, 2, None, True),  # floor(22/4) = 5 batches, 3 steps/epoch, 6 steps
}


def run_spec(name: str) -> confsched.Spec:
    n, b, a, e, m, d = RUNS[name]
    return make_spec(dataset_size=n, batch_size=b, accum=a, epochs=e, max_steps=m, drop_last=d)


# ---- shared pieces ------------------------------------------------------------------------------


def test_dataloader_kwargs_yield_the_planned_batches():
    spec = run_spec("drop-last")
    loader = DataLoader(tensors(spec.data.dataset_size), **dataloader_kwargs(spec))
    assert len(loader) == spec.plan.batches_per_epoch == 5


def test_plan_mismatch_error_is_one_line_with_a_config_path():
    assert issubclass(PlanMismatchError, confsched.ConfschedError)
    error = PlanMismatchError("training.grad_accum_steps", "4 in the spec, but X is 2")
    assert str(error) == "training.grad_accum_steps: 4 in the spec, but X is 2"
    assert confsched.render(error) == "error: " + str(error)


# ---- logging -------------------------------------------------------------------------------------


class ScalarRecorder:
    """Stands in for a TensorBoard SummaryWriter."""

    def __init__(self) -> None:
        self.scalars: list[tuple[str, float, int]] = []

    def add_scalar(self, tag: str, scalar_value: float, global_step: int) -> None:
        self.scalars.append((tag, scalar_value, global_step))

    def rows(self) -> list[list[float]]:
        by_step: dict[int, list[float]] = {}
        for _, value, step in self.scalars:
            by_step.setdefault(step, []).append(value)
        return [by_step[step] for step in sorted(by_step)]


def test_lr_logger_logs_every_group_per_step_to_python_logging_and_a_writer(caplog):
    data = run_spec("plain").to_config()
    data["optimizer"]["no_decay"] = ["*.bias"]
    spec = confsched.validate(data)
    optimizer, scheduler = confsched.build(spec, TinyNet())
    assert len(optimizer.param_groups) == 4  # default, default.no_decay, head, head.no_decay
    writer = ScalarRecorder()
    lr_logger = LRLogger(writer=writer)
    with caplog.at_level(logging.INFO, logger="confsched.lr"):
        for step in range(spec.total_steps):
            assert list(lr_logger(optimizer, step)) == ["default", "head"]
            optimizer.step()
            scheduler.step()
    assert writer.rows() == expected(spec)
    assert {tag for tag, _, _ in writer.scalars} == {"lr/default", "lr/head"}
    lines = [record.getMessage() for record in caplog.records if record.name == "confsched.lr"]
    assert len(lines) == spec.total_steps
    assert lines[3] == "step 3: lr default=0.075 head=0.0375"  # linear: (6 - 3) / (6 - 2) = 0.75


def test_lr_logger_every_n_steps_and_foreign_optimizers(caplog):
    optimizer = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))], "lr": torch.tensor(0.5)}], lr=1.0)
    lr_logger = LRLogger(every_n_steps=2, prefix="learning_rate")
    with caplog.at_level(logging.INFO, logger="confsched.lr"):
        for step in range(4):
            assert lr_logger(optimizer, step) == {"0": 0.5}
    assert [r.getMessage() for r in caplog.records] == [
        "step 0: learning_rate 0=0.5",
        "step 2: learning_rate 0=0.5",
    ]
    assert group_lrs(optimizer) == {"0": 0.5}
    with pytest.raises(ValueError, match="every_n_steps"):
        LRLogger(every_n_steps=0)


def test_lr_logger_writes_tensorboard_events(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    spec = run_spec("plain")
    optimizer, scheduler = confsched.build(spec, TinyNet())
    writer = SummaryWriter(str(tmp_path))
    lr_logger = LRLogger(writer=writer)
    for step in range(spec.total_steps):
        lr_logger(optimizer, step)
        optimizer.step()
        scheduler.step()
    writer.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["lr/default", "lr/head"]
    curve = confsched.lr_curve(spec)
    for column, name in enumerate(spec.group_names):
        scalars = events.Scalars(f"lr/{name}")
        assert [s.step for s in scalars] == list(range(spec.total_steps))
        assert np.allclose([s.value for s in scalars], curve[:, column], rtol=1e-6)  # stored as float32


# ---- Lightning -----------------------------------------------------------------------------------

# Lightning 2.6 builds torch's deprecated pytree LeafSpec (torch >= 2.10 warns); nothing else is let through.
lightning_warnings = pytest.mark.filterwarnings(
    "ignore:`isinstance.treespec, LeafSpec.` is deprecated:FutureWarning"
)

PLATEAU = {"name": "reduce_lr_on_plateau", "mode": "min", "factor": 0.5, "patience": 0}
PLATEAU_SCORES = [1.0, 0.5, 0.6, 0.7, 0.4]  # min: better, better, worse (halve), worse (halve), better


def lightning_fit(spec: confsched.Spec, **trainer_overrides: Any) -> Any:
    """Fit a LightningModule whose ``configure_optimizers`` is the helper; return trainer and module."""
    pl = pytest.importorskip("lightning.pytorch")
    from confsched.integrations import lightning as cs_lightning

    metric_driven = spec.family.driven_by == "metric"

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = TinyNet()
            self.seen: list[list[float]] = []
            self.settings: list[list[tuple[float, float, float]]] = []
            self.epoch_start_lrs: list[list[float]] = []

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            if metric_driven:  # a fixed metric sequence: one value per epoch
                self.log("score", PLATEAU_SCORES[self.current_epoch], on_step=False, on_epoch=True)
            return nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self) -> dict[str, Any]:
            return cs_lightning.configure_optimizers(spec, self, monitor="score")

        def on_train_epoch_start(self) -> None:
            self.epoch_start_lrs.append(lrs(self.trainer.optimizers[0]))

        def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
            self.seen.append(lrs(optimizer))
            if "momentum" in optimizer.defaults:
                self.settings.append(settings(optimizer))

    kwargs = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        **cs_lightning.trainer_kwargs(spec),
        **trainer_overrides,
    }
    trainer = pl.Trainer(**kwargs)
    module = Module()
    trainer.fit(module, DataLoader(tensors(spec.data.dataset_size), **dataloader_kwargs(spec)))
    return trainer, module


@lightning_warnings
@pytest.mark.parametrize("run", ["plain", "accum-partial", "max-steps"])
def test_lightning_steps_follow_lr_curve(run):
    spec = run_spec(run)
    trainer, module = lightning_fit(spec)
    assert module.seen == expected(spec)
    assert trainer.global_step == spec.total_steps
    scheduler = trainer.lr_scheduler_configs[0].scheduler
    assert scheduler.last_epoch == spec.total_steps


@lightning_warnings
def test_lightning_fine_tuning_follows_every_curve():
    spec = finetune_spec("max-steps")
    trainer, module = lightning_fit(spec)
    optimizer = trainer.optimizers[0]
    assert [g["name"] for g in optimizer.param_groups] == [
        "default",
        "default.no_decay",
        "head",
        "head.no_decay",
    ]
    assert module.settings == expected_settings(spec, optimizer)
    assert {row[0][0] for row in module.settings[:2]} == {0.0}  # the body is frozen for 2 steps
    assert trainer.global_step == spec.total_steps


@lightning_warnings
def test_lightning_metric_driven_family_steps_once_per_epoch_with_the_monitor():
    spec = make_spec(dataset_size=6, batch_size=3, epochs=5, scheduler=PLATEAU)
    trainer, module = lightning_fit(spec)
    config = trainer.lr_scheduler_configs[0]
    assert (config.interval, config.monitor, config.reduce_on_plateau) == ("epoch", "score", True)
    curve = confsched.lr_curve(spec, metrics=PLATEAU_SCORES).tolist()
    assert module.epoch_start_lrs == curve[:5]
    assert lrs(trainer.optimizers[0]) == curve[5]
    assert curve[5] == [0.025, 0.0125]


@lightning_warnings
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"max_epochs": 3},
            "training: Lightning (Trainer.estimated_stepping_batches) runs 9 optimizer steps, "
            "the spec plans 6 (batches per epoch = ceil(10 / 4) = 3; steps per epoch = ceil(3 / 1) = 3; "
            "total = 2 epochs x 3 = 6)",
        ),
        ({"accumulate_grad_batches": 2}, "training.grad_accum_steps: 1 in the spec, but Trainer.acc"),
        ({"limit_train_batches": 2}, "data: Lightning's train DataLoader yields 2 batches per epoch"),
    ],
)
def test_lightning_refuses_a_trainer_that_runs_another_plan(overrides, message):
    with pytest.raises(PlanMismatchError) as caught:
        lightning_fit(run_spec("plain"), **overrides)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@lightning_warnings
@pytest.mark.parametrize("limit", [2, 0.5])
def test_lightning_limit_train_batches_is_in_the_step_count(limit):
    """A spec with limit_train_batches: Lightning runs that many batches per epoch (int) or
    int(batches x fraction), and the LRs follow lr_curve to the last step."""
    data = make_spec(dataset_size=20, batch_size=2, accum=2, epochs=2).to_config()
    data["training"]["limit_train_batches"] = limit
    spec = confsched.validate(data)
    assert spec.plan.batches_per_epoch == (2 if limit == 2 else 5)
    trainer, module = lightning_fit(spec)
    assert module.seen == expected(spec)
    assert trainer.global_step == spec.total_steps == (2 if limit == 2 else 6)


def test_lightning_dict_shape_and_interval_rules():
    from confsched.integrations import lightning as cs_lightning

    spec = run_spec("plain")
    config = cs_lightning.configure_optimizers(spec, TinyNet())
    assert set(config) == {"optimizer", "lr_scheduler"}
    assert {k: v for k, v in config["lr_scheduler"].items() if k != "scheduler"} == {
        "interval": "step",
        "frequency": 1,
    }
    assert isinstance(config["lr_scheduler"]["scheduler"], confsched.ScheduledLR)
    with pytest.raises(PlanMismatchError, match=r"^scheduler\.name: linear counts optimizer steps"):
        cs_lightning.configure_optimizers(spec, TinyNet(), interval="epoch")
    plateau = cs_lightning.configure_optimizers(
        make_spec(dataset_size=6, batch_size=3, scheduler=PLATEAU), TinyNet()
    )
    assert plateau["lr_scheduler"]["monitor"] == "val_loss"
    assert cs_lightning.trainer_kwargs(run_spec("max-steps")) == {
        "max_epochs": -1,
        "max_steps": 7,
        "accumulate_grad_batches": 2,
    }


# ---- Hugging Face Trainer ------------------------------------------------------------------------


@pytest.fixture
def fresh_accelerate_state():
    """Accelerate keeps process-wide singletons; start and leave each test with none."""
    state = pytest.importorskip("accelerate.state")
    state.AcceleratorState._reset_state(True)
    state.GradientState._reset_state()
    yield
    state.AcceleratorState._reset_state(True)
    state.GradientState._reset_state()


class TinyRegressor(TinyNet):
    """The Trainer's model protocol: keyword inputs in, ``{"loss": ...}`` out."""

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        return {"loss": nn.functional.mse_loss(super().forward(x), labels)}


def records(n: int) -> list[dict[str, torch.Tensor]]:
    dataset = tensors(n)
    return [{"x": x, "labels": y} for x, y in dataset]


def hf_trainer(spec: confsched.Spec, tmp_path: Any, callbacks: list[Any], **overrides: Any) -> Any:
    transformers = pytest.importorskip("transformers")
    from confsched.integrations import transformers as cs_hf

    model = TinyRegressor()
    optimizer, scheduler = confsched.build(spec, model)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path),
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        seed=0,
        **{**cs_hf.training_arguments_kwargs(spec), **overrides},
    )
    return transformers.Trainer(
        model=model,
        args=args,
        train_dataset=records(spec.data.dataset_size),
        optimizers=(optimizer, scheduler),
        callbacks=callbacks,
    )


@pytest.mark.usefixtures("fresh_accelerate_state")
@pytest.mark.parametrize(
    ("run", "batches"),
    [("plain", 3), ("accum-partial", 5), ("max-steps", 5), ("drop-last", 5)],
)
def test_hf_trainer_steps_follow_lr_curve(tmp_path, run, batches):
    transformers = pytest.importorskip("transformers")
    from confsched.integrations import transformers as cs_hf

    class Recorder(transformers.TrainerCallback):
        def __init__(self) -> None:
            self.seen: list[list[float]] = []

        def on_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.seen.append(lrs(kwargs["optimizer"]))

    recorder, writer = Recorder(), ScalarRecorder()
    spec = run_spec(run)
    trainer = hf_trainer(spec, tmp_path, [recorder, cs_hf.LRLoggingCallback(LRLogger(writer=writer))])
    cs_hf.check_trainer(spec, trainer)
    assert cs_hf.trainer_total_steps(trainer) == (batches, spec.total_steps)
    # the Trainer's own arithmetic (this transformers release) plans the same total
    args, loader = trainer.args, trainer.get_train_dataloader()
    assert trainer.set_initial_training_values(args, loader)[-1] == spec.total_steps
    trainer.train()
    assert recorder.seen == expected(spec)
    assert writer.rows() == expected(spec)
    assert trainer.state.global_step == spec.total_steps
    assert trainer.lr_scheduler.last_epoch == spec.total_steps


@pytest.mark.usefixtures("fresh_accelerate_state")
def test_hf_trainer_fine_tuning_follows_every_curve(tmp_path):
    transformers = pytest.importorskip("transformers")
    from confsched.integrations import transformers as cs_hf

    class Recorder(transformers.TrainerCallback):
        def __init__(self) -> None:
            self.seen: list[list[tuple[float, float, float]]] = []

        def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.seen.append(settings(kwargs["optimizer"]))

    recorder, writer = Recorder(), ScalarRecorder()
    spec = finetune_spec("accum-partial")
    trainer = hf_trainer(spec, tmp_path, [recorder, cs_hf.LRLoggingCallback(LRLogger(writer=writer))])
    cs_hf.check_trainer(spec, trainer)
    trainer.train()
    assert recorder.seen == expected_settings(spec, trainer.optimizer)
    assert writer.rows() == expected(spec)  # one LR per LR group, as lr_curve's columns
    assert trainer.state.global_step == spec.total_steps


@pytest.mark.usefixtures("fresh_accelerate_state")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"gradient_accumulation_steps": 1},
            "training.grad_accum_steps: 2 in the spec, but "
            "TrainingArguments.gradient_accumulation_steps is 1",
        ),
        (
            {"num_train_epochs": 3},
            "training: the Trainer runs 9 optimizer steps, the spec plans 6 (batches per epoch = "
            "ceil(10 / 2) = 5; steps per epoch = ceil(5 / 2) = 3; total = 2 epochs x 3 = 6)",
        ),
        (
            {"dataloader_drop_last": True},
            "data.drop_last: False in the spec, but TrainingArguments.dataloader",
        ),
    ],
)
def test_hf_check_trainer_refuses_another_plan(tmp_path, overrides, message):
    from confsched.integrations import transformers as cs_hf

    spec = run_spec("accum-partial")
    trainer = hf_trainer(spec, tmp_path, [], **overrides)
    with pytest.raises(PlanMismatchError) as caught:
        cs_hf.check_trainer(spec, trainer)
    assert str(caught.value).startswith(message)


@pytest.mark.usefixtures("fresh_accelerate_state")
def test_hf_metric_driven_family_needs_evaluation(tmp_path):
    from confsched.integrations import transformers as cs_hf

    spec = make_spec(dataset_size=6, batch_size=3, scheduler=PLATEAU)
    kwargs = cs_hf.training_arguments_kwargs(spec, metric="loss")
    assert (kwargs["eval_strategy"], kwargs["metric_for_best_model"]) == ("epoch", "loss")
    trainer = hf_trainer(spec, tmp_path, [], eval_strategy="no")
    with pytest.raises(PlanMismatchError) as caught:
        cs_hf.check_trainer(spec, trainer)
    assert str(caught.value).startswith(
        "scheduler.name: reduce_lr_on_plateau is stepped by the Trainer after each evaluation with "
        "metric_for_best_model, but eval_strategy is 'no' and metric_for_best_model is 'loss'"
    )


def test_hf_training_arguments_kwargs():
    pytest.importorskip("transformers")
    from confsched.integrations import transformers as cs_hf

    assert cs_hf.training_arguments_kwargs(run_spec("drop-last")) == {
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 2,
        "dataloader_drop_last": True,
        "num_train_epochs": 2,
        "max_steps": -1,
    }
    assert cs_hf.training_arguments_kwargs(run_spec("max-steps"))["max_steps"] == 7


# ---- Accelerate ----------------------------------------------------------------------------------


def accelerate_loop(spec: confsched.Spec, record: Any) -> tuple[list[Any], Any, Any]:
    """Train ``spec``'s run under Accelerate; ``record(optimizer)`` at every optimizer step; returns
    the records, and the optimizer and scheduler ``confsched.build`` made."""
    accelerate = pytest.importorskip("accelerate")
    from confsched.integrations import accelerate as cs_accelerate

    accelerator = accelerate.Accelerator(cpu=True, **cs_accelerate.accelerator_kwargs(spec))
    model = TinyNet()
    optimizer, scheduler = confsched.build(spec, model)
    loader = DataLoader(tensors(spec.data.dataset_size), **dataloader_kwargs(spec))
    model, prepared_optimizer, loader, prepared = cs_accelerate.prepare(
        accelerator, spec, model, optimizer, loader, scheduler
    )
    seen = []
    for _ in range(spec.training.epochs or 0):
        for x, y in loader:
            with accelerator.accumulate(model):
                accelerator.backward(nn.functional.mse_loss(model(x), y))
                if accelerator.sync_gradients:
                    seen.append(record(prepared_optimizer))
                prepared_optimizer.step()
                prepared.step()
                prepared_optimizer.zero_grad()
    return seen, optimizer, scheduler


@pytest.mark.usefixtures("fresh_accelerate_state")
@pytest.mark.parametrize("run", ["plain", "accum-partial", "drop-last"])
def test_accelerate_loop_steps_follow_lr_curve(run):
    spec = run_spec(run)
    seen, _, scheduler = accelerate_loop(spec, lrs)
    assert seen == expected(spec)
    assert scheduler.last_epoch == spec.total_steps


@pytest.mark.usefixtures("fresh_accelerate_state")
def test_accelerate_fine_tuning_follows_every_curve():
    spec = finetune_spec("accum-partial")
    seen, optimizer, scheduler = accelerate_loop(spec, settings)
    assert seen == expected_settings(spec, optimizer)
    assert scheduler.last_epoch == spec.total_steps


@pytest.mark.usefixtures("fresh_accelerate_state")
def test_accelerate_multiplication_pitfall_and_how_prepare_avoids_it(monkeypatch):
    """With N processes Accelerate steps a prepared scheduler N times per optimizer step (and
    stops at a ``total_steps`` attribute); ``prepare`` steps a confsched scheduler once. One CPU
    process stands in for two by telling the scheduler wrapper there are two."""
    accelerate = pytest.importorskip("accelerate")
    from confsched.integrations import accelerate as cs_accelerate

    spec = run_spec("plain")  # 6 steps
    accelerator = accelerate.Accelerator(cpu=True)
    two_processes = SimpleNamespace(num_processes=2)
    monkeypatch.setattr(accelerate.scheduler, "AcceleratorState", lambda: two_processes)

    def run(prepare: Any) -> list[list[float]]:
        optimizer, scheduler = confsched.build(spec, TinyNet())
        optimizer, scheduler = prepare(optimizer, scheduler)
        seen = []
        for _ in range(spec.total_steps):
            seen.append(lrs(optimizer))
            optimizer.step()
            scheduler.step()
        return seen

    plain = run(accelerator.prepare)
    # steps 0, 2, 4 of the schedule, then stuck at its end (step 6) with no overrun warning
    stuck = confsched.lr_curve(spec, np.minimum(2 * np.arange(spec.total_steps), spec.total_steps))
    assert plain == stuck.tolist()
    assert run(lambda *objects: cs_accelerate.prepare(accelerator, spec, *objects)) == expected(spec)


@pytest.mark.usefixtures("fresh_accelerate_state")
@pytest.mark.parametrize(
    ("accelerator_kwargs", "batch_size", "message"),
    [
        (
            {"gradient_accumulation_steps": 1},
            2,
            "training.grad_accum_steps: 2 in the spec, but Accelerator.gradient_accumulation_steps is 1",
        ),
        (
            {"gradient_accumulation_steps": 2},
            3,
            "data: the prepared training DataLoader yields 4 batches per epoch on each process, the spec "
            "plans 5",
        ),
    ],
)
def test_accelerate_prepare_refuses_another_plan(accelerator_kwargs, batch_size, message):
    accelerate = pytest.importorskip("accelerate")
    from confsched.integrations import accelerate as cs_accelerate

    spec = run_spec("accum-partial")
    accelerator = accelerate.Accelerator(cpu=True, **accelerator_kwargs)
    model = TinyNet()
    optimizer, scheduler = confsched.build(spec, model)
    loader = DataLoader(tensors(spec.data.dataset_size), batch_size=batch_size)
    with pytest.raises(PlanMismatchError) as caught:
        cs_accelerate.prepare(accelerator, spec, model, optimizer, loader, scheduler)
    assert str(caught.value).startswith(message)


def spec_batches(n: int, b: int, w: int, drop_last: bool) -> int:
    """The spec's batches per epoch on each rank (0 where the spec refuses the run)."""
    try:
        plan = confsched.plan_steps(
            dataset_size=n,
            batch_size=b,
            drop_last=drop_last,
            world_size=w,
            grad_accum_steps=1,
            epochs=1,
            max_steps=None,
        )
    except confsched.SpecError:
        return 0
    return plan.batches_per_epoch


def test_accelerate_shards_whole_batches_unlike_distributed_sampler():
    """Accelerate's per-process batches vs the spec's (a DistributedSampler per rank): equal
    without drop_last, ``floor(floor(N / B) / W)`` vs ``floor(ceil(N / W) / B)`` with it."""
    data_loader = pytest.importorskip("accelerate.data_loader")
    differ = []
    for n in range(1, 40):
        for b in (1, 2, 3, 4, 8):
            for w in (2, 3, 4):
                for drop_last in (False, True):
                    batches = BatchSampler(SequentialSampler(range(n)), b, drop_last)
                    per_process = {
                        len(data_loader.BatchSamplerShard(batches, w, rank, even_batches=True))
                        for rank in range(w)
                    }
                    assert len(per_process) == 1
                    theirs, ours = per_process.pop(), spec_batches(n, b, w, drop_last)
                    if not drop_last:
                        assert theirs == ours == math.ceil(n / (b * w))
                        continue
                    assert theirs == n // b // w
                    if theirs != ours:
                        differ.append((n, b, w))
    assert (11, 2, 2) in differ  # 2 batches per process for Accelerate, 3 for the spec
    assert len(differ) > 100


# ---- runs counted in tokens ---------------------------------------------------------------------


def token_spec(ramp: bool = False) -> confsched.Spec:
    """12 samples of 8 tokens in batches of 2, 112 tokens = 14 samples = 7 steps across two epochs."""
    return confsched.validate(
        {
            "optimizer": {"name": "sgd", "lr": 0.1},
            "scheduler": {"name": "warmup_stable_decay", "warmup": "16 tok", "decay": "50%"},
            "data": {"dataset_size": 12, "batch_size": 2, "drop_last": True, "tokens_per_sample": 8},
            "training": {
                "max_tokens": 112,
                "grad_accum_steps": 2 if ramp else 1,
                "batch_rampup": {"stages": [[0, 2], ["4 sp", 4]]} if ramp else None,
            },
        }
    )


@lightning_warnings
@pytest.mark.usefixtures("fresh_accelerate_state")
def test_a_run_in_tokens_through_lightning_and_the_hf_trainer(tmp_path):
    from confsched.integrations import lightning as cs_lightning
    from confsched.integrations import transformers as cs_hf

    spec = token_spec()
    assert spec.total_steps == 7
    assert cs_lightning.trainer_kwargs(spec) == {
        "max_epochs": -1,
        "max_steps": 7,
        "accumulate_grad_batches": 1,
    }
    assert cs_hf.training_arguments_kwargs(spec)["max_steps"] == 7
    trainer, module = lightning_fit(spec)
    assert module.seen == expected(spec)  # 7 steps over the 6 batches of an epoch and one more
    assert trainer.global_step == 7
    cs_hf.check_trainer(spec, hf_trainer(spec, tmp_path, []))


def test_a_batch_ramp_is_refused_by_the_framework_helpers():
    from confsched.integrations import lightning as cs_lightning
    from confsched.integrations import transformers as cs_hf

    spec = token_spec(ramp=True)
    message = (
        "training.batch_rampup: {} accumulates a fixed number of batches per optimizer step, but the spec "
        "ramps the global batch: run your own loop and accumulate spec.plan.micro_batches(step) batches in "
        "each step"
    )
    with pytest.raises(PlanMismatchError) as caught:
        cs_lightning.trainer_kwargs(spec)
    assert str(caught.value) == message.format("Lightning")
    with pytest.raises(PlanMismatchError) as caught:
        cs_hf.training_arguments_kwargs(spec)
    assert str(caught.value) == message.format("the Trainer")
    assert spec.plan.micro_batches(range(spec.total_steps)).tolist() == [1, 1, 2, 2, 2]
