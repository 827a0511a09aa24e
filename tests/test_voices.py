"""Synthetic voices for the global head (emotion/corpus/voices.py): real Praat PSOLA on real RAVDESS clips."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import parselmouth
import pytest
import soundfile as sf
from parselmouth.praat import call

from emotion.corpus.voices import PITCH_RANGE, VOICES, voice_path, voiced_copies


def _pitch_median(path) -> float:
    contour = parselmouth.Sound(str(path)).to_pitch(pitch_floor=PITCH_RANGE[0], pitch_ceiling=PITCH_RANGE[1])
    return call(contour, "Get quantile", 0, 0, 0.5, "Hertz")


@pytest.fixture(scope="module")
def two_clips(ravdess16k, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sources")
    sources = sorted((ravdess16k / "Actor_01").glob("*.wav"))[20:22]  # two spoken sentences
    return [str(shutil.copy(s, folder / s.name)) for s in sources]


def test_each_voice_keeps_the_timing_and_moves_the_pitch_by_its_ratio(two_clips, tmp_path):
    copies, failures = voiced_copies(two_clips, tmp_path)
    assert failures == [] and set(copies) == set(VOICES)
    for voice, (_, pitch_ratio) in VOICES.items():
        for source, copy in zip(two_clips, copies[voice]):
            original, changed = sf.info(source), sf.info(copy)
            assert changed.samplerate == original.samplerate
            assert changed.duration == pytest.approx(original.duration, abs=0.02)  # PSOLA keeps the timing
            assert _pitch_median(copy) / _pitch_median(source) == pytest.approx(pitch_ratio, rel=0.08)
    assert not list(tmp_path.rglob("*.tmp.wav")), "no partial file is left"


def test_copies_are_named_by_content_and_made_once(two_clips, tmp_path):
    copies, _ = voiced_copies(two_clips, tmp_path)
    made = {path: Path(path).stat().st_mtime_ns for paths in copies.values() for path in paths}
    moved = tmp_path / "elsewhere.wav"
    shutil.copy(two_clips[0], moved)  # the same bytes under another name: the same copies
    again, _ = voiced_copies([str(moved), two_clips[1]], tmp_path)
    assert again == copies
    assert {path: Path(path).stat().st_mtime_ns for paths in again.values() for path in paths} == made
    assert voice_path(two_clips[0], "up", tmp_path) != voice_path(two_clips[1], "up", tmp_path)
    first = {path: Path(path).read_bytes() for paths in copies.values() for path in paths}
    for path in first:
        Path(path).unlink()
    remade, _ = voiced_copies(two_clips, tmp_path)  # in another process, another order: the same bytes
    assert {path: Path(path).read_bytes() for paths in remade.values() for path in paths} == first


def test_a_clip_praat_cannot_read_is_left_out_with_its_reason_and_the_rest_are_made(two_clips, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00not a wave file at all")
    copies, failures = voiced_copies([two_clips[0], str(broken)], tmp_path / "voices")
    assert [path for path, _ in failures] == [str(broken)] * len(VOICES)
    assert all("Praat could not re-voice it" in reason and "\n" not in reason for _, reason in failures)
    for voice in VOICES:
        assert copies[voice][1] is None and copies[voice][0] is not None
        assert np.abs(sf.read(copies[voice][0])[0]).max() <= 0.99 + 1e-4  # never clipped


def test_voices_for_a_global_head_without_praat_columns_skip_praat_under_their_own_cache_key(
    two_clips, tmp_path, monkeypatch
):
    """The voices feed only the global head; with global_hnr / global_prosody off it reads no Praat
    column, so the voices' features leave them at 0, and a later measured extraction is not served those."""
    from types import SimpleNamespace

    import pandas as pd

    import emotion.features.prosody as prosody
    from emotion.config import build_config
    from emotion.data.dataset import voiced_features
    from emotion.features.cnn import extra_groups

    features = build_config("cnn_lstm", {"feature_kind": "logmel_stats"}).features  # prosody + HNR columns
    corpus = SimpleNamespace(manifest=pd.DataFrame({"audio_path": two_clips}))
    calls = []
    measure_hnr, measure_pitch = prosody.harmonicity_track, prosody.prosody_tracks
    monkeypatch.setattr(prosody, "harmonicity_track", lambda *a, **k: calls.append("hnr") or measure_hnr(*a, **k))
    monkeypatch.setattr(prosody, "prosody_tracks", lambda *a, **k: calls.append("pitch") or measure_pitch(*a, **k))
    positions = np.arange(2)
    lean, origins, skipped = voiced_features(corpus, positions, features, tmp_path, ("hnr", "prosody"))
    assert skipped == [] and len(lean) == 2 * len(VOICES) and calls == [], "no Praat column measured"
    measured, _, _ = voiced_features(corpus, positions, features, tmp_path)
    assert calls.count("hnr") == calls.count("pitch") == 2 * len(VOICES), "measured afresh, not the zeros"
    n_extras = sum(w for _, w in extra_groups(features))
    base = lean[0].shape[1] - n_extras
    praat = [base + i for i in range(5)] + [lean[0].shape[1] - 1]  # prosody (first extras) and the HNR (last)
    for a, b in zip(lean, measured):
        assert (a[:, praat] == 0).all() and not (b[:, praat] == 0).all()
        np.testing.assert_array_equal(np.delete(a, praat, axis=1), np.delete(b, praat, axis=1))
