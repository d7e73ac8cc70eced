"""The tutorial's way to look at a schedule: the baseline of ``python -m benchmarks plot``.

Build the optimizer and transformers' scheduler, step them through the run recording the LR, and
save a matplotlib figure: the worked example (AdamW at 1e-3, cosine, 100 warmup steps, 1950
steps). Run as ``python benchmarks/tutorial.py OUT.png``.
"""

import sys

import matplotlib.pyplot as plt
import torch
from transformers import get_scheduler

model = torch.nn.Linear(10, 2)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
scheduler = get_scheduler("cosine", optimizer, num_warmup_steps=100, num_training_steps=1950)
lrs = []
for _ in range(1950):
    lrs.append(scheduler.get_last_lr()[0])
    optimizer.step()
    scheduler.step()

plt.plot(lrs)
plt.xlabel("step")
plt.ylabel("learning rate")
plt.savefig(sys.argv[1] if len(sys.argv) > 1 else "lr_schedule.png")
