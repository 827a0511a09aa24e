"""Segment features for cnn_lstm*: logmel_stats and a random-init MobileNetV3Small, fixed 20 segments per clip."""

from __future__ import annotations

import random

import numpy as np
import pytest
import soundfile as sf

from emotion.config import FeatureConfig
from emotion.errors import BadInputError, ConfigError
from emotion.features.audio import load_audio, logmel
from emotion.features.cnn import N_SEGMENTS, CnnFeatureExtractor
from emotion.features.segments import segment_bounds

SR = 16_000
CONFIG = FeatureConfig()  # 40 mel bands, 10 ms hop


def write_clip(path, seconds: float, rate: int = SR, seed: int = 0):
    """A harmonic tone that rises in pitch, plus noise: segments differ from one another."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = 150 + 100 * t / max(seconds, 1e-3)
    signal = 0.3 * np.sin(2 * np.pi * np.cumsum(pitch) / rate) + np.random.default_rng(seed).normal(0, 0.02, len(t))
    sf.write(path, signal.astype(np.float32), rate)
    return path


pytestmark = pytest.mark.xdist_group("test_cnn_features")  # its module fixtures run once, on one worker


@pytest.fixture(scope="module")
def mobilenet():
    return CnnFeatureExtractor("cnn", weights=None)


# --- segmentation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_frames", [20, 21, 368, 1000])
def test_segments_partition_the_clip_when_long_enough(n_frames):
    bounds = segment_bounds(n_frames, N_SEGMENTS)
    assert len(bounds) == N_SEGMENTS and bounds[0][0] == 0 and bounds[-1][1] == n_frames
    assert all(b == a_next for (_, b), (a_next, _) in zip(bounds[:-1], bounds[1:]))  # contiguous, no overlap
    sizes = [b - a for a, b in bounds]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1  # near-equal


def test_short_clip_repeats_frames_instead_of_padding():
    bounds = segment_bounds(3, N_SEGMENTS)  # 3 frames for 20 segments
    assert len(bounds) == N_SEGMENTS and all(b - a == 1 for a, b in bounds)
    assert sorted({a for a, _ in bounds}) == [0, 1, 2]  # every frame used, in order
    assert [a for a, _ in bounds] == sorted(a for a, _ in bounds)
    with pytest.raises(ValueError):
        segment_bounds(0, N_SEGMENTS)


# --- logmel_stats -------------------------------------------------------------------------------------


def test_logmel_stats_are_per_segment_band_mean_and_std(tmp_path):
    path = write_clip(tmp_path / "03-01-05-01-01-01-01.wav", 3.7, rate=48_000)
    features = CnnFeatureExtractor("logmel_stats")(path)
    assert features.shape == (N_SEGMENTS, 2 * CONFIG.n_mels) and features.dtype == np.float32
    assert np.isfinite(features).all()
    log_mel = logmel(load_audio(path, SR), SR, CONFIG)  # (T, 40)
    a, b = segment_bounds(len(log_mel), N_SEGMENTS)[7]
    np.testing.assert_allclose(features[7, :40], log_mel[a:b].mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(features[7, 40:], log_mel[a:b].std(axis=0), rtol=1e-4, atol=1e-5)
    assert not np.allclose(features[0], features[-1])  # the pitch rises: first and last segments differ


def test_short_clip_gives_repeated_segments(tmp_path):
    path = write_clip(tmp_path / "03-01-05-01-01-01-02.wav", 0.05)  # 50 ms: 3 frames of 10 ms
    features = CnnFeatureExtractor("logmel_stats")(path)
    assert features.shape == (N_SEGMENTS, 80) and np.isfinite(features).all()
    assert len(np.unique(features, axis=0)) == 3  # each frame's row repeated, no zero padding
    assert np.all(features[:, 40:] == 0)  # one frame per segment: std 0


def test_bad_files_and_parameters(tmp_path):
    extractor = CnnFeatureExtractor("logmel_stats")
    tiny = write_clip(tmp_path / "tiny.wav", 0.01)  # 10 ms < one 25 ms analysis window
    with pytest.raises(BadInputError, match="shorter than one analysis frame") as info:
        extractor(tiny)
    assert info.value.path == str(tiny)
    with pytest.raises(BadInputError, match="file not found"):
        extractor(tmp_path / "missing.wav")
    with pytest.raises(ConfigError, match="feature_kind"):
        CnnFeatureExtractor("resnet")
    with pytest.raises(ConfigError, match="n_segments"):
        CnnFeatureExtractor("logmel_stats", n_segments=0)
    with pytest.raises(ConfigError, match="file not found"):
        CnnFeatureExtractor("cnn", weights=str(tmp_path / "nope.weights.h5"))


def test_params_describe_the_numbers():
    stats = CnnFeatureExtractor("logmel_stats", n_segments=10)
    params = stats.params()
    assert stats.dim == 80 and params["n_segments"] == 10 and params["kind"] == "logmel_stats"
    assert params["n_mels"] == 40 and params["hop_ms"] == 10.0 and "weights" not in params
    assert "feature_kind" not in params and "n_mfcc" not in params  # unrelated settings stay out of cache keys


def test_from_run_feature_config():
    extractor = CnnFeatureExtractor.from_config(FeatureConfig(feature_kind="logmel_stats", n_mels=32))
    assert extractor.kind == "logmel_stats" and extractor.dim == 64 and extractor.n_segments == N_SEGMENTS
    with pytest.raises(ConfigError, match="feature_kind='logmel'"):
        CnnFeatureExtractor.from_config(FeatureConfig())  # frame features are not segment features


# --- MobileNetV3Small, random init ---------------------------------------------------------------------


def test_mobilenet_features_shape_and_scale(mobilenet, tmp_path):
    path = write_clip(tmp_path / "03-01-05-01-01-01-03.wav", 3.7)
    features = mobilenet(path)
    assert features.shape == (N_SEGMENTS, mobilenet.dim) and mobilenet.dim == 576
    assert features.dtype == np.float32 and np.isfinite(features).all()
    assert features.std() > 1e-3  # calibrated batch norm: not the ~1e-11 an uncalibrated random net gives
    assert np.abs(features[0] - features[-1]).max() > 1e-3  # segments differ
    assert mobilenet.params()["weights"] == "random" and mobilenet.params()["seed"] == 0


def test_mobilenet_short_clip(mobilenet, tmp_path):
    features = mobilenet(write_clip(tmp_path / "03-01-05-01-01-01-04.wav", 0.05))  # 3 frames
    assert features.shape == (N_SEGMENTS, 576) and np.isfinite(features).all()
    # repeated frames -> repeated segment vectors. Compared with a tolerance, not by rounding: the same
    # frame at another batch position may differ in the last float bits (seen on an AVX2 CPU), and
    # rounding splits two such copies when they straddle a rounding boundary.
    distinct = []
    for row in features:
        if not any(np.allclose(row, seen, rtol=1e-4, atol=1e-5) for seen in distinct):
            distinct.append(row)
    assert len(distinct) == 3


def test_random_init_is_reproducible_and_local_weights_load(mobilenet, tmp_path):
    log_mel = np.random.default_rng(1).normal(-5, 2, (368, 40)).astype(np.float32)  # (T, n_mels)
    expected = mobilenet.from_logmel(log_mel)
    state = random.getstate()
    same_seed = CnnFeatureExtractor("cnn", seed=0)
    assert random.getstate() == state  # the caller's Python random stream is left as it was
    np.testing.assert_array_equal(same_seed.from_logmel(log_mel), expected)
    other_seed = CnnFeatureExtractor("cnn", seed=1)
    assert not np.allclose(other_seed.from_logmel(log_mel), expected)

    weights = tmp_path / "mobilenet.weights.h5"
    mobilenet.model.save_weights(weights)  # stands in for a local copy of the ImageNet file
    from_file = CnnFeatureExtractor("cnn", weights=str(weights))
    np.testing.assert_allclose(from_file.from_logmel(log_mel), expected, rtol=1e-5, atol=1e-6)
    assert from_file.params()["weights"] == str(weights) and from_file.params()["seed"] is None

    wrong = tmp_path / "wrong.weights.h5"
    wrong.write_bytes(b"not hdf5")
    with pytest.raises(ConfigError, match="not MobileNetV3Small no-top weights"):
        CnnFeatureExtractor("cnn", weights=str(wrong))


@pytest.mark.slow
def test_imagenet_download_failure_is_one_line_config_error(tmp_path, monkeypatch):
    """Offline here (fails at once); marked slow because with network it downloads ~4 MB instead."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # empty cache: a real download attempt
    try:
        extractor = CnnFeatureExtractor("cnn", weights="imagenet")
    except ConfigError as err:
        assert "imagenet" in str(err) and "local weights file" in str(err) and "\n" not in str(err)
    else:
        assert extractor.dim == 576
