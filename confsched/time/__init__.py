"""Time as training counts it: units (steps, epochs, samples, tokens), the global batch by samples
consumed (constant, or ramped up as Megatron-LM does), and schedules evaluated on the sample axis.

- :mod:`confsched.time.units`: the unit words, SI-suffixed counts (``"2B tok"``), :data:`MAX_COUNT`.
- :mod:`confsched.time.batches`: :class:`BatchSchedule`, the step -> consumed samples map.
- :mod:`confsched.time.axis`: :class:`OnSamples`, a schedule of samples evaluated at steps.

Durations become steps or samples in one place, :class:`confsched.steps.StepPlan`.
"""

from confsched.time.axis import OnSamples, consumed_samples, on_samples, resumed
from confsched.time.batches import BatchSchedule, ramp_stages
from confsched.time.units import MAX_COUNT, parse_count, parse_quantity

__all__ = [
    "MAX_COUNT",
    "BatchSchedule",
    "OnSamples",
    "consumed_samples",
    "on_samples",
    "parse_count",
    "parse_quantity",
    "ramp_stages",
    "resumed",
]
