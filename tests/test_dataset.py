"""Corpus build: bad files are skipped with their reason in the report, good ones all kept."""

import shutil

import numpy as np
import pytest

from emotion.config import DataConfig, FeatureConfig
from emotion.data.synthetic import ensure_builtin_corpus
from emotion.data.dataset import prepare_corpus
from emotion.errors import BadInputError, ConfigError


@pytest.fixture()
def mixed_corpus(cache_dir, tmp_path):
    """Three good actors copied from the built-in corpus plus one bad file of each kind."""
    builtin = ensure_builtin_corpus(cache_dir)
    root = tmp_path / "corpus"
    for actor in ("Actor_01", "Actor_02", "Actor_03"):
        shutil.copytree(builtin / actor, root / actor, ignore=shutil.ignore_patterns("*.mp4"))
    bad = root / "Actor_04"
    bad.mkdir()
    video = np.load(next((builtin / "Actor_01").glob("*.video.npy")))
    (bad / "01-01-05-01-01-01-04.wav").write_bytes(b"")  # empty
    np.save(bad / "01-01-05-01-01-01-04.video.npy", video)
    (bad / "01-01-05-01-02-01-04.wav").write_bytes(b"not audio at all" * 100)  # non-audio bytes
    np.save(bad / "01-01-05-01-02-01-04.video.npy", video)
    import soundfile as sf

    sf.write(bad / "01-01-05-02-01-01-04.wav", np.full(100, 0.1, np.float32), 16000)  # 6 ms: under the floor
    np.save(bad / "01-01-05-02-01-01-04.video.npy", video)
    sf.write(
        bad / "01-01-05-02-02-01-04.wav", np.random.default_rng(0).normal(size=16000).astype(np.float32) * 0.1, 16000
    )
    nan_video = video.copy()
    nan_video[3, 2] = np.nan
    np.save(bad / "01-01-05-02-02-01-04.video.npy", nan_video)  # NaN video features
    (bad / "not-a-ravdess-name.wav").write_bytes(b"RIFF")  # unknown name pattern
    return root


def test_bad_files_are_reported_and_good_ones_kept(mixed_corpus, cache_dir):
    corpus = prepare_corpus(DataConfig(data_dir=str(mixed_corpus)), FeatureConfig(), cache_dir)
    assert corpus.modalities == ("audio", "video")
    assert len(corpus.labels) == 90, "every clip of the three good actors is kept"
    reasons = {path.split("/")[-1]: reason for path, reason in corpus.skipped}
    assert set(reasons) == {
        "01-01-05-01-01-01-04.wav",
        "01-01-05-01-02-01-04.wav",
        "01-01-05-02-01-01-04.wav",
        "01-01-05-02-02-01-04.video.npy",
        "not-a-ravdess-name.wav",
    }
    assert "empty" in reasons["01-01-05-01-01-01-04.wav"]
    assert "under min_clip_seconds=0.3" in reasons["01-01-05-02-01-01-04.wav"]
    assert "NaN" in reasons["01-01-05-02-02-01-04.video.npy"]
    assert all("\n" not in r for r in reasons.values())
    report = corpus.report_text()
    assert "usable clips: 90" in report and "skipped: 5" in report


def test_audio_only_request_and_missing_video_request(mixed_corpus, cache_dir, tmp_path):
    audio_only = prepare_corpus(DataConfig(data_dir=str(mixed_corpus), modalities="audio"), FeatureConfig(), cache_dir)
    assert audio_only.modalities == ("audio",)
    plain = tmp_path / "plain"
    (plain / "Actor_01").mkdir(parents=True)
    for wav in sorted((mixed_corpus / "Actor_01").glob("*.wav"))[:3]:
        shutil.copy(wav, plain / "Actor_01" / wav.name)
    with pytest.raises(ConfigError, match="no video for any clip"):
        prepare_corpus(DataConfig(data_dir=str(plain), modalities="audio+video"), FeatureConfig(), cache_dir)


def test_missing_or_empty_folder_is_one_clear_error(tmp_path, cache_dir):
    with pytest.raises(BadInputError, match="does not exist"):
        prepare_corpus(DataConfig(data_dir=str(tmp_path / "nope")), FeatureConfig(), cache_dir)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    with pytest.raises(BadInputError, match="no recognisable clips"):
        prepare_corpus(DataConfig(data_dir=str(tmp_path / "empty")), FeatureConfig(), cache_dir)
