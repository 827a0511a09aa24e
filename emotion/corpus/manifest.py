"""Corpus folder -> manifest: one row per recording, with its labels, actor and file paths.

RAVDESS ships one performance up to three times (03 WAV, 01 audio-video MP4, 02 video-only MP4) and
CREMA-D up to three (AudioWAV, AudioMP3, VideoFlash): they are joined into one row, so that one clip can
never land in two splits. Every media file ends up in a row, in `ManifestReport.skipped` with a reason,
or is counted as superseded by a preferred copy of the same recording (e.g. an MP3 beside its WAV).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from emotion.config import CORPORA
from emotion.corpus.names import CREMAD_BROKEN, CREMAD_BROKEN_REASON, parse_cremad, parse_ravdess
from emotion.corpus.public_names import (
    SAVEE_PATTERN,
    SAVEE_SPEAKERS,
    TESS_SPEAKERS,
    parse_emodb,
    parse_savee,
    parse_tess,
)
from emotion.corpus.walk import walk_corpus
from emotion.errors import BadInputError, ConfigError

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3")
LOSSY_AUDIO_EXTENSIONS = (".mp3",)  # used only when no lossless copy of the recording exists
VIDEO_EXTENSIONS = (".mp4", ".flv", ".avi")
VIDEO_FEATURE_SUFFIX = ".video.npy"  # per-frame video features, as the synthetic corpus writes them
DEMOGRAPHICS_FILE = "VideoDemographics.csv"  # CREMA-D: the only place that gives an actor's sex

COLUMNS = (
    "clip_id",
    "corpus",
    "actor",
    "gender",
    "emotion",
    "intensity",
    "statement",
    "repetition",
    "vocal_channel",
    "audio_path",
    "video_path",
    "has_audio",
    "has_video",
)
NULLABLE_COLUMNS = ("gender", "audio_path", "video_path")  # kept as object so missing stays None, not NaN

# Where a recording's audio and video come from, best first. "av" is a RAVDESS 01 audio-video file.
AUDIO_SOURCES = ("audio", "audio-lossy", "av")
VIDEO_SOURCES = ("video", "av")

EXPECTED_PATTERNS = (
    "expected RAVDESS names MM-VV-EE-II-SS-RR-AA (e.g. 03-01-05-01-02-01-12.wav), CREMA-D names "
    "ActorID_Sentence_Emotion_Level (e.g. 1001_DFA_ANG_XX.wav), EmoDB, SAVEE or TESS names (or a manifest=FILE "
    "listing the clips), with extension "
    + " ".join(AUDIO_EXTENSIONS + VIDEO_EXTENSIONS)
    + f" or {VIDEO_FEATURE_SUFFIX}"
)


@dataclass
class ManifestReport:
    """What the walk saw: media files, rows made, and every file left out with the reason."""

    n_files_seen: int = 0  # media files (audio, video, video features); other files are ignored
    n_rows: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    n_superseded: int = 0  # well-formed files not needed because a preferred copy exists
    links: str = ""  # what was reached through symlinks, e.g. "24 symlinked folders"

    def summary(self) -> str:
        """A few lines for the console: counts and up to 5 examples of skipped files."""
        lines = [
            f"{self.n_rows} clips from {self.n_files_seen} media files; "
            f"{len(self.skipped)} skipped, {self.n_superseded} superseded by a preferred copy"
            + (f"; through {self.links}" if self.links else "")
        ]
        for path, reason in self.skipped[:5]:
            lines.append(f"  {Path(path).name}: {reason}")
        if len(self.skipped) > 5:
            lines.append(f"  ... and {len(self.skipped) - 5} more (full list in the manifest report)")
        return "\n".join(lines)

    def to_text(self) -> str:
        """Every skipped file as 'path<TAB>reason', one per line (logged as a run artifact)."""
        return "".join(f"{path}\t{reason}\n" for path, reason in self.skipped)


@dataclass(frozen=True)
class _Candidate:
    path: str
    clip_id: str
    source: str  # one of AUDIO_SOURCES + VIDEO_SOURCES
    fields: dict


def read_demographics(path: str | os.PathLike) -> dict[str, str]:
    """CREMA-D VideoDemographics.csv -> {"1001": "male", ...}; unknown Sex values are left out."""
    table = pd.read_csv(path, dtype=str)
    if not {"ActorID", "Sex"} <= set(table.columns):
        raise BadInputError(path, f"expected columns ActorID and Sex, found {', '.join(table.columns)}")
    out = {}
    for actor, sex in zip(table["ActorID"], table["Sex"]):
        sex = str(sex).strip().lower()
        if sex in ("male", "female"):
            out[str(actor).strip()] = sex
    return out


def _media_kind(name: str) -> tuple[str, str] | None:
    """(stem, kind) of a media file name, kind in audio | audio-lossy | video-file | video-features."""
    lower = name.lower()
    if lower.endswith(VIDEO_FEATURE_SUFFIX):
        return name[: -len(VIDEO_FEATURE_SUFFIX)], "video-features"
    stem, ext = os.path.splitext(name)
    ext = ext.lower()
    if ext in LOSSY_AUDIO_EXTENSIONS:
        return stem, "audio-lossy"
    if ext in AUDIO_EXTENSIONS:
        return stem, "audio"
    if ext in VIDEO_EXTENSIONS:
        return stem, "video-file"
    return None


# scheme -> (its name in messages, parser(stem, folder) -> fields)
SCHEMES = {
    "ravdess": ("RAVDESS", lambda stem, folder: parse_ravdess(stem)),
    "cremad": ("CREMA-D", lambda stem, folder: parse_cremad(stem)),
    "emodb": ("EmoDB", lambda stem, folder: parse_emodb(stem)),
    "savee": ("SAVEE", parse_savee),
    "tess": ("TESS", lambda stem, folder: parse_tess(stem)),
}
LOOSE_EMODB = re.compile(r"^\d\d[a-z]\d\d[A-Z][a-z]$")


def _detect(stem: str, folder: str = "") -> str | None:
    """Which naming scheme a stem is trying to follow (loose, so a near-miss gets the parser's reason);
    folder: the file's folder name (SAVEE's per-speaker layout names the speaker only there)."""
    parts = stem.split("-")
    if len(parts) > 1 and all(p.isascii() and p.isdigit() for p in parts):
        return "ravdess"
    head = stem.split("_")[0]
    if "_" in stem and len(head) == 4 and head.isascii() and head.isdigit():
        return "cremad"
    if LOOSE_EMODB.match(stem):
        return "emodb"
    if head.upper() in TESS_SPEAKERS:
        return "tess"
    if SAVEE_PATTERN.match(stem) and (head in SAVEE_SPEAKERS or folder in SAVEE_SPEAKERS):
        return "savee"
    return None


def _candidate(path: str, stem: str, kind: str, corpus: str) -> _Candidate:
    """Parse one media file into a candidate; ValueError with the reason when it cannot be used."""
    folder = Path(path).parent.name
    scheme = _detect(stem, folder) if corpus == "auto" else corpus
    if scheme is None:
        raise ValueError(
            "name matches none of RAVDESS MM-VV-EE-II-SS-RR-AA, CREMA-D ActorID_Sentence_Emotion_Level, "
            "EmoDB 03a01Fa, SAVEE DC_a01, TESS OAF_back_angry"
        )
    if scheme == "cremad" and stem in CREMAD_BROKEN:
        raise ValueError(CREMAD_BROKEN_REASON)
    name, parse = SCHEMES[scheme]
    try:
        fields = parse(stem, folder)
    except ValueError as error:
        raise ValueError(f"bad {name} name: {error}") from None

    source = kind
    if scheme == "ravdess":
        modality = fields["modality"]
        if kind.startswith("audio") and modality == "video-only":
            raise ValueError("video-only name (modality 02) on an audio file")
        if not kind.startswith("audio") and modality == "audio-only":
            raise ValueError("audio-only name (modality 03) on a video file")
        if kind == "video-file" and modality == "audio-video":
            source = "av"  # an audio-video MP4 can supply the audio too
    if source in ("video-file", "video-features"):
        source = "video"
    return _Candidate(path, f"{scheme}:{fields['recording_id']}", source, fields)


def _pick(slots: dict[str, _Candidate], order: tuple[str, ...]) -> _Candidate | None:
    return next((slots[s] for s in order if s in slots), None)


def _join(candidates: list[_Candidate], report: ManifestReport, demographics: dict[str, str]) -> list[dict]:
    """One row per recording from its candidates (already in sorted path order)."""
    by_clip: dict[str, dict[str, _Candidate]] = {}
    for cand in candidates:
        slots = by_clip.setdefault(cand.clip_id, {})
        if cand.source in slots:
            report.skipped.append((cand.path, f"duplicate of {slots[cand.source].path}"))
        else:
            slots[cand.source] = cand

    rows = []
    for clip_id in sorted(by_clip):
        slots = by_clip[clip_id]
        audio, video = _pick(slots, AUDIO_SOURCES), _pick(slots, VIDEO_SOURCES)
        used = {c.path for c in (audio, video) if c is not None}
        report.n_superseded += sum(c.path not in used for c in slots.values())
        fields = (audio or video).fields
        gender = fields["gender"]
        if fields["corpus"] == "cremad":
            gender = demographics.get(fields["actor"].removeprefix("cremad:"))
        rows.append(
            {
                "clip_id": clip_id,
                "corpus": fields["corpus"],
                "actor": fields["actor"],
                "gender": gender,
                "emotion": fields["emotion"],
                "intensity": fields["intensity"],
                "statement": fields["statement"],
                "repetition": fields["repetition"],
                "vocal_channel": fields["vocal_channel"],
                "audio_path": audio.path if audio else None,
                "video_path": video.path if video else None,
                "has_audio": audio is not None,
                "has_video": video is not None,
            }
        )
    return rows


def _nothing_found(root: Path, files: list[str], report: ManifestReport) -> BadInputError:
    examples = [Path(p).name for p, _ in report.skipped[:3]] or [Path(p).name for p in files[:3]]
    shown = f" (e.g. {', '.join(examples)})" if examples else ""
    first_problem = f"; first problem: {examples[0]}: {report.skipped[0][1]}" if report.skipped else ""
    through = f" in {report.links}" if report.links else ""
    return BadInputError(
        root, f"no recognisable clips: saw {len(files)} files{through}{shown}{first_problem}; {EXPECTED_PATTERNS}"
    )


def build_manifest(
    root: str | os.PathLike,
    corpus: str = "auto",
    demographics: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, ManifestReport]:
    """Walk `root` and return (manifest sorted by clip_id, report).

    corpus: "auto" picks the naming scheme per file from its shape; a scheme name (CORPORA) forces one.
    demographics: CREMA-D actor id -> "male"/"female"; when None, read from root/VideoDemographics.csv
    if that file exists (otherwise CREMA-D genders are None).
    """
    if corpus not in CORPORA:
        raise ConfigError(f"parameter corpus={corpus!r}: expected one of {', '.join(CORPORA)}")
    root = Path(root).absolute()
    if not root.exists():
        raise BadInputError(root, "corpus folder does not exist")
    if not root.is_dir():
        raise BadInputError(root, "corpus path is not a folder")
    if demographics is None:
        csv = root / DEMOGRAPHICS_FILE
        demographics = read_demographics(csv) if csv.is_file() else {}

    walked = walk_corpus(str(root))
    files = walked.files
    report = ManifestReport(links=walked.links(), skipped=list(walked.skipped))
    candidates = []
    for path in files:
        media = _media_kind(os.path.basename(path))
        if media is None:
            continue  # README, CSV, notes: not part of the corpus
        report.n_files_seen += 1
        try:
            candidates.append(_candidate(path, *media, corpus))
        except ValueError as error:
            report.skipped.append((path, str(error)))

    rows = _join(candidates, report, demographics)
    report.skipped.sort()
    report.n_rows = len(rows)
    if not rows:
        raise _nothing_found(root, files, report)

    manifest = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in NULLABLE_COLUMNS:
        manifest[column] = pd.Series([row[column] for row in rows], dtype=object)
    return manifest, report
