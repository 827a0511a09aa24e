"""`register`: promote the best run's model to the registry under the alias `champion`.

Best = highest `metric` (default test UA) among finished runs with a logged model, ties broken by
lower validation loss. A cv parent with a refit model (`cv refit=true`) competes with its folds' mean
(`test_ua` -> `cv_ua_mean`), and its fold runs stand aside: the refit learned from every actor, a fold
run from some. The alias moves only to a strictly better run that predicts the champion's classes, unless
forced; a run that does not beat the champion is not registered at all (no clutter of losing versions).
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from emotion.corpus.labels import EMOTIONS
from emotion.errors import EmotionError

ALIAS = "champion"
REFIT_TAG = "emotion.refit"  # "true" on a cv parent that carries a refit model (set by experiment/refit.py)


@dataclass(frozen=True)
class RegisterSettings:
    """`register`'s parameters and their defaults (MLproject's `register` entry is generated from these)."""

    experiment: str = "Default"
    parent_run_id: str = ""  # set: only the children of this run (a cv, compare or sweep parent) compete
    metric: str = "test_ua"
    model_name: str = "emotion"
    force: bool = False  # move the alias even when the best run does not beat the champion


CHAMPION_URI = f"models:/{RegisterSettings.model_name}@{ALIAS}"  # what evaluate and serving load by default


@dataclass
class Promotion:
    model_name: str
    version: str | None  # None when nothing was registered
    run_id: str
    value: float
    moved: bool  # did the alias move
    message: str


def run_figure(run, metric: str) -> float | None:
    """The run's value of `metric`; for a refit cv parent, the folds' mean of it (test_ua -> cv_ua_mean)."""
    if metric in run.data.metrics:
        return run.data.metrics[metric]
    if run.data.tags.get(REFIT_TAG) == "true" and metric.startswith("test_"):
        return run.data.metrics.get(f"cv_{metric.removeprefix('test_')}_mean")
    return None


def run_classes(run) -> str:
    """The classes a run's model predicts, comma-separated (runs logged before labels= learnt RAVDESS's 8)."""
    return run.data.params.get("classes", ",".join(EMOTIONS))


def best_run(client: MlflowClient, experiment_id: str, metric: str, parent_run_id: str | None = None):
    """The winning finished run with a logged model, or an EmotionError saying why there is none."""
    query = "attributes.status = 'FINISHED'"
    if parent_run_id:
        query += f" and tags.mlflow.parentRunId = '{parent_run_id}'"
    runs = client.search_runs([experiment_id], query, max_results=5000)
    refits = {r.info.run_id for r in runs if r.data.tags.get(REFIT_TAG) == "true"}
    # a refit's fold runs stand aside (unless asked for by parent_run_id): each learned from some actors only
    runs = [r for r in runs if parent_run_id or r.data.tags.get("mlflow.parentRunId") not in refits]
    runs = [r for r in runs if run_figure(r, metric) is not None]
    if not runs:
        scope = f"children of run {parent_run_id}" if parent_run_id else f"experiment {experiment_id}"
        raise EmotionError(f"no finished run with metric {metric!r} among {scope}")
    with_models = {m.source_run_id: m for m in client.search_logged_models(experiment_ids=[experiment_id])}
    runs = [r for r in runs if r.info.run_id in with_models]
    if not runs:
        raise EmotionError(f"no run with metric {metric!r} has a logged model")
    runs.sort(key=lambda r: (-run_figure(r, metric), r.data.metrics.get("val_loss", float("inf"))))
    return runs[0], with_models[runs[0].info.run_id]


def _why_the_champion_stays(client: MlflowClient, current, run, value: float, metric: str, force: bool) -> str:
    """Why `run` may not take the alias from the current champion ("" when it may)."""
    if force:
        return ""
    champion_run = client.get_run(current.run_id)
    if run_classes(champion_run) != run_classes(run):  # a UA over other classes does not compare
        return (
            f"best run {run.info.run_id} predicts {run_classes(run)}, {ALIAS} v{current.version} predicts "
            f"{run_classes(champion_run)}: their {metric} do not compare; nothing registered (register under "
            "another model_name, or force=true to replace it)"
        )
    held = run_figure(champion_run, metric)
    held = float("-inf") if held is None else held
    if value <= held:
        return (
            f"best run {run.info.run_id} has {metric}={value:.4f}, not better than {ALIAS} v{current.version} "
            f"({held:.4f}); nothing registered (force=true to promote anyway)"
        )
    return ""


def _champion(client: MlflowClient, model_name: str):
    try:
        return client.get_model_version_by_alias(model_name, ALIAS)
    except MlflowException:
        return None  # no such model, or no alias yet


def register_best(
    experiment: str | None = None,
    parent_run_id: str | None = None,
    metric: str = RegisterSettings.metric,
    model_name: str = RegisterSettings.model_name,
    force: bool = RegisterSettings.force,
) -> Promotion:
    client = MlflowClient()
    if parent_run_id:
        experiment_id = client.get_run(parent_run_id).info.experiment_id
    else:
        found = client.get_experiment_by_name(experiment or RegisterSettings.experiment)
        if found is None:
            raise EmotionError(f"experiment {experiment!r} not found at {mlflow.get_tracking_uri()}")
        experiment_id = found.experiment_id
    run, logged = best_run(client, experiment_id, metric, parent_run_id)
    value = run_figure(run, metric)
    current = _champion(client, model_name)
    if current is not None:
        if current.run_id == run.info.run_id:
            return Promotion(
                model_name,
                str(current.version),
                run.info.run_id,
                value,
                False,
                f"run {run.info.run_id} is already {ALIAS}",
            )
        kept = _why_the_champion_stays(client, current, run, value, metric, force)
        if kept:
            return Promotion(model_name, None, run.info.run_id, value, False, kept)
    number = str(mlflow.register_model(f"models:/{logged.model_id}", model_name).version)  # int here, str elsewhere
    params = run.data.params
    train_digests = [i.dataset.digest for i in run.inputs.dataset_inputs if any(t.value == "train" for t in i.tags)]
    tags = {
        "variant": params.get("variant", ""),
        "classes": run_classes(run),
        "run_id": run.info.run_id,
        "data_digest": train_digests[0] if train_digests else "",
        **{
            k: f"{v:.4f}"
            for k, v in run.data.metrics.items()
            if k in ("test_ua", "test_wa", "test_macro_f1", "val_ua", "cv_ua_mean", "cv_ua_std")
        },
    }
    refit = run.data.tags.get(REFIT_TAG) == "true"
    if refit:
        tags["refit"] = f"all {params.get('refit_clips', '?')} clips of actors {params.get('refit_actors', '?')}"
    held_out = "refit on every actor; the folds' mean" if refit else f"test actors {params.get('test_actors', '?')}"
    for key, val in tags.items():
        client.set_model_version_tag(model_name, number, key, val)
    client.update_model_version(
        model_name,
        number,
        description=f"{params.get('variant', '?')} on {params.get('corpus', '?')}: {metric} {value:.4f} ({held_out})",
    )
    client.set_registered_model_alias(model_name, ALIAS, number)
    return Promotion(model_name, number, run.info.run_id, value, True, f"{model_name} v{number} is now @{ALIAS}")
