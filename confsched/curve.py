"""``lr_curve``: every group's LR at every step, in closed form, without torch; and
``weight_decay_curve`` and ``momentum_curve`` for the specs that schedule those too."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from confsched.adaptive import MetricPolicy, step_factor
from confsched.schedules import Schedule
from confsched.spec.root import Spec

__all__ = ["lr_curve", "momentum_curve", "weight_decay_curve"]

_BLOCK = 32_768
"""Steps evaluated per call of the schedule (256 KiB per float64 temporary)."""


def lr_curve(
    spec: Spec,
    steps: int | npt.ArrayLike | None = None,
    *,
    metrics: Iterable[float] | None = None,
) -> npt.NDArray[np.float64]:
    r"""The LR of each group at each optimizer step: an array of shape ``(n_steps, n_groups)``.

    Row :math:`k` is :math:`\eta_g\, m(k)` for every group :math:`g` in ``spec.group_names`` order:
    the LR that optimizer step :math:`k` uses (:math:`k = 0` is the first ``optimizer.step()``),
    equal to what the torch scheduler holds after ``k`` calls of ``scheduler.step()``.

    ``steps`` is the number of rows (default ``spec.total_steps``) or an array of step indices.
    Metric-driven families (``reduce_lr_on_plateau``, ``greedy``) change the LR only when fed a
    metric: with ``metrics`` row :math:`k` is the LR after :math:`k` metric updates (so there are
    ``len(metrics) + 1`` rows); without, the base LRs are held for ``steps`` rows. When such a family
    also has a step-driven factor (a warmup, or a ``chain``), row :math:`k` is multiplied by the
    factor at step :math:`k`: one ``scheduler.step()`` per metric update (torch's pattern of stepping
    ``ReduceLROnPlateau`` and another scheduler together).
    """
    base = np.array([spec.group_base_lrs[name] for name in spec.group_names], dtype=np.float64)
    schedule = spec.schedule
    if spec.family.driven_by == "metric":
        assert not callable(schedule)
        factors = [step_factor(policy) for policy in spec.group_schedules]
        if metrics is not None:
            rows = _metric_curve(schedule, base, metrics, spec.group_names)
            return _times_factors(rows, factors, np.arange(len(rows)))
        held = _step_indices(spec.total_steps if steps is None else steps)
        return _times_factors(np.tile(base, (len(held), 1)), factors, held)
    assert callable(schedule)
    shared = _columns_by_schedule(spec.group_schedules)
    wanted = spec.total_steps if steps is None else steps
    if isinstance(wanted, int | np.integer):
        indices, count = None, max(0, int(wanted))
    else:
        indices = _step_indices(wanted)
        count = len(indices)
    out = np.empty((count, len(base)), dtype=np.float64)
    # _BLOCK steps at a time: the schedule's temporaries stay in the CPU cache (1.5x faster than
    # one pass over a million steps) and peak memory is the result plus a few blocks. Schedules
    # are elementwise, so the values equal those of one call on all steps, bit for bit. Groups
    # that share a schedule object share its evaluation.
    for start in range(0, count, _BLOCK):
        stop = min(start + _BLOCK, count)
        block = np.arange(start, stop, dtype=np.int64) if indices is None else indices[start:stop]
        if len(shared) == 1:
            np.multiply(shared[0][0](block)[:, None], base, out=out[start:stop])
            continue
        for schedule, columns in shared:
            out[start:stop, columns] = schedule(block)[:, None] * base[columns]
    return out


def _times_factors(
    rows: npt.NDArray[np.float64], factors: list[Schedule | None], steps: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Each column of ``rows`` (a group's metric-driven LR) times its step-driven factor, if any."""
    for column, factor in enumerate(factors):
        if factor is not None:
            rows[:, column] = rows[:, column] * factor(steps)
    return rows


def _columns_by_schedule(schedules: tuple[Any, ...]) -> list[tuple[Schedule, list[int]]]:
    """The distinct schedule objects of the groups, each with the columns (groups) that use it."""
    by_id: dict[int, tuple[Schedule, list[int]]] = {}
    for column, schedule in enumerate(schedules):
        by_id.setdefault(id(schedule), (schedule, []))[1].append(column)
    return list(by_id.values())


def momentum_curve(spec: Spec, steps: int | npt.ArrayLike | None = None) -> npt.NDArray[np.float64] | None:
    """The momentum (or beta1) each group uses at each optimizer step, shaped like :func:`lr_curve`,
    for a spec that schedules it (``momentum_scheduler``, or ``one_cycle`` with ``cycle_momentum``);
    ``None`` otherwise (the optimizer's own momentum / betas then stay as configured)."""
    momentum = spec.momentum_schedule
    if momentum is None:
        return None
    values = momentum(_step_indices(spec.total_steps if steps is None else steps))
    return np.tile(values[:, None], (1, len(spec.group_names)))


def weight_decay_curve(
    spec: Spec, steps: int | npt.ArrayLike | None = None
) -> npt.NDArray[np.float64] | None:
    r"""The weight decay of each group's decayed parameters at each optimizer step, shaped like
    :func:`lr_curve`: :math:`\lambda_g\, w(k)` with :math:`\lambda_g` the group's weight decay
    and :math:`w` the ``weight_decay_scheduler`` multiplier (``.no_decay`` companions stay at 0);
    ``None`` when the spec does not schedule the weight decay."""
    multiplier = spec.weight_decay_schedule
    if multiplier is None:
        return None
    decays = spec.group_weight_decays
    base = np.array([decays[name] for name in spec.group_names], dtype=np.float64)
    values = multiplier(_step_indices(spec.total_steps if steps is None else steps))
    return np.asarray(values[:, None] * base, dtype=np.float64)


def _step_indices(steps: int | npt.ArrayLike) -> npt.NDArray[np.int64]:
    if isinstance(steps, int | np.integer):
        return np.arange(int(steps), dtype=np.int64)
    return np.atleast_1d(np.asarray(steps, dtype=np.int64))


def _metric_curve(
    policy: MetricPolicy, base: npt.NDArray[np.float64], metrics: Iterable[float], groups: tuple[str, ...]
) -> npt.NDArray[np.float64]:
    state = policy.start(base.tolist(), groups)
    rows = [list(state.lrs)]
    for metric in metrics:
        policy.update(state, metric)
        rows.append(list(state.lrs))
    return np.array(rows, dtype=np.float64)
