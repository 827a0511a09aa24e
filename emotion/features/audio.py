"""Audio clip -> frame features: decode (soundfile), mono, resample (polyphase), log-mel or MFCC (tf.signal).

Every problem with a file becomes one `BadInputError` line naming the path; a clip that cannot give
features is skipped by `extract_many`, never a traceback from deep inside a decoder.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from emotion.config import FeatureConfig, feature_kind
from emotion.errors import BadInputError, ConfigError

# Bump when a change here changes the numbers a given config produces: old cache entries stop matching.
FEATURE_VERSION = 1
LOG_FLOOR = 1e-6  # log(mel + floor): silence gives log(1e-6) ~ -13.8 instead of -inf
# Peak below -80 dBFS (3 steps of 16-bit PCM): digital silence, a muted take; it carries no emotion and
# would train the model that one label sounds like nothing.
SILENCE_PEAK = 1e-4


def require_file(path) -> Path:
    """`path` as a Path if it is a readable, non-empty file; else BadInputError with the reason."""
    path = Path(path)
    if not path.exists():
        if path.is_symlink():  # exists() follows links: a dangling link or a loop of links
            raise BadInputError(path, "broken or looping symbolic link")
        raise BadInputError(path, "file not found")
    if not path.is_file():
        raise BadInputError(path, "not a regular file")
    try:
        with open(path, "rb") as handle:
            first = handle.read(1)
    except PermissionError:
        raise BadInputError(path, "not readable (permission denied)") from None
    except OSError as err:
        raise BadInputError(path, f"not readable ({err.strerror or err})") from None
    if not first:
        raise BadInputError(path, "empty file (0 bytes)")
    return path


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _not_decodable(path, err) -> BadInputError:
    message = getattr(err, "error_string", None) or str(err)  # error_string omits the path prefix
    return BadInputError(path, f"not decodable as audio ({_one_line(message)})")


def require_min_duration(path, min_seconds: float) -> None:
    """BadInputError when the header says the clip lasts under `min_seconds`: too little speech to carry
    an emotion. A header that cannot be read is left to the decoder, which names the real problem."""
    try:
        seconds = sf.info(str(path)).duration
    except (sf.SoundFileError, RuntimeError, OSError):
        return
    if seconds < min_seconds:
        raise BadInputError(
            path, f"{seconds:.2f} s long, under min_clip_seconds={min_seconds:g} (too short to carry an emotion)"
        )


def load_audio(path, sample_rate: int, max_seconds: float = FeatureConfig.max_clip_seconds) -> np.ndarray:
    """Decode any soundfile-readable file to float32 mono at `sample_rate`.  # (N,)

    Any bit depth, channel count and rate; refused with the reason: undecodable, longer than
    `max_seconds` (checked from the header, before decoding), empty, NaN/inf samples, all-silent.
    A header that claims more samples than the file holds decodes the samples present.
    """
    path = require_file(path)
    try:
        info = sf.info(path)
        if info.duration > max_seconds:
            raise BadInputError(
                path, f"{info.duration:.0f} s long, over max_clip_seconds={max_seconds:g} (not a single clip?)"
            )
        data, file_rate = sf.read(path, dtype="float32", always_2d=True)  # (N, C), ints scaled to [-1, 1)
    except sf.SoundFileError as err:
        raise _not_decodable(path, err) from None
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise BadInputError(path, "no audio samples (0 frames)")
    if not np.isfinite(data).all():
        raise BadInputError(path, "contains NaN or infinite samples")
    if np.abs(data).max() < SILENCE_PEAK:
        raise BadInputError(path, f"all-silent (peak below {20 * np.log10(SILENCE_PEAK):.0f} dBFS)")
    signal = data.mean(axis=1)  # (N,) channels mixed by mean, not summed: keeps the [-1, 1] range
    if file_rate != sample_rate:
        g = gcd(int(file_rate), int(sample_rate))
        signal = resample_poly(signal, up=sample_rate // g, down=int(file_rate) // g)  # anti-aliased
    return np.ascontiguousarray(signal, dtype=np.float32)


def frame_sizes(sample_rate: int, config: FeatureConfig) -> tuple[int, int, int]:
    """(window, hop, fft_length) in samples; fft_length is the next power of two >= window."""
    window = int(round(config.win_ms * sample_rate / 1000))
    hop = int(round(config.hop_ms * sample_rate / 1000))
    fft_length = 1 << max(window - 1, 1).bit_length()
    return window, hop, fft_length


@lru_cache(maxsize=8)
def mel_weights(n_mels: int, bins: int, sample_rate: int, fmin: float, fmax: float):
    """The mel filterbank, built once per setting: rebuilt per clip it was over half of a served clip's
    log-mel time in a profile (eager TF ops)."""
    import tensorflow as tf

    weights = tf.signal.linear_to_mel_weight_matrix(n_mels, bins, sample_rate, fmin, fmax).numpy()  # (bins, n_mels)
    weights.setflags(write=False)  # shared by every later call
    return weights


def logmel(signal: np.ndarray, sample_rate: int, config: FeatureConfig) -> np.ndarray:
    """Log mel power spectrogram, T = 1 + (N - window) // hop frames.  # (N,) -> (T, n_mels)"""
    import tensorflow as tf  # imported here: decoding and the cache stay usable without TF's start-up cost

    window, hop, fft_length = frame_sizes(sample_rate, config)
    if len(signal) < window:
        raise ValueError(
            f"clip shorter than one analysis frame ({1000 * len(signal) / sample_rate:.1f} ms < {config.win_ms:g} ms)"
        )
    stft = tf.signal.stft(
        tf.convert_to_tensor(signal, tf.float32), frame_length=window, frame_step=hop, fft_length=fft_length
    )  # (T, fft_length // 2 + 1) complex, Hann window, no end padding
    power = tf.math.real(stft * tf.math.conj(stft))  # (T, bins)
    weights = mel_weights(config.n_mels, fft_length // 2 + 1, sample_rate, config.fmin, config.fmax)  # (bins, n_mels)
    mel = tf.matmul(power, weights)  # (T, n_mels)
    return tf.math.log(mel + LOG_FLOOR).numpy().astype(np.float32)


def deltas(x: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas along time, edges padded by repetition.  # (T, F) -> (T, F)

    d_t = sum_n n (x_{t+n} - x_{t-n}) / (2 sum_n n^2), n = 1..width (HTK/librosa formula).
    """
    x = np.asarray(x, dtype=np.float32)
    padded = np.pad(x, ((width, width), (0, 0)), mode="edge")  # (T + 2 width, F)
    total = len(x)
    out = np.zeros_like(x)
    for n in range(1, width + 1):
        out += n * (padded[width + n : width + n + total] - padded[width - n : width - n + total])
    return out / (2 * sum(n * n for n in range(1, width + 1)))


def mfcc(signal: np.ndarray, sample_rate: int, config: FeatureConfig) -> np.ndarray:
    """MFCCs with deltas and delta-deltas.  # (N,) -> (T, 3 * n_mfcc)"""
    import tensorflow as tf

    if config.n_mfcc > config.n_mels:
        raise ConfigError(f"parameter n_mfcc={config.n_mfcc}: must be <= n_mels={config.n_mels}")
    log_mel = logmel(signal, sample_rate, config)  # (T, n_mels)
    coeffs = tf.signal.mfccs_from_log_mel_spectrograms(log_mel).numpy()[:, : config.n_mfcc]  # (T, n_mfcc)
    d1 = deltas(coeffs)
    return np.concatenate([coeffs, d1, deltas(d1)], axis=1).astype(np.float32)  # (T, 3 * n_mfcc)


def extract_audio_features(path, config: FeatureConfig) -> np.ndarray:
    """One file -> its feature matrix per `config.feature_kind`.  # (T, feature_dim(config))"""
    signal = load_audio(path, config.sample_rate, config.max_clip_seconds)  # (N,)
    compute = {"logmel": logmel, "mfcc": mfcc}.get(config.feature_kind)
    if compute is None:
        raise ConfigError(f"parameter feature_kind={config.feature_kind!r}: expected one of logmel, mfcc")
    try:
        features = compute(signal, config.sample_rate, config)
    except ValueError as err:
        raise BadInputError(path, _one_line(err)) from None
    if not np.isfinite(features).all():  # e.g. a float WAV with huge values overflows the power spectrum
        raise BadInputError(path, "features contain NaN or infinite values")
    return features


def feature_dim(config: FeatureConfig) -> int:
    """Features per frame."""
    return config.n_mels if feature_kind(config.feature_kind).spectral else 3 * config.n_mfcc


def feature_params(config: FeatureConfig) -> dict:
    """Everything that decides the numbers `extract_audio_features` returns: the cache key's parameters."""
    params = dataclasses.asdict(config)
    params.pop("min_clip_seconds")  # checked on the header before extraction: never changes the numbers
    return {**params, "feature_version": FEATURE_VERSION}
