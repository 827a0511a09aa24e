"""A corpus listed in a file instead of named by a scheme: `manifest=FILE` (CSV or JSONL).

Required per row: the audio path (relative to the manifest's folder, or absolute), the emotion label and
the speaker. Column names as SpeechBrain, nkululeko and EmoBox write them are recognised (PATH_COLUMNS
...). EmoBox's JSONL works as it is: `wav`, `emo`, and the speaker from a column named by `speaker_column=`,
or parsed from `key` for the corpora whose keys carry a file name of a known scheme (RAVDESS, CREMA-D,
EmoDB, SAVEE, TESS). Optional:
gender, intensity, corpus, and split (train/val/test: a published split, which split=manifest reads).
`label_map=FILE` (JSON) maps a corpus's labels onto the run's names ({"ANG": "angry"}); labels are
then compared in lower case. Rows are checked the way the file-name path checks files: a bad row is
skipped with its reason in the report, a bad file is one line before work.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from emotion.corpus.manifest import COLUMNS, NULLABLE_COLUMNS, SCHEMES, ManifestReport, _detect
from emotion.errors import ConfigError

PATH_COLUMNS = ("path", "wav", "file", "audio", "file_path")
EMOTION_COLUMNS = ("emotion", "emo", "label", "class")
SPEAKER_COLUMNS = ("speaker", "spk_id", "spk", "actor", "speaker_id")
OPTIONAL_COLUMNS = ("gender", "intensity", "corpus", "split")
SPLIT_NAMES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "": "",
}


def _read_rows(path: Path) -> pd.DataFrame:
    """The file's rows as strings; a file that cannot be read is one line naming it."""
    if not path.is_file():
        raise ConfigError(f"parameter manifest={path}: no such file")
    if not path.read_text(errors="replace").strip():
        raise ConfigError(f"parameter manifest={path}: empty (no rows)")
    try:
        if path.suffix.lower() in (".jsonl", ".json"):
            lines = [line for line in path.read_text().splitlines() if line.strip()]
            rows = pd.DataFrame([json.loads(line) for line in lines])
        else:
            rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ConfigError(f"parameter manifest={path}: not readable as {path.suffix or 'CSV'}: {error}") from None
    if rows.empty:
        raise ConfigError(f"parameter manifest={path}: empty (no rows)")
    return rows.astype(str)


def _column(rows: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in rows.columns}
    return next((lower[n] for n in names if n in lower), None)


def _speaker_from_key(key: str) -> str | None:
    """EmoBox's `key` is '<dataset>-<file stem>': the stem's scheme names its speaker."""
    stem = key.split("-", 1)[1] if "-" in key else key
    scheme = _detect(stem)
    if scheme is None:
        return None
    try:
        return SCHEMES[scheme][1](stem, "")["actor"]
    except ValueError:
        return None


def read_label_map(path: str) -> dict[str, str]:
    """label_map=FILE: a JSON object of corpus label -> run label."""
    try:
        mapping = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"parameter label_map={path}: not a readable JSON file ({error})") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ConfigError(
            f'parameter label_map={path}: expected a JSON object of label -> label, e.g. {{"ANG": "angry"}}'
        )
    return {str(k): v for k, v in mapping.items()}


def read_manifest_file(path, label_map: str = "", speaker_column: str = "") -> tuple[list[dict], list[tuple[str, str]]]:
    """(rows in build_manifest's schema, skipped (path or row, reason)). speaker_column: the column that
    names the speaker when it has none of SPEAKER_COLUMNS' names."""
    path = Path(path).expanduser().resolve()
    rows = _read_rows(path)
    if speaker_column and _column(rows, (speaker_column.lower(),)) is None:
        raise ConfigError(
            f"parameter speaker_column={speaker_column}: {path} has no such column (found: {', '.join(rows.columns)})"
        )
    columns = {
        "path": _column(rows, PATH_COLUMNS),
        "emotion": _column(rows, EMOTION_COLUMNS),
        "speaker": _column(rows, (speaker_column.lower(),) if speaker_column else SPEAKER_COLUMNS),
    }
    key = _column(rows, ("key",))
    missing = [name for name, column in columns.items() if column is None and not (name == "speaker" and key)]
    if missing:
        raise ConfigError(
            f"parameter manifest={path}: no {' / '.join(missing)} column "
            f"(found: {', '.join(rows.columns)}; e.g. path,emotion,speaker)"
        )
    mapping = read_label_map(label_map) if label_map else {}
    optional = {name: _column(rows, (name,)) for name in OPTIONAL_COLUMNS}
    folder, default_corpus = path.parent, path.stem
    out, skipped, seen = [], [], {}
    for number, row in enumerate(rows.to_dict("records"), start=2 if path.suffix.lower() == ".csv" else 1):
        where = f"{path.name}:{number}"
        given = row[columns["path"]].strip()
        audio = Path(given).expanduser()
        if not audio.is_absolute():
            audio = (folder / audio).resolve()
            if not audio.is_relative_to(folder):
                skipped.append((where, f"path {given!r} leaves the manifest's folder; give it as an absolute path"))
                continue
        if not audio.is_file():
            skipped.append((where, f"no such file: {given}"))
            continue
        if str(audio) in seen:
            skipped.append((where, f"duplicate of row {seen[str(audio)]} ({given})"))
            continue
        seen[str(audio)] = number
        speaker = row[columns["speaker"]].strip() if columns["speaker"] else _speaker_from_key(row[key])
        if not speaker:
            skipped.append((where, "no speaker"))
            continue
        label = row[columns["emotion"]].strip()
        split = row[optional["split"]].strip().lower() if optional["split"] else ""
        if split not in SPLIT_NAMES:
            skipped.append((where, f"split {split!r} is not train, val or test"))
            continue
        corpus = (row[optional["corpus"]].strip() if optional["corpus"] else "") or default_corpus
        out.append(
            {
                "clip_id": f"{corpus}:{audio.relative_to(folder) if audio.is_relative_to(folder) else audio}",
                "corpus": corpus,
                "actor": speaker if ":" in speaker else f"{corpus}:{speaker}",
                "gender": (row[optional["gender"]].strip().lower() or None) if optional["gender"] else None,
                "emotion": mapping.get(label, label).strip().lower(),
                "intensity": row[optional["intensity"]].strip() if optional["intensity"] else "unspecified",
                "statement": "",
                "repetition": 1,
                "vocal_channel": "speech",
                "audio_path": str(audio),
                "video_path": None,
                "has_audio": True,
                "has_video": False,
                "split": SPLIT_NAMES[split],
            }
        )
    return out, skipped


def manifest_from_file(path, label_map: str = "", speaker_column: str = "") -> tuple[pd.DataFrame, ManifestReport]:
    """As build_manifest, from a manifest file: (rows sorted by clip_id, report)."""
    rows, skipped = read_manifest_file(path, label_map, speaker_column)
    report = ManifestReport(n_files_seen=len(rows) + len(skipped), n_rows=len(rows), skipped=skipped)
    if not rows:
        raise ConfigError(f"parameter manifest={path}: no usable row ({len(skipped)} skipped; first: {skipped[0][1]})")
    has_split = any(row["split"] for row in rows)
    columns = [*COLUMNS, "split"] if has_split else list(COLUMNS)  # a published split, for split=manifest
    manifest = pd.DataFrame(sorted(rows, key=lambda r: r["clip_id"]), columns=columns)
    for column in NULLABLE_COLUMNS:
        manifest[column] = manifest[column].astype(object).where(manifest[column].notna(), None)
    return manifest, report
