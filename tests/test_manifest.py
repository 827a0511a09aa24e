"""Manifest building on placeholder files (names are all that matter) and on the real RAVDESS folder."""

import os
from pathlib import Path

import pytest

from emotion.corpus.dev_paths import RAVDESS16K
from emotion.corpus.labels import EMOTIONS
from emotion.corpus.manifest import COLUMNS, build_manifest
from emotion.errors import BadInputError, ConfigError

REAL_RAVDESS = RAVDESS16K


def touch(root: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        paths.append(path)
    return paths


def used_files(manifest) -> set[str]:
    return {p for col in ("audio_path", "video_path") for p in manifest[col] if p is not None}


def test_ravdess_row_fields_and_column_order(tmp_path):
    (wav,) = touch(tmp_path, "Actor_12/03-01-05-02-01-02-12.wav")
    manifest, report = build_manifest(tmp_path)
    assert list(manifest.columns) == list(COLUMNS)
    assert manifest.iloc[0].to_dict() == {
        "clip_id": "ravdess:01-05-02-01-02-12",
        "corpus": "ravdess",
        "actor": "ravdess:12",
        "gender": "female",
        "emotion": "angry",
        "intensity": "strong",
        "statement": 1,
        "repetition": 2,
        "vocal_channel": "speech",
        "audio_path": str(wav),
        "video_path": None,
        "has_audio": True,
        "has_video": False,
    }
    assert (report.n_files_seen, report.n_rows, report.skipped) == (1, 1, [])


def test_ravdess_wav_and_both_mp4s_make_one_row(tmp_path):
    wav, av, video = touch(
        tmp_path,
        "Audio_Speech/Actor_07/03-01-03-02-01-02-07.wav",
        "Video_Speech/Actor_07/01-01-03-02-01-02-07.mp4",
        "Video_Speech/Actor_07/02-01-03-02-01-02-07.mp4",
    )
    manifest, report = build_manifest(tmp_path)
    assert len(manifest) == 1
    row = manifest.iloc[0]
    assert (row.audio_path, row.video_path) == (str(wav), str(video))  # 03 WAV preferred for audio
    assert row.has_audio and row.has_video
    assert report.n_superseded == 1  # the 01 MP4 duplicates both
    assert report.skipped == []


def test_ravdess_audio_video_mp4_alone_provides_both(tmp_path):
    (av,) = touch(tmp_path, "01-01-03-02-01-02-07.mp4")
    row = build_manifest(tmp_path)[0].iloc[0]
    assert row.audio_path == row.video_path == str(av)
    assert row.has_audio and row.has_video


def test_ravdess_wav_plus_audio_video_mp4(tmp_path):
    wav, av = touch(tmp_path, "03-01-03-02-01-02-07.wav", "01-01-03-02-01-02-07.mp4")
    manifest, report = build_manifest(tmp_path)
    assert (manifest.iloc[0].audio_path, manifest.iloc[0].video_path) == (str(wav), str(av))
    assert report.n_superseded == 0


def test_ravdess_video_only_has_no_audio(tmp_path):
    (video,) = touch(tmp_path, "02-01-03-02-01-02-07.mp4")
    row = build_manifest(tmp_path)[0].iloc[0]
    assert row.audio_path is None and not row.has_audio
    assert row.video_path == str(video) and row.has_video


def test_synthetic_layout_wav_plus_video_features(tmp_path):
    wav, npy = touch(tmp_path, "Actor_01/01-01-04-01-01-01-01.wav", "Actor_01/01-01-04-01-01-01-01.video.npy")
    manifest, report = build_manifest(tmp_path)
    assert len(manifest) == 1
    assert (manifest.iloc[0].audio_path, manifest.iloc[0].video_path) == (str(wav), str(npy))
    assert report.n_files_seen == 2


def test_modality_code_must_match_the_file_kind(tmp_path):
    touch(tmp_path, "02-01-03-02-01-02-07.wav", "03-01-03-02-01-02-08.mp4", "03-01-03-02-01-02-09.wav")
    manifest, report = build_manifest(tmp_path)
    assert manifest.clip_id.tolist() == ["ravdess:01-03-02-01-02-09"]
    reasons = dict((Path(p).name, r) for p, r in report.skipped)
    assert reasons == {
        "02-01-03-02-01-02-07.wav": "video-only name (modality 02) on an audio file",
        "03-01-03-02-01-02-08.mp4": "audio-only name (modality 03) on a video file",
    }


def test_cremad_join_and_demographics_csv(tmp_path):
    wav, mp3, flv, mp3_only = touch(
        tmp_path,
        "AudioWAV/1001_DFA_ANG_XX.wav",
        "AudioMP3/1001_DFA_ANG_XX.mp3",
        "VideoFlash/1001_DFA_ANG_XX.flv",
        "AudioMP3/1002_IEO_HAP_HI.mp3",
    )
    (tmp_path / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n1002,21,Female,Caucasian,Not Hispanic\n"
    )
    manifest, report = build_manifest(tmp_path)
    assert manifest.clip_id.tolist() == ["cremad:1001_DFA_ANG_XX", "cremad:1002_IEO_HAP_HI"]
    first, second = manifest.iloc[0], manifest.iloc[1]
    assert (first.audio_path, first.video_path) == (str(wav), str(flv))  # the MP3 only when there is no WAV
    assert (second.audio_path, second.video_path, second.has_video) == (str(mp3_only), None, False)
    assert (first.gender, second.gender) == ("male", "female")
    assert (first.actor, first.statement, first.intensity, first.repetition) == ("cremad:1001", "DFA", "unspecified", 1)
    assert (second.emotion, second.intensity, second.vocal_channel) == ("happy", "high", "speech")
    assert report.n_files_seen == 4 and report.n_superseded == 1 and report.skipped == []


def test_cremad_gender_none_without_demographics_and_argument_wins(tmp_path):
    touch(tmp_path, "1001_DFA_ANG_XX.wav", "1003_DFA_ANG_XX.wav")
    assert build_manifest(tmp_path)[0].gender.tolist() == [None, None]
    manifest, _ = build_manifest(tmp_path, demographics={"1001": "female"})
    assert manifest.gender.tolist() == ["female", None]


def test_cremad_known_broken_clips_skipped(tmp_path):
    touch(tmp_path, "1076_MTI_NEU_XX.wav", "1064_IEO_DIS_MD.wav", "1076_MTI_ANG_XX.wav")
    manifest, report = build_manifest(tmp_path)
    assert manifest.clip_id.tolist() == ["cremad:1076_MTI_ANG_XX"]
    assert sorted(Path(p).name for p, _ in report.skipped) == ["1064_IEO_DIS_MD.wav", "1076_MTI_NEU_XX.wav"]
    assert {r for _, r in report.skipped} == {"known broken clip (CREMA-D)"}


def test_duplicates_keep_first_in_sorted_path_order(tmp_path):
    later, first = touch(tmp_path, "b/03-01-02-01-01-01-03.wav", "a/03-01-02-01-01-01-03.wav")
    touch(tmp_path, "c/03-01-02-01-01-01-03.flac")  # another lossless copy: also a duplicate
    touch(tmp_path, "z/03-01-02-01-01-01-99.wav")  # malformed: found first, sorts last
    manifest, report = build_manifest(tmp_path)
    assert manifest.audio_path.tolist() == [str(first)]
    assert report.skipped[:2] == [
        (str(later), f"duplicate of {first}"),
        (str(tmp_path / "c/03-01-02-01-01-01-03.flac"), f"duplicate of {first}"),
    ]
    assert report.skipped[2][0] == str(tmp_path / "z/03-01-02-01-01-01-99.wav")  # one list, in path order


def test_malformed_names_counted_and_reported_not_fatal(tmp_path):
    good = touch(tmp_path, "03-01-02-01-01-01-03.wav", "1001_DFA_ANG_XX.wav")
    bad = touch(
        tmp_path,
        "03-01-09-01-01-01-03.wav",
        "03-01-02-01-01-03.wav",
        "1001_DFA_XYZ_XX.wav",
        "holiday.mp3",
        "03-01-01-02-01-01-03.wav",
        "03-02-07-01-01-01-03.wav",
    )
    touch(tmp_path, "README.md", "notes.csv", ".hidden.wav", ".git/03-01-02-01-01-01-05.wav")
    manifest, report = build_manifest(tmp_path)
    assert len(manifest) == 2 and report.n_rows == 2
    assert report.n_files_seen == len(good) + len(bad)  # README, CSV and hidden files are not counted
    assert sorted(p for p, _ in report.skipped) == sorted(str(p) for p in bad)
    reasons = {Path(p).name: r for p, r in report.skipped}
    assert reasons["03-01-09-01-01-01-03.wav"] == "bad RAVDESS name: emotion code '09' out of range 01-08"
    assert reasons["03-01-02-01-01-03.wav"].startswith("bad RAVDESS name: expected 7")
    assert reasons["1001_DFA_XYZ_XX.wav"].startswith("bad CREMA-D name: unknown emotion code 'XYZ'")
    assert reasons["holiday.mp3"].startswith("name matches none of RAVDESS")
    assert "neutral" in reasons["03-01-01-02-01-01-03.wav"] and "song" in reasons["03-02-07-01-01-01-03.wav"]

    summary = report.summary()
    assert summary.splitlines()[0] == "2 clips from 8 media files; 6 skipped, 0 superseded by a preferred copy"
    assert len(summary.splitlines()) == 1 + 5 + 1  # counts, 5 examples, "... and 1 more"
    assert "... and 1 more" in summary
    lines = report.to_text().splitlines()
    assert len(lines) == 6
    assert all(line.split("\t") == [p, r] for line, (p, r) in zip(lines, report.skipped))


def test_every_media_file_is_used_superseded_or_skipped(tmp_path):
    touch(
        tmp_path,
        "03-01-03-02-01-02-07.wav",
        "01-01-03-02-01-02-07.mp4",
        "02-01-03-02-01-02-07.mp4",
        "x/03-01-03-02-01-02-07.wav",
        "03-01-03-09-01-02-07.wav",
        "1001_DFA_ANG_XX.mp3",
        "1001_DFA_ANG_XX.wav",
    )
    manifest, report = build_manifest(tmp_path)
    assert report.n_files_seen == 7
    assert len(used_files(manifest)) + report.n_superseded + len(report.skipped) == report.n_files_seen


def test_rows_sorted_by_clip_id_mixed_corpora(tmp_path):
    names = ("1091_WSI_SAD_LO.wav", "03-01-08-01-01-01-24.wav", "1001_IEO_NEU_XX.wav", "03-01-01-01-01-01-01.wav")
    touch(tmp_path, *names)
    manifest, _ = build_manifest(tmp_path)
    assert manifest.clip_id.tolist() == sorted(manifest.clip_id)
    assert manifest.corpus.tolist() == ["cremad", "cremad", "ravdess", "ravdess"]
    assert manifest.index.tolist() == [0, 1, 2, 3]


def test_forced_corpus_reports_the_other_scheme(tmp_path):
    touch(tmp_path, "03-01-08-01-01-01-24.wav", "1001_IEO_NEU_XX.wav")
    manifest, report = build_manifest(tmp_path, corpus="ravdess")
    assert manifest.corpus.tolist() == ["ravdess"]
    expected = "bad RAVDESS name: expected 7 dash-separated fields MM-VV-EE-II-SS-RR-AA, got 1"
    assert [r for _, r in report.skipped] == [expected]
    manifest, report = build_manifest(tmp_path, corpus="cremad")
    assert manifest.corpus.tolist() == ["cremad"]
    assert report.skipped[0][1].startswith("bad CREMA-D name: expected 4 underscore-separated fields")


def test_unknown_corpus_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="corpus='iemocap'"):
        build_manifest(tmp_path, corpus="iemocap")


def test_symlink_loop_is_not_followed(tmp_path):
    touch(tmp_path, "Actor_01/03-01-02-01-01-01-01.wav")
    os.symlink(tmp_path, tmp_path / "Actor_01" / "loop")
    manifest, report = build_manifest(tmp_path)
    assert len(manifest) == 1 and report.n_files_seen == 1


def test_missing_root_and_file_root(tmp_path):
    with pytest.raises(BadInputError, match="does not exist") as info:
        build_manifest(tmp_path / "nowhere")
    assert info.value.path == str(tmp_path / "nowhere")
    (file,) = touch(tmp_path, "03-01-02-01-01-01-01.wav")
    with pytest.raises(BadInputError, match="not a folder"):
        build_manifest(file)


def test_empty_folder_error_names_folder_and_patterns(tmp_path):
    with pytest.raises(BadInputError) as info:
        build_manifest(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path}: no recognisable clips: saw 0 files;")
    assert "MM-VV-EE-II-SS-RR-AA" in message and "ActorID_Sentence_Emotion_Level" in message


def test_unrecognisable_folder_error_gives_count_and_examples(tmp_path):
    touch(tmp_path, "README.md", "a.txt", "b.txt", "c.txt")
    with pytest.raises(BadInputError) as info:
        build_manifest(tmp_path)
    message = str(info.value)
    assert "saw 4 files (e.g. README.md, a.txt, b.txt)" in message
    assert "c.txt" not in message  # at most 3 examples
    assert "\n" not in message


def test_folder_of_bad_names_error_shows_first_problem(tmp_path):
    touch(tmp_path, "song.wav", "03-01-09-01-01-01-01.wav")
    with pytest.raises(BadInputError) as info:
        build_manifest(tmp_path)
    message = str(info.value)
    assert "saw 2 files (e.g. 03-01-09-01-01-01-01.wav, song.wav)" in message
    assert "first problem: 03-01-09-01-01-01-01.wav: bad RAVDESS name: emotion code '09'" in message


@pytest.mark.skipif(not REAL_RAVDESS.is_dir(), reason=f"real RAVDESS folder {REAL_RAVDESS} absent (only in CI/dev)")
def test_real_ravdess_folder():
    manifest, report = build_manifest(REAL_RAVDESS)
    assert len(manifest) == 1080 and report.skipped == [] and report.n_files_seen == 1080
    assert manifest.actor.nunique() == 18
    assert sorted(manifest.emotion.unique()) == sorted(EMOTIONS)
    assert set(manifest.groupby("actor").size()) == {60}
    assert manifest.has_audio.all() and not manifest.has_video.any()
    assert (manifest.gender == manifest.actor.map(lambda a: "male" if int(a[-2:]) % 2 else "female")).all()
    assert all(Path(p).is_file() for p in manifest.audio_path)
