"""``python -m benchmarks [name ...]``: run the benchmarks and print one table of ratios."""

from __future__ import annotations

import importlib
import sys

from benchmarks.common import Row, print_table

ALL = ("latency", "step", "curve", "compile", "plot", "plot10m", "sweep", "sweep_scale")


def main(names: list[str]) -> int:
    rows: list[Row] = []
    for name in names or ALL:
        if name not in ALL:
            print(f"error: unknown benchmark {name!r}; choose from {', '.join(ALL)}", file=sys.stderr)
            return 2
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += importlib.import_module(f"benchmarks.{name}").run()
    print_table(rows)
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
