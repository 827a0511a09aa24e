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
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import time
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

from emotion.config import _cast, build_config
from emotion.errors import ConfigError, EmotionError
from emotion.run_notes import NOTE_TAG, corpus_label, run_name

PRUNERS = ("median", "percentile", "hyperband", "none")
METRICS = {"val_accuracy": "maximize", "val_loss": "minimize"}  # per-epoch Keras logs: what pruning can see
EXTRA_DIMS = ("units", "batch_size", "focal_gamma")
SCHEMA_RACE_ATTEMPTS = 3  # workers starting together on an empty database race to create the tables
UNITS_FIELDS = ("lstm_units", "audio_units_1", "dense_units")  # the variant's first one is "units"
UNITS_CHOICES = (32, 64, 128, 256)
BATCH_CHOICES = (16, 32, 64)


@dataclass(frozen=True)
class TuneSettings:
    """Every default of a sweep, in one place (MLproject's `tune` entry is generated from it)."""

    variant: str = "no_aug"
    n_trials: int = 20  # COMPLETE + PRUNED trials the study should hold (all workers together)
    timeout: float = 0.0  # seconds for this worker; 0 = no limit
    study_name: str = ""  # empty: tune-<variant>
    storage: str = "sqlite:///optuna.db"  # one worker; postgresql://user:pw@host/optuna for many
    sampler_seed: int = 42  # TPE seed (with many workers each draws its own, so the sweep is not reproducible)
    pruner: str = "percentile"  # "percentile" | "median" | "hyperband" | "none" (benchmarks/tune_pruning.py)
    pruner_startup_trials: int = 3  # median / percentile: no pruning before this many trials finished
    pruner_warmup_epochs: int = 1  # median / percentile: no pruning during the first epochs (all trials are noisy there)
    pruner_percentile: float = 25.0  # percentile: keep a trial only while it is in the best quarter at its epoch
    metric: str = "val_accuracy"  # "val_accuracy" | "val_loss": the best epoch is the trial value
    direction: str = "maximize"  # must match metric: maximize val_accuracy, minimize val_loss
    dropout_min: float = 0.0
    dropout_max: float = 0.6
    l2_min: float = 1e-6  # log scale
    l2_max: float = 1e-2
    lr_min: float = 1e-4  # log scale
    lr_max: float = 3e-3
    extra_dims: str = ""  # comma-separated: units, batch_size, focal_gamma
    focal_gamma_min: float = 0.5
    focal_gamma_max: float = 4.0
    heartbeat_interval: int = 60  # seconds; a trial silent for 2x this is failed and retried
    max_retry: int = 2  # re-runs of a dead worker's trial
    register: bool = False  # register the sweep's best trial model (models:/emotion@champion)

    def name(self) -> str:
        return self.study_name or f"tune-{self.variant}"

    def dims(self) -> list[str]:
        return [d.strip() for d in self.extra_dims.replace("+", ",").split(",") if d.strip()]


TUNE_FIELDS = tuple(f.name for f in fields(TuneSettings))


def parse_settings(assignments: dict[str, str], variant: str | None = None) -> tuple[TuneSettings, dict[str, str]]:
    """Split name=value assignments into sweep settings and config overrides; validate both (no training)."""
    values, overrides = {}, {}
    for name, value in assignments.items():
        (values if name in TUNE_FIELDS else overrides)[name] = value
    if variant is not None:
        values["variant"] = variant
    cast = {}
    for f in fields(TuneSettings):
        if f.name in values:
            cast[f.name] = _cast(f.name, values[f.name], type(f.default))
    settings = TuneSettings(**cast)
    validate(settings, overrides)
    return settings, overrides


def validate(settings: TuneSettings, overrides: dict) -> None:
    s = settings
    config = build_config(s.variant, overrides)  # unknown variant or parameter: ConfigError here
    if s.n_trials <= 0:
        raise ConfigError(f"parameter n_trials={s.n_trials}: must be > 0")
    if s.timeout < 0:
        raise ConfigError(f"parameter timeout={s.timeout}: must be >= 0 (0 = no limit)")
    if s.pruner not in PRUNERS:
        raise ConfigError(f"parameter pruner={s.pruner!r}: expected one of {', '.join(PRUNERS)}")
    if s.metric not in METRICS:
        raise ConfigError(f"parameter metric={s.metric!r}: expected one of {', '.join(METRICS)} (a per-epoch metric, for pruning)")
    if s.direction not in ("maximize", "minimize"):
        raise ConfigError(f"parameter direction={s.direction!r}: expected maximize or minimize")
    if s.direction != METRICS[s.metric]:
        raise ConfigError(f"parameter direction={s.direction}: {s.metric} should be {METRICS[s.metric]}d")
    if not 0.0 <= s.dropout_min < s.dropout_max < 1.0:
        raise ConfigError(f"dropout bounds [{s.dropout_min}, {s.dropout_max}]: need 0 <= dropout_min < dropout_max < 1")
    for name, low, high in (("l2", s.l2_min, s.l2_max), ("lr", s.lr_min, s.lr_max), ("focal_gamma", s.focal_gamma_min, s.focal_gamma_max)):
        if not 0.0 < low < high:
            raise ConfigError(f"{name} bounds [{low}, {high}]: need 0 < {name}_min < {name}_max (log scale)")
    unknown = [d for d in s.dims() if d not in EXTRA_DIMS]
    if unknown:
        raise ConfigError(f"parameter extra_dims: unknown {', '.join(unknown)}; expected some of {', '.join(EXTRA_DIMS)}")
    if "focal_gamma" in s.dims() and config.train.loss != "focal":
        raise ConfigError(f"extra_dims focal_gamma: variant {s.variant} uses loss={config.train.loss}; add loss=focal")
    if "units" in s.dims() and units_field(config.flat()) is None:
        raise ConfigError(f"extra_dims units: variant {s.variant} has none of {', '.join(UNITS_FIELDS)}")
    if not 0 < s.pruner_percentile < 100:
        raise ConfigError(f"parameter pruner_percentile={s.pruner_percentile:g}: must be in (0, 100)")
    if s.heartbeat_interval < 1 or s.max_retry < 0 or s.pruner_startup_trials < 0 or s.pruner_warmup_epochs < 0:
        raise ConfigError("heartbeat_interval must be >= 1; max_retry, pruner_startup_trials, pruner_warmup_epochs >= 0")


def units_field(flat: dict) -> str | None:
    return next((f for f in UNITS_FIELDS if f in flat), None)


def suggest(trial, settings: TuneSettings, flat: dict) -> dict[str, object]:
    """The trial's config overrides: dropout, l2, learning_rate always; the extra dimensions when asked."""
    s = settings
    params = {
        "dropout": trial.suggest_float("dropout", s.dropout_min, s.dropout_max),
        "l2": trial.suggest_float("l2", s.l2_min, s.l2_max, log=True),
        "learning_rate": trial.suggest_float("learning_rate", s.lr_min, s.lr_max, log=True),
    }
    dims = s.dims()
    if "units" in dims:
        params[units_field(flat)] = trial.suggest_categorical("units", UNITS_CHOICES)
    if "batch_size" in dims:
        params["batch_size"] = trial.suggest_categorical("batch_size", BATCH_CHOICES)
    if "focal_gamma" in dims:
        params["focal_gamma"] = trial.suggest_float("focal_gamma", s.focal_gamma_min, s.focal_gamma_max)
    return params


def redact(url: str) -> str:
    """The storage URL without its password (logged on the parent run)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a SQLAlchemy URL: log only the scheme
        return url.split("://", 1)[0] + "://..."


def open_storage(settings: TuneSettings):
    """RDBStorage with heartbeats and re-queueing of dead workers' trials; unreachable: one-line error."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    url = settings.storage.strip().strip("'\"")
    if "://" not in url:
        raise EmotionError(f"storage {url!r}: expected a database URL, e.g. sqlite:///optuna.db or postgresql://host/optuna")
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
                        url, engine_kwargs=kwargs, heartbeat_interval=settings.heartbeat_interval,
                        grace_period=2 * settings.heartbeat_interval, heartbeat_stale_trial_callback=on_stale,
                    )  # fmt: skip
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
        return optuna.pruners.MedianPruner(n_startup_trials=settings.pruner_startup_trials, n_warmup_steps=settings.pruner_warmup_epochs)
    if settings.pruner == "percentile":  # a stricter median: the median pruner is percentile 50
        return optuna.pruners.PercentilePruner(
            settings.pruner_percentile, n_startup_trials=settings.pruner_startup_trials, n_warmup_steps=settings.pruner_warmup_epochs
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


def _counts(study) -> dict[str, int]:
    from collections import Counter

    counts = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    return {s: counts.get(s, 0) for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")}


def tune(settings: TuneSettings, overrides: dict | None = None, cache_root: Path | None = None, pruner=None):
    """Run (or continue) the sweep in this process; returns (study, parent run id)."""
    import keras
    import mlflow
    import optuna
    from mlflow import MlflowClient
    from optuna_integration import KerasPruningCallback

    from emotion.config import uses_video
    from emotion.data.splits import make_split
    from emotion.dataset import prepare_corpus
    from emotion.features.cache import default_cache_dir
    from emotion.tracking import log_params_once
    from emotion.train import train

    overrides = dict(overrides or {})
    validate(settings, overrides)
    storage = open_storage(settings)  # before any data or training: a bad URL fails here
    study = load_study(settings, storage, pruner)
    base = build_config(settings.variant, overrides)
    cache_root = Path(cache_root) if cache_root else default_cache_dir()
    corpus = prepare_corpus(base.data, base.features, cache_root, allow_video=uses_video(base.variant))
    split = make_split(corpus.manifest, base.split)  # one split for every trial: values are comparable
    client = MlflowClient()
    worker = f"{socket.gethostname()}:{os.getpid()}"

    def objective(trial):
        keras.backend.clear_session()
        trial.set_user_attr("worker", worker)
        params = suggest(trial, settings, base.flat())
        config = build_config(settings.variant, {**overrides, **params})
        curve: list[float] = []
        run_ids: list[str] = []

        class Record(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if logs and settings.metric in logs:
                    curve.append(float(logs[settings.metric]))

        def started(run_id):
            run_ids.append(run_id)
            trial.set_user_attr("mlflow_run_id", run_id)
            tags = {"optuna.trial_number": trial.number, "optuna.study_name": study.study_name, "optuna.state": "RUNNING", "entry_point": "tune"}
            retried = storage.get_trial(trial._trial_id).system_attrs.get("failed_trial")  # set by the retry callback
            if retried is not None:
                tags["optuna.retry_of"] = retried
            mlflow.set_tags(tags)

        callbacks = [Record(), KerasPruningCallback(trial, settings.metric)]
        try:
            train(config, cache_root, corpus=corpus, split=split, run_part=f"trial-{trial.number}",
                  extra_callbacks=callbacks, on_run_started=started)  # fmt: skip
        except optuna.TrialPruned:
            for run_id in run_ids:  # ended FAILED by MLflow's context manager: pruned is not a crash
                client.set_tag(run_id, "optuna.state", "PRUNED")
                client.log_metric(run_id, "pruned_at_epoch", len(curve) - 1)
                client.set_terminated(run_id, "KILLED")
            raise
        except BaseException as error:
            for run_id in run_ids:
                client.set_tag(run_id, "optuna.state", "FAIL")
                client.set_tag(run_id, "optuna.fail_reason", f"{type(error).__name__}: {error}"[:500])
            raise
        value = max(curve) if settings.direction == "maximize" else min(curve)
        state = "COMPLETE" if curve and math.isfinite(value) else "FAIL"
        for run_id in run_ids:
            client.set_tag(run_id, "optuna.state", state)
            client.log_metric(run_id, f"trial_{settings.metric}", value)
        return value

    started_at, attempts = time.monotonic(), 0
    with mlflow.start_run(run_name=run_name("tune", settings.variant, corpus_label(base.data.data_dir))) as parent:
        log_params_once({**{f"tune_{k}": v for k, v in dataclasses.asdict(settings).items()}, **base.flat()})
        mlflow.set_tags({
            "entry_point": "tune", "variant": settings.variant, "optuna.study_name": study.study_name,
            "optuna.storage": redact(settings.storage), "optuna.worker": worker,
        })  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            while True:
                if settings.timeout and time.monotonic() - started_at > settings.timeout:
                    break
                counts = _counts(study)
                done = counts["COMPLETE"] + counts["PRUNED"]
                if done >= settings.n_trials:
                    break
                if done + counts["RUNNING"] >= settings.n_trials and not counts["WAITING"]:
                    # other workers hold the last trials: wait; if one of them dies its trial comes back
                    optuna.storages.fail_stale_trials(study)
                    time.sleep(min(5.0, settings.heartbeat_interval / 2))
                    continue
                if attempts >= 2 * settings.n_trials + settings.max_retry:
                    print(f"stopping: {attempts} trials run by this worker and the study still lacks finished ones (failing trials?)")
                    break
                attempts += 1
                remaining = settings.timeout - (time.monotonic() - started_at) if settings.timeout else None
                study.optimize(objective, n_trials=1, timeout=remaining)
        summarise(study, settings, parent.info.run_id, client)
    if settings.register:
        from emotion.model_registry import register_best

        # chosen on validation (val_ua of the restored best epoch), never on the test speakers
        try:
            print(register_best(parent_run_id=parent.info.run_id, metric="val_ua").message)
        except EmotionError as error:  # e.g. a resumed sweep that had nothing left to run
            print(f"nothing registered: {error}")
    return study, parent.info.run_id


def summarise(study, settings: TuneSettings, parent_run_id: str, client) -> None:
    """Best params/value, best run id, trial table and Optuna's figures on the (active) parent run."""
    import matplotlib.pyplot as plt
    import mlflow
    import optuna
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as ovm

    trials = study.get_trials(deepcopy=False)
    counts = _counts(study)
    mlflow.log_metrics({f"n_{k.lower()}": v for k, v in counts.items()})
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    notes = []
    if complete:
        best = study.best_trial
        mlflow.log_metric(f"best_{settings.metric}", best.value)
        mlflow.log_params({f"best_{k}": v for k, v in best.params.items()})
        mlflow.log_dict({"number": best.number, "value": best.value, "params": best.params}, "best_trial.json")
        mlflow.set_tags({"best_trial_number": best.number, "best_run_id": best.user_attrs.get("mlflow_run_id", ""),
                         NOTE_TAG: (f"Optuna sweep of **{settings.variant}** (study `{study.study_name}`): {counts}. Best "
                                    f"{settings.metric} {best.value:.3f} at trial {best.number}, {best.params}.")})  # fmt: skip
    frame = study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs", "duration"))
    mlflow.log_table(frame.astype(str), "trials.json")
    figures = {
        "optimization_history": lambda: ovm.plot_optimization_history(study),
        "intermediate_values": lambda: ovm.plot_intermediate_values(study),
        "parallel_coordinate": lambda: ovm.plot_parallel_coordinate(study),
    }
    if len(complete) >= 2:
        figures["param_importances"] = lambda: ovm.plot_param_importances(study)
    else:
        notes.append(f"param_importances skipped: needs >= 2 completed trials, the study has {len(complete)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning from every matplotlib plot
        for name, plot in figures.items():
            try:
                ax = plot()
                figure = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
                figure.tight_layout()
                mlflow.log_figure(figure, f"figures/{name}.png")
                plt.close(figure)
            except (ValueError, RuntimeError, optuna.exceptions.OptunaError) as error:
                notes.append(f"{name} skipped: {error}")
    if notes:
        mlflow.log_text("\n".join(notes) + "\n", "figures/NOTES.txt")
    best_text = f"best {settings.metric} {study.best_value:.4f} (trial {study.best_trial.number}) {study.best_params}" if complete else "no completed trial"
    print(f"\ntune {settings.variant}: study {study.study_name} at {redact(settings.storage)}, parent run {parent_run_id}")
    print(f"trials: {counts}; {best_text}")
    print(f"dashboard: optuna-dashboard {redact(settings.storage)}")
