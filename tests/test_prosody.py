"""Prosody per segment: Praat's pitch finds a tone's F0 and its glide, silence is unvoiced, and the
segment features grow by 5 columns only when asked (earlier cache keys unchanged)."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from emotion.config import FeatureConfig
from emotion.features.cnn import CnnFeatureExtractor
from emotion.features.prosody import N_PROSODY, prosody_tracks, segment_prosody

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
    plain, with_prosody = CnnFeatureExtractor(config=FeatureConfig()), CnnFeatureExtractor(config=FeatureConfig(prosody=True))
    a, b = plain(path), with_prosody(path)
    assert b.shape == (a.shape[0], a.shape[1] + N_PROSODY) == (20, with_prosody.dim)
    np.testing.assert_array_equal(b[:, : a.shape[1]], a)
    assert "prosody" not in plain.params() and with_prosody.params()["prosody"] is True


def test_a_clip_shorter_than_the_pitch_window_still_gives_segments():
    tracks = prosody_tracks(voice(200, 200, seconds=0.03), SR, HOP, WINDOW)
    segments = segment_prosody(tracks, 20, HOP / SR)
    assert segments.shape == (20, N_PROSODY) and np.isfinite(segments).all()
