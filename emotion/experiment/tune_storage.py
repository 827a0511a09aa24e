"""Where a sweep's study lives: Optuna's RDB storage with heartbeats (a dead worker's trial is failed
and re-queued), the pruner, and the study's trial counts that every worker reads to know when to stop."""

from __future__ import annotations

import time
import warnings

from emotion.errors import EmotionError
from emotion.experiment.tune_settings import TuneSettings
from emotion.tracking.server import redact

SCHEMA_RACE_ATTEMPTS = 3  # workers starting together on an empty database race to create the tables


def open_storage(settings: TuneSettings):
    """RDBStorage with heartbeats and re-queueing of dead workers' trials; unreachable: one-line error."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    url = settings.storage.strip().strip("'\"")
    if "://" not in url:
        raise EmotionError(
            f"storage {url!r}: expected a database URL, e.g. sqlite:///optuna.db or postgresql://host/optuna"
        )
    kwargs = {}
    if url.startswith("postgresql"):
        kwargs = {"connect_args": {"connect_timeout": 10}}
    with warnings.catch_warnings():  # experimental since 2.8: documented in DESIGN.md's pitfalls
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(max_retry=settings.max_retry)

    def on_stale(study, trial):
        _close_dead_run(trial)
        retry(study, trial)

    from sqlalchemy.exc import IntegrityError

    try:
        for attempt in range(SCHEMA_RACE_ATTEMPTS):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    return RDBStorage(
                        url,
                        engine_kwargs=kwargs,
                        heartbeat_interval=settings.heartbeat_interval,
                        grace_period=2 * settings.heartbeat_interval,
                        heartbeat_stale_trial_callback=on_stale,
                    )
            except IntegrityError:  # workers started together on an empty database both created the tables
                if attempt == SCHEMA_RACE_ATTEMPTS - 1:
                    raise
                time.sleep(1.0)  # the other worker's schema is there now: the next attempt finds it
    except Exception as error:  # driver missing, host down, bad path: never a traceback
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise EmotionError(f"optuna storage {redact(url)}: cannot open ({reason[:200]})") from None


def _close_dead_run(trial) -> None:
    """A dead worker's trial run stays RUNNING in MLflow: mark it FAIL / FAILED (from the worker that notices)."""
    run_id = trial.user_attrs.get("mlflow_run_id")
    if not run_id:
        return
    try:
        from mlflow import MlflowClient

        client = MlflowClient()
        client.set_tag(run_id, "optuna.state", "FAIL")
        client.set_tag(run_id, "optuna.fail_reason", "worker heartbeat stale (process died); trial re-queued")
        client.set_terminated(run_id, "FAILED")
    except Exception as error:  # never let bookkeeping stop the sweep
        print(f"warning: could not close MLflow run {run_id}: {error}")


def make_pruner(settings: TuneSettings):
    import optuna

    if settings.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=settings.pruner_startup_trials, n_warmup_steps=settings.pruner_warmup_epochs
        )
    if settings.pruner == "percentile":  # a stricter median: the median pruner is percentile 50
        return optuna.pruners.PercentilePruner(
            settings.pruner_percentile,
            n_startup_trials=settings.pruner_startup_trials,
            n_warmup_steps=settings.pruner_warmup_epochs,
        )
    if settings.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()


def load_study(settings: TuneSettings, storage=None, pruner=None):
    import optuna

    return optuna.create_study(
        storage=storage if storage is not None else open_storage(settings),
        study_name=settings.name(),
        sampler=optuna.samplers.TPESampler(seed=settings.sampler_seed),
        pruner=pruner if pruner is not None else make_pruner(settings),
        direction=settings.direction,
        load_if_exists=True,
    )


def trial_counts(study) -> dict[str, int]:
    from collections import Counter

    counts = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    return {s: counts.get(s, 0) for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")}
