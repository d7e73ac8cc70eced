"""Continued training: a longer budget, a cooldown branched at a checkpoint, another world size or
batch; what the resume check allows and refuses, and what ``confsched diff`` shows."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

import confsched
from confsched.continuation import CONTINUABLE, check_resume
from confsched.diff import diff_specs
from tests.test_cli import confsched_cli

# A small WSD run in tokens with a batch ramp: 100M tokens of 1000-token samples, the global batch
# 8 -> 16 over the first 5M tokens, warmup 1M tokens, a 1-sqrt decay over the last 20%.
RUN: dict[str, Any] = {
    "optimizer": {"name": "adamw", "lr": 3e-4},
    "scheduler": {"name": "warmup_stable_decay", "warmup": "1M tok", "decay": "20%", "decay_type": "1-sqrt"},
    "data": {"dataset_size": 100000, "batch_size": 4, "tokens_per_sample": 1000},
    "training": {
        "max_tokens": "100M",
        "world_size": 2,
        "grad_accum_steps": 2,
        "batch_rampup": {"start": 8, "increment": 8, "length": "5M tok"},
    },
}
K = 3000  # the checkpoint: 3000 steps, 43000 samples consumed (625 steps of 8, then 16 a step)


def changed(**sections: Any) -> dict[str, Any]:
    data = copy.deepcopy(RUN)
    for path, value in sections.items():
        section, _, key = path.partition("__")
        if key:
            data[section][key] = value
        else:
            data[section] = value
    return data


def train(spec: confsched.Spec, steps: int, state: dict[str, Any] | None = None) -> tuple[Any, list[float]]:
    """Build the pair, load ``state``, run ``steps`` steps; the scheduler and the LRs it trained at."""
    optimizer, scheduler = confsched.build(spec, torch.nn.Linear(2, 2))
    if state is not None:
        scheduler.load_state_dict(state)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return scheduler, lrs


@pytest.fixture(scope="module")
def checkpoint() -> dict[str, Any]:
    scheduler, _ = train(confsched.validate(RUN), K)
    return scheduler.state_dict()


def test_the_checkpoint_records_the_samples_consumed(checkpoint):
    spec = confsched.validate(RUN)
    assert spec.total_steps == 6563  # 625 + ceil((100000 - 5000) / 16)
    assert checkpoint["last_epoch"] == K
    assert checkpoint["consumed_samples"] == 43000 == 625 * 8 + (K - 625) * 16


def test_a_longer_budget_continues_the_stable_phase(checkpoint):
    longer = confsched.validate(changed(training__max_tokens="200M", continuation={"at": K}))
    scheduler, lrs = train(longer, 10, checkpoint)
    assert lrs == confsched.lr_curve(longer)[K : K + 10, 0].tolist() == [3e-4] * 10
    assert scheduler.resume_note == (
        "continues the run from step 3000 (43000 samples consumed) with a longer budget; LR at the resume "
        "point, step 3000 (43000 samples consumed), group default: 0.0003 -> 0.0003 (no jump)"
    )
    assert longer.total_steps == 12813  # the decay moves to the new end: 625 + ceil((200000 - 5000) / 16)


def test_a_cooldown_branched_at_the_checkpoint(checkpoint):
    cooled = confsched.validate(
        changed(continuation={"at": K, "cooldown": {"length": "10M tok", "shape": "1-sqrt"}})
    )
    assert cooled.total_steps == 3625  # the run ends after 43000 + 10000 samples: 3000 + 10000 / 16
    assert cooled.plan.explain() == (
        "cooldown branched at 43000 samples for 10000 samples: the run ends after 53000 samples, "
        "total = 3625 steps (global batch = 4 x 2 x 2 = 16)"
    )
    _, lrs = train(cooled, cooled.total_steps - K, checkpoint)
    curve = confsched.lr_curve(cooled)[:, 0]
    assert lrs == curve[K:].tolist()
    # 1-sqrt from 3e-4 over 10000 samples: step K + j is 16 j samples in
    expected = [3e-4 * (1 - np.sqrt(16 * j / 10000)) for j in (0, 1, 100, 624)]
    np.testing.assert_allclose(curve[[K, K + 1, K + 100, K + 624]], expected, rtol=1e-13)
    assert curve[:K].tolist() == confsched.lr_curve(confsched.validate(RUN), K)[:, 0].tolist()


def test_another_world_size_continues_in_samples(checkpoint):
    """Twice the GPUs, twice the global batch (and the ramp's batches with it): the LR stays the
    same function of the samples consumed, from the 43000 the checkpoint had consumed."""
    bigger = changed(
        training__world_size=4,
        training__batch_rampup={"start": 16, "increment": 16, "length": "5M tok"},
        continuation={"at": "43000 sp"},
    )
    decaying = copy.deepcopy(bigger)
    decaying["scheduler"]["decay"] = "60%"  # a decay that has begun by the checkpoint: the LR moves
    decaying_run = copy.deepcopy(RUN)
    decaying_run["scheduler"]["decay"] = "60%"
    scheduler, _ = train(confsched.validate(decaying_run), K)
    state = scheduler.state_dict()
    spec = confsched.validate(decaying)
    resumed, lrs = train(spec, 1500, state)
    inner = confsched.validate(decaying_run).schedule.schedule  # the run's schedule of samples
    expected = [3e-4 * float(inner(43000 + 32 * j)) for j in range(1500)]
    assert lrs == expected
    assert resumed.total_steps == 3000 + 1782  # ceil((100000 - 43000) / 32) steps of 32 samples
    assert resumed.state_dict()["consumed_samples"] == 43000 + 32 * 1500


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            changed(optimizer={"name": "adamw", "lr": 1e-4}, continuation={"at": K}),
            "optimizer.lr: a continuation cannot change optimizer.lr: 0.0003 -> 0.0001; it may change the "
            "run's length, its batch and world size, and branch a cooldown (continuation.cooldown)",
        ),
        (
            changed(continuation={"at": K + 1}),
            "continuation.at: 3001, but the checkpoint is at step 3000 (43000 samples consumed): set "
            "continuation.at to 3000 (or '43000 sp')",
        ),
        (
            changed(training__max_tokens="50M", continuation={"at": K}),  # the old plateau is the new decay
            "continuation: LR at the resume point, step 3000 (43000 samples consumed), group default: "
            "0.0003 -> 0.000135683 (an unplanned jump)",
        ),
    ],
)
def test_what_a_continuation_may_not_do(checkpoint, data, message):
    with pytest.raises(confsched.ResumeError) as info:
        train(confsched.validate(data), 1, checkpoint)
    assert str(info.value) == message


def test_a_changed_spec_without_a_continuation_is_refused_as_before(checkpoint):
    with pytest.raises(confsched.ResumeError, match="pass allow_spec_change=True"):
        train(confsched.validate(changed(training__max_tokens="200M")), 1, checkpoint)


def test_the_continuable_fields_are_a_table():
    assert set(CONTINUABLE) == {
        "training.epochs",
        "training.max_steps",
        "training.max_samples",
        "training.max_tokens",
        "training.world_size",
        "training.grad_accum_steps",
        "data.batch_size",
        "training.batch_rampup",
        "continuation",
    }
    note = check_resume(RUN, confsched.validate(changed(continuation={"at": 0})), 0)
    assert note.startswith("continues the run from step 0 (0 samples consumed) with the same schedule")


@pytest.mark.parametrize(
    ("continuation", "message"),
    [
        ({"at": "6%"}, "continuation.at: 6% is a fraction; name the checkpoint by its step (12000), samples "
         "('6M sp') or tokens ('600B tok')"),
        ({"at": 7000, "cooldown": {"length": 10}}, "continuation.at: step 7000 is past the end of the run "
         "(6563 steps)"),
        ({"at": 6000, "cooldown": {"length": 10, "min_lr_ratio": 0.5}},
         "continuation.cooldown.min_lr_ratio: 0.5 is above the LR at the branch point (0.25838 of the base "
         "LR): a cooldown goes down"),
        ({"at": K, "cooldown": {"length": "9007199254740992 sp"}},
         "continuation.cooldown.length: the cooldown ends 9007199254783992 samples into the run, more than "
         "confsched counts (2**53)"),
    ],
)  # fmt: skip
def test_bad_continuations_are_one_line(continuation, message):
    with pytest.raises(confsched.SpecError) as info:
        confsched.validate(changed(continuation=continuation))
    assert str(info.value) == message


# ---- confsched diff -----------------------------------------------------------------------------


def test_diff_shows_where_the_schedules_part_and_the_lr_at_the_resume_point():
    old = confsched.validate(RUN)
    cooled = confsched.validate(changed(continuation={"at": K, "cooldown": {"length": "10M tok"}}))
    text = diff_specs(old, cooled).render("run.yaml", "cooldown.yaml")
    assert "the schedules part at step 3001 (43016 samples): group default 0.0003 -> 0.000288" in text
    assert (
        "continuation: LR at the resume point, step 3000 (43000 samples consumed), group default: "
        "0.0003 -> 0.0003 (no jump)"
    ) in text
    elastic = changed(
        training__world_size=4,
        training__batch_rampup={"start": 16, "increment": 16, "length": "5M tok"},
        continuation={"at": "43000 sp"},
    )
    text = diff_specs(old, confsched.validate(elastic)).render("run.yaml", "elastic.yaml")
    assert "the schedules do not part over the 6563 steps both runs train" in text  # compared on samples


def test_diff_of_a_continuation_that_jumps_is_an_error(tmp_path: Path):
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(RUN))
    (tmp_path / "short.yaml").write_text(
        yaml.safe_dump(changed(training__max_tokens="50M", continuation={"at": K}))
    )
    result = confsched_cli("diff", "run.yaml", "short.yaml", "hydra.run.dir=out", cwd=tmp_path)
    assert result.returncode == 2
    assert "the schedules part at step " in result.stdout
    assert result.stderr == (
        "error: continuation: LR at the resume point, step 3000 (43000 samples consumed), group default: "
        "0.0003 -> 0.000135683 (an unplanned jump)\n"
    )


# ---- the docs' worked token budget and its continuations (docs/tokens.md) -----------------------


def test_the_documented_continuations_of_the_worked_token_budget():
    from tests.markdown import code_blocks

    blocks = code_blocks(Path(__file__).resolve().parents[1] / "docs" / "tokens.md")
    (base,) = [yaml.safe_load(b.text) for b in blocks if b.file == "llm_pretrain.yaml"]
    snippets = [yaml.safe_load(b.text) for b in blocks if b.lang == "yaml" and "continuation" in b.text]
    assert len(snippets) == 3

    def merged_with(snippet: dict[str, Any]) -> dict[str, Any]:
        data = copy.deepcopy(base)
        for section, value in snippet.items():
            data[section] = {**data.get(section, {}), **value} if section == "training" else value
        return data

    old = confsched.validate(base)
    state = {"fingerprint": old.fingerprint, "spec_config": old.to_config()}
    notes = [
        check_resume(state["spec_config"], confsched.validate(merged_with(s)), 40000, 18526720)
        for s in snippets
    ]
    assert [n.split(" with ")[1].split(";")[0] for n in notes] == [
        "a longer budget",
        "a 1-sqrt cooldown over 10B tok to 0",
        "another batch ramp, another world size",
    ]
    assert int(old.plan.consumed_samples(40000)) == 18526720
    late = merged_with({"training": {"max_tokens": "200B"}, "continuation": {"at": 95000}})
    with pytest.raises(confsched.ResumeError) as info:
        check_resume(state["spec_config"], confsched.validate(late), 95000)
    assert str(info.value) == (
        "continuation: LR at the resume point, step 95000 (46686720 samples consumed), group default: "
        "3.49249e-05 -> 0.0003 (an unplanned jump)"
    )
