"""Start-up latency as ratios against the libraries confsched stands on, measured in the same run.

- ``import confsched`` vs ``python -c "import numpy, pydantic"``: goal <= 1.5x. ``import
  confsched`` imports only the error classes; every other name (the models, the math, the Hydra
  side, torch) is imported on first use.
- ``confsched.Spec`` (the first use that builds the pydantic models, which imports numpy and
  pydantic) vs the same baseline: no goal, the cost of the models themselves, shown so that the
  first row does not hide it.
- ``confsched show`` vs a bare Hydra app that composes the same config tree and prints it
  (``@hydra.main`` over ``conf/``, ``OmegaConf.to_yaml``): goal <= 2x. ``show`` also validates
  the spec, computes the step arithmetic and every group's curve.

Each row runs both commands as fresh processes, interleaved, medians of 7 runs.
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
from pathlib import Path

from benchmarks.common import Row, compare_runs, confsched_command, measure

REPEATS = 7
_CONF = Path(__file__).resolve().parents[1] / "conf"

BARE_HYDRA_APP = """
import hydra
from omegaconf import OmegaConf


@hydra.main(version_base=None, config_path={conf!r}, config_name="config")
def main(cfg):
    print(OmegaConf.to_yaml(cfg))


main()
"""
"""The baseline of ``confsched show``: Hydra composing the shipped tree, and nothing else."""


def _python(code: str, cwd: str) -> object:
    return lambda: measure([sys.executable, "-c", code], cwd=cwd)


def run() -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="confsched-bench-latency-") as scratch:
        base = _python("import numpy, pydantic", scratch)
        for name, code, goal in (
            ("import confsched", "import confsched", 1.5),
            ("import confsched; confsched.Spec", "import confsched; confsched.Spec", None),
        ):
            c, b = compare_runs(_python(code, scratch), base, repeats=REPEATS)  # type: ignore[arg-type]
            ratio = c.seconds / b.seconds
            rows.append(
                Row(
                    name,
                    f"{c.seconds:.3f} s",
                    f"{b.seconds:.3f} s (import numpy, pydantic)",
                    ratio,
                    f"<= {goal}x" if goal else "(the models)",
                    ratio <= goal if goal else True,
                )
            )
        app = Path(scratch) / "bare_hydra_app.py"
        app.write_text(textwrap.dedent(BARE_HYDRA_APP.format(conf=str(_CONF))))
        hydra_flags = ("hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=none")
        c, b = compare_runs(
            lambda: measure([*confsched_command(), "show"], cwd=scratch),
            lambda: measure(
                [sys.executable, str(app), *hydra_flags, "hydra/hydra_logging=none"], cwd=scratch
            ),
            repeats=REPEATS,
        )
        ratio = c.seconds / b.seconds
        rows.append(
            Row(
                "confsched show",
                f"{c.seconds:.3f} s",
                f"{b.seconds:.3f} s (bare Hydra app, same tree)",
                ratio,
                "<= 2x",
                ratio <= 2,
                "show also validates, plans the steps and computes each group's curve",
            )
        )
    return rows
