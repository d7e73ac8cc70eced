"""Framework helpers: plug a confsched pair into the loops people run, and check the step counts agree.

One module per framework, each imported on its own, so this package imports none of them:

- :mod:`confsched.integrations.lightning`: ``configure_optimizers(spec, module)``,
  ``trainer_kwargs(spec)``, ``check_trainer(spec, trainer)`` (``pip install "confsched[lightning]"``);
- :mod:`confsched.integrations.transformers`: ``training_arguments_kwargs(spec)``,
  ``check_trainer(spec, trainer)``, ``LRLoggingCallback`` (``pip install "confsched[hf]"``);
- :mod:`confsched.integrations.accelerate`: ``accelerator_kwargs(spec)``,
  ``prepare(accelerator, spec, *objects)``, ``check_accelerator(spec, accelerator)``
  (``pip install "confsched[accelerate]"``);
- :mod:`confsched.integrations.logging`: ``LRLogger``, every group's LR per step to Python logging
  and TensorBoard (``pip install "confsched[tensorboard]"`` for the latter).

A framework set up to run another number of optimizer steps than the spec plans is refused with a
:class:`~confsched.errors.PlanMismatchError` naming the config path, e.g.
``training.grad_accum_steps: 4 in the spec, but Trainer.accumulate_grad_batches is 2``.
"""

from __future__ import annotations

from confsched.errors import PlanMismatchError
from confsched.integrations._agreement import dataloader_kwargs

__all__ = ["PlanMismatchError", "dataloader_kwargs"]
