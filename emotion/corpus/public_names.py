"""File-name parsing for the public corpora users most often have beside RAVDESS and CREMA-D: EmoDB,
SAVEE and TESS. As in names.py, each parser takes a file stem and returns the manifest's fields, or
raises ValueError with a short reason.

Labels are mapped onto the shared names (labels.py); EmoDB's boredom is `bored`, a label outside
RAVDESS's eight, which a run whose labels lack it reports and leaves out (data/dataset.py).
"""

from __future__ import annotations

import re

# EmoDB (Berlin): SSTTTEV, e.g. 03a01Fa: speaker 03, text a01, emotion letter F, version a.
EMODB_EMOTIONS = {
    "W": "angry",  # Ärger (Wut)
    "L": "bored",  # Langeweile
    "E": "disgust",  # Ekel
    "A": "fearful",  # Angst
    "F": "happy",  # Freude
    "T": "sad",  # Trauer
    "N": "neutral",
}
EMODB_SPEAKERS = {"03": "male", "08": "female", "09": "female", "10": "male", "11": "male", "12": "male"}
EMODB_SPEAKERS |= {"13": "female", "14": "female", "15": "male", "16": "female"}
EMODB_TEXTS = ("a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10")
EMODB_PATTERN = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])$")

# SAVEE (Surrey): four male speakers; DC_a01 (or a01 in a folder DC): emotion code then sentence number.
SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
SAVEE_EMOTIONS = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprised",
}
SAVEE_PATTERN = re.compile(r"^(?:([A-Z]{2})_)?(sa|su|[adfhn])(\d\d)$")

# TESS (Toronto): two female speakers; OAF_back_angry: speaker, the carrier word, emotion.
TESS_SPEAKERS = ("OAF", "YAF")
TESS_EMOTIONS = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "ps": "surprised",  # pleasant surprise
    "sad": "sad",
}


def _fields(corpus: str, speaker: str, gender: str | None, emotion: str, statement, repetition: int, stem: str):
    return {
        "corpus": corpus,
        "vocal_channel": "speech",
        "emotion": emotion,
        "intensity": "unspecified",
        "statement": statement,
        "repetition": repetition,
        "actor": f"{corpus}:{speaker}",
        "gender": gender,
        "recording_id": stem,
    }


def parse_emodb(stem: str) -> dict:
    """Fields of an EmoDB stem such as '03a01Fa'."""
    match = EMODB_PATTERN.match(stem)
    if match is None:
        raise ValueError("expected SSTTTEV: 2-digit speaker, text (a01-b10), emotion letter, version letter")
    speaker, text, emotion, version = match.groups()
    if speaker not in EMODB_SPEAKERS:
        raise ValueError(f"speaker {speaker!r} is not one of EmoDB's {' '.join(EMODB_SPEAKERS)}")
    if text not in EMODB_TEXTS:
        raise ValueError(f"text {text!r} is not one of EmoDB's {' '.join(EMODB_TEXTS)}")
    if emotion not in EMODB_EMOTIONS:
        raise ValueError(f"emotion letter {emotion!r}; expected one of {' '.join(EMODB_EMOTIONS)}")
    repetition = ord(version) - ord("a") + 1
    return _fields("emodb", speaker, EMODB_SPEAKERS[speaker], EMODB_EMOTIONS[emotion], text, repetition, stem)


def parse_savee(stem: str, folder: str = "") -> dict:
    """Fields of a SAVEE stem such as 'DC_a01', or 'a01' inside the speaker's folder `folder`."""
    match = SAVEE_PATTERN.match(stem)
    if match is None:
        raise ValueError(
            "expected SP_e01 (speaker, emotion code a d f h n sa su, sentence number) or e01 in a speaker folder"
        )
    speaker, emotion, number = match.groups()
    speaker = speaker or folder
    if speaker not in SAVEE_SPEAKERS:
        raise ValueError(f"speaker {speaker or '(none)'!r} is not one of SAVEE's {' '.join(SAVEE_SPEAKERS)}")
    return _fields(
        "savee", speaker, "male", SAVEE_EMOTIONS[emotion], int(number), 1, f"{speaker}_{stem[-len(emotion) - 2 :]}"
    )


def parse_tess(stem: str) -> dict:
    """Fields of a TESS stem such as 'OAF_back_angry'."""
    parts = stem.split("_")
    if len(parts) != 3:
        raise ValueError(f"expected 3 underscore-separated fields Speaker_word_emotion, got {len(parts)}")
    speaker, word, emotion = parts
    if speaker.upper() not in TESS_SPEAKERS:
        raise ValueError(f"speaker {speaker!r} is not one of TESS's {' '.join(TESS_SPEAKERS)}")
    if emotion.lower() not in TESS_EMOTIONS:
        raise ValueError(f"emotion {emotion!r}; expected one of {' '.join(TESS_EMOTIONS)}")
    return _fields("tess", speaker.upper(), "female", TESS_EMOTIONS[emotion.lower()], word.lower(), 1, stem)
