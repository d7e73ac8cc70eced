"""A config is data: instantiate keys are refused, nothing named in a config is imported or called."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import confsched
from confsched.spec.optimizer import OPTIMIZERS
from tests.conftest import WORKED_EXAMPLE, merged
from tests.test_cli import CONFSCHED, confsched_cli

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


# ---- issue 12: what a file may set under hydra:, which resolvers it may use --------------------

RUN_DEFAULTS = "defaults:\n  - optimizer: adamw\n  - scheduler: cosine\n  - data: example\n  - _self_\n"
MAY_NOT = "a config file may not set this"

HYDRA_FILE = [
    # code through Hydra's instantiate and logging.config.dictConfig (1.3.2-1.3.5 ran these)
    (
        "callbacks:\n    evil:\n      _target_: hydra._internal.utils.os.system",
        "hydra.callbacks.evil._target_: 'hydra._internal.utils.os.system' is refused",
    ),
    ("callbacks:\n    evil:\n      _args_: [rm -rf /]", f"hydra.callbacks.evil._args_: {MAY_NOT}"),
    (
        "launcher:\n    _target_: hydra._internal.core_plugins.basic_launcher.os.system",
        "hydra.launcher._target_: 'hydra._internal.core_plugins.basic_launcher.os.system' is refused",
    ),
    (
        "sweeper:\n    _target_: hydra_plugins.hydra_joblib_launcher.joblib_launcher.os.system",
        "hydra.sweeper._target_: 'hydra_plugins.hydra_joblib_launcher.joblib_launcher.os.system' is refused",
    ),
    (
        "callbacks: \"${oc.decode:'{evil: {_target_: os.system, _args_: [echo pwned]}}'}\"",
        "hydra.callbacks: the resolver 'oc.decode' is refused in a config file",
    ),
    (
        "job_logging:\n    handlers:\n      evil:\n        '()': logging.os.system\n        command: echo",
        f"hydra.job_logging.handlers: {MAY_NOT}",
    ),
    (
        "hydra_logging:\n    handlers:\n      f:\n        class: logging.FileHandler\n        filename: x",
        f"hydra.hydra_logging: {MAY_NOT}",
    ),
    # files outside the output dir
    ("output_subdir: ../..", f"hydra.output_subdir: {MAY_NOT}"),
    ("job:\n    env_set:\n      LD_PRELOAD: ./evil.so", f"hydra.job.env_set: {MAY_NOT}"),
    ("run:\n    dir: ../escape", "hydra.run.dir: '../escape' is outside the working directory"),
    ("run:\n    dir: /etc/confsched", "hydra.run.dir: '/etc/confsched' is outside the working directory"),
    (
        "run:\n    dir: ${oc.env:HOME}/runs",
        "hydra.run.dir: the resolver 'oc.env' is refused in a config file",
    ),
    ("sweep:\n    dir: a/../../..", "hydra.sweep.dir: 'a/../../..' is outside the working directory"),
    ("sweep:\n    subdir: ../${hydra.job.num}", "hydra.sweep.subdir: '../${hydra.job.num}' leaves the sweep"),
    ("job:\n    name: ../../evil", "hydra.job.name: '../../evil' is not a job name"),
    (
        "job_logging:\n    loggers:\n      x:\n        handlers: [evil]",
        "hydra.job_logging.loggers.x.handlers.0: 'evil' is not allowed (choose one of: console, file)",
    ),
]


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working directory below ``tmp_path`` (so ``..`` leaves it), with a victim file above it."""
    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


@pytest.mark.parametrize(("hydra_section", "refused"), HYDRA_FILE)
def test_a_file_sets_only_the_allowed_hydra_keys(work, tripwires, capfd, hydra_section, refused):
    """Each key a file sets under ``hydra:`` is on FILE_KEYS, with a fit resolved value; nothing runs."""
    calls, _ = tripwires
    (work / "run.yaml").write_text(f"{RUN_DEFAULTS}training:\n  epochs: 50\nhydra:\n  {hydra_section}\n")
    with pytest.raises(confsched.ConfigError) as caught:
        confsched.compose(config_dir=work, config_name="run")
    assert str(caught.value).startswith(f"run: {refused}")
    assert "\n" not in str(caught.value)
    assert calls == []
    assert capfd.readouterr().out == ""


def test_a_hydra_value_is_judged_by_what_it_resolves_to(work):
    (work / "run.yaml").write_text(
        f"{RUN_DEFAULTS}training:\n  epochs: 50\nelsewhere: /etc/confsched\n"
        "hydra:\n  run:\n    dir: ${elsewhere}/x\n"
    )
    with pytest.raises(confsched.ConfigError) as caught:
        confsched.compose(config_dir=work, config_name="run")
    assert str(caught.value).startswith(
        "run: hydra.run.dir: '/etc/confsched/x' is outside the working directory"
    )


def test_searchpath_of_a_file_imports_nothing(work, tmp_path):
    marker = tmp_path / "imported"
    (work / "evil_module.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (work / "evil_module").mkdir()  # pkg:// of a package beside the config
    (work / "evil_module" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (work / "run.yaml").write_text(
        f"{RUN_DEFAULTS}training:\n  epochs: 50\nhydra:\n  searchpath:\n    - pkg://evil_module\n"
    )
    with pytest.raises(confsched.ConfigError) as caught:
        confsched.compose(config_dir=work, config_name="run")
    assert str(caught.value).startswith("run: hydra.searchpath[0]: 'pkg://evil_module' is refused")
    assert not marker.exists()


def test_a_users_launcher_option_is_a_file_too(work, tripwires):
    """``hydra/launcher=mine`` is the user's choice, but mine.yaml is a file: held to the same list."""
    calls, _ = tripwires
    (work / "hydra" / "launcher").mkdir(parents=True)
    (work / "hydra" / "launcher" / "mine.yaml").write_text("_target_: os.system\n")
    (work / "run.yaml").write_text(f"{RUN_DEFAULTS}training:\n  epochs: 50\n")
    with pytest.raises(confsched.ConfigError) as caught:
        confsched.compose(["hydra/launcher=mine"], config_dir=work, config_name="run")
    assert str(caught.value).startswith(
        "hydra/launcher/mine.yaml: hydra.launcher._target_: 'os.system' is refused"
    )
    assert calls == []


@pytest.mark.parametrize("entry", ["../../outside", "../scheduler/cosine"])
def test_a_defaults_entry_cannot_leave_the_config_dirs(work, tmp_path, entry):
    (tmp_path / "outside.yaml").write_text("name: linear\n")
    (work / "run.yaml").write_text(
        f"defaults:\n  - optimizer: adamw\n  - scheduler: {entry}\n  - data: example\n  - _self_\n"
        "training:\n  epochs: 50\n"
    )
    with pytest.raises(confsched.ConfigError) as caught:
        confsched.compose(config_dir=work, config_name="run")
    assert f"'scheduler/{entry}' leaves the config directories" in str(caught.value)


def test_what_a_file_may_set_composes(work):
    """The allowed keys: output dirs inside the working directory (``now`` is allowed), a job name,
    a sweep, a launcher chosen in the defaults list and its knobs, confsched's own sweeper class."""
    (work / "run.yaml").write_text(
        "defaults:\n  - optimizer: adamw\n  - scheduler: cosine\n  - data: example\n"
        "  - override hydra/launcher: joblib\n  - _self_\n"
        "training:\n  epochs: ${oc.select:epochs,50}\n"
        "hydra:\n  run:\n    dir: outputs/${now:%Y-%m-%d}/${hydra.job.name}\n"
        f"  sweep:\n    dir: {work}/multirun\n    subdir: ${{hydra.job.num}}\n"
        "  job:\n    name: mine\n    chdir: false\n  mode: MULTIRUN\n"
        "  sweeper:\n    params:\n      scheduler.warmup: 10,20\n"
        "  launcher:\n    n_jobs: 2\n"
        "  callbacks:\n    record:\n      _target_: confsched.integrations.sweep.JobRecorder\n"
        "      metric: accuracy\n"
        "  job_logging:\n    loggers:\n      confsched.lr:\n        level: INFO\n        handlers: [file]\n"
    )
    assert confsched.compose(config_dir=work, config_name="run").total_steps == 1950


def test_the_command_line_is_trusted_but_validated(work, monkeypatch):
    monkeypatch.setenv("EPOCHS", "7")
    spec = confsched.compose(["training.epochs=${oc.env:EPOCHS}", "hydra.run.dir=/tmp/anywhere"])
    assert spec.total_steps == 7 * 39
    with pytest.raises(confsched.ConfigError, match=r"^hydra\.job\.name: cannot resolve interpolation: "):
        confsched.compose(["hydra.job.name=${oc.env:CONFSCHED_UNSET_VARIABLE}"])


@pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")
def test_plot_of_a_file_with_a_logging_file_handler_writes_nothing(work, tmp_path):
    """The CLI end to end: Hydra never reads the file's logging settings; the victim is untouched."""
    victim = tmp_path / "shell_rc"
    victim.write_text("still here\n")
    (work / "run.yaml").write_text(
        f"{RUN_DEFAULTS}training:\n  epochs: 50\nhydra:\n  job_logging:\n    version: 1\n"
        f"    handlers:\n      f:\n        class: logging.FileHandler\n        filename: {victim}\n"
        "        mode: a\n    root:\n      handlers: [f]\n      level: INFO\n"
    )
    result = confsched_cli("plot", "run.yaml", cwd=work)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"error: run.yaml: hydra.job_logging.handlers: {MAY_NOT}")
    assert result.stderr.count("\n") == 1
    assert victim.read_text() == "still here\n"
    assert sorted(p.name for p in work.iterdir()) == ["run.yaml"]


def test_hydra_plugins_and_the_sweep_callback_are_allowed():
    spec = confsched.compose(["hydra/launcher=joblib"])
    assert spec.total_steps == 1950


# ---- issue 12: bounded resources (confsched.limits) and one line for any file -----------------

BASE_YAML = yaml.safe_dump(WORKED_EXAMPLE)


def alias_bomb() -> str:
    """The 700-byte billion laughs: 9 levels of 9 aliases, 9**9 * 9 strings once expanded."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def doubling(levels: int) -> str:
    """Each value twice the one before: ``x40`` is 2**41 characters."""
    return "\n".join(["x0: ab"] + [f"x{i}: ${{x{i - 1}}}${{x{i - 1}}}" for i in range(1, levels + 1)]) + "\n"


def timed(call: Any) -> tuple[BaseException | None, float]:
    start = time.perf_counter()
    try:
        call()
    except BaseException as exc:
        return exc, time.perf_counter() - start
    return None, time.perf_counter() - start


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("alias bomb", alias_bomb(), "the YAML has more than 100,000 YAML nodes"),
        (
            "doubling",
            doubling(40),
            "x16: interpolation would make it 131,072 characters, more than the limit",
        ),
        ("deep", "a: " + "[" * 5000 + "]" * 5000 + "\n", "the YAML nests more than 32 levels"),
    ],
)
def test_a_file_that_would_explode_fails_fast(tmp_path, name, text, expected):
    """Main: the alias bomb took 80 s and 530 MB, the doubling file never finished, the deep one
    raised RecursionError; each is now refused before anything is built."""
    file = tmp_path / "bomb.yaml"
    file.write_text(text + BASE_YAML)
    error, seconds = timed(lambda: confsched.load(file))
    assert isinstance(error, confsched.ConfigError), error
    assert str(error).startswith(f"{file}: {expected}")
    assert seconds < 2


def test_a_large_file_is_refused_before_it_is_read(tmp_path):
    file = tmp_path / "big.yaml"
    with file.open("w") as handle:  # 50 MB, sparse: its size is all that is looked at
        handle.write(BASE_YAML)
        handle.truncate(50_000_000)
    error, seconds = timed(lambda: confsched.load(file))
    assert str(error) == (
        f"{file}: the file has 50,000,000 bytes, more than the limit of 1,000,000 "
        "(raise it with CONFSCHED_MAX_FILE_BYTES=N)"
    )
    assert seconds < 1


def test_each_limit_can_be_raised(tmp_path, monkeypatch):
    file = tmp_path / "run.yaml"
    file.write_text(BASE_YAML + "# " + "x" * 1_500_000 + "\n")
    with pytest.raises(confsched.ConfigError, match="the file has 1,5"):
        confsched.load(file)
    monkeypatch.setenv("CONFSCHED_MAX_FILE_BYTES", "2000000")
    assert confsched.load(file).total_steps == 1950
    group = [{"name": "g" * 150, "params": ["*.bias"]}]
    data = merged(WORKED_EXAMPLE, optimizer={"name": "adamw", "lr": 1e-3, "groups": group})
    with pytest.raises(
        confsched.SpecError, match="the group name has 150 characters, more than the limit of 100"
    ):
        confsched.validate(data)
    monkeypatch.setenv("CONFSCHED_MAX_NAME_CHARS", "200")
    assert confsched.validate(data).group_names == ("default", "g" * 150)
    monkeypatch.setenv("CONFSCHED_MAX_DEPTH", "none")
    with pytest.raises(
        confsched.ConfigError, match=r"^CONFSCHED_MAX_DEPTH must be a whole number of at least 1"
    ):
        confsched.load(file)


def test_a_huge_value_is_cut_in_the_error_line():
    """Main echoed a 1 MB scheduler name into a 1,000,339-character line."""
    data = merged(WORKED_EXAMPLE, scheduler={"name": "a" * 1_000_000})
    error, seconds = timed(lambda: confsched.validate(data))
    line = confsched.render(error)
    assert line.startswith(
        f"error: scheduler.name: unknown scheduler '{'a' * 99}…[1,000,002 characters] (choose one of: linear,"
    )
    assert len(line) < 2_000
    assert seconds < 2


def test_a_200000_character_group_name_is_refused_at_once():
    """Main: accepted, and `plot` took 17.5 s drawing its label."""
    group = [{"name": "g" * 200_000, "params": ["*.bias"]}]
    data = merged(WORKED_EXAMPLE, optimizer={"name": "adamw", "lr": 1e-3, "groups": group})
    error, seconds = timed(lambda: confsched.validate(data))
    assert str(error) == (
        "optimizer.groups[0].name: the group name has 200,000 characters, more than the limit of 100 "
        "(raise it with CONFSCHED_MAX_NAME_CHARS=N)"
    )
    assert seconds < 1


@pytest.mark.parametrize("name", ["head\n", "head\r", "he\tad", "head\x00", "héad"])
def test_a_group_name_is_printable_without_control_characters(name):
    group = [{"name": name, "params": ["*.bias"]}]
    data = merged(WORKED_EXAMPLE, optimizer={"name": "adamw", "lr": 1e-3, "groups": group})
    with pytest.raises(
        confsched.SpecError, match=r"^optimizer\.groups\[0\]\.name: .* is not a usable group name"
    ):
        confsched.validate(data)


def test_deep_plain_data_is_one_line_not_a_recursion_error():
    deep: Any = 1
    for _ in range(10_000):
        deep = {"x": deep}
    with pytest.raises(confsched.SpecError) as caught:
        confsched.validate(merged(WORKED_EXAMPLE, scheduler={"name": "cosine", "extra": deep}))
    assert str(caught.value) == (
        f"scheduler.extra{'.x' * 30}: nests more than 32 levels (raise the limit with CONFSCHED_MAX_DEPTH=N)"
    )


@pytest.fixture
def unreadable(tmp_path):
    """A file that cannot be read, even by root: a link to /proc/self/mem (reading it fails, EIO)."""
    if not Path("/proc/self/mem").exists():
        pytest.skip("no /proc")
    link = tmp_path / "unreadable.yaml"
    link.symlink_to("/proc/self/mem")
    return link


FILES = {
    "binary.yaml": (b"\x00\x01\x02ELF", "a binary file, not YAML text (it holds NUL bytes)"),
    "latin1.yaml": (
        "optimizer: {name: adamw, lr: 0.001}  # é\n".encode("latin-1"),
        "not UTF-8 text: byte 0xe9 at offset 39; save the file as UTF-8",
    ),
    "scalar.yaml": (
        b"5\n",
        "a spec must be a mapping of sections (optimizer, scheduler, data, training), "
        "got a single value (a number)",
    ),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_file_that_is_not_a_yaml_mapping_is_one_line(tmp_path, name):
    data, message = FILES[name]
    (tmp_path / name).write_bytes(data)
    with pytest.raises(confsched.ConfigError) as caught:
        confsched.load(tmp_path / name)
    assert str(caught.value) == f"{tmp_path / name}: {message}"


def test_an_unreadable_file_is_one_line(unreadable):
    with pytest.raises(confsched.ConfigError) as caught:
        confsched.load(unreadable)
    assert str(caught.value) == f"{unreadable}: cannot read the file: Input/output error"


@pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")
def test_the_command_says_one_line_for_a_binary_or_unreadable_file(tmp_path, unreadable):
    (tmp_path / "binary.yaml").write_bytes(FILES["binary.yaml"][0])
    for name, message in [
        ("binary.yaml", "a binary file, not YAML text (it holds NUL bytes)"),
        ("unreadable.yaml", "cannot read the file: Input/output error"),
    ]:
        result = confsched_cli("show", name, cwd=tmp_path)
        assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {name}: {message}\n")


def test_a_choice_of_1000_values_is_checked_in_seconds():
    """Main (before the sweep pre-check landed): 176 s. One composition, 1000 validations."""
    from tests.test_sweeps import check

    values = ",".join(str(10 + i) for i in range(1000))
    error, seconds = timed(lambda: check(f"scheduler.warmup=choice({values})"))
    assert error is None
    assert seconds < 30


def test_an_integer_too_long_for_int_is_one_line(tmp_path):
    file = tmp_path / "huge.yaml"
    file.write_text(BASE_YAML.replace("epochs: 50", "epochs: " + "9" * 5000))
    with pytest.raises(confsched.ConfigError) as caught:
        confsched.load(file)
    assert str(caught.value) == (
        f"{file}: cannot read YAML: Exceeds the limit (4300 digits) for integer string conversion: "
        "value has 5000 digits"
    )
