"""Figures logged with each run: learning curves and the confusion matrix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: runs on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def learning_curves(history: dict[str, list[float]]):
    """Loss and accuracy per epoch, train vs validation."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "accuracy")):
        epochs = np.arange(1, len(history.get(key, [])) + 1)
        ax.plot(epochs, history.get(key, []), label="train")
        if f"val_{key}" in history:  # a refit on every actor has no validation actors
            ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    fig.tight_layout()
    return fig


def confusion_figure(confusion: np.ndarray, labels: tuple[str, ...], title: str):
    """Row-normalised confusion matrix (each row is a true class's recall distribution), counts annotated."""
    totals = confusion.sum(axis=1, keepdims=True)
    rates = np.divide(confusion, totals, out=np.zeros(confusion.shape, dtype=float), where=totals > 0)
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j, i, int(confusion[i, j]), ha="center", va="center", color="white" if rates[i, j] > 0.5 else "black"
            )
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return fig
