"""`build_config(variant, overrides)`: the only way entry points make a RunConfig. It rejects unknown
names and values that cannot be cast, with a one-line error naming the parameter."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import fields

from emotion.config.feature_kinds import FEATURE_KINDS
from emotion.config.sections import CORPORA, SPEAKER_STATS, RunConfig
from emotion.config.variants import MODEL_CONFIGS, VARIANT_DEFAULTS, VARIANTS
from emotion.errors import ConfigError, EmotionError

LABEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
WHISPER_WINDOW_SECONDS = 30  # Whisper's training window: the longest whisper_window


def parse_assignments(items: list[str]) -> dict[str, str]:
    """["epochs=5", "data_dir="] -> {"epochs": "5", "data_dir": ""}; a bare word is an error."""
    out = {}
    for item in items:
        for token in item.split():  # MLproject passes `extra` as one space-separated string
            name, sep, value = token.partition("=")
            if not sep or not name:
                raise EmotionError(f"argument {token!r}: expected name=value")
            out[name] = value
    return out


def label_names(labels: str) -> tuple[str, ...]:
    """labels=angry,Bored,neutral -> ("angry", "bored", "neutral"): at least two, no repeat, each a name
    that can head a p_<label> column and an MLflow parameter (letters, digits, _ and -)."""
    names = tuple(name.strip().lower() for name in labels.split(","))
    odd = [name for name in names if not LABEL_NAME.fullmatch(name)]
    if odd:
        raise ConfigError(f"parameter labels={labels}: {odd[0]!r} is not a class name (letters, digits, _ and -)")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"parameter labels={labels}: {repeated[0]!r} is named twice")
    if len(names) < 2:
        raise ConfigError(f"parameter labels={labels}: a model needs at least two classes")
    return names


WHISPER_COMPUTE = ("float32", "int8")  # CTranslate2 compute types offered (int8: int8 weights, float32 activations)


def whisper_layer_parts(spec: str, n_models: int) -> list[str]:
    """whisper_layers per model of `whisper_model=a+b`: "last", "all" or "2,3", one for all or one per
    model joined by "+" ("2+3,4"). Syntax only; the layer count is checked against each model when it loads."""
    parts = [part.strip() for part in spec.split("+")]
    if len(parts) not in (1, n_models):
        raise ConfigError(
            f"parameter whisper_layers={spec!r}: {len(parts)} parts for {n_models} models; give one for all or one per model"
        )
    for part in parts:
        numbers = [item.strip() for item in part.split(",")]
        if part not in ("last", "all") and not all(item.isdigit() and int(item) >= 1 for item in numbers):
            raise ConfigError(
                f"parameter whisper_layers={spec!r}: expected 'last', 'all' or layer numbers from 1 such as '2,3'"
                f" (per model of whisper_model=a+b: '2+3,4')"
            )
    return parts * n_models if len(parts) == 1 else parts


def window_seconds(window: str) -> float | None:
    """ "clip" -> None (no padding); "Ns" -> N; anything else a one-line ConfigError."""
    if window == "clip":
        return None
    try:
        seconds = float(window[:-1]) if window.endswith("s") else float("nan")
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= WHISPER_WINDOW_SECONDS:
        raise ConfigError(
            f"parameter whisper_window={window!r}: expected 'clip' or 'Ns' with 0 < N <= {WHISPER_WINDOW_SECONDS}, e.g. '30s'"
        )
    return seconds


def cast_parameter(name: str, value, target_type):
    """Cast a command-line or MLproject string to the field's type, or fail naming the parameter."""
    if not isinstance(value, str):
        return target_type(value)
    text = value.strip().strip("'\"")  # MLproject stores string parameters shell-quoted
    try:
        if target_type is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if target_type is int:
            as_float = float(text)
            if not as_float.is_integer():
                raise ValueError
            return int(as_float)
        return target_type(text)
    except ValueError:
        raise ConfigError(f"parameter {name}={value!r}: expected {target_type.__name__}") from None


_CHOICES = {
    "corpus": CORPORA,
    "speaker_stats": SPEAKER_STATS,
    "modalities": ("auto", "audio", "audio+video"),
    "video_source": ("auto", "files"),
    "feature_kind": tuple(FEATURE_KINDS),
    "normalisation": ("train", "speaker", "none"),
    "split": ("speaker", "random_leaky", "manifest"),
    "length_mode": ("bucket", "batch_max", "fixed", "percentile"),
    "loss": ("focal", "crossentropy"),
    "lr_schedule": ("plateau", "exponential", "warmup_plateau_cosine"),
    "jit_compile": ("auto", "on", "off"),
    "lstm_kernel": ("auto", "cudnn", "generic"),
    "augment": ("none", "audio_only", "sync"),
    "pooling": ("mean", "mean_std"),  # only variants whose model has it
    "clip_head": ("svm", "logistic"),
    "clip_functionals": ("segments", "frames"),
}


def _validate(config: RunConfig) -> None:
    """Every parameter's one-line error, before any data is read: choices, ranges, then what features
    and clip heads need of each other."""
    flat = config.flat()
    for name, allowed in _CHOICES.items():
        if name in flat and flat[name] not in allowed:
            raise ConfigError(f"parameter {name}={flat[name]!r}: expected one of {', '.join(allowed)}")
    _check_ranges(flat)
    _check_data(flat)
    _check_features(flat)
    _check_clip_heads(flat)


def _check_ranges(flat: dict) -> None:
    if flat.get("lstm_kernel") == "cudnn" and flat.get("recurrent_dropout", 0.0) > 0:
        raise ConfigError(
            f"parameter lstm_kernel=cudnn: cuDNN has no recurrent dropout; set recurrent_dropout=0 (got {flat['recurrent_dropout']})"
        )
    if "frame_pool" in flat and flat["frame_pool"] < 1:
        raise ConfigError(f"parameter frame_pool={flat['frame_pool']!r}: must be >= 1 (1 = every frame)")
    positive = [
        "cv_folds",
        "cv_seeds",
        "sample_rate",
        "batch_size",
        "epochs",
        "learning_rate",
        "win_ms",
        "hop_ms",
        "n_mels",
        "n_mfcc",
        "hnr_step",
    ]
    for name in positive:
        if not flat[name] > 0:
            raise ConfigError(f"parameter {name}={flat[name]!r}: must be > 0")
    for name in ("test_fraction", "val_fraction"):
        if not 0.0 < flat[name] < 0.5:
            raise ConfigError(f"parameter {name}={flat[name]!r}: must be between 0 and 0.5")
    for name in ("dropout", "dropout_2", "recurrent_dropout"):
        if name in flat and not 0.0 <= flat[name] < 1.0:
            raise ConfigError(f"parameter {name}={flat[name]!r}: must be in [0, 1)")
    if "svm_weight" in flat and not 0.0 <= flat["svm_weight"] <= 1.0:
        raise ConfigError(f"parameter svm_weight={flat['svm_weight']!r}: must be in [0, 1] (0 = the network alone)")
    if not 0 <= flat["min_clip_seconds"] < flat["max_clip_seconds"]:
        raise ConfigError(
            f"parameter min_clip_seconds={flat['min_clip_seconds']!r}: must be >= 0 and under max_clip_seconds"
        )
    if flat["mixup_alpha"] < 0:
        raise ConfigError(f"parameter mixup_alpha={flat['mixup_alpha']!r}: must be >= 0 (0 = off)")
    if "l2" in flat and flat["l2"] < 0:
        raise ConfigError(f"parameter l2={flat['l2']!r}: must be >= 0")
    if flat["length_mode"] == "fixed" and flat["fixed_length"] <= 0:
        raise ConfigError("parameter fixed_length: must be > 0 when length_mode=fixed")
    if not 0.0 < flat["length_percentile"] <= 100.0:
        raise ConfigError(f"parameter length_percentile={flat['length_percentile']!r}: must be in (0, 100]")


def _check_data(flat: dict) -> None:
    if flat["labels"]:
        label_names(flat["labels"])  # fewer than two classes, a repeat or an odd character fails here
    for name in ("label_map", "speaker_column"):
        if flat[name] and not flat["manifest"]:
            raise ConfigError(f"parameter {name}: reads a manifest file; give manifest=FILE too")
    if flat["manifest"] and flat["data_dir"]:
        raise ConfigError(
            "parameters manifest and data_dir: one or the other (the manifest's paths say where the clips are)"
        )


def _check_features(flat: dict) -> None:
    kind = FEATURE_KINDS[flat["feature_kind"]]
    if kind.whisper and flat["sample_rate"] != 16_000:
        raise ConfigError(
            f"parameter sample_rate={flat['sample_rate']!r}: feature_kind={flat['feature_kind']} takes 16000 Hz audio"
        )
    if kind.whisper:
        window_seconds(flat["whisper_window"])  # a bad window fails here, before the model loads
        whisper_layer_parts(flat["whisper_layers"], len(flat["whisper_model"].split("+")))
        if flat["whisper_compute"] not in WHISPER_COMPUTE:
            raise ConfigError(
                f"parameter whisper_compute={flat['whisper_compute']!r}: expected one of {', '.join(WHISPER_COMPUTE)}"
            )
    if flat.get("clip_functionals") == "frames" and (not kind.mean_std_segments or flat["clip_std"]):
        raise ConfigError(
            "parameter clip_functionals=frames: needs mean/std segments (feature_kind logmel_stats or whisper_segments, "
            f"clip_std off), got feature_kind={flat['feature_kind']}"
        )
    if flat["fmax"] > flat["sample_rate"] / 2:
        raise ConfigError(f"parameter fmax={flat['fmax']!r}: above Nyquist for sample_rate={flat['sample_rate']}")


def _check_clip_heads(flat: dict) -> None:
    if flat.get("global_extras_std") is False and flat.get("clip_functionals") != "frames":
        raise ConfigError(
            "parameter global_extras_std=false: only with clip_functionals=frames (the extras' std is a block of that "
            f"layout), got clip_functionals={flat.get('clip_functionals')}"
        )
    if flat.get("global_voices") and not (flat.get("global_head") and flat["normalisation"] == "speaker"):
        raise ConfigError(
            "parameter global_voices=true: it trains the global head, which needs global_head=true and "
            f"normalisation=speaker (got global_head={flat.get('global_head')}, normalisation={flat['normalisation']})"
        )
    if flat.get("global_hnr") is False and not (flat.get("global_head") and flat.get("global_extras_std") is False):
        raise ConfigError(
            "parameter global_hnr=false: leaves the HNR mean out of the global head's [frame mean | frame std | "
            "extras' mean], which needs global_head=true and global_extras_std=false "
            f"(got global_head={flat.get('global_head')}, global_extras_std={flat.get('global_extras_std')})"
        )
    if flat.get("global_prosody") is False and not (flat.get("global_head") and flat.get("global_extras_std") is False):
        raise ConfigError(
            "parameter global_prosody=false: leaves the prosody means out of the global head's [frame mean | frame "
            "std | extras' mean], which needs global_head=true and global_extras_std=false "
            f"(got global_head={flat.get('global_head')}, global_extras_std={flat.get('global_extras_std')})"
        )
    if flat.get("speaker_hnr") is False and flat.get("clip_functionals") != "frames":
        raise ConfigError(
            "parameter speaker_hnr=false: leaves the HNR's functionals out of the per-speaker head, which needs "
            f"clip_functionals=frames (got clip_functionals={flat.get('clip_functionals')})"
        )
    if flat.get("speaker_stats") == "balanced" and not flat.get("global_head"):
        raise ConfigError(
            "parameter speaker_stats=balanced: reads each clip's emotion off the global head; set global_head=true"
        )
    if flat.get("global_voices") and flat["feature_dir"]:
        raise ConfigError("parameter global_voices=true: re-voices audio files, not feature_dir's precomputed features")


def build_config(variant: str, overrides: dict | None = None) -> RunConfig:
    """The variant's defaults with `overrides` (name -> value or string) applied and validated."""
    if variant not in MODEL_CONFIGS:
        raise ConfigError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    base = RunConfig(variant=variant, model=MODEL_CONFIGS[variant]())
    pending = {**VARIANT_DEFAULTS.get(variant, {}), **(overrides or {})}
    pending.pop("variant", None)
    replaced = {}
    for key, section in base.sections().items():
        changes = {}
        for f in fields(section):
            if f.name in pending:
                changes[f.name] = cast_parameter(f.name, pending.pop(f.name), type(getattr(section, f.name)))
        replaced[key] = dataclasses.replace(section, **changes)
    if pending:
        known = ", ".join(sorted(base.flat()))
        raise ConfigError(f"unknown parameter(s) {', '.join(sorted(pending))} for variant {variant}; known: {known}")
    config = RunConfig(variant=variant, **replaced)
    _validate(config)
    return config
