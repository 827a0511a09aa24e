"""`tune` entry point: an Optuna sweep over dropout, L2 and learning rate (plus optional extra dimensions).

The sweep is one MLflow parent run; each trial is a nested child run made by `train()` (parameters,
per-epoch curves, final metrics, model), tagged `optuna.trial_number` and `optuna.state`
(COMPLETE / PRUNED / FAIL). Trials are pruned per epoch on the validation metric by
optuna-integration's KerasPruningCallback; a pruned trial's child run keeps its partial curves, is
tagged PRUNED and ends with MLflow status KILLED (it did not finish training, but it did not crash).

Objective: the *best epoch* of a per-epoch Keras validation metric (default `val_accuracy`, maximised).
Pruning needs a value every epoch, and only Keras' own logs have one (`val_ua` is computed once,
after training); the best epoch is also the model that is kept (EarlyStopping restores it), so the
trial value, the pruning reports and the logged model all describe the same thing.

Storage: `sqlite:///optuna.db` for one worker; a PostgreSQL URL lets any number of `tune` processes
share one study. `n_trials` is the number of COMPLETE + PRUNED trials the *study* should hold: every
worker stops once it is reached, and a second sweep with the same study name continues the study
(raise n_trials to add trials). Heartbeats mark a dead worker's running trial FAIL, and it is re-queued
with the same parameters (RetryHeartbeatStaleTrialCallback), so no trial is lost or counted twice.

Layout: tune_settings.py (defaults, validation, search space), tune_storage.py (study, heartbeats,
pruner), this file (the trial loop), tune_report.py (what the parent run shows at the end).
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import time
import warnings
from pathlib import Path

from emotion.config import build_config
from emotion.data.dataset import corpus_label
from emotion.errors import EmotionError
from emotion.experiment.tune_report import summarise
from emotion.experiment.tune_settings import TuneSettings, suggest, validate
from emotion.experiment.tune_storage import load_study, open_storage, trial_counts
from emotion.tracking.run_notes import run_name


class TrialRunner:
    """The study's objective: one trial = one `train()` of the variant with the trial's parameters, as a
    nested MLflow run tagged with the trial's number and final state; the value is the best epoch's metric."""

    def __init__(self, settings: TuneSettings, overrides: dict, study, cache_root: Path, corpus, split):
        from mlflow import MlflowClient

        self.settings, self.overrides, self.study = settings, overrides, study
        self.cache_root, self.corpus, self.split = cache_root, corpus, split
        self.base = build_config(settings.variant, overrides)
        self.client = MlflowClient()
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, trial) -> float:
        import keras
        import optuna
        from optuna_integration import KerasPruningCallback

        from emotion.experiment.train import train

        keras.backend.clear_session()
        trial.set_user_attr("worker", self.worker)
        config = build_config(
            self.settings.variant, {**self.overrides, **suggest(trial, self.settings, self.base.flat())}
        )
        curve: list[float] = []  # the metric after every epoch
        run_ids: list[str] = []
        callbacks = [epoch_recorder(self.settings.metric, curve), KerasPruningCallback(trial, self.settings.metric)]
        try:
            train(
                config,
                self.cache_root,
                corpus=self.corpus,
                split=self.split,
                run_part=f"trial-{trial.number}",
                extra_callbacks=callbacks,
                on_run_started=lambda run_id: self._run_started(trial, run_id, run_ids),
            )
        except optuna.TrialPruned:
            # pruned is not a crash: KILLED, not FAILED
            self._end_runs(run_ids, "PRUNED", metric=("pruned_at_epoch", len(curve) - 1), status="KILLED")
            raise
        except BaseException as error:
            self._end_runs(run_ids, "FAIL", reason=f"{type(error).__name__}: {error}"[:500])
            raise
        value = max(curve) if self.settings.direction == "maximize" else min(curve)
        state = "COMPLETE" if curve and math.isfinite(value) else "FAIL"
        self._end_runs(run_ids, state, metric=(f"trial_{self.settings.metric}", value))
        return value

    def _run_started(self, trial, run_id: str, run_ids: list[str]) -> None:
        """Tag the trial's run as soon as it exists, so a pruned or crashed trial is findable too."""
        import mlflow
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        run_ids.append(run_id)
        trial.set_user_attr("mlflow_run_id", run_id)
        tags = {
            "optuna.trial_number": trial.number,
            "optuna.study_name": self.study.study_name,
            "optuna.state": "RUNNING",
            "entry_point": "tune",
        }
        frozen = next(t for t in self.study.get_trials(deepcopy=False) if t.number == trial.number)
        retried = RetryHeartbeatStaleTrialCallback.retried_trial_number(frozen)  # a dead worker's trial, re-queued
        if retried is not None:
            tags["optuna.retry_of"] = retried
        mlflow.set_tags(tags)

    def _end_runs(
        self, run_ids: list[str], state: str, metric=None, reason: str = "", status: str | None = None
    ) -> None:
        for run_id in run_ids:
            self.client.set_tag(run_id, "optuna.state", state)
            if reason:
                self.client.set_tag(run_id, "optuna.fail_reason", reason)
            if metric is not None:
                self.client.log_metric(run_id, *metric)
            if status is not None:  # MLflow's context manager ended it FAILED
                self.client.set_terminated(run_id, status)


def epoch_recorder(metric: str, curve: list[float]):
    """A Keras callback appending `metric` after every epoch to `curve`."""
    import keras

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs and metric in logs:
                curve.append(float(logs[metric]))

    return Record()


def run_trials(study, objective, settings: TuneSettings) -> None:
    """One trial at a time until the study holds n_trials finished ones (all workers together) or the
    timeout passes; while other workers hold the last trials, wait, and re-queue theirs if they die."""
    import optuna

    started_at, attempts = time.monotonic(), 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        while True:
            if settings.timeout and time.monotonic() - started_at > settings.timeout:
                return
            counts = trial_counts(study)
            done = counts["COMPLETE"] + counts["PRUNED"]
            if done >= settings.n_trials:
                return
            if done + counts["RUNNING"] >= settings.n_trials and not counts["WAITING"]:
                optuna.storages.fail_stale_trials(study)
                time.sleep(min(5.0, settings.heartbeat_interval / 2))
                continue
            if attempts >= 2 * settings.n_trials + settings.max_retry:
                print(
                    f"stopping: {attempts} trials run by this worker and the study still lacks finished ones (failing trials?)"
                )
                return
            attempts += 1
            remaining = settings.timeout - (time.monotonic() - started_at) if settings.timeout else None
            study.optimize(objective, n_trials=1, timeout=remaining)


def tune(settings: TuneSettings, overrides: dict | None = None, cache_root: Path | None = None, pruner=None):
    """Run (or continue) the sweep in this process; returns (study, parent run id)."""
    import mlflow

    from emotion.config import uses_video
    from emotion.data.dataset import prepare_corpus
    from emotion.corpus.splits import make_split
    from emotion.tracking.server import redact
    from emotion.features.cache import default_cache_dir
    from emotion.tracking.run_logging import log_params_once

    overrides = dict(overrides or {})
    validate(settings, overrides)
    storage = open_storage(settings)  # before any data or training: a bad URL fails here
    study = load_study(settings, storage, pruner)
    base = build_config(settings.variant, overrides)
    cache_root = Path(cache_root) if cache_root else default_cache_dir()
    corpus = prepare_corpus(base.data, base.features, cache_root, allow_video=uses_video(base.variant))
    split = make_split(corpus.manifest, base.split)  # one split for every trial: values are comparable
    objective = TrialRunner(settings, overrides, study, cache_root, corpus, split)

    with mlflow.start_run(run_name=run_name("tune", settings.variant, corpus_label(base.data.data_dir))) as parent:
        log_params_once({**{f"tune_{k}": v for k, v in dataclasses.asdict(settings).items()}, **base.flat()})
        mlflow.set_tags(
            {
                "entry_point": "tune",
                "variant": settings.variant,
                "optuna.study_name": study.study_name,
                "optuna.storage": redact(settings.storage),
                "optuna.worker": objective.worker,
            }
        )
        run_trials(study, objective, settings)
        summarise(study, settings, parent.info.run_id, objective.client)
    if settings.register:
        _register_best_trial(parent.info.run_id)
    return study, parent.info.run_id


def _register_best_trial(parent_run_id: str) -> None:
    from emotion.serving.model_registry import register_best

    try:  # chosen on validation (val_ua of the restored best epoch), never on the test speakers
        print(register_best(parent_run_id=parent_run_id, metric="val_ua").message)
    except EmotionError as error:  # e.g. a resumed sweep that had nothing left to run
        print(f"nothing registered: {error}")
