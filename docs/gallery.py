"""Draw one small plot per step-driven schedule family: ``docs/gallery/<family>.png``.

Each plot is the family's shipped config (``conf/scheduler/<family>.yaml``) on the worked example
(AdamW at lr 1e-3, 1950 steps), i.e. what ``confsched plot scheduler=<family>`` draws, plus the
momentum / beta1 curve for families that set it. Run from the repository root after changing a
family or its config::

    python docs/gallery.py                # all step-driven families
    python docs/gallery.py one_cycle      # just these
    python docs/gallery.py sweep_report   # docs/gallery/sweeps/: the report of an Optuna study (~1 min)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

import confsched

OUT = Path(__file__).resolve().parent / "gallery"


def draw(name: str) -> Path:
    """Render ``name``'s shipped config to ``docs/gallery/<name>.png`` and return the path."""
    spec = confsched.compose([f"scheduler={name}"])
    steps = np.arange(spec.total_steps)
    lr = confsched.lr_curve(spec, steps)[:, 0]
    momentum = confsched.momentum_curve(spec, steps)

    fig, ax = plt.subplots(figsize=(4.2, 2.6), dpi=100)
    ax.plot(steps, lr, color="tab:blue", linewidth=1.4)
    ax.set_xlim(0, spec.total_steps)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("optimizer step", fontsize=8)
    ax.set_ylabel("LR", fontsize=8, color="tab:blue")
    ax.tick_params(labelsize=7)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    ax.yaxis.get_offset_text().set_fontsize(7)
    ax.grid(alpha=0.3)
    if momentum is not None:
        twin = ax.twinx()
        twin.plot(steps, momentum[:, 0], color="tab:orange", linewidth=1.0, linestyle="--")
        twin.set_ylabel("beta1 / momentum", fontsize=8, color="tab:orange")
        twin.tick_params(labelsize=7)
    ax.set_title(f"{name}\n{textwrap.shorten(spec.family.summary, 72)}", fontsize=7.5)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def draw_rampup() -> Path:
    """``docs/gallery/llm_tokens_rampup.png``: the LLM preset in tokens (``conf/experiment/
    llm_tokens.yaml``) at a 100B-token budget, so that its 20B-token batch ramp fills a fifth of the
    figure: its LR and its global batch against the tokens consumed, as ``confsched plot
    +experiment=llm_tokens training.max_tokens=100B --x-axis tokens`` draws it."""
    from confsched.plot import plot_schedule

    spec = confsched.compose(["+experiment=llm_tokens", "training.max_tokens=100B"])
    OUT.mkdir(parents=True, exist_ok=True)
    return plot_schedule(spec, OUT / f"{RAMPUP}.png", x="tokens")


RAMPUP = "llm_tokens_rampup"

PLOTS: dict[str, tuple[list[str], dict[str, object]]] = {
    "one_cycle": (["scheduler=one_cycle"], {}),
    "wsd": (["scheduler=warmup_stable_decay"], {}),
    "multistep_log": (["scheduler=multistep", "scheduler.milestones=[20ep,30ep,40ep,45ep]"], {}),
    "restarts_10m": (
        [
            "scheduler=cosine_with_restarts",
            "scheduler.num_cycles=4",
            "scheduler.warmup=2%",
            "training.max_steps=10000000",
        ],
        {},
    ),
    "one_step": (["training.max_steps=1", "scheduler.warmup=0"], {}),
    "eight_groups": (
        [
            "scheduler=cosine_with_restarts",
            "scheduler.num_cycles=2",
            "+optimizer.groups=["
            + ",".join(f"{{name:g{i},params:[g{i}.*],lr:{(i + 1) * 2e-4:g}}}" for i in range(7))
            + "]",
        ],
        {},
    ),
}
"""``docs/gallery/plots/<name>.png``: ``confsched plot``'s own figure (what the command writes) at the
sizes the issue asks to look at: one group, eight groups, one step, ten million steps; a schedule
with a momentum panel (one_cycle), phase marks (WSD, restarts, milestones) and a log LR axis."""


def draw_plots(names: list[str] | None = None) -> list[Path]:
    """Draw :data:`PLOTS` with :func:`confsched.plot.plot_schedule`."""
    from confsched.plot import plot_schedule

    out = OUT / "plots"
    out.mkdir(parents=True, exist_ok=True)
    drawn = []
    for name in names or PLOTS:
        overrides, options = PLOTS[name]
        drawn.append(plot_schedule(confsched.compose(overrides), out / f"{name}.png", **options))  # type: ignore[arg-type]
    return drawn


EXTRAS = {RAMPUP: draw_rampup, "plots": draw_plots}
"""Gallery figures that are not one family each: name -> how to draw it."""


STUDY = (
    "+hparams_search=optuna",
    "hydra.sweeper.n_trials=16",
    "training.epochs=3",
    "digits.progress_bar=false",
    "digits.tensorboard=false",
)
"""The study of the README's figure: the shipped Optuna preset on the digits example, 16 short trials."""


def draw_sweep_report() -> Path:
    """Run :data:`STUDY` and keep its report's figure as ``docs/gallery/sweeps/optuna_report.png``."""
    example = Path(__file__).resolve().parents[1] / "examples" / "train_digits.py"
    with tempfile.TemporaryDirectory(prefix="confsched-gallery-") as scratch:
        sweep = Path(scratch) / "study"
        subprocess.run([sys.executable, str(example), *STUDY, f"hydra.sweep.dir={sweep}"], check=True)
        subprocess.run([sys.executable, "-m", "confsched", "report", str(sweep)], check=True)
        path = OUT / "sweeps" / "optuna_report.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sweep / "sweep_report.png", path)
    return path


ON_DEMAND = {"sweep_report": draw_sweep_report}
"""Figures drawn only when named (they run a sweep): name -> how to draw it."""


def main(names: list[str]) -> None:
    step_driven = [name for name, family in confsched.FAMILIES.items() if family.driven_by == "step"]
    drawers = {**EXTRAS, **ON_DEMAND}
    for name in names or [*step_driven, *EXTRAS]:
        print(drawers[name]() if name in drawers else draw(name))


if __name__ == "__main__":
    main(sys.argv[1:])
