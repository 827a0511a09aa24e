"""Prosody per segment: Praat's pitch finds a tone's F0 and its glide, silence is unvoiced, harmonicity
separates a clean voice from a noisy one, and the segment features grow (5 prosody, n_mels delta and
1 HNR columns) only when asked (earlier cache keys unchanged)."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from emotion.config import FeatureConfig
from emotion.features.cnn import CnnFeatureExtractor
from emotion.features.audio import deltas, logmel
from emotion.features.cnn import segment_bounds
from emotion.features.prosody import N_PROSODY, harmonicity_track, prosody_tracks, segment_harmonicity, segment_prosody

SR, HOP, WINDOW = 16_000, 160, 400


def voice(f0_start: float, f0_end: float, seconds: float = 1.0) -> np.ndarray:
    """A harmonic 'voice' gliding in pitch from f0_start to f0_end (Hz).  # (N,)"""
    t = np.arange(int(seconds * SR)) / SR
    f0 = np.linspace(f0_start, f0_end, len(t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    return (0.3 * sum(np.sin(k * phase) / k for k in range(1, 6))).astype(np.float32)


def test_a_steady_tone_has_its_pitch_and_silence_is_unvoiced():
    signal = np.concatenate([voice(200, 200), np.zeros(SR // 2, np.float32)])  # 1 s at 200 Hz, 0.5 s silence
    tracks = prosody_tracks(signal, SR, HOP, WINDOW)  # (T, 3)
    voiced = tracks[:, 1] > 0
    assert 0.55 < voiced.mean() < 0.72  # ~1 s of 1.5 s
    np.testing.assert_allclose(np.exp(np.nanmedian(tracks[voiced, 0])), 200, rtol=0.02)
    assert not voiced[-20:].any()
    segments = segment_prosody(tracks, 3, HOP / SR)  # (3, 5)
    assert segments[0, 3] > 0.9 and segments[2, 3] < 0.1  # voiced fraction: first third voiced, last silent
    assert np.isfinite(segments).all()


def test_a_rising_glide_has_a_positive_slope():
    tracks = prosody_tracks(voice(150, 300, seconds=1.5), SR, HOP, WINDOW)
    slope = segment_prosody(tracks, 1, HOP / SR)[0, 2]  # log F0 per second over the whole clip
    np.testing.assert_allclose(slope, np.log(2) / 1.5, rtol=0.15)


def test_segment_features_gain_five_columns_only_with_prosody(tmp_path):
    path = tmp_path / "03-01-05-01-01-01-01.wav"
    sf.write(path, voice(180, 240, seconds=2.0), SR)
    plain, with_prosody = (
        CnnFeatureExtractor(config=FeatureConfig()),
        CnnFeatureExtractor(config=FeatureConfig(prosody=True)),
    )
    a, b = plain(path), with_prosody(path)
    assert b.shape == (a.shape[0], a.shape[1] + N_PROSODY) == (20, with_prosody.dim)
    np.testing.assert_array_equal(b[:, : a.shape[1]], a)
    assert "prosody" not in plain.params() and with_prosody.params()["prosody"] is True


def test_a_clip_shorter_than_the_pitch_window_still_gives_segments():
    tracks = prosody_tracks(voice(200, 200, seconds=0.03), SR, HOP, WINDOW)
    segments = segment_prosody(tracks, 20, HOP / SR)
    assert segments.shape == (20, N_PROSODY) and np.isfinite(segments).all()


def test_harmonicity_is_high_for_a_clean_voice_lower_with_noise_and_missing_in_silence():
    rng = np.random.default_rng(0)
    clean = voice(200, 200)
    noisy = clean + rng.normal(0, 0.15, len(clean)).astype(np.float32)
    signal = np.concatenate([clean, noisy, np.zeros(SR, np.float32)])  # 1 s clean, 1 s noisy, 1 s silence
    hnr = harmonicity_track(signal, SR, HOP, 300)  # (300,) frames of 10 ms
    segments = segment_harmonicity(hnr, 6)[:, 0]  # (6,) half seconds: clean, clean, noisy, noisy, silent, silent
    assert segments[0] > 20.0 and segments[0] - segments[3] > 10.0
    assert not np.isfinite(hnr[-40:]).any(), "silence has no harmonicity"
    np.testing.assert_allclose(
        segments[5], np.nanmean(hnr), rtol=1e-6, err_msg="an unvoiced segment takes the clip's mean"
    )


def test_deltas_and_voice_quality_append_their_columns_in_order(tmp_path):
    path = tmp_path / "03-01-05-01-01-01-01.wav"
    signal = voice(180, 240, seconds=2.0)
    sf.write(path, signal, SR)
    config = FeatureConfig(prosody=True, segment_deltas=True, voice_quality=True)
    full, plain = CnnFeatureExtractor(config=config), CnnFeatureExtractor(config=FeatureConfig(prosody=True))
    a, b = plain(path), full(path)
    n_mels = config.n_mels
    assert b.shape == (20, a.shape[1] + n_mels + 1) == (20, full.dim)
    np.testing.assert_array_equal(b[:, : a.shape[1]], a)
    change = np.abs(deltas(logmel(sf.read(path, dtype="float32")[0], SR, config)))  # (T, n_mels)
    expected = np.stack([change[s:e].mean(axis=0) for s, e in segment_bounds(len(change), 20)])
    np.testing.assert_allclose(b[:, a.shape[1] : a.shape[1] + n_mels], expected, rtol=1e-5, atol=1e-6)
    assert b[:, -1].min() > 10.0, "a harmonic voice: HNR well above 0 dB in every segment"
    assert {"segment_deltas", "voice_quality"} <= set(full.params()) and "segment_deltas" not in plain.params()


def test_clip_std_appends_the_clips_spread_of_every_column_on_each_segment(tmp_path):
    path = tmp_path / "03-01-05-01-01-01-01.wav"
    sf.write(path, voice(180, 240, seconds=2.0), SR)
    plain = CnnFeatureExtractor(config=FeatureConfig(segment_deltas=True))
    spread = CnnFeatureExtractor(config=FeatureConfig(segment_deltas=True, clip_std=True))
    a, b = plain(path), spread(path)  # (20, w), (20, 2w)
    assert b.shape == (20, 2 * a.shape[1]) == (20, spread.dim)
    np.testing.assert_array_equal(b[:, : a.shape[1]], a)
    np.testing.assert_allclose(b[:, a.shape[1] :], np.tile(a.std(axis=0), (20, 1)), rtol=1e-6)
    assert b[:, a.shape[1] :].max() > 0, "a voice with a pitch glide varies over the clip"
    assert spread.params()["clip_std"] is True and "clip_std" not in plain.params()


def test_hnr_step_measures_harmonicity_every_nth_hop_and_keys_the_cache_only_when_set(tmp_path):
    path = tmp_path / "03-01-05-01-01-01-01.wav"
    rng = np.random.default_rng(1)
    clean = voice(180, 240, seconds=1.0)
    sf.write(path, np.concatenate([clean, clean + rng.normal(0, 0.15, len(clean)).astype(np.float32)]), SR)
    base = dict(prosody=True, segment_deltas=True, voice_quality=True)
    every, fourth = (
        CnnFeatureExtractor(config=FeatureConfig(**base)),
        CnnFeatureExtractor(config=FeatureConfig(**base, hnr_step=4)),
    )
    a, b = every(path), fourth(path)  # (20, w) each
    np.testing.assert_array_equal(a[:, :-1], b[:, :-1])  # only the HNR column changes
    assert not np.array_equal(a[:, -1], b[:, -1]), "HNR at a 40-ms step is another measurement"
    np.testing.assert_allclose(b[:, -1], a[:, -1], atol=3.0)  # dB: the same voice, clean then noisy
    assert a[:10, -1].mean() - a[10:, -1].mean() > 10.0 and b[:10, -1].mean() - b[10:, -1].mean() > 10.0
    assert "hnr_step" not in every.params() and fourth.params()["hnr_step"] == 4
    without_hnr = CnnFeatureExtractor(config=FeatureConfig(prosody=True, hnr_step=4))
    assert "hnr_step" not in without_hnr.params(), "no HNR column: the step decides nothing"
