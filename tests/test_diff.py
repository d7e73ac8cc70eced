"""diff.py: changed fields, step counts and the largest LR difference between two specs."""

from __future__ import annotations

import pytest

from confsched.diff import ABSENT, Change, LRDifference, diff_specs


def test_equal_specs_have_no_changes_and_no_gap(make_spec):
    difference = diff_specs(make_spec(), make_spec())
    assert difference.changes == ()
    assert difference.largest == LRDifference(0.0, 0, "default", 0.0, 0.0)
    assert "no field changed" in difference.render("a", "b")


def test_changed_and_missing_fields_are_listed_in_spec_order(make_spec):
    old = make_spec()
    new = make_spec(scheduler={"name": "linear", "warmup": "10%"}, training={"epochs": 60})
    assert diff_specs(old, new).changes == (
        Change("scheduler.name", "cosine", "linear"),
        Change("scheduler.warmup", 100, "10%"),
        Change("scheduler.num_cycles", 0.5, ABSENT),
        Change("training.epochs", 50, 60),
    )


def test_the_largest_gap_is_found_over_the_steps_both_runs_train(make_spec):
    old = make_spec()
    new = make_spec(optimizer={"name": "adamw", "lr": 5e-4}, training={"epochs": 100})
    difference = diff_specs(old, new)
    assert difference.common_steps == 1950
    largest = difference.largest
    assert largest is not None
    assert (largest.step, largest.group, largest.old) == (100, "default", 1e-3)
    assert largest.value == pytest.approx(1e-3 - largest.new)
    text = difference.render("old.yaml", "new.yaml")
    assert "total steps: 1950 -> 3900\n" in text
    assert "  new: batches per epoch = ceil(1235 / 32) = 39;" in text
    assert f"largest LR difference: {largest.value:.6g} at step 100, group default" in text


def test_groups_are_compared_by_name(make_spec):
    head = {"name": "head", "params": ["h.*"], "lr": 1e-2}
    old = make_spec(optimizer={"name": "adamw", "lr": 1e-3, "groups": [head]})
    new = make_spec(optimizer={"name": "adamw", "lr": 1e-3, "groups": [dict(head, lr=2e-2)]})
    largest = diff_specs(old, new).largest
    assert largest is not None
    assert (largest.group, largest.step, largest.value) == ("head", 100, pytest.approx(1e-2))
    assert diff_specs(old, new).changes == (Change("optimizer.groups[0].lr", 1e-2, 2e-2),)


def test_the_overlay_png_is_written(make_spec, tmp_path):
    difference = diff_specs(make_spec(), make_spec(scheduler={"name": "linear", "warmup": 50}))
    assert difference.plot(tmp_path / "d.png", "a", "b").read_bytes().startswith(b"\x89PNG")


def test_identical_schedules_are_said_to_be_identical(make_spec, tmp_path):
    difference = diff_specs(make_spec(), make_spec())
    assert difference.identical
    assert "the schedules are identical: every group's LR is equal at each of the 1950 steps" in (
        difference.render("a", "b")
    )
    assert difference.plot(tmp_path / "d.png", "a", "b").is_file()


def test_where_the_schedules_part_is_said_and_marked(make_spec, tmp_path):
    old = make_spec()
    new = make_spec(scheduler={"name": "cosine", "warmup": 200})
    difference = diff_specs(old, new)
    assert not difference.identical
    assert difference.parting is not None
    assert difference.parting.step == 1  # step 0 is 0 in both warmups
    assert "the schedules part at step 1: group default 1e-05 -> 5e-06" in difference.render("a", "b")
    assert difference.plot(tmp_path / "d.png", "a", "b").is_file()
    longer = diff_specs(old, make_spec(training={"epochs": 60}))
    assert not longer.identical  # equal over the common steps, but one run is longer
