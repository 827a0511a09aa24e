"""What one training returns, with or without a network (train.py, train_heads.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class TrainResult:
    run_id: str
    test: dict  # classification_metrics on the held-out test speakers
    val: dict
    epochs_run: int
    seconds: float
    train_val_gap: float  # train minus validation accuracy at the best (restored) epoch
    unsynced: Path | None = None  # the tracking server never came back: the local run folder for `emotion sync`
    test_true: np.ndarray | None = None  # (n_test,) labels in split["test"] order
    test_proba: np.ndarray | None = None  # (n_test, classes) softmax in that order (cv ensembles)
    best_epoch: int = 0  # 1-based: the epoch early stopping restored (a cv refit trains the folds' median)
