"""What each job of a sweep leaves for ``confsched report``: one small JSON in its output directory.

``confsched report MULTIRUN_DIR`` reads nothing but the sweep directory, so a sweep whose jobs ran
on other machines (SLURM through submitit, a Ray cluster) is reported like a local one, as long as
the sweep directory is on a file system the machines share. Each job writes ``confsched_job.json``::

    {"format": 1, "job": 3, "overrides": ["scheduler=cosine", "optimizer.lr=0.001"],
     "status": "completed", "error": null, "metrics": {"test_accuracy": 0.9731},
     "spec": {"optimizer": {...}, "scheduler": {...}, "data": {...}, "training": {...}}}

``confsched plot -m`` writes it for each job. A Hydra application of your own (a training script)
gets it from :class:`JobRecorder`, a Hydra callback that runs in the job's process wherever the
launcher put it. Add to the application's primary config::

    hydra:
      callbacks:
        confsched_job:
          _target_: confsched.integrations.sweep.JobRecorder
          metric: test_accuracy   # the name of what the task function returns

The file is written to a temporary name and renamed, so a reader never sees half of it.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from confsched.errors import ConfschedError

__all__ = [
    "JOB_FILE",
    "SWEEP_MARK",
    "JobRecorder",
    "JobResult",
    "claim_sweep_dir",
    "error_line",
    "read_result",
    "take_sweep_dir",
    "write_result",
]

JOB_FILE = "confsched_job.json"
"""The name of a job's result file, in the job's output directory."""

SWEEP_MARK = ".confsched_sweep"
"""The file that marks a sweep directory as taken by one sweep (see :func:`claim_sweep_dir`)."""

_FORMAT = 1
SPEC_SECTIONS = ("optimizer", "scheduler", "data", "training")


@dataclass(frozen=True)
class JobResult:
    """One job of a sweep: its number, overrides, outcome, metrics and validated spec."""

    job: int | None
    """Hydra's job number (``hydra.job.num``); ``None`` for a single run."""
    overrides: tuple[str, ...]
    """The job's own overrides (``scheduler=cosine``), as Hydra passed them."""
    status: str
    """``completed`` or ``failed``."""
    error: str | None = None
    """Why it failed, in one line (``scheduler.warmup: 700 steps exceeds the run (30 steps)``)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """What the task function returned: ``{name: value}`` (training applications)."""
    spec: dict[str, Any] | None = None
    """The validated spec (``Spec.to_config()``), when the job's config held a valid one."""

    def to_json(self) -> str:
        """The JSON text of the result file."""
        return json.dumps(
            {
                "format": _FORMAT,
                "job": self.job,
                "overrides": list(self.overrides),
                "status": self.status,
                "error": self.error,
                "metrics": self.metrics,
                "spec": self.spec,
            },
            indent=1,
        )


def error_line(error: BaseException) -> str:
    """An exception as one line: a ``ConfschedError``'s own line, else ``Type: first line``."""
    if isinstance(error, ConfschedError):
        return " ".join(str(error).split())
    first = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def write_result(output_dir: str | Path, result: JobResult) -> Path:
    """Write ``result`` to ``output_dir/confsched_job.json`` (a temporary file, then a rename)."""
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / JOB_FILE
    descriptor, scratch = tempfile.mkstemp(prefix=f".{JOB_FILE}.", dir=directory)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(result.to_json())
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    return path


def read_result(path: str | Path) -> JobResult:
    """Read a result file; a file that is not one is a ``ValueError`` saying so."""
    try:
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"not a format-{_FORMAT} job result")
        job = data["job"]
        return JobResult(
            job=job if isinstance(job, int) else None,
            overrides=tuple(str(o) for o in data["overrides"]),
            status=str(data["status"]),
            error=None if data["error"] is None else str(data["error"]),
            metrics={str(k): float(v) for k, v in dict(data["metrics"]).items()},
            spec=data["spec"] if isinstance(data["spec"], dict) else None,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: unreadable job result ({error_line(exc)})") from None


def metrics_of(value: Any, name: str) -> dict[str, float]:
    """The finite numbers a task function returned: a number (called ``name``), or a mapping of them."""
    items = value.items() if isinstance(value, Mapping) else [(name, value)]
    found = {}
    for key, number in items:
        if isinstance(number, bool):
            continue
        try:
            converted = float(number)
        except (TypeError, ValueError):
            continue
        if math.isfinite(converted):
            found[str(key)] = converted
    return found


def spec_config(config: DictConfig | Mapping[str, Any], spec_key: str = "") -> dict[str, Any]:
    """The validated spec of a job config (its sections at ``spec_key``), as plain data.

    Raises the spec's ``ConfschedError`` when it does not validate.
    """
    from confsched.compose.config import to_data
    from confsched.spec.root import validate

    node: Any = OmegaConf.select(config, spec_key) if spec_key and isinstance(config, DictConfig) else config
    data = to_data(node) if isinstance(node, DictConfig) else node
    if not isinstance(data, Mapping):
        raise ConfschedError(spec_key, "no spec here (a mapping with optimizer, scheduler, data, training)")
    sections = {key: data[key] for key in SPEC_SECTIONS if key in data}
    return validate(sections).to_config()


def claim_sweep_dir(sweep_dir: str | Path) -> Path:
    """Take ``sweep_dir`` for one sweep, or refuse: a second sweep into a used directory would mix
    its jobs with the first's (two at once interleave their files; a later, smaller one leaves the
    earlier one's extra jobs in its report). The claim is a file created only if it does not exist
    (``O_EXCL``), so of two sweeps started together exactly one gets the directory.

    Raises ``ConfschedError`` naming ``hydra.sweep.dir`` when the directory holds a sweep already.
    """
    from confsched.compose.search import shown_path

    directory = Path(sweep_dir)
    directory.mkdir(parents=True, exist_ok=True)
    earlier = [p for p in directory.iterdir() if p.name == "multirun.yaml" or p.name.isdigit()]
    try:
        if earlier and not (directory / SWEEP_MARK).exists():
            raise FileExistsError  # a sweep of Hydra's own, before confsched marked directories
        os.close(os.open(directory / SWEEP_MARK, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        raise ConfschedError(
            "hydra.sweep.dir",
            f"{shown_path(directory)} holds another sweep already; give each sweep its own directory "
            "(another hydra.sweep.dir=..., or delete that one)",
        ) from None
    return directory


def take_sweep_dir(sweep_dir: str) -> None:
    """:func:`claim_sweep_dir` in a Hydra callback: a refusal is the one ``error:`` line and exit code 2."""
    from confsched.errors import render

    try:
        claim_sweep_dir(sweep_dir)
    except ConfschedError as error:
        print(render(error), file=sys.stderr)
        raise SystemExit(2) from None


class JobRecorder(Callback):
    """Hydra callback: at the end of each job, write its :class:`JobResult` into its output dir, and
    at the start of a sweep take its directory (a used one is refused).

    ``metric`` names what the task function returns (a number; a mapping of numbers keeps its own
    names); ``spec_key`` is where the spec's sections are in the job config (the top level when
    empty). A job that raised is recorded as failed with the exception's line.
    """

    def __init__(self, metric: str = "metric", spec_key: str = "") -> None:
        self.metric = metric
        self.spec_key = spec_key

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Take the sweep directory (:func:`claim_sweep_dir`); a used one ends the run: exit code 2."""
        take_sweep_dir(str(config.hydra.sweep.dir))

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        from hydra.core.utils import JobStatus

        failed = job_return.status == JobStatus.FAILED
        outcome = job_return._return_value
        error = error_line(outcome) if failed and isinstance(outcome, BaseException) else None
        try:
            spec: dict[str, Any] | None = spec_config(job_return.cfg, self.spec_key)
        except ConfschedError as problem:
            spec, error = None, error or error_line(problem)
        number = OmegaConf.select(config, "hydra.job.num")
        result = JobResult(
            job=number if isinstance(number, int) else None,
            overrides=tuple(str(o) for o in job_return.overrides or ()),
            status="failed" if failed else "completed",
            error=error,
            metrics={} if failed else metrics_of(outcome, self.metric),
            spec=spec,
        )
        write_result(str(config.hydra.runtime.output_dir), result)
