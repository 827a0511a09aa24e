"""Corpus folders as users keep them: Actor_XX folders symlinked from another disk, loops, broken links."""

from __future__ import annotations

import os

import pytest

from emotion.corpus.manifest import build_manifest
from emotion.errors import BadInputError


def _actor(folder, actor: int, n: int = 3) -> None:
    folder.mkdir(parents=True)
    for emotion in range(1, n + 1):  # names only: the manifest does not read the audio
        (folder / f"03-01-{emotion:02d}-01-01-01-{actor:02d}.wav").write_bytes(b"RIFF")


@pytest.fixture
def linked_corpus(tmp_path):
    """corpus/Actor_0{1,2,3} -> other_disk/...; plus a loop, a second link to one folder, a broken link, a linked file."""
    disk, corpus = tmp_path / "other_disk", tmp_path / "corpus"
    corpus.mkdir()
    for actor in (1, 2, 3):
        _actor(disk / f"Actor_{actor:02d}", actor)
        os.symlink(disk / f"Actor_{actor:02d}", corpus / f"Actor_{actor:02d}")
    os.symlink(corpus, disk / "Actor_01" / "back_to_top")  # a loop through a symlinked folder
    os.symlink(disk / "Actor_02", corpus / "Actor_02_again")  # the same folder twice: its clips count once
    os.symlink(tmp_path / "unmounted" / "Actor_04", corpus / "Actor_04")  # a disk that is not there
    _actor(disk / "loose", 5, n=1)
    os.symlink(disk / "loose" / "03-01-01-01-01-01-05.wav", corpus / "03-01-01-01-01-01-05.wav")
    return corpus


def test_symlinked_actor_folders_and_files_are_followed_and_counted(linked_corpus):
    manifest, report = build_manifest(linked_corpus)
    assert len(manifest) == 3 * 3 + 1
    assert sorted(manifest["actor"].unique()) == ["ravdess:01", "ravdess:02", "ravdess:03", "ravdess:05"]
    assert report.links == "3 symlinked folders, 1 symlinked file"
    assert "through 3 symlinked folders, 1 symlinked file" in report.summary()


def test_a_loop_a_folder_reached_twice_and_a_broken_link_are_skipped_with_their_reason(linked_corpus):
    _, report = build_manifest(linked_corpus)
    reasons = dict(report.skipped)
    assert reasons[str(linked_corpus / "Actor_01" / "back_to_top")] == f"symlink loop: leads back to {linked_corpus}"
    assert (
        reasons[str(linked_corpus / "Actor_02_again")] == f"same folder as {linked_corpus / 'Actor_02'}, already walked"
    )
    assert reasons[str(linked_corpus / "Actor_04")].startswith("broken symlink: its target")
    assert len(report.skipped) == 3
    assert str(linked_corpus / "Actor_04") in report.to_text()  # build_report.txt lists them


def test_a_broken_link_with_a_file_s_name_is_listed_for_the_decoder_to_report(tmp_path):
    _actor(tmp_path / "Actor_01", 1)
    os.symlink(tmp_path / "gone.wav", tmp_path / "Actor_01" / "03-01-05-01-01-01-01.wav")
    manifest, report = build_manifest(tmp_path)
    assert str(tmp_path / "Actor_01" / "03-01-05-01-01-01-01.wav") in set(manifest["audio_path"])
    assert not report.skipped


def test_a_link_to_itself_is_a_loop(tmp_path):
    _actor(tmp_path / "Actor_01", 1)
    os.symlink(tmp_path / "self", tmp_path / "self")
    _, report = build_manifest(tmp_path)
    assert dict(report.skipped)[str(tmp_path / "self")] == "symlink loop: the link resolves to itself"


def test_nothing_usable_behind_the_links_says_what_was_there(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "notes.wav").write_bytes(b"RIFF")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    os.symlink(tmp_path / "elsewhere", corpus / "Actor_01")
    with pytest.raises(BadInputError, match="saw 1 files in 1 symlinked folder"):
        build_manifest(corpus)
