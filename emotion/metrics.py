"""Evaluation metrics: UA (headline), WA, macro-F1, per-class recall, confusion matrix (scikit-learn).
A pure function of labels, below every package: serving scores `evaluate` with it, experiment every run."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score, recall_score


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[str, ...]) -> dict:
    """Metrics over the classes in `labels`; classes absent from y_true get recall NaN, not 0."""
    indices = list(range(len(labels)))
    recalls = recall_score(y_true, y_pred, labels=indices, average=None, zero_division=np.nan)
    return {
        "ua": float(balanced_accuracy_score(y_true, y_pred)),  # unweighted average recall
        "wa": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=sorted(set(y_true)), average="macro", zero_division=0)),
        "recall": {label: float(r) for label, r in zip(labels, recalls)},
        "confusion": confusion_matrix(y_true, y_pred, labels=indices),  # rows true, columns predicted
    }
