"""The LR table of ``confsched plot``: every step's exact values, in the format asked for.

One row per optimizer step (step 0 first). The columns are ``step``; for a run counted in samples
the :data:`TIME_COLUMNS` (integers); then each group's LR, and, when the spec schedules them,
``weight_decay/<group>`` and ``momentum/<group>`` (beta1 for optimizers with betas).

The formats (``confsched plot --format``), each exact (``read_table(path)`` gives back the very
floats of :func:`~confsched.lr_curve`):

==========  ====================================================================================
``csv``     text, ``repr`` of each float (the shortest text that reads back to the same float);
            about 1 µs per value, 30 bytes per row: 300 MB and ~9 s for 10M steps
``npz``     NumPy's zip of arrays: ``values`` (float64, steps x columns; row ``k`` is step
            ``k``), ``columns`` (their names) and the time columns; 8 bytes per value, written
            at disk speed (80 MB for 10M steps of one group)
``parquet`` Apache Parquet (needs ``pyarrow``: ``pip install 'confsched[parquet]'``)
``none``    nothing written
``auto``    ``csv`` up to :data:`AUTO_CSV_ROWS` rows, else ``npz`` (the default)
==========  ====================================================================================

Every file is written whole or not at all (:func:`confsched.outputs.replacing`).
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from confsched.curve import lr_curve, momentum_curve, weight_decay_curve
from confsched.errors import ConfigError, did_you_mean
from confsched.outputs import OutputError, replacing, shown
from confsched.spec.root import Spec

__all__ = [
    "AUTO_CSV_ROWS",
    "FORMATS",
    "TIME_COLUMNS",
    "Table",
    "read_csv",
    "read_table",
    "resolve_format",
    "scheduled_quantities",
    "table_of",
    "table_path",
    "write_csv",
    "write_table",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Format = Literal["auto", "csv", "npz", "parquet", "none"]

FORMATS: tuple[str, ...] = get_args(Format)
"""What ``confsched plot --format`` accepts, read from :data:`Format` (the values are written once)."""
AUTO_CSV_ROWS = 1_000_000
"""``--format auto`` writes CSV up to this many rows (about 30 MB and 1 s), NPZ above."""
TIME_COLUMNS = ("samples", "tokens", "batch_size")
"""Columns a run counted in samples adds after ``step``: samples and tokens consumed before the
step, and its global batch (integers). Group columns follow (the first is always ``default``)."""
_CSV_BLOCK = 65_536
"""Rows formatted per write: a 10M-step CSV never holds more than this many rows as text."""
_SUFFIXES = {"csv": ".csv", "npz": ".npz", "parquet": ".parquet"}


@dataclass(frozen=True)
class Table:
    """The rows to write: the integer columns (``step`` and the time columns), by name, computed
    a block of steps at a time, and the float columns (names and a ``(steps, columns)`` array)."""

    counts: dict[str, Callable[[IntArray], IntArray]]
    names: list[str]
    values: FloatArray

    @property
    def rows(self) -> int:
        return len(self.values)


def scheduled_quantities(spec: Spec, steps: int | None = None) -> list[tuple[str, str, FloatArray]]:
    """``(key, label, values)`` of each quantity besides the LR that the spec schedules, shaped like
    :func:`~confsched.lr_curve`: the weight decay of each group's decayed parameters, and the
    momentum or beta1 (``key`` is ``weight_decay`` or ``momentum``)."""
    found = []
    decay = weight_decay_curve(spec, steps)
    if decay is not None:
        found.append(("weight_decay", "weight decay", decay))
    momentum = momentum_curve(spec, steps)
    if momentum is not None:
        found.append(("momentum", "beta1" if spec.momentum_key == "betas" else "momentum", momentum))
    return found


def table_of(spec: Spec, curve: FloatArray | None = None) -> Table:
    """The table of ``spec``; ``curve`` is ``lr_curve(spec)`` when the caller has it already."""
    curve = lr_curve(spec) if curve is None else curve
    names = list(spec.group_names)
    extra = scheduled_quantities(spec, len(curve))
    for key, _, _ in extra:
        names += [f"{key}/{name}" for name in spec.group_names]
    values = np.hstack([curve, *(v for _, _, v in extra)]) if extra else curve
    counts: dict[str, Callable[[IntArray], IntArray]] = {"step": lambda steps: steps}
    plan = spec.plan
    if plan.counts_samples:
        counts["samples"] = plan.consumed_samples
        if plan.tokens_per_sample is not None:
            per = plan.tokens_per_sample
            counts["tokens"] = lambda steps: plan.consumed_samples(steps) * per
        counts["batch_size"] = plan.global_batch
    return Table(counts, names, np.ascontiguousarray(values, dtype=np.float64))


def resolve_format(requested: str, rows: int) -> str:
    """The format ``--format requested`` writes for a table of ``rows`` rows."""
    if requested not in FORMATS:
        raise ConfigError(
            "",
            f"--format: {requested!r} is not a table format{did_you_mean(requested, FORMATS)} "
            f"({', '.join(FORMATS)})",
        )
    if requested == "auto":
        return "csv" if rows <= AUTO_CSV_ROWS else "npz"
    if requested == "parquet":
        _pyarrow()
    return requested


def table_path(stem: str | Path, fmt: str, rows: int) -> Path | None:
    """Where ``write_table(..., stem, fmt=fmt)`` writes a table of ``rows`` rows (``None``: nowhere)."""
    chosen = resolve_format(fmt, rows)
    return None if chosen == "none" else Path(stem).with_suffix(_SUFFIXES[chosen])


def write_table(
    spec: Spec, stem: str | Path, curve: FloatArray | None = None, fmt: str = "auto"
) -> Path | None:
    """Write ``spec``'s table to ``stem`` plus the format's suffix (``out/lr_schedule.npz``); return
    the path, or ``None`` for ``fmt="none"``."""
    table = table_of(spec, curve)
    path = table_path(stem, fmt, table.rows)
    if path is None:
        return None
    chosen = path.suffix.lstrip(".")
    with replacing(path) as scratch:
        _WRITERS[chosen](table, scratch)
    return path


def write_csv(spec: Spec, path: str | Path, curve: FloatArray | None = None) -> Path:
    """Write ``spec``'s table as CSV to ``path`` (whole or not at all) and return the path.

    Values are written with ``repr``, so ``float(cell)`` equals the curve exactly. Rows are
    formatted a block at a time, column by column; ``repr`` of a float (about 1 µs) is most of the
    cost, so a CSV takes about 1 s per million values.
    """
    path = Path(path)
    with replacing(path) as scratch:
        _write_csv(table_of(spec, curve), scratch)
    return path


def _write_csv(table: Table, path: Path) -> None:
    with path.open("w", newline="") as file:
        csv.writer(file, lineterminator="\n").writerow([*table.counts, *table.names])
        for start in range(0, table.rows, _CSV_BLOCK):
            stop = min(start + _CSV_BLOCK, table.rows)
            steps = np.arange(start, stop, dtype=np.int64)
            counts = [map(str, count(steps).tolist()) for count in table.counts.values()]
            columns = [map(repr, column) for column in table.values[start:stop].T.tolist()]
            file.write("\n".join(map(",".join, zip(*counts, *columns, strict=True))))
            file.write("\n")


def _counts(table: Table, *, step: bool = True) -> dict[str, IntArray]:
    steps = np.arange(table.rows, dtype=np.int64)
    return {
        name: np.asarray(count(steps), dtype=np.int64)
        for name, count in table.counts.items()
        if step or name != "step"
    }


def _write_npz(table: Table, path: Path) -> None:
    """``values`` row ``k`` is step ``k`` (no ``step`` array: it would double a one-group file)."""
    with path.open("wb") as file:  # a file object: np.savez would add ".npz" to a name
        arrays: dict[str, Any] = {**_counts(table, step=False), "columns": np.array(table.names, dtype=str)}
        np.savez(file, values=table.values, **arrays)


def _pyarrow() -> Any:
    try:
        import pyarrow  # type: ignore[import-untyped,unused-ignore]
        import pyarrow.parquet  # type: ignore[import-untyped,unused-ignore]
    except ImportError as error:
        found = "" if isinstance(error, ModuleNotFoundError) else f" (it did not import: {error})"
        install = "pip install 'confsched[parquet]' (or use --format npz)"
        raise ConfigError("", f"--format parquet needs pyarrow{found}: {install}") from None
    return pyarrow


def _write_parquet(table: Table, path: Path) -> None:
    pa = _pyarrow()
    columns = {**_counts(table), **{name: table.values[:, i] for i, name in enumerate(table.names)}}
    pa.parquet.write_table(pa.table(columns), path)


_WRITERS: dict[str, Callable[[Table, Path], None]] = {
    "csv": _write_csv,
    "npz": _write_npz,
    "parquet": _write_parquet,
}


def read_table(path: str | Path) -> tuple[list[str], FloatArray]:
    """Read a table written by :func:`write_table` in any format: the float columns' names (the
    group names, then any ``weight_decay/...`` and ``momentum/...``) and a ``(steps, columns)``
    array (``step`` and the :data:`TIME_COLUMNS` are left out)."""
    path = Path(path)
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return [str(n) for n in data["columns"]], np.asarray(data["values"], dtype=np.float64)
        if path.suffix == ".parquet":
            frame = _pyarrow().parquet.read_table(path)
            names = [n for n in frame.column_names if n != "step" and n not in TIME_COLUMNS]
            values = (
                np.column_stack([frame.column(n).to_numpy() for n in names]) if names else np.empty((0, 0))
            )
            return names, values.astype(np.float64, copy=False)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise OutputError("", f"cannot read the table: {exc}", source=shown(path)) from None
    return read_csv(path)


def read_csv(path: str | Path) -> tuple[list[str], FloatArray]:
    """Read a CSV written by :func:`write_csv`, as :func:`read_table` does."""
    with Path(path).open(newline="") as file:
        header = next(csv.reader([file.readline()]))[1:]
        times = next(i for i, name in enumerate([*header, ""]) if name not in TIME_COLUMNS)
        names = header[times:]
        values = np.loadtxt(file, delimiter=",", dtype=np.float64, ndmin=2)  # reads floats exactly
    return names, values[:, 1 + times :].reshape(len(values), len(names))
