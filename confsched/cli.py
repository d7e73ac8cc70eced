"""The ``confsched`` command: ``show``, ``plot``, ``diff`` (Hydra applications) and ``schema``.

    confsched show [CONFIG.yaml] [OVERRIDE ...]     the resolved spec and its step arithmetic
    confsched plot [CONFIG.yaml] [OVERRIDE ...]     lr_schedule.png + lr_schedule.csv in Hydra's output dir
    confsched diff A.yaml B.yaml [OVERRIDE ...]     changed fields, step counts, largest LR difference
    confsched schema                                 the JSON Schema of a spec file
    confsched report MULTIRUN_DIR                    a sweep's table and figure (every job, failed ones too)
    confsched export --to PEER [CONFIG.yaml] [OVERRIDE ...]   another tool's config for the spec
    confsched import PEER_CONFIG [--from PEER]       a spec for another tool's config

Invalid input of any kind is one line on stderr starting ``error:`` and exit code 2. None of these
commands imports torch.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from confsched.app import Command, Job, is_config_file, run
from confsched.compose.search import shown_path
from confsched.curve import lr_curve
from confsched.errors import ConfigError, ConfschedError, SpecError, did_you_mean, render
from confsched.outputs import quiet_stdout
from confsched.spec.duration import Duration
from confsched.spec.root import Spec

__all__ = ["COMMANDS", "PlotOptions", "console", "describe", "main", "usage", "version"]


def _say(job: Job, *lines: str) -> None:
    """Print a job's report in one write (parallel jobs of a sweep do not interleave their lines)."""
    if job.number is not None:
        lines = (f"# job {job.number}: {' '.join(job.overrides) or '(no overrides)'}", *lines)
    try:
        print("\n".join(lines), flush=True)
    except BrokenPipeError:  # `confsched show | head`: the reader has gone; stop writing quietly
        quiet_stdout()


# ---- show -----------------------------------------------------------------------------------


def describe(spec: Spec) -> str:
    """The derived figures ``show`` prints under the spec: step arithmetic, the LR scaling and layer
    decay, each group's LRs (and its own schedule), the weight decay and momentum schedules."""
    plan = spec.plan
    lines = [] if plan.counts_samples else [f"steps per epoch: {spec.steps_per_epoch}"]
    lines.append(f"total steps: {spec.total_steps}  ({plan.explain()})")
    warmup = spec.scheduler.warmup
    if plan.counts_samples:
        lines.append(f"warmup steps: {spec.warmup_steps}  (scheduler.warmup: {plan.describe(warmup)})")
        lines += [  # the family's other durations, in samples
            f"scheduler.{name}: {plan.describe_samples(value)}"
            for name, value in spec.scheduler
            if isinstance(value, Duration) and name != "warmup"
        ]
        lines += _time_lines(spec)
    else:
        lines.append(f"warmup steps: {spec.warmup_steps}  (scheduler.warmup: {warmup})")
    if spec.optimizer.lr_scaling is not None:
        lines.append(f"lr scaling: {spec.optimizer.lr_scaling.explain(spec.optimizer.lr, plan)}")
    if spec.optimizer.layers is not None:
        lines.append(_layer_decay(spec))
    curve = lr_curve(spec)
    metric = spec.family.driven_by == "metric"
    for i, name in enumerate(spec.group_names):
        column = curve[:, i]
        peak = int(column.argmax())
        final = "set by the metric while training" if metric else f"{column[-1]:.6g} (step {len(column) - 1})"
        lines.append(
            f"group {name}{_group_note(spec, name)}: base lr {spec.group_base_lrs[name]:.6g}, "
            f"peak lr {column[peak]:.6g} (step {peak}), final lr {final}"
        )
    return "\n".join([*lines, *_other_quantities(spec)])


def _layer_decay(spec: Spec) -> str:
    """``layer decay 0.75 over 14 layers (preset hf_bert): ...``: which layer is what, and the rule."""
    layers, decay = spec.optimizer.layers, spec.optimizer.layer_decay
    assert layers is not None
    assert decay is not None
    top = layers.count - 1
    source = f"preset {layers.preset}" if layers.preset else f"block pattern {layers.names.block}"
    return (
        f"layer decay: {decay:g} over {layers.count} layers ({source}): layer_0 the embeddings, layer_1 to "
        f"layer_{top - 1} blocks 0 to {top - 2}, layer_{top} the top (the head and every other parameter); "
        f"layer l trains at lr x {decay:g}^({top} - l)"
    )


def _group_note(spec: Spec, name: str) -> str:
    """`` (block 2, lr x 0.75^10 = 0.0563; frozen until step 500, then cosine)`` or ``""``."""
    notes = []
    layer = spec.optimizer.group_layers.get(name)
    if layer is not None and spec.optimizer.layer_decay is not None:
        top = len(spec.optimizer.group_layers) - 1
        what = "embeddings" if layer == 0 else "top layer" if layer == top else f"block {layer - 1}"
        scale = spec.group_base_lrs[name] / spec.lr
        notes.append(f"{what}, lr x {spec.optimizer.layer_decay:g}^{top - layer} = {scale:.3g}")
    own = spec.group_schedulers.get(name)
    if own is not None:
        family = (own.scheduler or spec.scheduler).name
        start = spec.plan.steps(own.frozen_until)
        notes.append(f"frozen until step {start}, then {family}" if start else f"own schedule: {family}")
    return f" ({'; '.join(notes)})" if notes else ""


def _other_quantities(spec: Spec) -> list[str]:
    """A line for the weight decay and one for the momentum, when the spec schedules them."""
    import numpy as np
    import numpy.typing as npt

    from confsched.curve import momentum_curve, weight_decay_curve

    def course(values: npt.NDArray[np.float64]) -> str:
        """``0.04 at step 0, peak 0.4 (step 1949), final 0.4 (step 1949)``."""
        peak, last = int(values.argmax()), len(values) - 1
        return (
            f"{values[0]:.6g} at step 0, peak {values[peak]:.6g} (step {peak}), "
            f"final {values[last]:.6g} (step {last})"
        )

    lines = []
    decays = weight_decay_curve(spec)
    if decays is not None and spec.weight_decay_scheduler is not None:
        base = spec.group_weight_decays
        column = next(
            (i for i, n in enumerate(spec.group_names) if base[n] == spec.optimizer.weight_decay), 0
        )
        lines.append(
            f"weight decay ({spec.weight_decay_scheduler.name} x optimizer.weight_decay "
            f"{spec.optimizer.weight_decay:g}; every group's weight_decay follows the same multiplier): "
            f"{course(decays[:, column])}"
        )
    momenta = momentum_curve(spec)
    if momenta is not None:
        what = "beta1" if spec.momentum_key == "betas" else "momentum"
        source = (
            spec.momentum_scheduler.name if spec.momentum_scheduler else f"scheduler {spec.scheduler.name}"
        )
        lines.append(f"{what} ({source}, every group): {course(momenta[:, 0])}")
    return lines


def _time_lines(spec: Spec) -> list[str]:
    """What a run counted in samples consumes, and its global batch (each step's, with a ramp)."""
    plan = spec.plan
    samples = plan.total_samples
    size = f"{samples} samples"
    if plan.tokens_per_sample is not None:
        size += f" = {samples * plan.tokens_per_sample} tokens ({plan.tokens_per_sample} per sample)"
    lines = [f"time: the schedule follows the samples consumed; the budget is {size}"]
    if plan.batches is None or not plan.batches.ramps:
        return [*lines, f"global batch: {plan.global_batch_size} samples every step"]
    starts = plan.batches.stage_starts()
    step, consumed, batch = starts[-1]
    return [
        *lines,
        f"global batch: {starts[0][2]} -> {batch} in {len(starts)} stages, {batch} from step {step} "
        f"({consumed} samples consumed); each step's is spec.plan.global_batch(step)",
    ]


class _SpecDumper(yaml.SafeDumper):
    """Block-style YAML, except lists of plain values on one line (``betas: [0.9, 0.999]``)."""


def _represent_list(dumper: yaml.SafeDumper, data: list[object]) -> yaml.Node:
    flow = all(not isinstance(item, dict | list) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_SpecDumper.add_representer(list, _represent_list)


def _show(job: Job) -> None:
    text = yaml.dump(job.spec.to_config(), Dumper=_SpecDumper, sort_keys=False)
    _say(job, text.rstrip(), "", describe(job.spec))


# ---- plot -----------------------------------------------------------------------------------


X_AXES = ("steps", "samples", "tokens")
"""What ``plot --x-axis`` may count: optimizer steps, or the samples or tokens consumed."""


@dataclasses.dataclass(frozen=True)
class PlotOptions:
    """``plot``'s own flags: the x axis, the LR axis scale (``None``: automatic) and the table format."""

    x: str = "steps"
    log_y: bool | None = None
    table: str = "auto"


def _plot(job: Job, options: PlotOptions = PlotOptions()) -> None:
    from confsched.outputs import refuse_link, size_text
    from confsched.plot import plot_schedule, schedule_title
    from confsched.table import table_path, write_table

    spec = job.spec
    curve = lr_curve(spec)
    for target in (
        job.output_dir / "lr_schedule.png",
        table_path(job.output_dir / "lr_schedule", options.table, len(curve)),
    ):
        if target is not None:  # before writing either: both files or neither
            refuse_link(target)
    png = plot_schedule(
        spec,
        job.output_dir / "lr_schedule.png",
        curve,
        x=options.x,  # type: ignore[arg-type]
        log_y=options.log_y,
    )
    lines = [schedule_title(spec, curve), f"wrote {shown_path(png)} ({size_text(png.stat().st_size)})"]
    table = write_table(spec, job.output_dir / "lr_schedule", curve, options.table)
    if table is None:
        lines.append("no table written (--format none)")
    else:
        rows = f"{len(curve):,} rows"
        lines.append(f"wrote {shown_path(table)} ({rows}, {size_text(table.stat().st_size)}; exact values)")
    _say(job, *lines)


def _report_sweep(sweep_dir: Path) -> None:
    """After ``plot -m``, and ``confsched report DIR``: the table and figure of :mod:`confsched.report`."""
    from confsched.report import markdown, report

    sweep, paths = report(sweep_dir)
    failed = f", {len(sweep.failed)} failed" if sweep.failed else ""
    table = markdown(sweep, leave_out=("overrides",))
    lines = [f"sweep of {len(sweep.jobs)} jobs in {shown_path(sweep_dir)}{failed}:", table]
    print("\n".join([*lines, *(f"wrote {shown_path(path)}" for path in paths)]), flush=True)


# ---- diff -----------------------------------------------------------------------------------


def _diff(job: Job) -> None:
    from confsched.diff import diff_specs

    (new_label, new), *_ = job.others
    difference = diff_specs(job.spec, new)
    png = difference.plot(job.output_dir / "lr_diff.png", job.label, new_label)
    _say(job, difference.render(job.label, new_label), f"wrote {shown_path(png)}")
    if difference.resume is not None and difference.resume.jumps:
        raise SpecError("continuation", difference.resume.describe())


# ---- export (import, which reads another tool's file and no spec, is in PLAIN) -------------


def _export(job: Job, peer: str = "") -> None:
    from confsched.bridges import export_text

    _say(job, export_text(job.spec, peer).rstrip("\n"))


# ---- the command table ----------------------------------------------------------------------

COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("show", "print the resolved spec, the step arithmetic and each group's LRs", _show),
        Command(
            "plot",
            "write lr_schedule.png and lr_schedule.csv into Hydra's output dir (-m: one per job + report)",
            _plot,
            writes=True,
            sweep_end=_report_sweep,
        ),
        Command(
            "diff",
            "compare two config files (or REV:path from git): fields, steps, largest LR gap, lr_diff.png",
            _diff,
            files=(2, 2),
            writes=True,
        ),
        Command(
            "export", "print the config of another tool for a spec (--to hf|deepspeed|timm|nemo)", _export
        ),
    )
}
"""The Hydra subcommands; ``schema``, ``report`` and ``import`` (no spec involved) are in :data:`PLAIN`."""

SCHEMA_SUMMARY = "print the JSON Schema of a spec (for editor completion of YAML files)"
REPORT_SUMMARY = "sweep_report.csv/.md/.png of a -m sweep dir: each job's knobs, spec, metric, failure"
IMPORT_SUMMARY = "print a spec for another tool's config (HF, DeepSpeed, timm, NeMo, Lightning; --from)"

USAGE = (
    "usage: confsched {show,plot,diff,export,schema,report,import} [CONFIG.yaml] [OVERRIDE ...]"
    " [HYDRA FLAGS] [plot: --x-axis steps|samples|tokens]"
)


def usage() -> str:
    """The top-level help text."""
    lines = [USAGE, "", "commands:"]
    lines += [f"  {c.name:<7} {c.summary}" for c in COMMANDS.values()]
    lines += [f"  {name:<7} {summary}" for name, (summary, _) in PLAIN.items()]
    lines += [
        "",
        "examples:",
        "  confsched plot                                      # the default config: cosine, 1950 steps",
        "  confsched plot scheduler=linear scheduler.warmup=10%",
        "  confsched plot -m scheduler=linear,cosine optimizer.lr=1e-3,3e-4",
        "  confsched plot +experiment=llm_tokens --x-axis tokens            # LR and batch against tokens",
        "  confsched show +experiment=bert_finetune",
        "  confsched diff HEAD:my_run.yaml my_run.yaml",
        "  confsched plot --config-dir ./conf --config-name my_run",
        "  confsched show -m 'scheduler.warmup=range(0,20000)' --max-jobs 20000   # above 10,000 jobs",
        "  confsched report multirun/2026-01-31/12-00-00",
        "",
        "Each of show, plot and diff is a Hydra application: `confsched plot --help` lists the config",
        "groups and the composed config; --cfg job, --info, -m, hydra/launcher=joblib all work.",
    ]
    return "\n".join(lines)


def _schema(args: list[str]) -> int:
    if args in (["-h"], ["--help"]):
        print(f"usage: confsched schema > confsched.schema.json\n\n{SCHEMA_SUMMARY}")
        return 0
    if args:
        raise ConfigError(
            "", f"schema takes no arguments (got {' '.join(args)}); redirect the output to a file"
        )
    from confsched.spec.duration import DurationDefaultsJsonSchema

    print(json.dumps(Spec.model_json_schema(schema_generator=DurationDefaultsJsonSchema), indent=2))
    return 0


def _report(args: list[str]) -> int:
    if len(args) != 1 or args[0].startswith("-"):
        if args in (["-h"], ["--help"]):
            print(f"usage: confsched report MULTIRUN_DIR\n\n{REPORT_SUMMARY}")
            return 0
        raise ConfigError("", f"report takes one sweep directory (got {' '.join(args) or 'none'})")
    _report_sweep(Path(args[0]))
    return 0


def _import(args: list[str]) -> int:
    from confsched.bridges import import_command

    print(import_command(args), end="")
    return 0


PLAIN: dict[str, tuple[str, Callable[[list[str]], int]]] = {
    "schema": (SCHEMA_SUMMARY, _schema),
    "report": (REPORT_SUMMARY, _report),
    "import": (IMPORT_SUMMARY, _import),
}
"""The commands that are not Hydra applications: name -> (summary, function of the arguments)."""


def _complete(args: list[str]) -> int:
    """Shell completion: complete the subcommand, or hand the rest of the line to Hydra."""
    line = os.environ.get("COMP_LINE", "")
    words = line.split()
    if any(a.startswith("query") for a in args) and words:
        typing = not line.endswith(" ")
        if len(words) == 1 or (len(words) == 2 and typing):
            partial = words[1] if len(words) == 2 else ""
            print(" ".join(name for name in [*COMMANDS, *PLAIN] if name.startswith(partial)))
            return 0
        command = COMMANDS.get(words[1])
        if command is None:
            return 0
        done = words[2:-1] if typing else words[2:]  # config files before the word being typed
        files = [word for word in done if is_config_file(word)]
        kept = [word for word in words[2:] if word not in files]
        os.environ["COMP_LINE"] = " ".join([words[0], *kept]) + ("" if typing else " ")
        return run(command, [*files, *args])
    return run(COMMANDS["show"], args)


PLOT_FLAGS = (
    "  --x-axis steps|samples|tokens    what the x axis counts (default steps)",
    "  --log-y / --linear-y             the LR axis scale (default: log when the LR spans > 3 decades)",
    "  --format auto|csv|npz|parquet|none  the exact LR table (auto: CSV up to 1M rows, else NPZ)",
)
"""``plot``'s own flags, as its help lists them."""


def _plot_options(args: list[str]) -> tuple[list[str], PlotOptions]:
    """Take ``plot``'s own flags (:data:`PLOT_FLAGS`; ``--flag value`` or ``--flag=value``) out of
    its arguments."""
    from confsched.table import FORMATS

    rest: list[str] = []
    options = PlotOptions()
    words = iter(args)
    for word in words:
        flag, eq, value = word.partition("=")
        if flag in ("--x-axis", "--format"):
            value = value if eq else next(words, "")
            choices = X_AXES if flag == "--x-axis" else FORMATS
            if value not in choices:
                what = "an x axis" if flag == "--x-axis" else "a table format"
                raise ConfigError(
                    "",
                    f"{flag}: {value!r} is not {what}{did_you_mean(value, choices)} ({', '.join(choices)})",
                )
            if flag == "--x-axis":
                options = dataclasses.replace(options, x=value)
            else:
                options = dataclasses.replace(options, table=value)
        elif word in ("--log-y", "--linear-y"):
            options = dataclasses.replace(options, log_y=word == "--log-y")
        else:
            rest.append(word)
    return rest, options


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and ``python -m confsched``; returns the exit code.

    Whatever happens is one line at most: a :class:`ConfschedError` is ``error: ...`` and exit 2;
    Ctrl-C is ``interrupted`` and exit 130 (the files being written are left as they were, see
    :mod:`confsched.outputs`); a reader of stdout that goes away (``confsched schema | head -1``)
    ends the command quietly with exit 0.
    """
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # the reader has gone: nothing more to say to it, nor about it
        quiet_stdout()
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was left half-written", file=sys.stderr)
        return 130


def _main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    name, rest = args[0], args[1:]
    try:
        if name in ("-V", "--version"):
            print(version())
            return 0
        if name in ("-sc", "--shell-completion"):
            return _complete(args)
        if name in PLAIN:
            return PLAIN[name][1](rest)
        command = COMMANDS.get(name)
        if command is None:
            names = [*COMMANDS, *PLAIN]
            raise ConfigError(
                "",
                f"unknown command '{name}'{did_you_mean(name, names)} (commands: {', '.join(names)})",
            )
        if name == "plot":
            if any(word in ("-h", "--help") for word in rest):
                print("\n".join(["plot's own flags:", *PLOT_FLAGS, ""]))
            rest, options = _plot_options(rest)
            command = dataclasses.replace(command, run=functools.partial(_plot, options=options))
        if name == "export":
            from confsched.bridges import export_args

            rest, peer = export_args(rest)
            command = dataclasses.replace(command, run=functools.partial(_export, peer=peer))
    except ConfschedError as error:
        print(render(error), file=sys.stderr)
        return 2
    return run(command, rest)


def version() -> str:
    """``confsched 0.1.0 (hydra 1.3.8, omegaconf 2.3.0, pydantic 2.x, python 3.12.3)``."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from confsched import __version__

    def of(package: str) -> str:
        try:
            return f"{package} {installed(package)}"
        except PackageNotFoundError:
            return f"{package} not installed"

    python = ".".join(map(str, sys.version_info[:3]))
    packages = ", ".join(map(of, ("hydra-core", "omegaconf", "pydantic")))
    return f"confsched {__version__} ({packages}, python {python})"


def console() -> None:
    """The ``confsched`` console script and ``python -m confsched``: :func:`main`, then exit.

    Before exiting, every object moves to the garbage collector's permanent generation
    (``gc.freeze``): the interpreter's teardown then skips collecting the ~100k objects of Hydra,
    pydantic and matplotlib, a quarter of a second of a ``confsched plot`` that takes 1.7 s.
    """
    from confsched.outputs import PipeSafe

    sys.stdout = PipeSafe(sys.stdout)
    code = main()
    gc.freeze()
    sys.exit(code)
