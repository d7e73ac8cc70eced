"""A config is data: instantiate keys are refused, nothing named in a config is imported or called."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

import confsched
from confsched.spec.optimizer import OPTIMIZERS
from tests.conftest import WORKED_EXAMPLE, merged

DANGEROUS = ["os.system", "builtins.eval", "subprocess.run", "pathlib.Path.unlink", "builtins.exec"]


@pytest.fixture
def tripwires(monkeypatch, tmp_path):
    """Replace the dangerous callables with recorders, and keep a file that unlink would delete."""
    calls: list[str] = []
    victim = tmp_path / "victim.txt"
    victim.write_text("still here")
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append("os.system"))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append("subprocess.run"))
    monkeypatch.setattr(Path, "unlink", lambda *a, **k: calls.append("Path.unlink"))
    return calls, victim


@pytest.mark.parametrize("target", DANGEROUS)
@pytest.mark.parametrize("section", ["optimizer", "scheduler", "data", "training"])
def test_target_anywhere_is_refused_and_nothing_runs(tripwires, tmp_path, section, target):
    calls, victim = tripwires
    data = merged(WORKED_EXAMPLE)
    data[section] = {**data[section], "_target_": target, "_args_": [str(victim)]}
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(confsched.SpecError) as caught:
        confsched.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {section}._target_: '{target}' is refused")
    assert "\n" not in message
    assert calls == []
    assert victim.read_text() == "still here"


@pytest.mark.parametrize("key", ["_partial_", "_args_", "_recursive_", "_convert_"])
def test_other_instantiate_keys_are_refused(key):
    data = merged(WORKED_EXAMPLE, scheduler={"name": "cosine", "warmup": 100, key: True})
    with pytest.raises(confsched.SpecError, match=rf"^scheduler\.{key}: True is refused: a confsched"):
        confsched.validate(data)


def test_nested_target_is_refused():
    groups = [{"name": "head", "params": ["bias"], "_target_": "os.system"}]
    data = merged(WORKED_EXAMPLE, optimizer={"name": "adamw", "lr": 1e-3, "groups": groups})
    with pytest.raises(
        confsched.SpecError, match=r"^optimizer\.groups\[0\]\._target_: 'os.system' is refused"
    ):
        confsched.validate(data)


def test_allowlisted_optimizer_target_reads_as_a_name():
    optimizer = {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1, "momentum": 0.9}
    spec = confsched.validate(merged(WORKED_EXAMPLE, optimizer=optimizer))
    assert spec.optimizer.name == "sgd"
    built, _ = confsched.build(spec, torch.nn.Linear(2, 2))
    assert type(built) is torch.optim.SGD
    assert built.defaults["momentum"] == 0.9


def test_optimizer_target_contradicting_name_is_refused():
    optimizer = {"_target_": "torch.optim.SGD", "name": "adamw", "lr": 0.1}
    with pytest.raises(confsched.SpecError, match=r"contradicts optimizer.name 'adamw'"):
        confsched.validate(merged(WORKED_EXAMPLE, optimizer=optimizer))


def test_target_through_hydra_override_is_refused():
    with pytest.raises(confsched.SpecError, match=r"^optimizer._target_: 'os.system' is refused"):
        confsched.compose(["+optimizer._target_=os.system"])


class Lion(torch.optim.SGD):
    """A stand-in for a third-party optimizer class."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.99), weight_decay: float = 0.0):
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        self.betas = tuple(betas)


@pytest.fixture
def lion():
    confsched.register_optimizer("lion", Lion)
    yield
    del OPTIMIZERS["lion"]


@pytest.mark.usefixtures("lion")
def test_registered_optimizer_by_name_and_by_target():
    spec = confsched.validate(
        merged(WORKED_EXAMPLE, optimizer={"name": "lion", "lr": 3e-4, "betas": [0.95, 0.98]})
    )
    optimizer, scheduler = confsched.build(spec, torch.nn.Linear(2, 2))
    assert isinstance(optimizer, Lion)
    assert optimizer.betas == (0.95, 0.98)
    assert optimizer.defaults["lr"] == 3e-4
    assert scheduler.get_last_lr() == [0.0]
    target = f"{Lion.__module__}.Lion"
    by_target = confsched.validate(merged(WORKED_EXAMPLE, optimizer={"_target_": target, "lr": 3e-4}))
    assert by_target.optimizer.name == "lion"


@pytest.mark.usefixtures("lion")
def test_registered_optimizer_unknown_argument_has_did_you_mean():
    data = merged(WORKED_EXAMPLE, optimizer={"name": "lion", "lr": 3e-4, "betaz": [0.9, 0.9]})
    with pytest.raises(confsched.SpecError) as caught:
        confsched.validate(data)
    assert str(caught.value) == (
        "optimizer.betaz: unknown key 'betaz'; did you mean 'betas'? (Lion takes: betas)"
    )


def test_register_refuses_builtin_names_and_non_classes():
    with pytest.raises(confsched.SpecError, match="torch built-in"):
        confsched.register_optimizer("adamw", Lion)
    with pytest.raises(confsched.SpecError, match="is not a class"):
        confsched.register_optimizer("fn", print)  # type: ignore[arg-type]


HYDRA_CODE = [
    (
        "callbacks:\n    evil:\n      _target_: builtins.print",
        "hydra.callbacks.evil._target_: 'builtins.print'",
    ),
    ("launcher:\n    _target_: os.system", "hydra.launcher._target_: 'os.system'"),
    (
        "job_logging:\n    handlers:\n      evil:\n        '()': os.system",
        "hydra.job_logging.handlers.evil.(): 'os.system'",
    ),
    (
        "job_logging:\n    handlers:\n      evil:\n        class: subprocess.Popen",
        "hydra.job_logging.handlers.evil.class: 'subprocess.Popen'",
    ),
]


@pytest.mark.parametrize(("hydra_section", "refused"), HYDRA_CODE)
def test_hydra_section_of_a_config_file_cannot_run_code(tmp_path, tripwires, capfd, hydra_section, refused):
    """Hydra instantiates its callbacks/launcher and hands logging settings to dictConfig: a
    config file may only name Hydra's own plugins there."""
    calls, _ = tripwires
    config = tmp_path / "run.yaml"
    config.write_text(
        "defaults:\n  - optimizer: adamw\n  - scheduler: cosine\n  - data: example\n  - _self_\n"
        f"training:\n  epochs: 50\nhydra:\n  {hydra_section}\n"
    )
    with pytest.raises(confsched.ConfigError) as caught:
        confsched.compose(config_dir=tmp_path, config_name="run")
    assert str(caught.value).startswith(f"{refused} is refused")
    assert calls == []
    assert capfd.readouterr().out == ""


def test_hydra_plugins_and_the_sweep_callback_are_allowed():
    spec = confsched.compose(["hydra/launcher=joblib"])
    assert spec.total_steps == 1950
