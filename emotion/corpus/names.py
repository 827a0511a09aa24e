"""File-name parsing for RAVDESS and CREMA-D: a clip's labels live in its name, nowhere else.

Each parser takes a file stem (no folder, no extension) and returns a dict of fields, or raises
ValueError with a short reason the manifest report shows next to the file.
"""

from __future__ import annotations

from emotion.corpus.labels import CREMAD_EMOTIONS, RAVDESS_EMOTIONS

# RAVDESS: MM-VV-EE-II-SS-RR-AA, each field two digits (DESIGN.md, Dataset facts).
RAVDESS_FIELDS = ("modality", "vocal_channel", "emotion", "intensity", "statement", "repetition", "actor")
RAVDESS_MODALITIES = {"01": "audio-video", "02": "video-only", "03": "audio-only"}
RAVDESS_CHANNELS = {"01": "speech", "02": "song"}
RAVDESS_INTENSITIES = {"01": "normal", "02": "strong"}
RAVDESS_ACTORS = range(1, 25)
RAVDESS_SONG_EXCLUDED = ("07", "08")  # the song recordings have no disgust and no surprised

# CREMA-D: ActorID_Sentence_Emotion_Level, e.g. 1001_DFA_ANG_XX.
CREMAD_ACTORS = range(1001, 1092)
CREMAD_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
CREMAD_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
# Clips that are empty or cut short in the distributed corpus; well-formed names, unusable audio.
CREMAD_BROKEN = frozenset({"1076_MTI_NEU_XX", "1076_MTI_SAD_XX", "1064_TIE_SAD_XX", "1064_IEO_DIS_MD"})
CREMAD_BROKEN_REASON = "known broken clip (CREMA-D)"


def _code(field: str, value: str, table: dict[str, str]) -> str:
    if value not in table:
        raise ValueError(f"{field} code {value!r} out of range {min(table)}-{max(table)}")
    return table[value]


def parse_ravdess(stem: str) -> dict:
    """Fields of a RAVDESS stem such as '03-01-05-02-01-02-12'."""
    parts = stem.split("-")
    if len(parts) != len(RAVDESS_FIELDS):
        raise ValueError(f"expected 7 dash-separated fields MM-VV-EE-II-SS-RR-AA, got {len(parts)}")
    for field, value in zip(RAVDESS_FIELDS, parts):
        # isascii: str.isdigit alone accepts digits such as '²' or Arabic-Indic numerals
        if not (len(value) == 2 and value.isascii() and value.isdigit()):
            raise ValueError(f"{field} field {value!r} is not a two-digit number")
    modality, channel, emotion, intensity, statement, repetition, actor = parts

    fields = {
        "corpus": "ravdess",
        "modality": _code("modality", modality, RAVDESS_MODALITIES),
        "vocal_channel": _code("vocal channel", channel, RAVDESS_CHANNELS),
        "emotion": _code("emotion", emotion, RAVDESS_EMOTIONS),
        "intensity": _code("intensity", intensity, RAVDESS_INTENSITIES),
    }
    for field, value in (("statement", statement), ("repetition", repetition)):
        if value not in ("01", "02"):
            raise ValueError(f"{field} code {value!r} out of range 01-02")
        fields[field] = int(value)
    if int(actor) not in RAVDESS_ACTORS:
        raise ValueError(f"actor code {actor!r} out of range 01-24")
    if emotion == "01" and intensity == "02":
        raise ValueError("neutral (01) has no strong intensity (02)")
    if channel == "02" and emotion in RAVDESS_SONG_EXCLUDED:
        raise ValueError(f"song (02) has no {RAVDESS_EMOTIONS[emotion]} ({emotion}) emotion")

    fields["actor"] = f"ravdess:{actor}"
    fields["gender"] = "male" if int(actor) % 2 else "female"
    fields["recording_id"] = stem[3:]  # without the modality: links the WAV and the MP4s of one performance
    return fields


def _code_of(table: dict[str, str], label: str) -> str:
    return next(code for code, name in table.items() if name == label)


def format_ravdess(fields: dict) -> str:
    """The stem `parse_ravdess` reads back into `fields` (the synthetic corpus and tests name files with it)."""
    actor = fields["actor"].removeprefix("ravdess:")
    return "-".join(
        (
            _code_of(RAVDESS_MODALITIES, fields["modality"]),
            _code_of(RAVDESS_CHANNELS, fields["vocal_channel"]),
            _code_of(RAVDESS_EMOTIONS, fields["emotion"]),
            _code_of(RAVDESS_INTENSITIES, fields["intensity"]),
            f"{fields['statement']:02d}",
            f"{fields['repetition']:02d}",
            f"{int(actor):02d}",
        )
    )


def parse_cremad(stem: str) -> dict:
    """Fields of a CREMA-D stem such as '1001_DFA_ANG_XX'.

    Gender is None: CREMA-D gives sex only in VideoDemographics.csv (the manifest builder reads it).
    """
    parts = stem.split("_")
    if len(parts) != 4:
        raise ValueError(f"expected 4 underscore-separated fields ActorID_Sentence_Emotion_Level, got {len(parts)}")
    actor, sentence, emotion, level = parts
    if not (len(actor) == 4 and actor.isascii() and actor.isdigit()):
        raise ValueError(f"actor id {actor!r} is not a 4-digit number")
    if int(actor) not in CREMAD_ACTORS:
        raise ValueError(f"actor id {actor!r} out of range 1001-1091")
    if sentence not in CREMAD_SENTENCES:
        raise ValueError(f"unknown sentence code {sentence!r}; expected one of {' '.join(CREMAD_SENTENCES)}")
    if emotion not in CREMAD_EMOTIONS:
        raise ValueError(f"unknown emotion code {emotion!r}; expected one of {' '.join(CREMAD_EMOTIONS)}")
    if level not in CREMAD_LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {' '.join(CREMAD_LEVELS)}")
    return {
        "corpus": "cremad",
        "vocal_channel": "speech",
        "emotion": CREMAD_EMOTIONS[emotion],
        "intensity": CREMAD_LEVELS[level],
        "statement": sentence,
        "repetition": 1,  # each actor speaks each sentence/emotion/level once
        "actor": f"cremad:{actor}",
        "gender": None,
        "recording_id": stem,
    }
