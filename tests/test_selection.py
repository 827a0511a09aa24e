"""The selection figure (emotion/experiment/selection.py): nested grouped CV that never fits a head on
the actors it scores."""

from __future__ import annotations

import numpy as np

from emotion.experiment.selection import nested_grouped_ua, nested_grouped_ua_per_fold, reported_test_metrics


def _clips(seed: int = 0, n_actors: int = 10, per_actor: int = 16, signal: float = 6.0):
    """(x, y, actors): 4 classes; a class's mean direction plus an actor's offset plus noise.  # x: (n, 12)"""
    rng = np.random.default_rng(seed)
    y = np.tile(np.arange(4), n_actors * per_actor // 4)
    actors = np.repeat([f"a{i:02d}" for i in range(n_actors)], per_actor)
    offsets = {a: rng.normal(size=12) for a in np.unique(actors)}
    x = signal * np.eye(12)[y] + np.stack([offsets[a] for a in actors]) + rng.normal(size=(len(y), 12))
    return x, y, actors


def test_a_learnable_signal_scores_high_and_labels_without_one_score_near_chance():
    x, y, actors = _clips()
    rows = np.arange(len(y))
    assert nested_grouped_ua(x, y, actors, rows) > 0.9
    shuffled = np.random.default_rng(1).permutation(y)
    assert nested_grouped_ua(x, shuffled, actors, rows) < 0.45  # chance is 0.25


def test_no_head_is_fit_on_an_actor_it_scores():
    x, y, actors = _clips()
    rows = np.arange(len(y))
    fitted_on = []

    def training(fit_rows):
        fitted_on.append(set(actors[fit_rows]))
        return x[fit_rows], y[fit_rows], actors[fit_rows]

    nested_grouped_ua(x, y, actors, rows, training)
    assert len(fitted_on) == 5  # one head per inner actor group
    everyone = set(actors)
    held = [everyone - seen for seen in fitted_on]
    assert all(held) and set().union(*held) == everyone  # every actor is scored by a head that never saw it
    assert sum(len(h) for h in held) == len(everyone)  # ... by exactly one head


def test_per_fold_figures_use_only_non_test_clips_and_the_test_clips_are_reported_apart():
    x, y, actors = _clips()
    test = np.flatnonzero(np.isin(actors, ["a00", "a01"]))
    non_test = np.setdiff1d(np.arange(len(y)), test)
    folds = [{"train": non_test[:96], "val": non_test[96:], "test": test}]
    (nested,) = nested_grouped_ua_per_fold(x, y, actors, folds)
    assert nested == nested_grouped_ua(x, y, actors, non_test)
    (reported,) = reported_test_metrics(x, y, actors, folds)
    assert reported["ua"] > 0.9 and reported["confusion"].sum() == len(test)
