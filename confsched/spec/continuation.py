"""The ``continuation`` section: this run continues another run's schedule from a checkpoint.

Three continuations are planned (and only these pass the resume check,
:func:`confsched.continuation.check_resume`):

* a **longer budget** (``training.max_tokens`` and the other lengths may change): the stable phase
  goes on and the decay is re-planned at the new end;
* a **cooldown** branched at the checkpoint (``cooldown``): the LR decays from its value there, over
  ``length``, in ``shape``, to ``min_lr_ratio``, and the run ends with it;
* another **world size or batch** (``training.world_size``, ``grad_accum_steps``, ``data.batch_size``,
  ``training.batch_rampup``): a run counted in samples continues from the samples the checkpoint
  consumed, so its LR stays the same function of the data seen.

The LR must not jump at ``at``: ``confsched diff`` and the resume check refuse a continuation whose
LR differs there from the run it continues.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from confsched.errors import SpecError
from confsched.spec.base import Ratio, StrictModel
from confsched.spec.duration import Duration

__all__ = ["ContinuationSpec", "CooldownSpec"]


class CooldownSpec(StrictModel):
    """A cooldown branched at the resume point (the reason WSD exists: Hägele et al. 2024)."""

    length: Duration
    """How long the cooldown lasts: steps, samples ('60B tok') or a fraction of the run continued."""
    shape: Literal["linear", "cosine", "1-sqrt"] = "1-sqrt"
    """linear | cosine | 1-sqrt (the shape the WSD papers found best)."""
    min_lr_ratio: Ratio = 0.0
    """LR at the end of the cooldown, as a fraction of the base LR."""


class ContinuationSpec(StrictModel):
    """This run resumes another run's checkpoint and continues its schedule (see the module)."""

    at: Duration
    """The checkpoint: its step (12000), or the samples or tokens it had consumed ('600B tok')."""
    cooldown: CooldownSpec | None = None
    """Branch a cooldown at the checkpoint (null: the schedule continues as planned)."""

    @model_validator(mode="after")
    def _a_position(self) -> ContinuationSpec:
        if self.at.unit in ("fraction", "epochs"):
            raise SpecError(
                "at",
                f"{self.at} is a {self.at.unit.rstrip('s')}; name the checkpoint by its step (12000), "
                "samples ('6M sp') or tokens ('600B tok')",
            )
        return self
