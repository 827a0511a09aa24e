"""Pre-extracted "CNN audio features" (the source designs' `*_features_cnn_fixed/`): (n_segments, D) per clip.

A clip's log-mel spectrogram is cut into a fixed number of contiguous segments (20: the designs'
MAX_SEQ_LENGTH, so every clip is a fixed-length sequence for `cnn_lstm*` and no mask is needed), and
each segment becomes one vector:
- "cnn": the segment's log-mel patch as a 96x96 image through Keras' MobileNetV3Small
  (ImageNet weights, a local weights file, or random init: random weights are plumbing only, for tests
  and wiring checks, not a meaningful embedding);
- "logmel_stats": the mean and std of each mel band over the segment's frames (no weights, cheap: the
  CPU default).

Short clips: when a clip has fewer frames than segments, each segment still takes at least one frame,
so neighbouring segments repeat frames (no zero padding: a padded segment would look like silence).
"""

from __future__ import annotations

import random
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from emotion.config import FeatureConfig, feature_kind
from emotion.errors import BadInputError, ConfigError
from emotion.features.audio import FEATURE_VERSION, load_audio, logmel
from emotion.features.segments import segment_bounds

KINDS = ("logmel_stats", "cnn", "whisper_segments")  # FeatureConfig.feature_kind values this module computes
N_SEGMENTS = FeatureConfig.n_segments  # the default's one place is FeatureConfig; here for signatures
IMAGE_SIZE = 96  # ~5x cheaper than 224; a segment is only ~18 frames x 40 bands, and the conv weights fit any size
RANDOM_SEED = 0  # fixed: random-init extractors give the same "features" in every process
# The FeatureConfig fields the log-mel depends on: only these enter params(), so unrelated settings
# (wav2vec_model, n_mfcc) do not change the cache key.
LOGMEL_FIELDS = ("sample_rate", "n_mels", "win_ms", "hop_ms", "fmin", "fmax")
# FeatureConfig switches that append columns to every segment, in column order (see _extra_parts;
# clip_std, last, repeats the clip's spread of all the columns before it).
EXTRA_OPTIONS = ("prosody", "segment_deltas", "voice_quality", "clip_std")


def logmel_stats(log_mel: np.ndarray, n_segments: int = N_SEGMENTS) -> np.ndarray:
    """Per segment, mean then std of every mel band.  # (T, n_mels) -> (n_segments, 2 * n_mels)"""
    rows = [
        np.concatenate([log_mel[a:b].mean(axis=0), log_mel[a:b].std(axis=0)])  # (2 * n_mels,)
        for a, b in segment_bounds(len(log_mel), n_segments)
    ]
    return np.stack(rows).astype(np.float32)


def segment_pool(frames: np.ndarray, n_segments: int = N_SEGMENTS) -> np.ndarray:
    """Per segment, mean then std of every column of encoder frames.  # (T, d) -> (n_segments, 2d)"""
    return logmel_stats(frames, n_segments)


def extra_groups(config) -> tuple[tuple[str, int], ...]:
    """(option, columns) of the extras each segment gets (before clip_std), in EXTRA_OPTIONS order:
    prosody 5, segment_deltas n_mels, voice_quality 1 (the HNR)."""
    from emotion.features.prosody import N_PROSODY

    widths = {"prosody": N_PROSODY, "segment_deltas": config.n_mels, "voice_quality": 1}
    return tuple((option, width) for option, width in widths.items() if getattr(config, option))


def extra_width(config) -> int:
    """Columns the extras append to every segment (before clip_std)."""
    return sum(width for _, width in extra_groups(config))


def segment_images(log_mel: np.ndarray, n_segments: int = N_SEGMENTS, size: int = IMAGE_SIZE) -> np.ndarray:
    """Each segment's patch as an RGB-like image in [0, 255].  # (T, n_mels) -> (n_segments, size, size, 3)

    Scaled by the clip's own min and max, so loud and quiet segments of one clip stay distinguishable.
    """
    import tensorflow as tf

    low, high = float(log_mel.min()), float(log_mel.max())
    scaled = (log_mel - low) / max(high - low, 1e-6) * 255.0  # (T, n_mels)
    images = []
    for a, b in segment_bounds(len(scaled), n_segments):
        patch = np.flipud(scaled[a:b].T)[:, :, None]  # (n_mels, frames, 1): low bands at the bottom, time left to right
        images.append(tf.image.resize(patch, (size, size), method="bilinear"))  # (size, size, 1)
    stacked = tf.stack(images)  # (n_segments, size, size, 1)
    return np.repeat(stacked.numpy(), 3, axis=-1).astype(np.float32)  # grey -> 3 channels the CNN expects


def _calibrate_batchnorm(model, size: int, seed: int) -> None:
    """Set every BatchNorm's moving statistics from one batch of noise images (random init only).

    With untrained statistics (mean 0, variance 1) activations shrink ~10x per block and the pooled output
    is ~1e-11: constant in practice. One training-mode pass with momentum 0 stores each layer's batch
    statistics, so random features keep a usable scale (~0.1) and differ between clips (still not a trained embedding).
    """
    import keras

    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    images = np.random.default_rng(seed).uniform(0.0, 255.0, (16, size, size, 3)).astype(np.float32)  # (16, S, S, 3)
    try:
        for layer in norms:
            layer.momentum = 0.0  # moving = batch statistics after one pass
        model(images, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum


def _build_mobilenet(weights: str | None, size: int, seed: int):
    """MobileNetV3Small without its classifier, global-average pooled; ConfigError when weights are unusable."""
    import keras

    kwargs = dict(input_shape=(size, size, 3), include_top=False, pooling="avg")
    if weights is None:
        # Keras draws each initializer's seed from Python's `random` when the layer is built: seed it for the
        # build only and put the caller's state back, rather than keras.utils.set_random_seed (global TF seed).
        state = random.getstate()
        random.seed(seed)
        try:
            model = keras.applications.MobileNetV3Small(weights=None, **kwargs)
        finally:
            random.setstate(state)
        _calibrate_batchnorm(model, size, seed)
        return model
    if weights == "imagenet":
        try:
            with warnings.catch_warnings():  # "weights for 224x224 loaded": expected, the convolutions fit any size
                warnings.filterwarnings("ignore", message=".*input_shape.*", category=UserWarning)
                return keras.applications.MobileNetV3Small(weights="imagenet", **kwargs)
        except Exception as err:  # URLError, HTTP errors, a truncated download: all "could not fetch"
            reason = " ".join(str(err).split())[:200]
            raise ConfigError(
                f"parameter cnn_weights='imagenet': could not download MobileNetV3Small ImageNet weights ({reason}); "
                "offline, pass the path of a local weights file (e.g. a copy of ~/.keras/models/"
                "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5)"
            ) from None
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"parameter cnn_weights={weights!r}: expected 'imagenet', a weights file, or none; file not found"
        )
    try:
        return keras.applications.MobileNetV3Small(weights=str(path), **kwargs)
    except Exception as err:  # wrong architecture, wrong format: h5py / keras errors of many types
        reason = " ".join(str(err).split())[:200]
        message = f"parameter cnn_weights={weights!r}: not MobileNetV3Small no-top weights ({reason})"
        raise ConfigError(message) from None


class CnnFeatureExtractor:
    """Built once (the CNN loads once), then called per clip: `extractor(path) -> (n_segments, dim)`."""

    def __init__(
        self,
        kind: str = "logmel_stats",
        n_segments: int = N_SEGMENTS,
        weights: str | None = None,
        config: FeatureConfig | None = None,
        image_size: int = IMAGE_SIZE,
        seed: int = RANDOM_SEED,
    ):
        if kind not in KINDS:
            expected = ", ".join(KINDS)
            raise ConfigError(f"parameter feature_kind={kind!r}: expected one of {expected} for segment features")
        if n_segments < 1:
            raise ConfigError(f"parameter n_segments={n_segments!r}: must be >= 1")
        self.kind = kind
        self.n_segments = n_segments
        self.weights = weights
        self.config = config or FeatureConfig()
        self.image_size = image_size
        self.seed = seed
        self.model = _build_mobilenet(weights, image_size, seed) if kind == "cnn" else None
        self.encoder = None  # whisper_segments: each segment is the mean and std of its Whisper frames
        self.frame_cache = None  # a FeatureCache holding Whisper frames by (file, encoder params), if any
        self._pool = None  # whisper_segments: encoder threads, made on first use (_frames_pool)
        if feature_kind(kind).whisper:
            from emotion.features.whisper import WHISPER_SAMPLE_RATE, load_encoder

            if self.config.sample_rate != WHISPER_SAMPLE_RATE:
                raise ConfigError(
                    f"parameter sample_rate={self.config.sample_rate}: Whisper takes {WHISPER_SAMPLE_RATE} Hz audio"
                )
            self.encoder = load_encoder(
                self.config.whisper_model,
                self.config.whisper_window,
                layers=self.config.whisper_layers,
                compute=self.config.whisper_compute,
            )

    @classmethod
    def from_config(cls, config: FeatureConfig, frame_cache=None) -> "CnnFeatureExtractor":
        """From a run's FeatureConfig: feature_kind, n_segments, cnn_weights ("" = random init)."""
        extractor = cls(
            kind=config.feature_kind,
            n_segments=getattr(config, "n_segments", N_SEGMENTS),
            weights=getattr(config, "cnn_weights", "") or None,
            config=config,
        )
        extractor.frame_cache = frame_cache
        return extractor

    @property
    def dim(self) -> int:
        """Features per segment: 2 * n_mels for logmel_stats, 2 * d_model for whisper_segments, the
        CNN's pooled channels (576) otherwise; + the extras (extra_width); clip_std doubles the total."""
        if self.encoder is not None:
            base = 2 * self.encoder.d_model
        else:
            base = 2 * self.config.n_mels if self.model is None else int(self.model.output_shape[-1])
        width = base + extra_width(self.config)
        return 2 * width if self.config.clip_std else width

    def extras(self) -> list[str]:
        """The FeatureConfig options switched on that append columns to every segment, in column order."""
        return [option for option in EXTRA_OPTIONS if getattr(self.config, option)]

    def params(self) -> dict:
        """Everything that decides the numbers: for the cache key and the feature folder's features.json."""
        out = {
            "kind": self.kind,
            "n_segments": self.n_segments,
            **{name: getattr(self.config, name) for name in LOGMEL_FIELDS},
            "feature_version": FEATURE_VERSION,
        }
        out.update({option: True for option in self.extras()})  # only when on: earlier caches keep their keys
        if self.config.voice_quality and self.config.hnr_step != 1:
            out.update(hnr_step=self.config.hnr_step)
        if self.encoder is not None:
            out.update(whisper=self.encoder.params())
        if self.model is not None:
            out.update(
                backbone="MobileNetV3Small",
                image_size=self.image_size,
                weights="random" if self.weights is None else str(self.weights),
                seed=self.seed if self.weights is None else None,
            )
        return out

    def from_logmel(self, log_mel: np.ndarray) -> np.ndarray:
        """One clip's log-mel to its segment features.  # (T, n_mels) -> (n_segments, dim)"""
        if self.model is None:
            return logmel_stats(log_mel, self.n_segments)
        images = segment_images(log_mel, self.n_segments, self.image_size)  # (n_segments, S, S, 3)
        # One batch per clip: predict_on_batch reuses the compiled graph, without predict()'s per-call dataset setup.
        return np.asarray(self.model.predict_on_batch(images), dtype=np.float32)  # (n_segments, dim)

    def __call__(self, path, hnr: bool = True, prosody: bool = True) -> np.ndarray:
        """One audio file -> (n_segments, dim); problems with the file are BadInputError naming it.
        hnr=False: the HNR column (voice_quality) is 0, not measured; prosody=False: the prosody columns
        too. For a clip only a head that does not read them will see (a served single clip with
        global_hnr / global_prosody false)."""
        signal = load_audio(path, self.config.sample_rate, self.config.max_clip_seconds)  # (N,)
        # The encoder (CTranslate2, GIL released) starts first and runs beside the log-mel and the Praat
        # extras (GIL held): one clip's features take the longer of the two, not their sum (served latency)
        frames = self._start_frames(path, signal) if self.encoder is not None else None
        try:
            log_mel = logmel(signal, self.config.sample_rate, self.config)  # (T, n_mels)
        except ValueError as err:
            raise BadInputError(path, " ".join(str(err).split())) from None
        if not np.isfinite(log_mel).all():
            raise BadInputError(path, "features contain NaN or infinite values")
        if frames is not None:
            extras = self._extra_parts(signal, log_mel, hnr, prosody)
            parts = [segment_pool(frames.result(), self.n_segments), *extras]  # (n_segments, 2 d_model), ...
        else:
            parts = [
                self.from_logmel(log_mel),
                *self._extra_parts(signal, log_mel, hnr, prosody),
            ]  # (n_segments, base), ...
        features = np.concatenate(parts, axis=1)  # (n_segments, width)
        if self.config.clip_std:
            # How much each column varies over the clip, on every segment: after per-speaker normalisation
            # it says "more or less varied than this speaker's usual clip", which mean pooling cannot.
            spread = np.broadcast_to(features.std(axis=0), features.shape)  # (n_segments, width)
            features = np.concatenate([features, spread], axis=1)  # (n_segments, 2 * width)
        if not np.isfinite(features).all():
            raise BadInputError(path, f"{self.kind} features contain NaN or infinite values")
        return features

    def _frames_pool(self) -> ThreadPoolExecutor:
        """Threads that encode beside the extras: one per encoder replica (calls that may run at once)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.encoder.replicas, thread_name_prefix="whisper")
        return self._pool

    def _start_frames(self, path, signal: np.ndarray) -> Future:
        """(T, d_model) encoder frames, as a future: from the frame cache when feature_kind=whisper filled
        it, else encoding on the pool. Whisper's mel is made here, on the calling thread: it is numpy under
        Python's lock, which Praat holds; on the worker it waited for Praat, and moving it here cut a clip's
        median from 185 to 165 ms (a one-off A/B over 60 real clips). Only CTranslate2's encode, which lets go, is handed over."""
        key = self.frame_cache.key(path, self.encoder.params()) if self.frame_cache is not None else None
        cached = self.frame_cache.get(key) if key else None
        if cached is not None:
            done = Future()
            done.set_result(cached)
            return done
        windows = self.encoder.mel_windows(signal)  # [(1, n_mels, t) window, clip frames in it]

        def encode() -> np.ndarray:
            frames = self.encoder.encode_windows(windows)  # (T, d_model)
            if key:
                self.frame_cache.put(key, frames)
            return frames

        return self._frames_pool().submit(encode)

    def _extra_parts(
        self, signal: np.ndarray, log_mel: np.ndarray, hnr: bool = True, prosody: bool = True
    ) -> list[np.ndarray]:
        """The optional per-segment additions, each (n_segments, k), in EXTRA_OPTIONS order."""
        from emotion.features.audio import deltas, frame_sizes
        from emotion.features.prosody import (
            N_PROSODY,
            harmonicity_track,
            prosody_tracks,
            segment_harmonicity,
            segment_prosody,
        )

        window, hop, _ = frame_sizes(self.config.sample_rate, self.config)
        parts = []
        if self.config.prosody and not prosody:
            parts.append(np.zeros((self.n_segments, N_PROSODY), np.float32))  # a placeholder, never read
        elif self.config.prosody:
            tracks = prosody_tracks(signal, self.config.sample_rate, hop, window)  # (T, 3)
            parts.append(segment_prosody(tracks, self.n_segments, hop / self.config.sample_rate))  # (n_segments, 5)
        if self.config.segment_deltas:
            change = np.abs(deltas(log_mel))  # (T, n_mels)
            parts.append(np.stack([change[a:b].mean(axis=0) for a, b in segment_bounds(len(change), self.n_segments)]))
        if self.config.voice_quality and hnr:
            hnr_hop = hop * self.config.hnr_step
            track = harmonicity_track(signal, self.config.sample_rate, hnr_hop, len(log_mel))  # (T,), held in steps
            parts.append(segment_harmonicity(track, self.n_segments))  # (n_segments, 1)
        elif self.config.voice_quality:
            parts.append(np.zeros((self.n_segments, 1), np.float32))  # (n_segments, 1): a placeholder, never read
        return parts
