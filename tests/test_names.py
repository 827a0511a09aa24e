"""File-name parsing: every field of both corpora, every rejection rule, and a round-trip property."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emotion.corpus.labels import EMOTIONS
from emotion.corpus.names import CREMAD_BROKEN, format_ravdess, parse_cremad, parse_ravdess


def test_ravdess_every_field():
    assert parse_ravdess("02-02-05-02-01-02-12") == {
        "corpus": "ravdess",
        "modality": "video-only",
        "vocal_channel": "song",
        "emotion": "angry",
        "intensity": "strong",
        "statement": 1,
        "repetition": 2,
        "actor": "ravdess:12",
        "gender": "female",
        "recording_id": "02-05-02-01-02-12",
    }


@pytest.mark.parametrize(
    ("stem", "field", "value"),
    [
        ("01-01-01-01-01-01-01", "modality", "audio-video"),
        ("03-01-01-01-01-01-01", "modality", "audio-only"),
        ("03-01-01-01-01-01-01", "vocal_channel", "speech"),
        ("03-01-01-01-01-01-01", "intensity", "normal"),
        ("03-01-01-01-02-01-01", "statement", 2),
        ("03-01-01-01-01-01-01", "repetition", 1),
        ("03-01-01-01-01-01-01", "gender", "male"),
        ("03-01-01-01-01-01-23", "gender", "male"),
        ("03-01-01-01-01-01-24", "gender", "female"),
        ("03-01-01-01-01-01-24", "actor", "ravdess:24"),
        ("03-01-07-01-01-01-01", "emotion", "disgust"),
        ("03-01-08-02-01-01-01", "emotion", "surprised"),
        ("03-02-06-02-01-01-01", "emotion", "fearful"),
    ],
)
def test_ravdess_field_values(stem, field, value):
    assert parse_ravdess(stem)[field] == value


@pytest.mark.parametrize("code", range(1, 9))
def test_ravdess_emotion_codes_follow_shared_label_order(code):
    assert parse_ravdess(f"03-01-{code:02d}-01-01-01-01")["emotion"] == EMOTIONS[code - 1]


def test_ravdess_recording_id_links_wav_and_mp4s():
    ids = {parse_ravdess(f"{m}-01-03-02-01-02-07")["recording_id"] for m in ("01", "02", "03")}
    assert ids == {"01-03-02-01-02-07"}


@pytest.mark.parametrize(
    ("stem", "reason"),
    [
        ("03-01-01-01-01-01", "expected 7"),
        ("03-01-01-01-01-01-01-01", "expected 7"),
        ("", "expected 7"),
        ("03-01-0a-01-01-01-01", "emotion field '0a' is not a two-digit number"),
        ("03-01-1-01-01-01-01", "not a two-digit number"),
        ("03-01-001-01-01-01-01", "not a two-digit number"),
        ("03-01-０１-01-01-01-01", "not a two-digit number"),  # full-width digits pass str.isdigit
        ("00-01-01-01-01-01-01", "modality code '00' out of range 01-03"),
        ("04-01-01-01-01-01-01", "modality code '04'"),
        ("03-03-01-01-01-01-01", "vocal channel code '03' out of range 01-02"),
        ("03-01-00-01-01-01-01", "emotion code '00' out of range 01-08"),
        ("03-01-09-01-01-01-01", "emotion code '09'"),
        ("03-01-02-03-01-01-01", "intensity code '03' out of range 01-02"),
        ("03-01-02-01-03-01-01", "statement code '03' out of range 01-02"),
        ("03-01-02-01-00-01-01", "statement code '00'"),
        ("03-01-02-01-01-03-01", "repetition code '03' out of range 01-02"),
        ("03-01-02-01-01-01-00", "actor code '00' out of range 01-24"),
        ("03-01-02-01-01-01-25", "actor code '25'"),
        ("03-01-01-02-01-01-01", "neutral (01) has no strong intensity"),
        ("03-02-07-01-01-01-01", "song (02) has no disgust (07)"),
        ("03-02-08-01-01-01-01", "song (02) has no surprised (08)"),
    ],
)
def test_ravdess_rejects(stem, reason):
    with pytest.raises(ValueError) as info:
        parse_ravdess(stem)
    assert reason in str(info.value)


def test_cremad_every_field():
    assert parse_cremad("1001_DFA_ANG_XX") == {
        "corpus": "cremad",
        "vocal_channel": "speech",
        "emotion": "angry",
        "intensity": "unspecified",
        "statement": "DFA",
        "repetition": 1,
        "actor": "cremad:1001",
        "gender": None,
        "recording_id": "1001_DFA_ANG_XX",
    }


@pytest.mark.parametrize(
    ("code", "emotion"),
    [("ANG", "angry"), ("DIS", "disgust"), ("FEA", "fearful"), ("HAP", "happy"), ("NEU", "neutral"), ("SAD", "sad")],
)
def test_cremad_emotions(code, emotion):
    assert parse_cremad(f"1091_IEO_{code}_HI")["emotion"] == emotion


@pytest.mark.parametrize(
    ("level", "intensity"), [("LO", "low"), ("MD", "medium"), ("HI", "high"), ("XX", "unspecified")]
)
def test_cremad_levels(level, intensity):
    assert parse_cremad(f"1050_IEO_SAD_{level}")["intensity"] == intensity


@pytest.mark.parametrize("sentence", "IEO TIE IOM IWW TAI MTI IWL ITH DFA ITS TSI WSI".split())
def test_cremad_sentences(sentence):
    fields = parse_cremad(f"1002_{sentence}_NEU_XX")
    assert fields["statement"] == sentence
    assert fields["actor"] == "cremad:1002"


@pytest.mark.parametrize(
    ("stem", "reason"),
    [
        ("1001_DFA_ANG", "expected 4 underscore-separated fields"),
        ("1001_DFA_ANG_XX_2", "expected 4"),
        ("100_DFA_ANG_XX", "actor id '100' is not a 4-digit number"),
        ("10a1_DFA_ANG_XX", "not a 4-digit number"),
        ("1000_DFA_ANG_XX", "actor id '1000' out of range 1001-1091"),
        ("1092_DFA_ANG_XX", "out of range 1001-1091"),
        ("1001_ABC_ANG_XX", "unknown sentence code 'ABC'"),
        ("1001_dfa_ANG_XX", "unknown sentence code"),
        ("1001_DFA_CAL_XX", "unknown emotion code 'CAL'"),
        ("1001_DFA_ANG_MED", "unknown level 'MED'"),
    ],
)
def test_cremad_rejects(stem, reason):
    with pytest.raises(ValueError) as info:
        parse_cremad(stem)
    assert reason in str(info.value)


def test_cremad_broken_clips_are_well_formed_names():
    # they parse: the manifest, not the parser, skips them (their audio, not their name, is broken)
    assert CREMAD_BROKEN == {"1076_MTI_NEU_XX", "1076_MTI_SAD_XX", "1064_TIE_SAD_XX", "1064_IEO_DIS_MD"}
    for stem in CREMAD_BROKEN:
        assert parse_cremad(stem)["recording_id"] == stem


@st.composite
def ravdess_fields(draw) -> dict:
    channel = draw(st.sampled_from(["speech", "song"]))
    emotions = EMOTIONS if channel == "speech" else EMOTIONS[:6]
    emotion = draw(st.sampled_from(emotions))
    actor = draw(st.integers(1, 24))
    return {
        "corpus": "ravdess",
        "modality": draw(st.sampled_from(["audio-video", "video-only", "audio-only"])),
        "vocal_channel": channel,
        "emotion": emotion,
        "intensity": "normal" if emotion == "neutral" else draw(st.sampled_from(["normal", "strong"])),
        "statement": draw(st.integers(1, 2)),
        "repetition": draw(st.integers(1, 2)),
        "actor": f"ravdess:{actor:02d}",
        "gender": "male" if actor % 2 else "female",
    }


@given(ravdess_fields())
def test_ravdess_format_parse_round_trip(fields):
    stem = format_ravdess(fields)
    parsed = parse_ravdess(stem)
    assert parsed.pop("recording_id") == stem[3:]
    assert parsed == fields
    assert format_ravdess(parsed) == stem
