"""A pre-extracted feature folder as an input kind: one `<stem>.npy` per clip plus `features.json`.

This is the layout of the source designs' `*_features_cnn_fixed/` folders (stem = the audio file's name
without extension, e.g. `03-01-05-01-02-01-12.npy`), so folders made elsewhere can be used as they are.
Writing is a separate data-preparation step that skips clips already written (SpeechBrain style);
matching reports every clip without a file, every file without a clip and every unusable array.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from emotion.corpus.names import parse_cremad, parse_ravdess
from emotion.errors import BadInputError
from emotion.features.progress import progress

INFO_FILE = "features.json"  # kind, parameters, dims, count: what a reader checks before training
SUFFIX = ".npy"


@dataclass
class FolderReport:
    """Outcome of writing or matching a feature folder; every left-out clip or file comes with a reason."""

    n_clips: int = 0  # manifest rows considered
    n_ok: int = 0  # written (write) or matched with a usable array (match)
    n_existing: int = 0  # write only: already present, left alone
    failures: list[tuple[str, str]] = field(default_factory=list)  # (audio path or clip_id, reason): no features
    unmatched_files: list[tuple[str, str]] = field(default_factory=list)  # match only: (.npy path, reason)

    def summary(self) -> str:
        lines = [
            f"{self.n_ok} of {self.n_clips} clips with features ({self.n_existing} already written); "
            f"{len(self.failures)} clips without, {len(self.unmatched_files)} feature files without a clip"
        ]
        for where, reason in self.failures[:3] + self.unmatched_files[:3]:
            lines.append(f"  {Path(where).name}: {reason}")
        return "\n".join(lines)


def clip_stem(row) -> str | None:
    """The feature file's stem for a manifest row: its audio file's name without extension."""
    path = row.get("audio_path")
    return Path(path).stem if isinstance(path, str) and path else None  # None / NaN: a video-only clip


def _atomic_write(target: Path, write: Callable) -> None:
    """Readers see no file or the whole file: write a temp name in the same folder, then os.replace (a rename)."""
    temp = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temp, "xb") as handle:  # "xb", not mkstemp: umask permissions, not 0600
            write(handle)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write_info(out_dir: Path, kind: str, params: dict) -> dict:
    """features.json describing every .npy now in the folder (dims read from headers, not whole arrays)."""
    dims, shapes = set(), []
    for path in sorted(out_dir.glob(f"*{SUFFIX}")):
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)  # header only: cheap for large folders
        except (OSError, ValueError):
            continue
        if array.ndim == 2:
            dims.add(int(array.shape[1]))
            shapes.append(int(array.shape[0]))
    info = {
        "kind": kind,
        "params": params,
        "dim": dims.pop() if len(dims) == 1 else sorted(dims),  # a list means mixed dims: match reports them
        "count": len(shapes),
        "min_frames": min(shapes, default=0),
        "max_frames": max(shapes, default=0),
    }
    text = json.dumps(info, indent=2, sort_keys=True, default=str) + "\n"
    _atomic_write(out_dir / INFO_FILE, lambda handle: handle.write(text.encode("utf-8")))
    return info


def require_output_folder(out_dir) -> Path:
    """`out_dir` as a Path if it is a folder or can become one; BadInputError naming what is in the way."""
    out_dir = Path(out_dir)
    blocker = next((p for p in (out_dir, *out_dir.parents) if p.exists()), None)  # the nearest existing path
    if blocker is not None and not blocker.is_dir():
        what = "is a file" if blocker == out_dir else f"cannot be made: {blocker} is a file"
        raise BadInputError(out_dir, f"{what}; the features output must be a folder")
    return out_dir


def write_feature_folder(
    manifest: pd.DataFrame,
    out_dir,
    compute: Callable[[str], np.ndarray],
    desc: str = "features",
    *,
    kind: str = "custom",
    params: dict | None = None,
    overwrite: bool = False,
) -> FolderReport:
    """`compute(audio_path)` for every clip into `out_dir/<stem>.npy`; a BadInputError skips that clip only.

    Clips whose file exists are skipped unless `overwrite` (the step resumes where it stopped). Clips
    without audio, or whose stem another clip already uses, are failures with the reason. Any other
    exception from `compute` propagates: it is a bug, not a bad file. `kind` and `params` go to features.json.
    """
    out_dir = require_output_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = FolderReport(n_clips=len(manifest))
    owner: dict[str, str] = {}  # stem -> audio path: two clips must not write the same file
    for row in progress(manifest.to_dict("records"), desc=desc, unit="clip"):
        stem = clip_stem(row)
        if stem is None:
            report.failures.append((row["clip_id"], "no audio file"))
            continue
        if stem in owner:
            report.failures.append((row["audio_path"], f"same file name as {owner[stem]}"))
            continue
        owner[stem] = row["audio_path"]
        target = out_dir / f"{stem}{SUFFIX}"
        if target.exists() and not overwrite:
            report.n_existing += 1
            report.n_ok += 1
            continue
        try:
            array = np.asarray(compute(row["audio_path"]), dtype=np.float32)
        except BadInputError as err:
            report.failures.append((row["audio_path"], err.reason))
            continue
        _atomic_write(target, lambda handle, array=array: np.save(handle, array, allow_pickle=False))  # called now
        report.n_ok += 1
    _write_info(out_dir, kind, params or {})
    return report


def read_info(folder) -> dict | None:
    """The folder's features.json, or None when absent or unreadable (folders made elsewhere have none)."""
    try:
        return json.loads((Path(folder) / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _clip_id_of(stem: str) -> str | None:
    """The manifest clip_id a RAVDESS / CREMA-D stem names (modality-free for RAVDESS), else None."""
    for parse in (parse_ravdess, parse_cremad):
        try:
            fields = parse(stem)
        except ValueError:
            continue
        return f"{fields['corpus']}:{fields['recording_id']}"
    return None


def _problem(array) -> str | None:
    """Why an array cannot be a (T, D) feature sequence, or None when it can."""
    if not isinstance(array, np.ndarray):
        return "an .npz archive, not a single array"
    if array.dtype.kind not in "fiu":
        return f"not numeric (dtype {array.dtype})"
    if array.ndim != 2:
        return f"expected a 2-D (frames, features) array, got shape {array.shape}"
    if array.size == 0:
        return f"empty array (shape {array.shape})"
    if not np.isfinite(array).all():
        return "contains NaN or infinite values"
    return None


def _load(path: Path):
    try:
        return np.load(path, allow_pickle=False), None
    except (OSError, ValueError, EOFError) as err:
        return None, f"not a readable .npy ({' '.join(str(err).split())[:200]})"


def match_feature_folder(manifest: pd.DataFrame, folder) -> tuple[list[np.ndarray | None], FolderReport]:
    """One (T, D) float32 array per manifest row (None where missing or unusable), and the report.

    A row matches `<stem>.npy` of its audio file (or its video file), else a file whose RAVDESS/CREMA-D
    name denotes the same clip (e.g. `03-...npy` for a row whose audio is the `01-...mp4`). The expected D
    is features.json's `dim` when present, else the most common D; files with another D are skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInputError(folder, "feature folder does not exist" if not folder.exists() else "not a folder")
    files = {p.stem: p for p in sorted(folder.glob(f"*{SUFFIX}")) if not p.name.startswith(".")}
    if not files:
        raise BadInputError(folder, f"no {SUFFIX} feature files in the feature folder")

    by_clip: dict[str, list[str]] = {}
    for stem in files:
        clip_id = _clip_id_of(stem)
        if clip_id is not None:
            by_clip.setdefault(clip_id, []).append(stem)

    report = FolderReport(n_clips=len(manifest))
    used: dict[str, str] = {}  # stem -> clip_id it was matched to
    chosen: list[str | None] = []
    for row in manifest.to_dict("records"):
        names = [Path(p).stem for p in (row.get("audio_path"), row.get("video_path")) if isinstance(p, str)]
        stem = next((s for s in names if s in files and s not in used), None)
        if stem is None:
            stem = next((s for s in by_clip.get(row["clip_id"], []) if s not in used), None)
        if stem is None:
            wanted = f"{names[0]}{SUFFIX}" if names else row["clip_id"]
            report.failures.append((row["clip_id"], f"no feature file ({wanted})"))
        else:
            used[stem] = row["clip_id"]
        chosen.append(stem)

    for stem, path in files.items():
        if stem in used:
            continue
        clip_id = _clip_id_of(stem)
        if clip_id is not None and clip_id in used.values():
            report.unmatched_files.append((str(path), f"another feature file already used for clip {clip_id}"))
        else:
            report.unmatched_files.append((str(path), "no clip in the manifest with this name"))

    loaded: dict[str, np.ndarray] = {}
    for stem in (s for s in chosen if s is not None):
        array, reason = _load(files[stem])
        reason = reason or _problem(array)
        if reason is None:
            loaded[stem] = array
        else:
            report.failures.append((str(files[stem]), reason))

    info = read_info(folder)
    expected = info.get("dim") if info and isinstance(info.get("dim"), int) else None
    if expected is None and loaded:
        dims, counts = np.unique([a.shape[1] for a in loaded.values()], return_counts=True)
        expected = int(dims[np.argmax(counts)])  # the most common D; ties go to the smaller D
    arrays: list[np.ndarray | None] = []
    for stem in chosen:
        array = loaded.get(stem) if stem is not None else None
        if array is not None and array.shape[1] != expected:
            reason = f"dimension {array.shape[1]} differs from the folder's {expected}"
            report.failures.append((str(files[stem]), reason))
            array = None
        arrays.append(None if array is None else array.astype(np.float32, copy=False))
    report.n_ok = sum(a is not None for a in arrays)
    return arrays, report
