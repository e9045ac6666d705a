"""Hyperparameter search: sampling, ranking on validation, and the trials table."""

import pytest

from visionrt.errors import UserInputError
from visionrt.train import search


def test_random_trials_are_seeded_and_inside_the_space():
    trials = search.sample_trials("random", 6, seed=3)
    assert trials == search.sample_trials("random", 6, seed=3)
    assert trials != search.sample_trials("random", 6, seed=4)
    low, high = search.SPACE["lr"]
    for trial in trials:
        assert low <= trial["lr"] <= high
        assert trial["batch_size"] in search.SPACE["batch_size"] and trial["width"] in search.SPACE["width"]


def test_grid_enumerates_distinct_points_up_to_the_trial_count():
    grid = search.sample_trials("grid", 100, seed=0)
    assert len(grid) == len(search.GRID_LR) * 3 * 3
    assert len({tuple(t.values()) for t in grid}) == len(grid)
    assert len(search.sample_trials("grid", 4, seed=0)) == 4


def test_bad_strategy_or_trial_count_is_a_clear_error():
    with pytest.raises(UserInputError, match="random' or 'grid"):
        search.sample_trials("bayes", 3, seed=0)
    with pytest.raises(UserInputError, match="at least 1"):
        search.sample_trials("random", 0, seed=0)


def test_best_trial_is_chosen_on_validation_accuracy_then_loss():
    rows = [{"val_acc": 0.99, "val_loss": 0.05}, {"val_acc": 0.995, "val_loss": 0.09},
            {"val_acc": 0.995, "val_loss": 0.04}]
    assert search.best_trial(rows) is rows[2]


def test_trials_table_marks_the_chosen_trial(tmp_path):
    rows = [{"lr": 0.001, "val_acc": 0.9, "val_loss": 0.3}, {"lr": 0.002, "val_acc": 0.95, "val_loss": 0.2}]
    csv_path, md_path = search.write_trials_table(rows, tmp_path)
    assert csv_path.read_text().splitlines()[0] == "lr,val_acc,val_loss"
    chosen = [line for line in md_path.read_text().splitlines() if "**yes**" in line]
    assert len(chosen) == 1 and "0.002" in chosen[0]
