"""outputs.py and table.py: every file written whole or not at all, never through a link, in the
format asked for, exactly; and every way a write can fail is one line (issue 12 items 2, 6, 7)."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import confsched
from confsched import table as table_module
from confsched.errors import ConfigError, ConfschedError
from confsched.outputs import OutputError, replacing, size_text
from confsched.table import read_table, resolve_format, table_path, write_table
from tests.test_cli import CONFSCHED, confsched_cli, ok

needs_cli = pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")


def leftovers(directory: Path) -> list[str]:
    """Temporary files :func:`replacing` would leave if it did not clean up."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def write_then_raise(path: Path, text: str, error: BaseException) -> None:
    """Start writing ``path`` through :func:`replacing`, then fail with ``error``."""
    with replacing(path) as scratch:
        scratch.write_text(text)
        raise error


# ---- replacing --------------------------------------------------------------------------------


def test_a_file_is_replaced_whole_and_keeps_the_usual_permissions(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("old\n")
    with replacing(path) as scratch:
        assert (scratch.parent, scratch.suffix) == (tmp_path, ".csv")
        assert scratch != path
        scratch.write_text("new\n")
        assert path.read_text() == "old\n"  # readers see the old file until the rename
    assert path.read_text() == "new\n"
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_write_leaves_the_old_file_and_no_partial_one(tmp_path, interruption):
    path = tmp_path / "t.csv"
    path.write_text("old\n")
    with pytest.raises(interruption):
        write_then_raise(path, "half a ta", interruption())
    assert path.read_text() == "old\n"
    assert leftovers(tmp_path) == []
    fresh = tmp_path / "fresh.png"
    with pytest.raises(KeyboardInterrupt):
        write_then_raise(fresh, "\x89PNG", KeyboardInterrupt())
    assert not fresh.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.ENOSPC, "No space left on device (ENOSPC)"),
        (errno.EROFS, "Read-only file system (EROFS)"),
        (errno.EACCES, "Permission denied (EACCES)"),
    ],
)
def test_a_failed_write_is_one_line_naming_the_file(tmp_path, monkeypatch, code, said):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputError) as caught:
        write_then_raise(Path("out/lr_schedule.csv"), "x", OSError(code, os.strerror(code)))
    assert str(caught.value) == f"out/lr_schedule.csv: cannot write: {said}"
    assert leftovers(tmp_path / "out") == []


def test_a_directory_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(OutputError, match=r"t\.npz: cannot write: Read-only file system \(EROFS\)$"):
        write_then_raise(tmp_path / "t.npz", "x", AssertionError("not reached"))


def test_a_symlink_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "lr_schedule.csv"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match=r"is a symbolic link .* does not write through links"):
        write_then_raise(link, "x", AssertionError("nothing may be written"))
    dangling = tmp_path / "lr_schedule.png"
    dangling.symlink_to(tmp_path / "nowhere" / "x")
    with pytest.raises(OutputError, match="is a symbolic link"):
        write_then_raise(dangling, "x", AssertionError("nothing may be written"))
    assert victim.read_text() == "precious\n"
    assert link.is_symlink()


def test_sizes_are_said_in_decimal_units():
    assert [size_text(n) for n in (0, 999, 1000, 50_703, 80_000_128, 2 * 10**9)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "50.7 kB",
        "80.0 MB",
        "2.0 GB",
    ]


# ---- the table's formats ----------------------------------------------------------------------


@pytest.fixture
def one_cycle_two_groups(make_spec):
    return make_spec(
        optimizer={"name": "adamw", "lr": 1e-3, "groups": [{"name": "head", "params": ["h.*"], "lr": 3e-3}]},
        scheduler={"name": "one_cycle"},
    )


@pytest.mark.parametrize("fmt", ["csv", "npz", "parquet"])
def test_every_format_reads_back_bit_exact(one_cycle_two_groups, tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    spec = one_cycle_two_groups
    path = write_table(spec, tmp_path / "lr_schedule", fmt=fmt)
    assert path == tmp_path / f"lr_schedule.{fmt}"
    names, values = read_table(path)
    assert names == ["default", "head", "momentum/default", "momentum/head"]
    expected = np.hstack([confsched.lr_curve(spec), confsched.momentum_curve(spec)])
    assert values.shape == (1950, 4)
    assert values.tobytes() == expected.tobytes()  # bit for bit
    assert (values[0, 0], values[0, 2]) == (4.000000000000004e-05, 0.95)  # 1e-3 / 25, as torch has it
    assert leftovers(tmp_path) == []


def test_npz_rows_are_the_steps_and_hold_the_time_columns(tmp_path):
    spec = confsched.validate(
        {
            "optimizer": {"name": "adamw", "lr": 1e-3},
            "scheduler": {"name": "cosine", "warmup": "10%"},
            "data": {"dataset_size": 10000, "batch_size": 8, "tokens_per_sample": 512},
            "training": {"max_tokens": "5M", "world_size": 2, "grad_accum_steps": 2},
        }
    )
    path = write_table(spec, tmp_path / "lr", fmt="npz")
    with np.load(path) as data:
        assert sorted(data.files) == ["batch_size", "columns", "samples", "tokens", "values"]
        assert data["samples"][:3].tolist() == [0, 32, 64]  # a global batch of 32, 306 steps
        assert data["tokens"][-1] == 305 * 32 * 512
        assert data["batch_size"].tolist() == [32] * 306
        assert data["values"].tobytes() == confsched.lr_curve(spec).tobytes()


def test_auto_writes_csv_up_to_the_row_limit_then_npz(make_spec, tmp_path, monkeypatch):
    spec = make_spec()  # 1950 steps
    assert resolve_format("auto", 1_000_000) == "csv"
    assert resolve_format("auto", 1_000_001) == "npz"
    assert write_table(spec, tmp_path / "a").suffix == ".csv"
    monkeypatch.setattr(table_module, "AUTO_CSV_ROWS", 1949)
    assert write_table(spec, tmp_path / "b").suffix == ".npz"
    assert write_table(spec, tmp_path / "c", fmt="none") is None
    assert table_path(tmp_path / "c", "none", 10) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.npz"]


def test_a_format_that_is_not_one_or_parquet_without_pyarrow_is_one_line(monkeypatch):
    with pytest.raises(ConfigError) as caught:
        resolve_format("parqet", 10)
    assert str(caught.value) == (
        "--format: 'parqet' is not a table format; did you mean 'parquet'? (auto, csv, npz, parquet, none)"
    )
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ConfigError) as caught:
        resolve_format("parquet", 10)
    assert str(caught.value) == (
        "--format parquet needs pyarrow: pip install 'confsched[parquet]' (or use --format npz)"
    )


# ---- the command ------------------------------------------------------------------------------


@needs_cli
def test_plot_refuses_a_planted_symlink_and_writes_neither_file(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "bashrc"
    victim.write_text("# mine\n")
    (out / "lr_schedule.csv").symlink_to(victim)
    result = confsched_cli("plot", "hydra.run.dir=out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: out/lr_schedule.csv: is a symbolic link (to {victim}); confsched does not write through "
        "links: remove it or choose another output directory"
    ]
    assert victim.read_text() == "# mine\n"
    assert not (out / "lr_schedule.png").exists()
    assert leftovers(out) == [".hydra"]


@needs_cli
def test_plot_says_what_it_wrote_and_honours_format_and_scale(tmp_path):
    out = ok(confsched_cli("plot", "hydra.run.dir=o", "--format=npz", "--log-y", cwd=tmp_path))
    lines = out.splitlines()
    assert lines[0] == "cosine · adamw · 1950 steps (50 epochs × 39) · warmup 100 steps"
    png = (tmp_path / "o" / "lr_schedule.png").stat().st_size
    assert lines[1] == f"wrote o/lr_schedule.png ({size_text(png)})"
    size = (tmp_path / "o" / "lr_schedule.npz").stat().st_size
    assert lines[2] == f"wrote o/lr_schedule.npz (1,950 rows, {size_text(size)}; exact values)"
    assert not (tmp_path / "o" / "lr_schedule.csv").exists()
    none = ok(confsched_cli("plot", "hydra.run.dir=n", "--format", "none", cwd=tmp_path))
    assert none.splitlines()[2] == "no table written (--format none)"
    assert sorted(p.name for p in (tmp_path / "n").iterdir() if not p.name.startswith(".")) == [
        "lr_schedule.png",
        "plot.log",
    ]
    bad = confsched_cli("plot", "--format", "xml", cwd=tmp_path)
    assert (bad.returncode, bad.stderr) == (
        2,
        "error: --format: 'xml' is not a table format (auto, csv, npz, parquet, none)\n",
    )


def _limit_file_size(limit: int) -> None:
    """In the child: files stop growing at ``limit`` bytes (EFBIG), as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@needs_cli
def test_plot_onto_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path):
    result = subprocess.run(
        [CONFSCHED, "plot", "hydra.run.dir=out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: _limit_file_size(20_000),  # the PNG is ~66 kB
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: out/lr_schedule.png: cannot write: File too large (EFBIG)"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".hydra", "plot.log"]


@needs_cli
def test_ctrl_c_during_plot_exits_130_with_one_line_and_no_partial_file(tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(
        [CONFSCHED, "plot", "training.max_steps=3000000", "--format", "csv", "hydra.run.dir=out"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not (out.is_dir() and any(p.name.startswith(".lr_schedule.csv.") for p in out.iterdir())):
        assert process.poll() is None, "the CSV was never started"
        assert time.monotonic() < deadline, "the CSV was never started"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip().splitlines() == ["interrupted: nothing was left half-written"]
    assert sorted(p.name for p in out.iterdir()) == [".hydra", "lr_schedule.png", "plot.log"]


@needs_cli
@pytest.mark.parametrize(
    ("command", "first"),
    [("schema", "{"), ("plot --help", "plot's own flags:"), ("-sc install=bash", "export _HYDRA_OLD_COMP")],
)
def test_output_into_a_closed_pipe_ends_quietly(tmp_path, command, first):
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; '{CONFSCHED}' {command} | head -1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(first)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


RUN = """\
optimizer: {name: adamw, lr: 1.0e-3}
scheduler: {name: linear, warmup: WARMUP}
data: {dataset_size: 1235, batch_size: 32}
training: {epochs: 50}
"""


@needs_cli
def test_diff_of_a_revision_with_a_symlink_in_its_tree(tmp_path):
    repo = tmp_path / "repo"
    (repo / "conf").mkdir(parents=True)
    run = RUN.replace("WARMUP", "10")
    (repo / "conf" / "run.yaml").write_text(run)
    (repo / "conf" / "evil.yaml").symlink_to("/etc/hostname")
    (repo / "conf" / "up.yaml").symlink_to("../../outside.yaml")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "x")
    (repo / "conf" / "run.yaml").write_text(RUN.replace("WARMUP", "20"))
    out = ok(confsched_cli("diff", "HEAD:conf/run.yaml", "conf/run.yaml", "hydra.run.dir=d", cwd=repo))
    assert "  scheduler.warmup: 10 -> 20" in out
    for word, said in [
        (
            "HEAD:conf/evil.yaml",
            "HEAD:conf/evil.yaml: is a symbolic link at HEAD; give the file it points to",
        ),
        (
            "BADREV:conf/run.yaml",
            "BADREV:conf/run.yaml: BADREV is not a revision of this repository (a commit, branch or tag)",
        ),
        ("HEAD:conf/none.yaml", "HEAD:conf/none.yaml: no such file at revision HEAD"),
    ]:
        result = confsched_cli("diff", word, "conf/run.yaml", cwd=repo)
        assert (result.returncode, result.stderr) == (2, f"error: {said}\n"), word
    outside = confsched_cli("diff", "HEAD:conf/run.yaml", "conf/run.yaml", cwd=tmp_path)
    assert outside.stderr == "error: HEAD:conf/run.yaml: not inside a git repository (REV:path reads git)\n"


def test_an_output_error_is_a_confsched_error():
    assert issubclass(OutputError, ConfschedError)
