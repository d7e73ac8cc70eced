"""The ``confsched`` command (minimal until the Hydra application lands)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from confsched.curve import lr_curve
from confsched.errors import ConfschedError, render
from confsched.loading import compose, load
from confsched.spec.root import Spec

__all__ = ["main"]

USAGE = "usage: confsched show [FILE.yaml | OVERRIDE ...]"


def _summary(spec: Spec) -> str:
    curve = lr_curve(spec)
    lines = [
        f"scheduler: {spec.scheduler.name}  optimizer: {spec.optimizer.name}",
        f"steps per epoch: {spec.steps_per_epoch}",
        f"total steps: {spec.total_steps}  ({spec.plan.explain()})",
        f"warmup steps: {spec.warmup_steps}",
    ]
    for i, name in enumerate(spec.group_names):
        lines.append(
            f"group {name}: base lr {spec.group_base_lrs[name]:.6g}, "
            f"first lr {curve[0, i]:.6g}, last lr {curve[-1, i]:.6g}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "show":
        print(USAGE, file=sys.stderr)
        return 2
    rest = args[1:]
    try:
        if rest and rest[0].endswith((".yaml", ".yml")):
            spec = load(rest[0])
        else:
            spec = compose(rest)
    except ConfschedError as error:
        print(render(error), file=sys.stderr)
        return 2
    print(_summary(spec))
    return 0
