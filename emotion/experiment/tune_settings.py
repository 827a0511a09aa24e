"""A sweep's settings: every default in one place (TuneSettings; MLproject's `tune` entry is generated
from it), their validation before any trial runs, and the search space each trial draws from."""

from __future__ import annotations

from dataclasses import dataclass, fields

from emotion.config import build_config, cast_parameter, has_network
from emotion.errors import ConfigError

PRUNERS = ("median", "percentile", "hyperband", "none")
METRICS = {"val_accuracy": "maximize", "val_loss": "minimize"}  # per-epoch Keras logs: what pruning can see
EXTRA_DIMS = ("units", "batch_size", "focal_gamma")
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
    pruner_warmup_epochs: int = (
        1  # median / percentile: no pruning during the first epochs (all trials are noisy there)
    )
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
            cast[f.name] = cast_parameter(f.name, values[f.name], type(f.default))
    settings = TuneSettings(**cast)
    validate(settings, overrides)
    return settings, overrides


def validate(settings: TuneSettings, overrides: dict) -> None:
    s = settings
    config = build_config(s.variant, overrides)  # unknown variant or parameter: ConfigError here
    if not has_network(s.variant):
        raise ConfigError(
            f"variant {s.variant}: no network to tune (dropout, L2, learning rate); its heads' C is chosen by "
            "grouped CV inside every fit"
        )
    if s.n_trials <= 0:
        raise ConfigError(f"parameter n_trials={s.n_trials}: must be > 0")
    if s.timeout < 0:
        raise ConfigError(f"parameter timeout={s.timeout}: must be >= 0 (0 = no limit)")
    if s.pruner not in PRUNERS:
        raise ConfigError(f"parameter pruner={s.pruner!r}: expected one of {', '.join(PRUNERS)}")
    if s.metric not in METRICS:
        raise ConfigError(
            f"parameter metric={s.metric!r}: expected one of {', '.join(METRICS)} (a per-epoch metric, for pruning)"
        )
    if s.direction not in ("maximize", "minimize"):
        raise ConfigError(f"parameter direction={s.direction!r}: expected maximize or minimize")
    if s.direction != METRICS[s.metric]:
        raise ConfigError(f"parameter direction={s.direction}: {s.metric} should be {METRICS[s.metric]}d")
    if not 0.0 <= s.dropout_min < s.dropout_max < 1.0:
        raise ConfigError(f"dropout bounds [{s.dropout_min}, {s.dropout_max}]: need 0 <= dropout_min < dropout_max < 1")
    for name, low, high in (
        ("l2", s.l2_min, s.l2_max),
        ("lr", s.lr_min, s.lr_max),
        ("focal_gamma", s.focal_gamma_min, s.focal_gamma_max),
    ):
        if not 0.0 < low < high:
            raise ConfigError(f"{name} bounds [{low}, {high}]: need 0 < {name}_min < {name}_max (log scale)")
    unknown = [d for d in s.dims() if d not in EXTRA_DIMS]
    if unknown:
        raise ConfigError(
            f"parameter extra_dims: unknown {', '.join(unknown)}; expected some of {', '.join(EXTRA_DIMS)}"
        )
    if "focal_gamma" in s.dims() and config.train.loss != "focal":
        raise ConfigError(f"extra_dims focal_gamma: variant {s.variant} uses loss={config.train.loss}; add loss=focal")
    if "units" in s.dims() and units_field(config.flat()) is None:
        raise ConfigError(f"extra_dims units: variant {s.variant} has none of {', '.join(UNITS_FIELDS)}")
    if not 0 < s.pruner_percentile < 100:
        raise ConfigError(f"parameter pruner_percentile={s.pruner_percentile:g}: must be in (0, 100)")
    if s.heartbeat_interval < 1 or s.max_retry < 0 or s.pruner_startup_trials < 0 or s.pruner_warmup_epochs < 0:
        raise ConfigError(
            "heartbeat_interval must be >= 1; max_retry, pruner_startup_trials, pruner_warmup_epochs >= 0"
        )


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
