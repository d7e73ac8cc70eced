"""Two real processes (gloo) train one spec with world_size=2 through DistributedSampler shards:
each rank steps the optimizer exactly ``total_steps`` times and sees the same LRs as ``lr_curve``."""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import confsched

SPEC = {
    "optimizer": {
        "name": "sgd",
        "lr": 0.1,
        "momentum": 0.9,
        "groups": [{"name": "bias", "params": ["bias"], "lr_scale": 0.5}],
    },
    "scheduler": {"name": "linear", "warmup": "10%"},
    "data": {"dataset_size": 103, "batch_size": 8, "drop_last": False},
    "training": {"epochs": 3, "grad_accum_steps": 2, "world_size": 2},
}


def _train(rank: int, world_size: int, workdir: str) -> None:
    dist.init_process_group(
        "gloo", init_method=f"file://{workdir}/rendezvous", rank=rank, world_size=world_size
    )
    try:
        spec = confsched.validate(SPEC)
        torch.manual_seed(0)
        model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
        optimizer, scheduler = confsched.build(spec, model.module)
        n = spec.data.dataset_size
        dataset = TensorDataset(torch.randn(n, 4), torch.randn(n, 1))
        sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=1)
        loader = DataLoader(dataset, batch_size=spec.data.batch_size, sampler=sampler, drop_last=False)
        accumulate = spec.training.grad_accum_steps
        lrs: list[list[float]] = []
        for epoch in range(spec.training.epochs or 0):
            sampler.set_epoch(epoch)
            for i, (x, y) in enumerate(loader):
                loss = torch.nn.functional.mse_loss(model(x), y) / accumulate
                loss.backward()
                if (i + 1) % accumulate == 0 or i + 1 == len(loader):
                    lrs.append([float(g["lr"]) for g in optimizer.param_groups])
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
        Path(workdir, f"rank{rank}.json").write_text(json.dumps(lrs))
        dist.barrier()  # neither rank tears gloo down while the other still talks to it
    finally:
        dist.destroy_process_group()


def _rank_process(rank: int, world_size: int, workdir: str) -> None:
    """Run one rank, then leave with ``os._exit``: the interpreter's teardown can destroy gloo's
    threads while they are joinable ("terminate called without an active exception", SIGABRT),
    which fails the test after every LR was already right. A failure is printed and exits 1."""
    try:
        _train(rank, world_size, workdir)
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable")
def test_two_gloo_ranks_step_exactly_total_steps(tmp_path):
    spec = confsched.validate(SPEC)
    # ceil(103 / 2) = 52 samples per rank, ceil(52 / 8) = 7 batches, ceil(7 / 2) = 4 steps, x 3 epochs
    assert (spec.steps_per_epoch, spec.total_steps) == (4, 12)
    mp.spawn(_rank_process, args=(2, str(tmp_path)), nprocs=2, join=True)
    per_rank = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    expected = confsched.lr_curve(spec)
    for lrs in per_rank:
        assert len(lrs) == spec.total_steps
        assert np.array_equal(np.array(lrs), expected)
    assert per_rank[0] == per_rank[1]
