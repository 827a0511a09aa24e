"""manifest=FILE: a corpus listed in a CSV or JSONL (path, emotion, speaker), any names, with a label map;
every bad row reported with its reason, every bad file one line."""

from __future__ import annotations

import json
import shutil

import pytest

from emotion.config import build_config
from emotion.corpus.labels import EMOTIONS
from emotion.corpus.manifest_file import manifest_from_file
from emotion.errors import ConfigError

RENAMED = {"angry": "ANG", "happy": "HAP", "sad": "SAD", "neutral": "NEU"}


@pytest.fixture()
def calls(ravdess16k, tmp_path):
    """A team's folder: ravdess16k clips under their own names, listed in a CSV with renamed labels."""
    from emotion.corpus.manifest import build_manifest

    source, _ = build_manifest(ravdess16k, "ravdess")
    source = source[source["emotion"].isin(RENAMED) & source["actor"].isin(["ravdess:01", "ravdess:02"])]
    (tmp_path / "clips").mkdir()
    lines = ["path,emotion,speaker,gender"]
    for i, row in enumerate(source.itertuples()):
        name = f"clips/call_{i:03d}.wav"
        shutil.copy(row.audio_path, tmp_path / name)
        lines.append(f"{name},{RENAMED[row.emotion]},agent{row.actor[-2:]},{row.gender}")
    (tmp_path / "calls.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "labels.json").write_text(json.dumps({v: k for k, v in RENAMED.items()}))
    return tmp_path, source


def test_a_csv_with_its_own_labels_becomes_the_manifest_a_run_reads(calls):
    folder, source = calls
    manifest, report = manifest_from_file(folder / "calls.csv", str(folder / "labels.json"))
    assert report.skipped == [] and len(manifest) == len(source)
    assert set(manifest["actor"]) == {"calls:agent01", "calls:agent02"}
    assert sorted(manifest["emotion"]) == sorted(source["emotion"])  # ANG -> angry, ...
    assert (
        set(manifest["gender"]) == {"male", "female"}
        and manifest["audio_path"].map(lambda p: p.startswith(str(folder))).all()
    )


def test_bad_rows_are_reported_with_their_reason_and_the_rest_kept(calls):
    folder, source = calls
    text = (folder / "calls.csv").read_text().splitlines()
    text += [
        text[1],  # the same path again
        "../../etc/passwd.wav,ANG,agent01,male",  # leaves the manifest's folder
        "clips/missing.wav,ANG,agent01,male",  # absent
        "clips/call_000.wav,,,",  # duplicate path as well: the first reason wins
    ]
    (folder / "calls.csv").write_text("\n".join(text) + "\n")
    manifest, report = manifest_from_file(folder / "calls.csv", str(folder / "labels.json"))
    reasons = [reason for _, reason in report.skipped]
    assert len(manifest) == len(source) and len(reasons) == 4
    assert reasons[0].startswith("duplicate of row 2") and "leaves the manifest's folder" in reasons[1]
    assert reasons[2] == "no such file: clips/missing.wav"


def test_a_label_without_a_mapping_is_reported_by_the_run_and_left_out(calls, cache_dir):
    from emotion.data.dataset import _leave_out_other_labels

    folder, _ = calls
    manifest, _ = manifest_from_file(folder / "calls.csv")  # no label map: ANG, HAP, ...
    skipped = []
    kept = _leave_out_other_labels(manifest, skipped, EMOTIONS)
    assert set(kept["emotion"]) == {"sad"}, "SAD matches sad in lower case; ANG, HAP, NEU need the map"
    assert {reason.split("'")[1] for _, reason in skipped} == {"ang", "hap", "neu"}
    assert all("is not one of the run's labels" in reason for _, reason in skipped)


def test_a_speaker_column_of_another_name_is_named_by_speaker_column(calls):
    folder, source = calls
    text = (folder / "calls.csv").read_text().replace("path,emotion,speaker,", "path,emotion,agent_id,", 1)
    (folder / "calls.csv").write_text(text)
    with pytest.raises(ConfigError, match="no path / emotion / speaker column|no speaker column"):
        manifest_from_file(folder / "calls.csv", str(folder / "labels.json"))
    manifest, _ = manifest_from_file(folder / "calls.csv", str(folder / "labels.json"), speaker_column="agent_id")
    assert set(manifest["actor"]) == {"calls:agent01", "calls:agent02"}
    with pytest.raises(ConfigError, match=r"speaker_column=caller: .*calls.csv has no such column \(found: path"):
        manifest_from_file(folder / "calls.csv", speaker_column="caller")


def test_emobox_jsonl_works_as_it_is_the_speaker_read_off_its_key(ravdess16k, tmp_path):
    clip = next((ravdess16k / "Actor_03").glob("03-01-05-*.wav"))
    shutil.copy(clip, tmp_path / clip.name)
    row = {"key": f"ravdess-{clip.stem}", "dataset": "ravdess", "wav": clip.name, "emo": "Angry", "length": 3.0}
    (tmp_path / "ravdess_test_fold_1.jsonl").write_text(json.dumps(row) + "\n")
    manifest, report = manifest_from_file(tmp_path / "ravdess_test_fold_1.jsonl")
    assert report.skipped == [] and list(manifest["actor"]) == ["ravdess:03"] and list(manifest["emotion"]) == ["angry"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("where,mood\nx.wav,ANG\n", "no path / emotion / speaker column"),
        ("path,emotion\nx.wav,ANG\n", "no speaker column"),
    ],
)
def test_a_bad_manifest_file_is_one_line_naming_it(tmp_path, content, message):
    (tmp_path / "m.csv").write_text(content)
    with pytest.raises(ConfigError, match=f"manifest=.*m.csv: {message}"):
        manifest_from_file(tmp_path / "m.csv")


def test_label_map_needs_a_manifest_and_a_manifest_excludes_data_dir(tmp_path):
    for name in ("label_map", "speaker_column"):
        with pytest.raises(ConfigError, match=f"{name}: reads a manifest file; give manifest=FILE too"):
            build_config("no_aug", {name: "x"})
    with pytest.raises(ConfigError, match="one or the other"):
        build_config("no_aug", {"manifest": "m.csv", "data_dir": "/data"})
    (tmp_path / "bad.json").write_text('["ANG"]')
    (tmp_path / "m.csv").write_text("path,emotion,speaker\nx.wav,ANG,a\n")
    with pytest.raises(ConfigError, match="label_map=.*bad.json: expected a JSON object"):
        manifest_from_file(tmp_path / "m.csv", str(tmp_path / "bad.json"))


def test_a_split_column_is_kept_for_split_manifest_and_a_bad_value_is_a_reported_row(calls):
    from emotion.config import SplitConfig
    from emotion.corpus.splits import make_split

    folder, source = calls
    lines = (folder / "calls.csv").read_text().splitlines()
    table = [lines[0] + ",split"] + [f"{line},{'test' if ',agent02,' in line else 'Train'}" for line in lines[1:]]
    shutil.copy(folder / "clips" / "call_000.wav", folder / "clips" / "extra.wav")
    table.append("clips/extra.wav,ANG,agent01,male,holdout")
    (folder / "calls.csv").write_text("\n".join(table) + "\n")
    manifest, report = manifest_from_file(folder / "calls.csv", str(folder / "labels.json"))
    assert set(manifest["split"]) == {"train", "test"} and len(manifest) == len(source)
    assert [reason for _, reason in report.skipped] == ["split 'holdout' is not train, val or test"]
    with pytest.raises(ConfigError, match="only 1 actor left after the test set"):  # val: from agent01 alone
        make_split(manifest, SplitConfig(split="manifest"))
