"""The bad-config catalogue: the mistakes users make, as they meet them (a YAML file, a command-line
override), each with the exact line confsched answers.

Every file of ``tests/bad_configs/`` is a complete spec with one mistake; its first line says what
the user is told::

    # expect: <file>: <config path>: <what is wrong and what is allowed>
    # expect at build: <config path>: ...      (parameter groups: wrong only for a given model)

The expectation sits in the file it is about rather than in a separate table: a case is one file
to read, add or rename, a reader sees the mistake and the answer together, and the message is
checked against the file exactly as it is (a YAML error's line number counts the comment line too).
File names start with the kind of mistake: ``type_``, ``value_``, ``name_`` (an unknown family,
optimizer or option), ``key_`` (typo'd, misplaced or missing keys), ``duration_``, ``rule_`` (rules
between fields and the run), ``file_`` (YAML, empty, not a mapping, interpolation), ``code_``
(``_target_``) and ``group_``. The ``at build`` files are valid specs: their groups are checked
against ``tests/test_groups.py``'s ``Net`` by ``confsched.build``; ``confsched show`` has no model
and accepts them.

Each file is checked three ways: ``confsched.load`` (one line, exactly the expected one), the
command ``confsched show FILE`` (exit code 2, that line after ``error:`` on stderr, nothing on
stdout, no traceback), and for a representative subset, the installed console script in a
subprocess giving the very same output. The command runs for every case through
``confsched.cli.main`` in one Python subprocess with its file descriptors 1 and 2 captured per
case: a console-script process costs about a second here, and this keeps the module well under a
minute.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import pytest

import confsched
from tests.test_cli import CONFSCHED, confsched_cli
from tests.test_groups import Net

CATALOGUE = Path(__file__).resolve().parent / "bad_configs"
EXPECT = re.compile(r"^# expect( at build)?: (.+)$")


@dataclass(frozen=True)
class Case:
    """A catalogue file and the line it must produce."""

    file: str
    message: str
    at_build: bool


def _case(path: Path) -> Case:
    lines = path.read_text().splitlines()
    match = EXPECT.match(lines[0] if lines else "")
    assert match, f"{path.name}: the first line must be '# expect: <message>' or '# expect at build: ...'"
    return Case(path.name, match[2], bool(match[1]))


CASES = [_case(path) for path in sorted(CATALOGUE.glob("*.yaml"))]
AT_LOAD = [case for case in CASES if not case.at_build]
AT_BUILD = [case for case in CASES if case.at_build]

JOBLIB = find_spec("hydra_plugins.hydra_joblib_launcher") is not None
LAUNCHERS = sorted(
    {"basic", "slurm"}  # Hydra's own, and confsched's conf/hydra/launcher/slurm.yaml
    | ({"joblib"} if JOBLIB else set())
    | ({"ray", "ray_aws"} if find_spec("hydra_plugins.hydra_ray_launcher") else set())
    | ({"submitit_local", "submitit_slurm"} if find_spec("hydra_plugins.hydra_submitit_launcher") else set())
)
"""The options of ``hydra/launcher`` here: they depend on the Hydra plugins installed."""
FAMILIES = ", ".join(sorted(confsched.FAMILIES))
SPEC_KEYS = (
    "(allowed here: after_run_lr, floor_lr, hold, name, noise, num_cycles, warmup, warmup_prefix, "
    "warmup_rounding, warmup_shape, warmup_start)"
)
"""The fields of the cosine spec model (a key of a spec section, with or without +, reaches the spec)."""
DURATION = (
    "a duration is an int number of steps (100), a fraction of the run (0.06 or '6%'), "
    "epochs ('2ep'), samples ('1.5M sp') or tokens ('2B tok')"
)

BAD_OVERRIDES = [
    # typo'd keys and names, from Hydra and from the spec
    (
        ("show", "scheduler.warmpu=5"),
        f"scheduler.warmpu: unknown key 'warmpu'; did you mean 'warmup'? {SPEC_KEYS}",
    ),
    (
        ("show", "scheduler.warmup_steps=10"),
        f"scheduler.warmup_steps: unknown key 'warmup_steps'; did you mean 'warmup'? {SPEC_KEYS}",
    ),
    (
        ("show", "schedular=linear"),
        "schedular: unknown key 'schedular'; did you mean 'scheduler'? "
        "(allowed here: data, optimizer, scheduler, training)",
    ),
    (
        ("show", "scheduler=cosin"),
        f"scheduler: unknown option 'cosin'; did you mean 'cosine'? (choose one of: {FAMILIES})",
    ),
    (
        ("show", "optimizer=adamww"),
        "optimizer: unknown option 'adamww'; did you mean 'adamw'? "
        "(choose one of: adagrad, adam, adamax, adamw, nadam, radam, rmsprop, sgd)",
    ),
    (
        ("show", "+experiment=bert_fintune"),
        "experiment: unknown option 'bert_fintune'; did you mean 'bert_finetune'? "
        "(choose one of: bert_finetune, llm_tokens, llm_wsd, resnet_imagenet, vit_finetune)",
    ),
    (
        ("plot", "hydra/launcher=jobib"),  # the options: Hydra's basic, confsched's slurm, those installed
        "hydra/launcher: unknown option 'jobib'; did you mean 'joblib'? "
        f"(choose one of: {', '.join(LAUNCHERS)})",
    ),
    (
        ("show", "scheduler.warmup_shape=expo"),
        "scheduler.warmup_shape: 'expo' is not allowed; did you mean 'exponential'? "
        "(choose one of: 'linear', 'cosine', '1-sqrt', 'exponential', 'constant', 'nemo' or 'log')",
    ),
    # a knob of another family: not in the composed config (Hydra), or added with + (the spec)
    (("show", "scheduler.decay=10%"), f"scheduler.decay: unknown key 'decay' {SPEC_KEYS}"),
    (("show", "+scheduler.decay=10%"), f"scheduler.decay: unknown key 'decay' {SPEC_KEYS}"),
    # values
    (("show", "optimizer.lr=-1"), "optimizer.lr: must be greater than 0 (got -1)"),
    (("show", "optimizer.lr=nan"), "optimizer.lr: must be a finite number (got nan)"),
    (("show", "data.batch_size=0"), "data.batch_size: must be greater than 0 (got 0)"),
    (
        ("show", "training.epochs=abc"),
        "training.epochs: must be a valid integer, unable to parse string as an integer (got 'abc')",
    ),
    (("show", "data.drop_last=maybe"), "data.drop_last: must be true or false (got 'maybe')"),
    (("show", "optimizer.betas=[0.9]"), "optimizer.betas: must have exactly 2 items (got [0.9])"),
    (("show", "training=fast"), "training: expected a mapping of keys, got 'fast'"),
    # durations
    (("show", "scheduler.warmup=10%%"), f"scheduler.warmup: '10%%' is not a duration; {DURATION}"),
    (
        ("show", "scheduler.warmup=1.5"),
        "scheduler.warmup: 1.5 is ambiguous: a float must be a fraction of the run below 1; "
        "write 1 for steps or '150%'",
    ),
    (("show", "scheduler.warmup=-2ep"), f"scheduler.warmup: '-2ep' is not a duration; {DURATION}"),
    # rules that need the whole run
    (
        ("show", "scheduler=warmup_stable_decay", "scheduler.decay=20%", "scheduler.stable=90%"),
        "scheduler.stable: warmup 100 + stable 1755 + decay 390 = 2245 steps exceed the run (1950 steps)",
    ),
    (
        ("show", "scheduler=greedy", "scheduler.warmup=100"),
        "scheduler.warmup: 100 steps: greedy changes the LR from a metric and has no warmup; set warmup: 0",
    ),
    (
        ("show", "data.dataset_size=10", "data.drop_last=true"),
        "data.batch_size: 32 is larger than the 10 samples each rank sees and drop_last drops that "
        "partial batch: 0 optimizer steps per epoch (lower batch_size or set drop_last: false)",
    ),
    # code, interpolations, syntax
    (
        ("show", "+scheduler._target_=os.system"),
        "scheduler._target_: 'os.system' is refused: a confsched config is data, it never imports or "
        "calls anything; name a family instead",
    ),
    (
        ("show", "scheduler.warmup=${data.batch_sz}"),
        "scheduler.warmup: cannot resolve interpolation: Interpolation key 'data.batch_sz' not found",
    ),
    (
        ("show", "scheduler.warmup=["),
        "cannot parse override 'scheduler.warmup=[': no viable alternative at input '[' "
        "(overrides look like key=value)",
    ),
    (
        ("show", "optimizer.lr=1e-3,3e-4"),
        "'optimizer.lr=1e-3,3e-4' has several values: to sweep over them add -m (--multirun); "
        "for a list write key=[a,b]",
    ),
    # issue 12, item 7: what used to end in a traceback
    (
        ("show", f"training.epochs={10**400}"),
        "training.epochs: 100000...(401 digits) makes a run of about 10^401 optimizer steps; the longest run"
        " confsched schedules is 9,007,199,254,740,992 steps",
    ),
    (
        ("show", "scheduler=null"),
        "scheduler: 'scheduler=null' chooses no option: give one (scheduler=NAME), or drop the group "
        "with ~scheduler",
    ),
    (
        ("show", "hydra.job.name=${oc.env:UNSET}"),
        "hydra.job.name: cannot resolve interpolation: KeyError raised while resolving interpolation: "
        "\"Environment variable 'UNSET' not found\"",
    ),
    (
        ("show", "hydra.job.name=a/../../b"),
        "hydra.job.name: 'a/../../b' is not a job name (letters, "
        "digits, '_', '.', '-', not starting with '.' or '-')",
    ),
    (("show", "scheduler=glob(lin*)"), "Sweep parameters 'scheduler=glob(lin*)' requires --multirun"),
    (
        ("show", "scheduler.warmup=interval(0,1)"),
        "Sweep parameters 'scheduler.warmup=interval(0,1)' requires --multirun",
    ),
]

CONSOLE_SCRIPT = [
    ("show", "file_yaml_tab_indent.yaml"),  # YAML error (loading.read_file)
    ("show", "file_empty.yaml"),
    ("show", "key_top_level_typo.yaml"),  # the spec's renderer
    ("show", "rule_wsd_decay_too_long.yaml"),  # a family's rule
    ("show", "code_target_os_system.yaml"),  # refused code
    ("show", "group_overlap.yaml"),  # valid without a model: exit 0
    ("show", "scheduler.warmpu=5"),  # Hydra: a key not in the config
    ("show", "scheduler=cosin"),  # Hydra: a group option
    ("show", "+scheduler._target_=os.system"),
    ("show", "optimizer.lr=-1"),  # the spec, from an override
    ("show", "code_hydra_job_logging_factory.yaml"),  # a hydra: key a file may not set
    ("show", "file_alias_bomb.yaml"),  # a limit
    ("show", "scheduler=null"),
]
"""Run through the installed console script too: one case per place an error comes from."""

IN_PROCESS = textwrap.dedent(
    """\
    import json, os, sys, tempfile, traceback
    from confsched.cli import main

    def run(args):
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            saved = os.dup(1), os.dup(2)
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            try:
                code = main(args)
            except SystemExit as exit_:
                code = exit_.code
            except BaseException:
                traceback.print_exc()
                code = None
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
            out.seek(0)
            err.seek(0)
            return {"code": code, "stdout": out.read(), "stderr": err.read()}

    runs = [[args, run(args)] for args in json.load(sys.stdin)]
    print(json.dumps(runs))
    """
)
"""``confsched.cli.main`` for each command line read from stdin, in one process; what it wrote to
file descriptors 1 and 2 (Python's and anyone else's) and its exit code, as JSON."""


@dataclass(frozen=True)
class Run:
    code: int | None
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the catalogue to run the command in (so the file names are the bare names)."""
    directory = tmp_path_factory.mktemp("bad_configs")
    for path in CATALOGUE.glob("*.yaml"):
        shutil.copy(path, directory)
    return directory


def _listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture(scope="module")
def runs(workdir: Path) -> dict[tuple[str, ...], Run]:
    """Every command line of this module, run once through ``confsched.cli.main``."""
    commands = [("show", case.file) for case in CASES] + [args for args, _ in BAD_OVERRIDES]
    before = _listing(workdir)
    result = subprocess.run(
        [sys.executable, "-c", IN_PROCESS],
        input=json.dumps(commands),
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert _listing(workdir) == before  # nothing ran: no outputs/, no logs
    return {tuple(args): Run(**run) for args, run in json.loads(result.stdout)}


def _id(case: Case) -> str:
    return case.file.removesuffix(".yaml")


def test_the_catalogue_covers_every_kind_of_mistake():
    kinds = {case.file.split("_")[0] for case in CASES}
    assert kinds == {"code", "duration", "file", "group", "key", "name", "rule", "type", "value"}
    assert len(CASES) >= 30
    assert len(BAD_OVERRIDES) >= 10


@pytest.mark.parametrize("case", AT_LOAD, ids=_id)
def test_load_raises_the_expected_line(case, monkeypatch):
    monkeypatch.chdir(CATALOGUE)
    with pytest.raises(confsched.ConfschedError) as caught:
        confsched.load(case.file)
    error = caught.value
    assert str(error) == case.message
    assert "\n" not in case.message
    assert error.source == case.file
    assert error.path or case.file.startswith("file_")  # all but a broken file name the config path
    assert confsched.render(error) == f"error: {case.message}"


@pytest.mark.parametrize("case", AT_BUILD, ids=_id)
def test_group_mistakes_are_found_when_built_for_the_model(case, monkeypatch):
    monkeypatch.chdir(CATALOGUE)
    spec = confsched.load(case.file)  # nothing else is wrong
    with pytest.raises(confsched.GroupError) as caught:
        confsched.build(spec, Net())
    assert str(caught.value) == case.message
    assert caught.value.path.startswith("optimizer.")


@pytest.mark.parametrize("case", AT_LOAD, ids=_id)
def test_show_file_prints_one_error_line_and_exits_2(case, runs):
    run = runs[("show", case.file)]
    assert run == Run(2, "", f"error: {case.message}\n")


@pytest.mark.parametrize("case", AT_BUILD, ids=_id)
def test_show_file_accepts_group_mistakes_it_has_no_model_for(case, runs):
    run = runs[("show", case.file)]
    assert (run.code, run.stderr) == (0, "")
    assert "total steps: 1950" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            args,
            message,
            id=" ".join(args),
            marks=pytest.mark.skipif(
                "hydra/launcher" in args[1] and not JOBLIB, reason="the joblib launcher is not installed"
            ),
        )
        for args, message in BAD_OVERRIDES
    ],
)
def test_a_bad_override_prints_one_error_line_and_exits_2(args, message, runs):
    assert runs[args] == Run(2, "", f"error: {message}\n")


@pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")
@pytest.mark.parametrize("args", CONSOLE_SCRIPT, ids=" ".join)
def test_the_console_script_answers_the_same(args, runs, workdir):
    before = _listing(workdir)
    result = confsched_cli(*args, cwd=workdir)
    assert Run(result.returncode, result.stdout, result.stderr) == runs[args]
    assert "Traceback" not in result.stderr
    assert _listing(workdir) == before
