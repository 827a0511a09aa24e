"""Pre-extracted feature folders: write (atomic, resumable), match to the manifest, and every mismatch reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion.corpus.manifest import build_manifest
from emotion.errors import BadInputError
from emotion.features.audio import load_audio
from emotion.features.cnn import CnnFeatureExtractor
from emotion.features.folders import INFO_FILE, _atomic_write, match_feature_folder, read_info, write_feature_folder

SR = 16_000
# RAVDESS audio-only names: two actors, different emotions; lengths differ so arrays differ.
CLIPS = {
    "03-01-05-01-01-01-01": 1.2,
    "03-01-03-02-01-01-01": 0.9,
    "03-01-04-01-02-01-02": 1.5,
    "03-01-01-01-01-02-02": 0.7,
}


def write_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, (stem, seconds) in enumerate(CLIPS.items()):
        t = np.arange(int(seconds * SR)) / SR
        sf.write(root / f"{stem}.wav", (0.2 * np.sin(2 * np.pi * (120 + 40 * i) * t)).astype(np.float32), SR)
    return root


def rms_frames(path) -> np.ndarray:
    """Cheap stand-in for a feature extractor (no TensorFlow): RMS and peak of 100 ms chunks.  # (T, 2)"""
    signal = load_audio(path, SR)  # (N,); a bad file is a BadInputError, as from the real extractors
    chunks = signal[: len(signal) // 1600 * 1600].reshape(-1, 1600)  # (T, 1600)
    return np.stack([np.sqrt((chunks**2).mean(axis=1)), np.abs(chunks).max(axis=1)], axis=1)


@pytest.fixture
def corpus(tmp_path):
    manifest, _ = build_manifest(write_corpus(tmp_path / "corpus"))
    return manifest


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp")


def test_write_then_match_round_trip(corpus, tmp_path):
    extractor = CnnFeatureExtractor("logmel_stats")
    out = tmp_path / "features_cnn_fixed"
    report = write_feature_folder(
        corpus, out, extractor, "logmel_stats", kind="logmel_stats", params=extractor.params()
    )
    assert report.n_ok == 4 and not report.failures and report.n_existing == 0
    assert sorted(p.name for p in out.glob("*.npy")) == sorted(f"{stem}.npy" for stem in CLIPS)
    info = json.loads((out / INFO_FILE).read_text())
    assert info["kind"] == "logmel_stats" and info["dim"] == 80 and info["count"] == 4
    assert info["params"]["n_segments"] == 20 and info["min_frames"] == info["max_frames"] == 20
    assert read_info(out) == info

    arrays, matched = match_feature_folder(corpus, out)
    assert matched.n_ok == 4 and not matched.failures and not matched.unmatched_files
    for path, array in zip(corpus["audio_path"], arrays):
        assert array.dtype == np.float32 and array.shape == (20, 80)
        np.testing.assert_array_equal(array, extractor(path))  # the row got its own clip's file


def test_mismatches_are_reported_both_ways(corpus, tmp_path):
    out = tmp_path / "feats"
    write_feature_folder(corpus, out, rms_frames, kind="rms")
    (out / "03-01-04-01-02-01-02.npy").unlink()  # a clip without its file
    np.save(out / "03-01-05-01-01-01-24.npy", np.ones((5, 2), np.float32))  # a well-formed name, not in the corpus
    np.save(out / "notes.npy", np.ones((5, 2), np.float32))  # not a clip name at all

    arrays, report = match_feature_folder(corpus, out)
    missing_row = corpus.index[corpus["clip_id"] == "ravdess:01-04-01-02-01-02"][0]
    assert arrays[missing_row] is None and sum(a is not None for a in arrays) == 3 and report.n_ok == 3
    assert report.failures == [("ravdess:01-04-01-02-01-02", "no feature file (03-01-04-01-02-01-02.npy)")]
    extra = {Path(path).name: reason for path, reason in report.unmatched_files}
    assert extra == {
        "03-01-05-01-01-01-24.npy": "no clip in the manifest with this name",
        "notes.npy": "no clip in the manifest with this name",
    }
    assert "3 of 4 clips" in report.summary() and "2 feature files without a clip" in report.summary()


def test_bad_arrays_are_skipped_with_reasons(corpus, tmp_path):
    out = tmp_path / "feats"
    write_feature_folder(corpus, out, rms_frames, kind="rms")
    (out / INFO_FILE).unlink()  # a folder made elsewhere: the expected dimension is the most common one
    stems = list(CLIPS)
    nan = np.ones((4, 2), np.float32)
    nan[1, 1] = np.nan
    np.save(out / f"{stems[0]}.npy", nan)
    np.save(out / f"{stems[1]}.npy", np.ones(7, np.float32))  # 1-D
    np.save(out / f"{stems[2]}.npy", np.ones((3, 5), np.float32))  # another dimension

    arrays, report = match_feature_folder(corpus, out)
    reasons = {Path(path).stem: reason for path, reason in report.failures}
    assert reasons == {
        stems[0]: "contains NaN or infinite values",
        stems[1]: "expected a 2-D (frames, features) array, got shape (7,)",
        stems[2]: "dimension 5 differs from the folder's 2",
    }
    ok = [a for a in arrays if a is not None]
    assert len(ok) == 1 and ok[0].shape[1] == 2 and report.n_ok == 1


def test_empty_unreadable_and_inf_arrays(corpus, tmp_path):
    out = tmp_path / "feats"
    write_feature_folder(corpus, out, rms_frames, kind="rms")
    stems = list(CLIPS)
    np.save(out / f"{stems[0]}.npy", np.zeros((0, 2), np.float32))
    (out / f"{stems[1]}.npy").write_bytes(b"garbage, not numpy")
    np.save(out / f"{stems[2]}.npy", np.full((3, 2), np.inf, np.float32))
    arrays, report = match_feature_folder(corpus, out)
    reasons = {Path(path).stem: reason for path, reason in report.failures}
    assert reasons[stems[0]] == "empty array (shape (0, 2))"
    assert reasons[stems[1]].startswith("not a readable .npy")
    assert reasons[stems[2]] == "contains NaN or infinite values"
    assert [a is None for a in arrays] == [stem in reasons for stem in (Path(p).stem for p in corpus["audio_path"])]


def test_features_json_dim_wins_over_the_majority(corpus, tmp_path):
    out = tmp_path / "feats"
    write_feature_folder(corpus, out, rms_frames, kind="rms")  # features.json: dim 2
    for stem in list(CLIPS)[:3]:
        np.save(out / f"{stem}.npy", np.ones((3, 9), np.float32))  # the majority now has D = 9
    arrays, report = match_feature_folder(corpus, out)
    assert report.n_ok == 1 and len(report.failures) == 3
    assert all("differs from the folder's 2" in reason for _, reason in report.failures)


def test_existing_files_are_skipped_unless_overwrite(corpus, tmp_path):
    out = tmp_path / "feats"
    calls = []

    def counted(path):
        calls.append(path)
        return rms_frames(path)

    write_feature_folder(corpus, out, counted, kind="rms")
    assert len(calls) == 4
    marker = out / f"{next(iter(CLIPS))}.npy"
    np.save(marker, np.full((2, 2), 7.0, np.float32))  # stands in for an earlier run's output

    report = write_feature_folder(corpus, out, counted, kind="rms")
    assert len(calls) == 4 and report.n_existing == 4 and report.n_ok == 4
    assert np.all(np.load(marker) == 7.0)

    report = write_feature_folder(corpus, out, counted, kind="rms", overwrite=True)
    assert len(calls) == 8 and report.n_existing == 0
    assert not np.all(np.load(marker) == 7.0)


def test_bad_clip_is_skipped_and_writes_are_atomic(corpus, tmp_path):
    seen = []

    def crashes_on_third(path):
        seen.append(path)
        if len(seen) == 3:
            raise RuntimeError("a bug, not a bad file")
        return rms_frames(path)

    crashed = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="a bug"):  # not a BadInputError: propagates, as in extract_many
        write_feature_folder(corpus, crashed, crashes_on_third, kind="rms")
    assert len(list(crashed.glob("*.npy"))) == 2 and leftovers(crashed) == []

    out = tmp_path / "feats"
    bad = corpus["audio_path"][1]
    Path(bad).write_bytes(b"")  # an empty file: BadInputError from the extractor
    extractor = CnnFeatureExtractor("logmel_stats")
    report = write_feature_folder(corpus, out, extractor, kind="logmel_stats")
    assert report.failures == [(bad, "empty file (0 bytes)")] and report.n_ok == 3
    assert not (out / f"{Path(bad).stem}.npy").exists() and len(list(out.glob("*.npy"))) == 3
    assert leftovers(out) == [] and read_info(out)["count"] == 3


def test_interrupted_write_keeps_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "03-01-05-01-01-01-01.npy"
    np.save(target, np.ones((2, 2), np.float32))

    def dies_half_way(handle):
        handle.write(b"\x93NUMPY partial")
        raise KeyboardInterrupt  # Ctrl-C mid-write

    with pytest.raises(KeyboardInterrupt):
        _atomic_write(target, dies_half_way)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    np.testing.assert_array_equal(np.load(target), np.ones((2, 2), np.float32))  # readers never see half a file


def test_missing_and_empty_folders_are_one_line_errors(corpus, tmp_path):
    with pytest.raises(BadInputError, match="feature folder does not exist"):
        match_feature_folder(corpus, tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("no arrays here")
    with pytest.raises(BadInputError, match=r"no \.npy feature files") as info:
        match_feature_folder(corpus, tmp_path / "empty")
    assert "\n" not in str(info.value)


def test_clips_from_video_files_match_by_clip_identity(tmp_path):
    """A row whose audio is the 01 audio-video MP4 still finds the 03 WAV's features; video-only rows have none."""
    root = tmp_path / "av"
    root.mkdir()
    (root / "01-01-05-01-01-01-01.mp4").write_bytes(b"fake mp4")  # audio-video: the manifest takes its audio
    (root / "02-01-03-01-01-01-01.mp4").write_bytes(b"fake mp4")  # video-only: no audio at all
    manifest, _ = build_manifest(root)
    out = tmp_path / "feats"

    report = write_feature_folder(manifest, out, rms_frames, kind="rms")
    by_reason = dict(report.failures)
    assert by_reason["ravdess:01-03-01-01-01-01"] == "no audio file"
    mp4 = str(root / "01-01-05-01-01-01-01.mp4")
    assert by_reason[mp4].startswith("not decodable as audio")  # soundfile reads no MP4: a reason, not a crash

    np.save(out / "03-01-05-01-01-01-01.npy", np.ones((4, 2), np.float32))  # made from the WAV elsewhere
    arrays, matched = match_feature_folder(manifest, out)
    row = manifest.index[manifest["clip_id"] == "ravdess:01-05-01-01-01-01"][0]
    assert arrays[row] is not None and arrays[row].shape == (4, 2)
    assert matched.n_ok == 1
    assert matched.failures == [("ravdess:01-03-01-01-01-01", "no feature file (02-01-03-01-01-01-01.npy)")]
