"""Audio decoding, resampling, log-mel/MFCC shapes, bad inputs, and one real RAVDESS clip."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion.config import FeatureConfig
from emotion.corpus.dev_paths import RAVDESS16K
from emotion.errors import BadInputError
from emotion.features.audio import (
    deltas,
    extract_audio_features,
    feature_dim,
    feature_params,
    load_audio,
    logmel,
    mfcc,
)

RAVDESS_DIR = RAVDESS16K
SR = FeatureConfig().sample_rate  # 16 kHz
WIN, HOP = 400, 160  # 25 ms / 10 ms at 16 kHz


def sine(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)  # (N,)


def peak_hz(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)])


# --- decoding and resampling -------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [48_000, 44_100, 22_050, 8_000])
def test_resampled_sine_keeps_its_frequency(tmp_path, rate):
    path = tmp_path / f"sine_{rate}.wav"
    sf.write(path, sine(1000.0, rate), rate)
    signal = load_audio(path, SR)
    assert signal.dtype == np.float32 and signal.ndim == 1
    assert abs(len(signal) - SR) <= 1  # 1 s at 16 kHz
    assert abs(peak_hz(signal, SR) - 1000.0) <= 2.0
    assert 0.45 < np.abs(signal[1000:-1000]).max() < 0.55  # amplitude kept, no gain from resampling


def test_downsampling_removes_content_above_new_nyquist(tmp_path):
    path = tmp_path / "high.wav"
    sf.write(path, sine(12_000.0, 48_000), 48_000)  # above 8 kHz: must not alias into the band
    assert np.abs(load_audio(path, SR)[1000:-1000]).max() < 0.002  # < -48 dB re the 0.5 input


def test_stereo_is_mixed_by_mean(tmp_path):
    left, right = sine(440.0, SR), sine(1000.0, SR, amplitude=0.25)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path, SR), (left + right) / 2, atol=1e-6)


def test_six_channels_are_mixed_by_mean(tmp_path):
    channels = np.random.default_rng(0).uniform(-0.5, 0.5, size=(SR // 2, 6)).astype(np.float32)  # (N, 6)
    path = tmp_path / "six.wav"
    sf.write(path, channels, SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path, SR), channels.mean(axis=1), atol=1e-6)


@pytest.mark.parametrize(
    "fmt, subtype, atol",
    [
        ("WAV", "PCM_U8", 1 / 64),
        ("WAV", "PCM_16", 1e-4),
        ("WAV", "PCM_24", 1e-6),
        ("WAV", "FLOAT", 1e-7),
        ("WAV", "DOUBLE", 1e-7),
        ("FLAC", "PCM_16", 1e-4),
        ("FLAC", "PCM_24", 1e-6),
    ],
)
def test_bit_depths_and_flac_decode_to_the_same_signal(tmp_path, fmt, subtype, atol):
    original = sine(440.0, SR, seconds=0.5)
    path = tmp_path / f"clip_{subtype}.{fmt.lower()}"
    sf.write(path, original, SR, format=fmt, subtype=subtype)
    decoded = load_audio(path, SR)
    assert decoded.dtype == np.float32
    np.testing.assert_allclose(decoded, original, atol=atol)


# --- log-mel and MFCC ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [WIN, WIN + 1, WIN + HOP - 1, WIN + HOP, SR, SR + 123])
def test_frame_count(n):
    signal = np.random.default_rng(n).normal(0, 0.1, n).astype(np.float32)
    config = FeatureConfig()
    expected_t = 1 + (n - WIN) // HOP
    features = logmel(signal, SR, config)
    assert features.shape == (expected_t, config.n_mels) and features.dtype == np.float32
    coeffs = mfcc(signal, SR, config)
    assert coeffs.shape == (expected_t, 3 * config.n_mfcc) and coeffs.dtype == np.float32


def test_other_config_changes_shapes():
    config = FeatureConfig(n_mels=64, n_mfcc=13, win_ms=32.0, hop_ms=16.0)  # 512 / 256 samples
    signal = np.random.default_rng(1).normal(0, 0.1, SR).astype(np.float32)
    assert logmel(signal, SR, config).shape == (1 + (SR - 512) // 256, 64)
    assert mfcc(signal, SR, config).shape == (1 + (SR - 512) // 256, 39)
    assert feature_dim(config) == 64
    assert feature_dim(dataclasses.replace(config, feature_kind="mfcc")) == 39


def test_logmel_puts_a_higher_tone_in_a_higher_band():
    config = FeatureConfig()
    low = logmel(sine(500.0, SR), SR, config).mean(axis=0).argmax()
    high = logmel(sine(3000.0, SR), SR, config).mean(axis=0).argmax()
    assert low + 5 < high


def test_mel_range_follows_fmin_and_fmax():
    tone = sine(6000.0, SR)
    full = logmel(tone, SR, FeatureConfig()).max()
    capped = logmel(tone, SR, FeatureConfig(fmax=4000.0)).max()  # 6 kHz is outside every band
    assert full > capped + 10  # natural-log units: e^10 ~ 22000x less energy
    hum = sine(60.0, SR)
    assert logmel(hum, SR, FeatureConfig()).max() > logmel(hum, SR, FeatureConfig(fmin=300.0)).max() + 5


def test_silence_gives_the_log_floor():
    features = logmel(np.zeros(SR, np.float32), SR, FeatureConfig())
    np.testing.assert_allclose(features, np.log(1e-6), rtol=1e-5)


def test_deltas_of_a_linear_ramp_are_its_slope():
    slopes = np.array([1.0, -0.5, 3.0], np.float32)
    ramp = np.arange(12, dtype=np.float32)[:, None] * slopes + 7.0  # (T, 3)
    d1 = deltas(ramp)
    assert d1.shape == ramp.shape
    np.testing.assert_allclose(d1[2:-2], np.broadcast_to(slopes, (8, 3)), rtol=1e-6)  # interior: exact
    np.testing.assert_allclose(d1[0], slopes / 2, rtol=1e-6)  # edge padding repeats x_0: half the slope
    np.testing.assert_allclose(deltas(d1)[4:-4], 0.0, atol=1e-6)
    np.testing.assert_allclose(deltas(np.full((5, 2), 4.0)), 0.0)


def test_mfcc_includes_deltas_of_its_coefficients():
    config = FeatureConfig(feature_kind="mfcc")
    coeffs = mfcc(np.random.default_rng(2).normal(0, 0.1, SR).astype(np.float32), SR, config)
    n = config.n_mfcc
    np.testing.assert_allclose(coeffs[:, n : 2 * n], deltas(coeffs[:, :n]), atol=1e-5)
    np.testing.assert_allclose(coeffs[:, 2 * n :], deltas(coeffs[:, n : 2 * n]), atol=1e-5)


def test_extract_follows_feature_kind(tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, sine(300.0, 48_000, seconds=0.5), 48_000)
    for kind in ("logmel", "mfcc"):
        config = FeatureConfig(feature_kind=kind)
        features = extract_audio_features(path, config)
        assert features.shape == (1 + (SR // 2 - WIN) // HOP, feature_dim(config))
        assert np.isfinite(features).all()


def test_feature_params_cover_every_field_and_change_with_it():
    base = feature_params(FeatureConfig())
    # min_clip_seconds is a header check before extraction: it never changes the numbers, so no cache key
    assert set(dataclasses.asdict(FeatureConfig())) - {"min_clip_seconds"} < set(base) and "feature_version" in base
    assert feature_params(FeatureConfig(min_clip_seconds=1.0)) == base
    assert feature_params(FeatureConfig(n_mels=64)) != base
    assert feature_params(FeatureConfig(hop_ms=12.5)) != base


# --- bad inputs: one-line BadInputError naming the path --------------------------------------------------


def _write_bad(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "not_audio":
        path.write_bytes(b"this is a text file, not audio\n" * 50)
    elif kind == "truncated_header":
        good = tmp_path / "good.wav"
        sf.write(good, sine(440.0, SR), SR)
        path.write_bytes(good.read_bytes()[:20])  # cut inside the 'fmt ' chunk
    elif kind == "zero_samples":
        sf.write(path, np.zeros(0, np.float32), SR)
    elif kind == "shorter_than_frame":
        sf.write(path, sine(440.0, SR)[:100], SR)  # 6 ms < 25 ms
    elif kind == "nan":
        signal = sine(440.0, SR)
        signal[100] = np.nan
        sf.write(path, signal, SR, subtype="FLOAT")
    elif kind == "inf":
        signal = sine(440.0, SR)
        signal[100] = np.inf
        sf.write(path, signal, SR, subtype="FLOAT")
    elif kind == "overflow":
        sf.write(path, sine(440.0, SR) * 1e30, SR, subtype="FLOAT")  # finite samples, infinite power
    elif kind == "directory":
        path.mkdir()
    # "missing": never written
    return path


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("empty", "empty file"),
        ("not_audio", "not decodable as audio (Format not recognised"),
        ("truncated_header", "not decodable as audio"),
        ("zero_samples", "no audio samples"),
        ("shorter_than_frame", "clip shorter than one analysis frame (6.2 ms < 25 ms)"),
        ("nan", "NaN or infinite samples"),
        ("inf", "NaN or infinite samples"),
        ("overflow", "features contain NaN or infinite"),
        ("missing", "file not found"),
        ("directory", "not a regular file"),
    ],
)
def test_bad_input_is_one_line_naming_the_path(tmp_path, kind, reason):
    path = _write_bad(kind, tmp_path)
    with pytest.raises(BadInputError) as caught:
        extract_audio_features(path, FeatureConfig())
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert reason in message
    assert "\n" not in message
    assert caught.value.__context__ is None or caught.value.__suppress_context__  # no chained traceback


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without read permission")
def test_unreadable_file(tmp_path):
    path = tmp_path / "locked.wav"
    sf.write(path, sine(440.0, SR), SR)
    path.chmod(0)
    with pytest.raises(BadInputError, match="permission denied"):
        load_audio(path, SR)


# --- one real clip -----------------------------------------------------------------------------------------


def test_real_ravdess_clip():
    clips = sorted(RAVDESS_DIR.glob("Actor_*/*.wav"))
    if not clips:
        pytest.skip(f"real RAVDESS data not found at {RAVDESS_DIR} (present only on development/CI machines)")
    clip = clips[0]
    signal = load_audio(clip, SR)
    assert 3.0 <= len(signal) / SR <= 5.4
    features = extract_audio_features(clip, FeatureConfig())
    assert features.shape == (1 + (len(signal) - WIN) // HOP, 40)
    assert 300 <= features.shape[0] <= 540
    assert np.isfinite(features).all()
    assert features.std() > 1.0  # speech, not a flat floor
