"""plot.py: the CSV is exact, the figures are written, the title states the run."""

from __future__ import annotations

import numpy as np
import pytest

import confsched
from confsched.plot import (
    Curve,
    envelope,
    phase_marks,
    plot_overlay,
    plot_schedule,
    read_csv,
    schedule_title,
    scheduled_quantities,
    wants_log_y,
    write_csv,
)


@pytest.fixture
def two_groups(make_spec):
    return make_spec(
        optimizer={"name": "adamw", "lr": 1e-3, "groups": [{"name": "head", "params": ["h.*"], "lr": 3e-3}]},
        scheduler={"name": "warmup_stable_decay", "warmup": "6%", "decay": "20%"},
    )


def test_the_csv_holds_every_step_of_every_group_exactly(two_groups, tmp_path):
    path = write_csv(two_groups, tmp_path / "lr.csv")
    assert path.read_text().splitlines()[:2] == ["step,default,head", "0,0.0,0.0"]
    names, values = read_csv(path)
    assert names == ["default", "head"]
    assert values.shape == (1950, 2)
    assert np.array_equal(values, confsched.lr_curve(two_groups))


def test_a_metric_driven_family_writes_its_held_base_lr(make_spec, tmp_path):
    spec = make_spec(scheduler={"name": "reduce_lr_on_plateau"})
    _, values = read_csv(write_csv(spec, tmp_path / "lr.csv"))
    assert np.array_equal(values, np.full((1950, 1), 1e-3))


@pytest.mark.parametrize(
    ("training", "title"),
    [
        ({"epochs": 50}, "cosine · adamw · 1950 steps (50 epochs × 39) · warmup 100 steps"),
        ({"epochs": 50, "max_steps": 500}, "cosine · adamw · 500 steps (max_steps) · warmup 100 steps"),
    ],
)
def test_the_title_states_family_optimizer_and_step_arithmetic(make_spec, training, title):
    assert schedule_title(make_spec(training=training)) == title


def test_the_title_says_when_there_is_no_warmup(make_spec):
    assert schedule_title(make_spec(scheduler={"name": "linear"})).endswith("· no warmup")


@pytest.mark.parametrize("family", ["cosine", "reduce_lr_on_plateau"])
def test_plot_schedule_writes_a_png(make_spec, tmp_path, family):
    warmup = 100 if family == "cosine" else 0
    path = plot_schedule(make_spec(scheduler={"name": family, "warmup": warmup}), tmp_path / "lr.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_plot_overlay_takes_curves_of_different_lengths(tmp_path):
    curves = [Curve("a", np.linspace(1, 0, 50)), Curve("b", np.linspace(1, 0, 80), "--", "C0")]
    path = plot_overlay(curves, tmp_path / "o.png", "two", gap=(10, 0.8, 0.88, "gap"), layered=True)
    assert path.read_bytes().startswith(b"\x89PNG")


def test_a_csv_of_several_blocks_is_exact_and_in_step_order(make_spec, tmp_path):
    spec = make_spec(training={"epochs": 1, "max_steps": 150_001})  # 3 blocks of rows, the last short
    path = write_csv(spec, tmp_path / "lr.csv")
    lines = path.read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [str(k) for k in range(150_001)]
    assert np.array_equal(read_csv(path)[1], confsched.lr_curve(spec))


def test_envelope_returns_a_curve_that_fits_in_the_columns_whole():
    values = np.linspace(1.0, 0.0, 200)
    steps, kept = envelope(values, columns=100)
    assert np.array_equal(steps, np.arange(200))
    assert np.array_equal(kept, values)


@pytest.mark.parametrize("n", [1_000_000, 999_983])  # buckets of equal size; a shorter last one
def test_envelope_keeps_each_columns_true_minimum_and_maximum(n):
    values = np.cumsum(np.random.default_rng(1).normal(size=n))  # a random walk: no structure to lean on
    columns = 1200
    steps, kept = envelope(values, columns)
    assert len(steps) <= 2 * columns + 2
    assert steps[0] == 0
    assert steps[-1] == n - 1
    assert np.all(np.diff(steps) > 0)
    assert np.array_equal(kept, values[steps])  # real samples, at the steps they belong to
    size = -(-n // columns)
    for start in range(0, n, size):
        inside = (steps >= start) & (steps < start + size)
        assert kept[inside].min() == values[start : start + size].min()
        assert kept[inside].max() == values[start : start + size].max()


def test_envelope_keeps_a_one_step_spike_and_a_one_step_dip():
    values = np.full(10_000_000, 0.5)
    values[1_234_567] = 1.0
    values[8_765_432] = 0.0
    steps, kept = envelope(values, 1200)
    assert (1_234_567, 1.0) in zip(steps.tolist(), kept.tolist(), strict=True)
    assert (8_765_432, 0.0) in zip(steps.tolist(), kept.tolist(), strict=True)
    assert len(steps) <= 1200 + 4  # a flat bucket is one point (its min and max are its first step)


def test_a_long_run_is_drawn_from_its_envelope_and_a_short_one_whole(make_spec, tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    drawn: list[int] = []
    plot = Axes.plot

    def counting(self, *args, **kwargs):
        drawn.append(len(args[0]))
        return plot(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "plot", counting)
    plot_schedule(make_spec(training={"epochs": 1, "max_steps": 2_000_000}), tmp_path / "long.png")
    plot_schedule(make_spec(), tmp_path / "short.png")
    assert 1000 < drawn[0] <= 2 * 1200 + 3  # 10 in x 120 dpi = 1200 pixel columns
    assert drawn[1] == 1950 + 1  # every step, and where the last one ends


# ---- weight decay and momentum: panels and CSV columns ------------------------------------------


@pytest.fixture
def finetune(make_spec):
    return make_spec(
        optimizer={
            "name": "adamw",
            "lr": 1e-3,
            "weight_decay": 0.04,
            "groups": [{"name": "head", "params": ["h.*"], "lr": 3e-3, "weight_decay": 0.0}],
        },
        weight_decay_scheduler={
            "name": "phases",
            "phases": [{"duration": None, "shape": "cosine", "end": 10}],
        },
        momentum_scheduler={"name": "piecewise", "knots": [[0, 0.95], ["50%", 1.05]]},
    )


def png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[16:24]
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


def test_the_csv_adds_a_column_per_group_for_weight_decay_and_beta1_exactly(finetune, tmp_path):
    path = write_csv(finetune, tmp_path / "lr.csv")
    names, values = read_csv(path)
    assert names == [
        "default",
        "head",
        "weight_decay/default",
        "weight_decay/head",
        "momentum/default",
        "momentum/head",
    ]
    assert np.array_equal(values[:, :2], confsched.lr_curve(finetune))
    assert np.array_equal(values[:, 2:4], confsched.weight_decay_curve(finetune))
    assert np.array_equal(values[:, 4:], confsched.momentum_curve(finetune))
    row = path.read_text().splitlines()[1001].split(",")
    assert [float(cell) for cell in row[3:]] == [
        0.04 * finetune.weight_decay_schedule(1000),
        0.0,  # the head's own weight_decay: 0 x the multiplier
        0.9 * 1.05,
        0.9 * 1.05,
    ]


def test_one_cycle_writes_its_momentum_too(make_spec, tmp_path):
    spec = make_spec(optimizer={"name": "sgd", "lr": 0.01, "momentum": 0.9}, scheduler={"name": "one_cycle"})
    names, values = read_csv(write_csv(spec, tmp_path / "lr.csv"))
    assert names == ["default", "momentum/default"]
    assert np.array_equal(values[:, 1], confsched.momentum_curve(spec)[:, 0])


def test_a_panel_per_scheduled_quantity(finetune, make_spec, tmp_path):
    alone = plot_schedule(make_spec(), tmp_path / "lr.png")
    both = plot_schedule(finetune, tmp_path / "all.png")
    just_decay = finetune.model_copy(update={"momentum_scheduler": None})
    one = plot_schedule(confsched.validate(just_decay.to_config()), tmp_path / "wd.png")
    assert [png_size(p) for p in (alone, one, both)] == [(1200, 660), (1200, 948), (1200, 1236)]


# ---- phase marks, the log axis, the title (issue 17 "Plots") ----------------------------------


@pytest.mark.parametrize(
    ("scheduler", "marks"),
    [
        ({"name": "cosine", "warmup": 100}, [(100, "warmup", "warmup ends: step 100")]),
        (
            {"name": "warmup_stable_decay", "warmup": 100, "decay": "20%"},
            [(100, "warmup", "warmup ends: step 100"), (1561, "decay", "decay starts: step 1561")],
        ),
        (
            {"name": "cosine_with_restarts", "warmup": 100, "num_cycles": 3},
            [
                (100, "warmup", "warmup ends: step 100"),
                (717, "restart", "restart: step 717"),
                (1334, "restart", "restart: step 1334"),
            ],
        ),
        (
            {"name": "multistep", "milestones": ["25ep", "37ep", "45ep"], "gamma": 0.1},
            [
                (975, "milestone", "x0.1: step 975"),
                (1443, "milestone", "x0.1: step 1443"),
                (1755, "milestone", "x0.1: step 1755"),
            ],
        ),
        ({"name": "one_cycle"}, [(584, "peak", "peak: step 584")]),
        ({"name": "constant"}, []),
    ],
)
def test_phase_marks_are_read_off_the_curve(make_spec, scheduler, marks):
    spec = make_spec(scheduler=scheduler)
    found = [(m.step, m.kind, m.text) for m in phase_marks(spec)]
    assert found == marks


def test_phase_marks_do_not_depend_on_the_block_size(make_spec, monkeypatch):
    spec = make_spec(
        scheduler={"name": "sgdr", "cycles": [{"duration": "20ep", "warmup": "1ep", "peak": 1.0}] * 2}
    )
    whole = phase_marks(spec)
    monkeypatch.setattr("confsched.plot._BLOCK", 7)
    assert phase_marks(spec) == whole
    assert [m.kind for m in whole].count("restart") == 1


def test_the_lr_axis_goes_log_past_three_decades_over_most_of_the_run():
    steps = np.arange(1000, dtype=np.float64)
    assert not wants_log_y((1 - steps / 1000)[:, None])  # a decay to 0: small only at the end
    assert not wants_log_y(np.full((1000, 1), 1e-3))
    assert not wants_log_y(np.zeros((10, 1)))
    levels = np.repeat([1e-3, 1e-4, 1e-5, 1e-6, 1e-7], 200)[:, None]  # multistep x0.1, a fifth each
    assert wants_log_y(levels)  # four decades
    assert not wants_log_y(levels[:-160])  # 1e-7 for 40 of 840 steps (under 5%)
    assert not wants_log_y(levels[:-200])  # exactly three decades is not more than three
    assert wants_log_y(np.exp(-steps / 50)[:, None])  # exponential over 8.7 decades


def test_one_cycle_says_it_rises_and_shows_its_momentum(make_spec, tmp_path):
    spec = make_spec(scheduler={"name": "one_cycle"})
    assert (
        schedule_title(spec)
        == "one_cycle · adamw · 1950 steps (50 epochs × 39) · rises to its peak over 584 steps"
    )
    assert [key for key, _, _ in scheduled_quantities(spec)] == ["momentum"]
    path = plot_schedule(spec, tmp_path / "oc.png")
    assert _png_size(path) == (1200, int(120 * (5.5 + 2.4)))  # the LR and the beta1 panel


def test_a_plot_says_log_scale_and_writes_nothing_through_a_link(make_spec, tmp_path):
    from confsched.outputs import OutputError

    spec = make_spec(scheduler={"name": "multistep", "milestones": ["25ep", "37ep", "45ep"], "gamma": 0.1})
    plot_schedule(spec, tmp_path / "ms.png", log_y=True)
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "ms.png")
    before = (tmp_path / "ms.png").read_bytes()
    with pytest.raises(OutputError, match=r"link\.png: is a symbolic link"):
        plot_schedule(spec, link)
    assert (tmp_path / "ms.png").read_bytes() == before


def _png_size(path):
    import struct

    with open(path, "rb") as file:
        head = file.read(24)
    return struct.unpack(">II", head[16:24])


def test_the_sweep_report_draws_every_group(make_spec, tmp_path):
    from confsched.integrations.sweep import JobResult, write_result
    from confsched.report import report

    for job, lr in enumerate((1e-3, 3e-4)):
        spec = make_spec(
            optimizer={
                "name": "adamw",
                "lr": lr,
                "groups": [
                    {"name": "head", "params": ["h.*"], "lr_scale": 3.0},
                    {"name": "same", "params": ["s.*"]},
                ],
            },
        )
        write_result(
            tmp_path / str(job),
            JobResult(job=job, overrides=(f"optimizer.lr={lr}",), status="completed", spec=spec.to_config()),
        )
    sweep, paths = report(tmp_path)
    (first, second) = sweep.jobs
    assert [name for name, _, _ in first.others] == ["head"]  # "same" equals the first group: not drawn twice
    _, _, lrs = second.others[0]
    assert float(lrs.max()) == pytest.approx(9e-4, rel=1e-12)  # lr_scale 3 x 3e-4
    assert paths[-1].name == "sweep_report.png"
