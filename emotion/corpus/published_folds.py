"""Published cross-validation folds (EmoBox's `<corpus>_{train,test}_fold_N.jsonl`) over a manifest.

A fold file lists one clip a line as JSON with a `key` such as `ravdess-03-01-07-02-02-02-11`: the
dataset name, a dash, and the clip's file stem (the `wav` path is the authors' disk, not ours). Clips
are matched to the manifest by that stem. A listed clip that is not in the manifest (a corpus folder
with fewer actors) is counted and reported; a fold left with no test clip is skipped with its reason.
Validation actors are carved out of each fold's training actors (never its test actors), the same
way `actor_kfold` does, so early stopping never sees a test speaker.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emotion.errors import BadInputError, ConfigError

FOLD_FILE = re.compile(r"^(?P<corpus>.+)_(?P<part>train|test)_fold_(?P<fold>\d+)\.jsonl$")


@dataclass
class FoldsReport:
    """What matching the fold files to the corpus found; `lines()` is what a run logs and prints."""

    folder: Path
    listed: dict[int, int] = field(default_factory=dict)  # fold -> test clips listed
    absent: dict[int, int] = field(default_factory=dict)  # fold -> listed test clips not in the corpus
    absent_train: dict[int, int] = field(default_factory=dict)  # fold -> listed training clips not in the corpus
    skipped: dict[int, str] = field(default_factory=dict)  # fold -> why it was not run
    unlisted: int = 0  # corpus clips in no fold file of a fold (left out of that fold's training)
    label_mismatches: int = 0  # listed clips whose emotion differs from the file name's

    def lines(self) -> list[str]:
        out = [f"published folds: {self.folder}"]
        for fold in sorted(self.listed):
            state = f"skipped: {self.skipped[fold]}" if fold in self.skipped else "used"
            out.append(
                f"fold {fold}: {self.listed[fold]} test clips listed, {self.absent[fold]} absent here, "
                f"{self.absent_train.get(fold, 0)} training clips absent; {state}"
            )
        out.append(f"corpus clips in neither list of a fold (left out of it): {self.unlisted}")
        if self.label_mismatches:
            out.append(f"listed clips whose emotion differs from their file name: {self.label_mismatches}")
        return out


def _read_keys(path: Path) -> dict[str, str]:
    """stem -> listed emotion (lower case) for one fold file; a malformed line names the file and line."""
    keys = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = str(record["key"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise BadInputError(path, f"line {number}: not a JSON object with a 'key'") from None
        stem = key.split("-", 1)[1] if "-" in key and not key[0].isdigit() else key  # "ravdess-03-..." -> "03-..."
        keys[stem] = str(record.get("emo", "")).lower()
    return keys


def fold_files(folder) -> dict[int, dict[str, Path]]:
    """fold number -> {"test": path[, "train": path]}; a one-line error when there is no test file."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"parameter folds={str(folder)!r}: not a folder")
    found: dict[int, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = FOLD_FILE.match(path.name)
        if match:
            found.setdefault(int(match["fold"]), {})[match["part"]] = path
    if not any("test" in parts for parts in found.values()):
        raise ConfigError(f"parameter folds={str(folder)!r}: no *_test_fold_N.jsonl file there")
    return {fold: parts for fold, parts in sorted(found.items()) if "test" in parts}


# EmoBox's label names where they differ from the manifest's (label_map.json maps them onto these).
LABEL_ALIASES = {"surprise": "surprised", "fear": "fearful"}


def published_folds(
    manifest: pd.DataFrame, folder, carve_val
) -> tuple[list[dict[str, np.ndarray]], list[int], FoldsReport]:
    """(splits, their fold numbers, report). `carve_val(rest_positions, what)` -> (train, val) positions."""
    files = fold_files(folder)
    stems = manifest["audio_path"].map(lambda p: Path(str(p)).stem).to_numpy()
    emotions = manifest["emotion"].to_numpy(dtype=str)
    position = {stem: i for i, stem in enumerate(stems)}
    report = FoldsReport(Path(folder))
    splits, numbers, mismatched, unlisted = [], [], set(), set()
    for fold, parts in files.items():
        test_keys = _read_keys(parts["test"])
        train_keys = _read_keys(parts["train"]) if "train" in parts else None
        for keys in (test_keys, train_keys or {}):
            for stem, emo in keys.items():
                if stem in position and emo and LABEL_ALIASES.get(emo, emo) != emotions[position[stem]]:
                    mismatched.add(stem)
        test = np.array(sorted(position[s] for s in test_keys if s in position), dtype=np.int64)
        report.listed[fold], report.absent[fold] = len(test_keys), sum(s not in position for s in test_keys)
        if train_keys is None:  # no training list: every other clip of the corpus trains
            rest = np.setdiff1d(np.arange(len(manifest)), test)
        else:
            report.absent_train[fold] = sum(s not in position for s in train_keys)
            rest = np.array(
                sorted(position[s] for s in train_keys if s in position and s not in test_keys), dtype=np.int64
            )
            unlisted.update(set(range(len(manifest))) - set(rest) - set(test))
        if len(test) == 0:
            report.skipped[fold] = f"none of its {len(test_keys)} test clips is in this corpus"
            continue
        if len(rest) == 0:
            report.skipped[fold] = "none of its training clips is in this corpus"
            continue
        train, val = carve_val(rest, f"published fold {fold} ({Path(parts['test']).name})")
        splits.append({"train": train, "val": val, "test": test})
        numbers.append(fold)
    report.unlisted, report.label_mismatches = len(unlisted), len(mismatched)
    if not splits:
        raise ConfigError(
            f"parameter folds={str(folder)!r}: no fold has a test clip in this corpus; " + "; ".join(report.lines()[1:])
        )
    return splits, numbers, report
