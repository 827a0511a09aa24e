"""`cv` entry point: k-fold cross-validation by speaker for any variant.

Features are extracted once; each fold is a child run (its test actors in no other fold's test set,
validation actors carved from the rest); the parent logs mean and standard deviation of UA, WA and
macro-F1, the summed confusion matrix and a per-fold figure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd

from emotion.serving import plots
from emotion.config import RunConfig, uses_video
from emotion.corpus.splits import actor_kfold, published_kfold, rotated_validation
from emotion.data.dataset import prepare_corpus
from emotion.tracking.run_notes import NOTE_TAG, cv_note, run_name
from emotion.features.cache import default_cache_dir
from emotion.metrics import classification_metrics

METRICS = ("ua", "wa", "macro_f1")
# A blended run's parts (emotion/experiment/train.py), carried into the fold table and summary where logged
PART_METRICS = ("test_ua_network", "test_ua_svm", "test_ua_global")
# The validation actors' UA (mean over a fold's members): what settings are chosen on, never the test folds
VAL_METRIC = "val_ua"


def fold_figure(folds: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(folds)), 3.5))
    x = np.arange(len(folds))
    for i, metric in enumerate(METRICS):
        ax.bar(x + (i - 1) * 0.27, folds[f"test_{metric}"], width=0.27, label=metric)
    ax.set_xticks(x, [f"fold {i}" for i in folds["fold"]])
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    return fig


def _fold_predictions(corpus, test: np.ndarray, fold: int, proba: np.ndarray) -> pd.DataFrame:
    """One row per test clip: clip_id, actor, fold, true and predicted emotion, p_<emotion>."""
    from emotion.tracking.run_logging import test_predictions

    frame = test_predictions(corpus, test, proba).drop(columns="path").rename(columns={"speaker": "actor"})
    frame.insert(2, "fold", fold)
    return frame


@dataclass
class CvResult:
    folds: pd.DataFrame  # one row per fold: test actors, epochs, test UA / WA / macro-F1
    summary: dict[str, float]  # cv_<metric>_mean / _std over folds
    confusion: np.ndarray  # (classes, classes), summed over the folds' test sets
    run_id: str  # the cv parent run


def _fold(
    config: RunConfig, cache_root: Path, corpus, split, index: int, train, n_folds: int
) -> tuple[dict, float, np.ndarray, float]:
    """One fold's test metrics, epochs, test probabilities (split["test"] order, (n_test, classes)) and
    best epoch (early stopping's, 1-based; members' mean):
    one model, or with cv_seeds > 1 the mean probabilities of that many models trained with consecutive
    seeds (each its own child run), each on its own validation actors with cv_rotate_val."""
    seeds = config.split.cv_seeds
    if seeds == 1:
        result = train(config, cache_root, corpus=corpus, split=split, run_part=f"fold-{index}")
        parts = {k: v for k, v in mlflow.get_run(result.run_id).data.metrics.items() if k in PART_METRICS}
        return (
            {**result.test, **parts, VAL_METRIC: result.val["ua"]},
            result.epochs_run,
            result.test_proba,
            result.best_epoch,
        )
    splits = [split]
    if config.split.cv_rotate_val:
        splits = rotated_validation(corpus.manifest, split, n_folds, config.split.split_seed)
    results = []
    for k in range(seeds):
        member = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=config.train.seed + k))
        member_split = splits[k % len(splits)]
        results.append(train(member, cache_root, corpus=corpus, split=member_split, run_part=f"fold-{index}-seed-{k}"))
    truth = results[0].test_true
    assert all(np.array_equal(r.test_true, truth) for r in results), "test sets must line up across seeds"
    proba = np.mean([r.test_proba for r in results], axis=0)  # (n_test, classes)
    test = {
        **classification_metrics(truth, np.argmax(proba, axis=1), corpus.classes),
        VAL_METRIC: float(np.mean([r.val["ua"] for r in results])),
    }
    return test, float(np.mean([r.epochs_run for r in results])), proba, float(np.mean([r.best_epoch for r in results]))


def fold_summary(table: pd.DataFrame) -> dict[str, float]:
    """cv_<metric>_mean / _std over the folds' test figures, the validation UA's mean, and each logged
    part's (e.g. cv_ua_global_mean: the global, single-clip path's UA)."""

    def spread(values) -> float:
        return float(values.std(ddof=1)) if len(values) > 1 else 0.0

    summary = {}
    for metric in METRICS:
        summary[f"cv_{metric}_mean"] = float(table[f"test_{metric}"].mean())
        summary[f"cv_{metric}_std"] = spread(table[f"test_{metric}"])
    summary[f"cv_{VAL_METRIC}_mean"] = float(table[VAL_METRIC].mean())
    for name in PART_METRICS:
        if name in table and table[name].notna().all():
            short = name.removeprefix("test_")
            summary[f"cv_{short}_mean"] = float(table[name].mean())
            summary[f"cv_{short}_std"] = spread(table[name])
    return summary


def make_folds(manifest: pd.DataFrame, config: RunConfig):
    """(splits, fold numbers, FoldsReport or None): published fold files when `folds` names a folder
    (their report printed: absent clips, skipped folds), else cv_folds folds of our own by actor."""
    if config.split.folds:
        folds, numbers, report = published_kfold(manifest, config.split.folds, config.split.split_seed)
        print("\n".join(report.lines()))
        return folds, numbers, report
    folds = actor_kfold(manifest, config.split.cv_folds, config.split.split_seed)
    return folds, list(range(len(folds))), None


def cross_validate(config: RunConfig, cache_root: Path | None = None) -> CvResult:
    """Train config.variant on each speaker fold; one child run per fold under a cv parent (itself
    nested when a run is active, e.g. a benchmark over several variants)."""
    from emotion.tracking.run_logging import log_params_once
    from emotion.experiment.train import train

    cache_root = Path(cache_root) if cache_root else default_cache_dir()
    corpus = prepare_corpus(config.data, config.features, cache_root, allow_video=uses_video(config.variant))
    folds, numbers, published = make_folds(corpus.manifest, config)
    rows, predictions, confusion = [], [], np.zeros((len(corpus.classes), len(corpus.classes)), dtype=int)
    with mlflow.start_run(
        run_name=run_name("cv", config.variant, corpus.name), nested=mlflow.active_run() is not None
    ) as parent:
        classes = {"classes": ",".join(corpus.classes), "n_classes": len(corpus.classes)}  # what register compares
        log_params_once({**config.flat(), **classes})
        mlflow.set_tags({"entry_point": "cv", "variant": config.variant})
        if published is not None:
            mlflow.log_text("\n".join(published.lines()) + "\n", "published_folds.txt")
            mlflow.log_metrics(
                {"folds_skipped": len(published.skipped), "test_clips_absent": sum(published.absent.values())}
            )
        for i, split in zip(numbers, folds):
            test, epochs, proba, best_epoch = _fold(config, cache_root, corpus, split, i, train, len(folds))
            confusion += test["confusion"]
            predictions.append(_fold_predictions(corpus, split["test"], i, proba))
            test_actors = sorted(corpus.manifest.iloc[split["test"]]["actor"].unique())
            rows.append(
                {
                    "fold": i,
                    "test_actors": ",".join(test_actors),
                    "epochs": epochs,
                    "best_epoch": best_epoch,
                    **{f"test_{m}": test[m] for m in METRICS},
                    **{k: test[k] for k in PART_METRICS if k in test},
                    VAL_METRIC: test[VAL_METRIC],
                }
            )
        table = pd.DataFrame(rows)
        summary = fold_summary(table)
        mlflow.log_metrics(summary)
        refit = None
        if config.split.refit:
            from emotion.experiment.refit import refit_on_every_actor

            refit = refit_on_every_actor(config, cache_root, corpus, list(table["best_epoch"]))
            if published is not None:  # the refit uses the clips that are here; say how many the files list in vain
                mlflow.log_metric("refit_clips_absent", sum(published.absent.values()))
        mlflow.set_tag(NOTE_TAG, cv_note(config.variant, corpus, len(folds), summary, refit))
        mlflow.log_table(table, "folds.json")
        # to compare or ensemble cv runs later
        mlflow.log_table(pd.concat(predictions, ignore_index=True), "test_predictions.json")
        mlflow.log_text(table.to_markdown(index=False, floatfmt=".3f"), "folds.md")
        summed = (
            pd.DataFrame(confusion, index=list(corpus.classes), columns=list(corpus.classes))
            .rename_axis("true")
            .reset_index()
        )
        mlflow.log_table(summed, "summed_confusion_matrix.json")
        for name, fig in (
            (
                "figures/summed_confusion_matrix.png",
                plots.confusion_figure(confusion, corpus.classes, f"{len(folds)} folds summed"),
            ),
            ("figures/folds.png", fold_figure(table)),
        ):
            mlflow.log_figure(fig, name)
            plt.close(fig)
        print(f"\ncv {config.variant}: parent run {parent.info.run_id}")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print("  ".join(f"{m}: {summary[f'cv_{m}_mean']:.3f} +- {summary[f'cv_{m}_std']:.3f}" for m in METRICS))
        if refit is not None:
            print(
                f"refit on all {len(refit.actors)} actors ({refit.n_clips} clips, {refit.epochs} epochs): "
                f"the model of run {parent.info.run_id}, register ranks it by cv UA {summary['cv_ua_mean']:.3f}"
            )
    return CvResult(table, summary, confusion, parent.info.run_id)
