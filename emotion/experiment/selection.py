"""The figure every choice is made on: nested grouped CV over a fold's non-test actors
(docs/evaluation.md, "How settings are chosen"), for heads on clip functionals; and the test-fold
figure that is only reported beside it."""

from __future__ import annotations

from typing import Callable

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import GroupKFold

from emotion.corpus.labels import EMOTIONS
from emotion.metrics import classification_metrics
from emotion.models.clip_svm import INNER_FOLDS, _fit_head

# fit rows -> what a head is fit on (x, labels, actors): e.g. those rows plus their synthetic voices
Training = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def nested_grouped_ua(
    x: np.ndarray,
    y: np.ndarray,
    actors: np.ndarray,
    rows: np.ndarray,
    training: Training | None = None,
    c: float | None = None,
) -> float:
    """UA over the clips `rows` (a fold's non-test clips), each of INNER_FOLDS actor groups predicted by a
    logistic head fit on the other groups, its C chosen inside them by grouped CV: nothing scored chooses
    anything. `training`: what a head is fit on instead of the fit rows themselves; it always predicts
    the real rows. c: every head at this C instead (20x fewer fits, for wide inputs).  # x: (n, features)"""
    predicted = np.empty(len(rows), dtype=y.dtype)
    for fit, held in GroupKFold(INNER_FOLDS).split(rows, groups=actors[rows]):
        fit_rows = rows[fit]
        data = training(fit_rows) if training else (x[fit_rows], y[fit_rows], actors[fit_rows])
        predicted[held] = _fit_head(*data, "logistic", seed=0, c=c).predict(x[rows[held]])
    return classification_metrics(y[rows], predicted, EMOTIONS)["ua"]


def nested_grouped_ua_per_fold(
    x: np.ndarray,
    y: np.ndarray,
    actors: np.ndarray,
    folds: list[dict],
    training: Training | None = None,
    c: float | None = None,
) -> list[float]:
    """nested_grouped_ua over each fold's non-test clips (train + val), one fold per process."""
    non_tests = [np.concatenate([s["train"], s["val"]]) for s in folds]
    return Parallel(n_jobs=-1)(delayed(nested_grouped_ua)(x, y, actors, rows, training, c) for rows in non_tests)


def reported_test_metrics(
    x: np.ndarray,
    y: np.ndarray,
    actors: np.ndarray,
    folds: list[dict],
    training: Training | None = None,
    c: float | None = None,
) -> list[dict]:
    """Per fold, for reporting only: the head fit on every non-test clip (C by grouped CV over them),
    scored on the fold's test clips: classification_metrics each."""
    scores = []
    for split in folds:
        rows = np.concatenate([split["train"], split["val"]])
        data = training(rows) if training else (x[rows], y[rows], actors[rows])
        head = _fit_head(*data, "logistic", seed=0, c=c)
        scores.append(classification_metrics(y[split["test"]], head.predict(x[split["test"]]), EMOTIONS))
    return scores
