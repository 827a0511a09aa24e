"""Synthetic voices for the global head (emotion/data/voices.py): real Praat PSOLA on real RAVDESS clips."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import parselmouth
import pytest
import soundfile as sf
from parselmouth.praat import call

from emotion.data.voices import PITCH_RANGE, VOICES, voice_path, voiced_copies


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
