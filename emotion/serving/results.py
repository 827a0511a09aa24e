"""What notebooks/results.ipynb shows, as tested functions: an experiment's training runs, their
learning curves, the champion run and its confusion matrix, and the figures of all three.

A training run is a finished run with a `test_ua` metric (what `emotion.tracking.run_logging` logs); the parents
of `main` / `cnn_compare` log `best_test_ua` instead and are not listed, their children are.
Figures are built without pyplot's figure manager (or closed before they are returned), so nothing
leaks in a loop and a notebook shows each figure once, from the cell's value.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from emotion.serving import plots
from emotion.corpus.labels import EMOTIONS
from emotion.errors import EmotionError
from emotion.serving.model_registry import ALIAS as CHAMPION_ALIAS
from emotion.serving.model_registry import RegisterSettings

METRICS = ("test_ua", "test_wa", "test_macro_f1", "val_ua", "epochs_run")
CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")  # per-epoch metrics, step = Keras epoch (0-based)
NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")  # no such model / no such alias


class Champion(NamedTuple):
    run_id: str
    source: str  # "alias": the registered model's champion; "best_test_ua": fallback, best run here
    note: str  # one line for the reader: which run and why


def tracking_client(tracking_uri: str | None = None) -> MlflowClient:
    """A client for `tracking_uri` (None: $MLFLOW_TRACKING_URI or MLflow's default), refusing a
    missing SQLite file: opening one would silently create an empty second store."""
    uri = tracking_uri or mlflow.get_tracking_uri()
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///").split("?")[0])
        if not path.exists():
            raise EmotionError(
                f"tracking store {uri}: no such file {path.resolve()} (a relative path is read from {Path.cwd()}); "
                "set TRACKING_URI or MLFLOW_TRACKING_URI to the store the runs went to"
            )
    return MlflowClient(uri)


def _training_runs(client: MlflowClient, experiment_id: str) -> list:
    """Finished runs with a test_ua metric, best first."""
    runs, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string="attributes.status = 'FINISHED'",
            order_by=["metrics.test_ua DESC", "attributes.start_time DESC"],
            max_results=1000,
            page_token=token,
        )
        runs += [r for r in page if "test_ua" in r.data.metrics]
        token = page.token
        if not token:
            return runs


def experiment_runs(experiment_name: str, tracking_uri: str | None = None) -> pd.DataFrame:
    """One row per finished training run of `experiment_name`, best test UA first."""
    client = tracking_client(tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        known = ", ".join(repr(e.name) for e in client.search_experiments(max_results=20))
        raise EmotionError(
            f"experiment {experiment_name!r} not found in {client.tracking_uri} (experiments there: {known or 'none'})"
        )
    runs = _training_runs(client, experiment.experiment_id)
    if not runs:
        raise EmotionError(
            f"experiment {experiment_name!r} in {client.tracking_uri} has no finished training runs (runs with a test_ua metric)"
        )
    rows = [
        {
            "run_id": r.info.run_id,
            "run_name": r.info.run_name,
            "variant": r.data.tags.get("variant", r.data.params.get("variant")),
            "parent_run_id": r.data.tags.get("mlflow.parentRunId"),
            # runs logged before labels= learnt RAVDESS's 8
            "n_classes": int(r.data.params.get("n_classes", len(EMOTIONS))),
            **{m: r.data.metrics.get(m, np.nan) for m in METRICS},
            "start_time": pd.to_datetime(r.info.start_time, unit="ms", utc=True),
        }
        for r in runs
    ]
    frame = pd.DataFrame(rows).astype({"epochs_run": "Int64"})
    frame["parent_run_id"] = pd.Series([row["parent_run_id"] for row in rows], dtype=object)  # None, not NaN
    return frame.sort_values(["test_ua", "start_time"], ascending=[False, False], kind="stable").reset_index(drop=True)


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """Short names for figures: the variant, plus the run id's start where a variant repeats."""
    repeated = runs["variant"].duplicated(keep=False)
    return {
        r.run_id: f"{r.variant or 'run'} ({r.run_id[:7]})" if dup or not r.variant else r.variant
        for r, dup in zip(runs.itertuples(), repeated)
    }


def learning_curves(run_ids, client: MlflowClient) -> dict[str, pd.DataFrame]:
    """Per run: columns epoch (1-based), loss, accuracy, val_loss, val_accuracy from metric histories."""
    curves = {}
    for run_id in run_ids:
        series = {}
        for key in CURVES:
            history = sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
            series[key] = pd.Series({m.step: m.value for m in history}, dtype=float)  # a re-logged step: last wins
        frame = pd.DataFrame(series).sort_index()
        frame.insert(0, "epoch", (frame.index + 1).astype(int))
        curves[run_id] = frame.reset_index(drop=True)
    return curves


def champion(client: MlflowClient, experiment_id: str, model_name: str = RegisterSettings.model_name) -> Champion:
    """The run behind `model_name@champion` if that alias exists, else this experiment's best run by test UA."""
    try:
        version = client.get_model_version_by_alias(model_name, CHAMPION_ALIAS)
    except MlflowException as error:
        if error.error_code not in NOT_FOUND:
            raise
        version = None
    run_id = version.run_id if version else None
    if version and not run_id and getattr(version, "model_id", None):  # registered from a logged model
        run_id = client.get_logged_model(version.model_id).source_run_id
    if run_id:
        where = client.get_run(run_id).info.experiment_id
        elsewhere = (
            "" if where == experiment_id else f" (experiment {client.get_experiment(where).name!r}, not this one)"
        )
        note = f"champion: {model_name}@{CHAMPION_ALIAS} = version {version.version}, run {run_id}{elsewhere}"
        return Champion(run_id, "alias", note)
    runs = _training_runs(client, experiment_id)
    if not runs:
        raise EmotionError(
            f"no {model_name}@{CHAMPION_ALIAS} alias and experiment {experiment_id} has no finished training runs"
        )
    best = runs[0]
    note = (
        f"champion: no {model_name}@{CHAMPION_ALIAS} alias in the registry; best run here by test UA: "
        f"{best.info.run_id} ({best.data.tags.get('variant', '?')}, UA {best.data.metrics['test_ua']:.3f})"
    )
    return Champion(best.info.run_id, "best_test_ua", note)


def confusion_matrix_of(run_id: str, client: MlflowClient | None = None) -> pd.DataFrame:
    """The run's test confusion matrix (counts): index true emotion, columns predicted emotion.

    Through the client's load_table with the run's own experiment: `mlflow.load_table` searches only
    the active experiment, so from a notebook it misses a run of any other experiment."""
    client = client or MlflowClient()
    experiment_id = client.get_run(run_id).info.experiment_id
    try:
        table = client.load_table(experiment_id, "test_confusion_matrix.json", run_ids=[run_id])
    except MlflowException as error:
        raise EmotionError(f"run {run_id}: no test_confusion_matrix.json table ({error.message})") from None
    return table.set_index("true").rename_axis(columns="predicted").astype(int)


# ---- figures --------------------------------------------------------------------------------------


def leaderboard_figure(runs: pd.DataFrame, top: int = 20) -> Figure:
    """UA, WA and macro-F1 on the test speakers per run (the `top` best), chance UA dashed."""
    board = runs.head(top)
    labels = run_labels(board)
    fig = Figure(figsize=(max(6, 1.2 * len(board) + 2), 4.5))
    ax = fig.subplots()
    x = np.arange(len(board))
    for i, metric in enumerate(("test_ua", "test_wa", "test_macro_f1")):
        ax.bar(x + (i - 1) * 0.27, board[metric], width=0.27, label=metric.removeprefix("test_"))
    # chance UA (a constant or uniformly random classifier) is 1 / the run's number of classes
    ax.hlines(1 / board["n_classes"], x - 0.45, x + 0.45, color="grey", linestyle="--", linewidth=1, label="chance UA")
    ax.set_xticks(x, [labels[r] for r in board["run_id"]], rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("held-out speakers")
    shown = f"best {len(board)} of {len(runs)} runs" if len(board) < len(runs) else f"{len(runs)} runs"
    ax.set_title(f"Leaderboard ({shown}, by test UA)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def learning_curves_figure(
    curves: dict[str, pd.DataFrame], labels: dict[str, str] | None = None, top: int = 8
) -> Figure:
    """2x2 grid (loss, validation loss, accuracy, validation accuracy per epoch), one line per run."""
    labels = labels or {}
    fig = Figure(figsize=(11, 7.5))
    axes = fig.subplots(2, 2, sharex=True)
    for ax, key in zip(axes.flat, ("loss", "val_loss", "accuracy", "val_accuracy")):
        for run_id, frame in list(curves.items())[:top]:
            ax.plot(frame["epoch"], frame[key], marker="o", markersize=3, label=labels.get(run_id, run_id[:7]))
        ax.set_title(key.replace("val_", "validation "))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    handles, names = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="lower center", ncol=min(4, len(handles)), frameon=False)
    fig.tight_layout(rect=(0, 0.08 if handles else 0, 1, 1))
    return fig


def confusion_figure(confusion: pd.DataFrame, title: str = "") -> Figure:
    """Row-normalised heat map with counts: `emotion.serving.plots.confusion_figure`, the one each run logs."""
    fig = plots.confusion_figure(confusion.to_numpy(), tuple(confusion.columns), title)
    plt.close(fig)  # out of pyplot's manager: a notebook shows it once (as the value), no leak in loops
    return fig
