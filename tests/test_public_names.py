"""EmoDB, SAVEE and TESS file names: parsed, recognised by corpus=auto, bad ones refused with a reason;
a label the models do not learn (EmoDB's boredom) reported and left out."""

from __future__ import annotations

import shutil

import pytest

from emotion.corpus.dev_paths import EMODB2
from emotion.corpus.labels import EMOTIONS
from emotion.corpus.manifest import build_manifest
from emotion.corpus.public_names import parse_emodb, parse_savee, parse_tess


def test_emodb_names_carry_speaker_text_emotion_and_version():
    fields = parse_emodb("03a01Fa")
    assert fields["actor"] == "emodb:03" and fields["gender"] == "male"
    assert (fields["emotion"], fields["statement"], fields["repetition"]) == ("happy", "a01", 1)
    assert parse_emodb("09b03Lb")["emotion"] == "bored" and parse_emodb("09b03Lb")["repetition"] == 2


def test_savee_names_in_either_layout_give_the_same_clip():
    flat, foldered = parse_savee("DC_sa03"), parse_savee("sa03", folder="DC")
    assert flat == foldered and flat["actor"] == "savee:DC" and flat["emotion"] == "sad" and flat["statement"] == 3
    assert parse_savee("JK_su15")["emotion"] == "surprised"


def test_tess_names_map_fear_and_pleasant_surprise_onto_the_shared_labels():
    assert parse_tess("OAF_back_fear")["emotion"] == "fearful"
    assert parse_tess("YAF_dog_ps")["emotion"] == "surprised" and parse_tess("YAF_dog_ps")["actor"] == "tess:YAF"


@pytest.mark.parametrize(
    ("parse", "stem", "reason"),
    [
        (parse_emodb, "04a01Fa", "speaker '04' is not one of EmoDB's"),
        (parse_emodb, "03a03Fa", "text 'a03' is not one of EmoDB's"),
        (parse_emodb, "03a01Xa", "emotion letter 'X'"),
        (parse_savee, "a01", r"speaker '\(none\)' is not one of SAVEE's"),
        (parse_savee, "DC_x01", "expected SP_e01"),
        (parse_tess, "MAF_back_angry", "speaker 'MAF' is not one of TESS's"),
        (parse_tess, "OAF_back_bored", "emotion 'bored'"),
    ],
)
def test_a_bad_name_says_why(parse, stem, reason):
    with pytest.raises(ValueError, match=reason):
        parse(stem)


@pytest.fixture(scope="module")
def emodb2():
    if not EMODB2.is_dir():
        pytest.skip(f"EmoDB sample not found at {EMODB2} (only on the team's dev and CI machines)")
    return EMODB2


def test_auto_recognises_every_scheme_in_one_folder_and_reports_near_misses(emodb2, ravdess16k, tmp_path):
    source = next((emodb2 / "wav").glob("03a01Fa.wav"))
    ravdess = next((ravdess16k / "Actor_01").glob("*.wav"))
    (tmp_path / "KL").mkdir()
    names = {
        "03a01Fa.wav": source,
        "DC_a01.wav": ravdess,
        "KL/h05.wav": ravdess,
        "OAF_back_angry.wav": ravdess,
        ravdess.name: ravdess,
        "OAF_back_bored.wav": ravdess,  # TESS's speaker, an emotion TESS lacks
        "99a01Fa.wav": source,  # EmoDB's shape, no such speaker
    }
    for name, src in names.items():
        shutil.copy(src, tmp_path / name)
    manifest, report = build_manifest(tmp_path, "auto")
    assert sorted(manifest["corpus"]) == ["emodb", "ravdess", "savee", "savee", "tess"]
    assert set(manifest["actor"]) >= {"emodb:03", "savee:DC", "savee:KL", "tess:OAF"}
    reasons = {path.split("/")[-1]: reason for path, reason in report.skipped}
    assert reasons["OAF_back_bored.wav"].startswith("bad TESS name: emotion 'bored'")
    assert reasons["99a01Fa.wav"].startswith("bad EmoDB name: speaker '99'")


def test_emodb_clips_with_a_label_the_models_do_not_learn_are_reported_and_left_out(emodb2):
    from emotion.data.dataset import _leave_out_other_labels

    manifest, report = build_manifest(emodb2, "emodb")
    assert len(manifest) == 92 and report.skipped == []
    skipped = []
    kept = _leave_out_other_labels(manifest, skipped, EMOTIONS)  # RAVDESS's 8: the default labels=
    assert len(kept) == 92 - 9 and "bored" not in set(kept["emotion"])
    assert len(skipped) == 9 and all("label 'bored' is not one of the run's labels" in reason for _, reason in skipped)
