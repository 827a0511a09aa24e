"""Train/val/test splits of a manifest: speaker-independent (no actor in two sets) unless named leaky.

Every split is a dict {"train", "val", "test"} of sorted positional row indices into the manifest.
Speaker splits use scikit-learn's StratifiedGroupKFold (groups = actor, y = emotion): the first fold's
held-out part is the test set, and the same method on the rest carves validation out of training
(a later fold only when the first would leave too few actors to split again).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from emotion.config import SplitConfig
from emotion.corpus.labels import EMOTIONS
from emotion.errors import ConfigError

SPLIT = SplitConfig()  # the defaults of every function here: SplitConfig is their one place

SETS = ("train", "val", "test")
MIN_ACTORS = 3  # one each for train, val and test


def _labels_and_groups(manifest: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    for column in ("emotion", "actor"):
        if column not in manifest.columns:
            raise ConfigError(f"manifest has no {column!r} column; build it with emotion.corpus.manifest")
    return manifest["emotion"].to_numpy(dtype=str), manifest["actor"].to_numpy(dtype=str)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ConfigError(f"parameter {name}={value!r}: must be between 0 and 1")


def _n_folds(fraction: float, n_actors: int) -> int:
    """Folds for a held-out share of `fraction`; capped by the actors there are, at least 2."""
    return max(2, min(round(1.0 / fraction), n_actors))


def _group_folds(
    y: np.ndarray, groups: np.ndarray, n_splits: int, seed: int, what: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rest, held_out) positions of each fold of a shuffled StratifiedGroupKFold."""
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # rare classes warn here; _finish says precisely which set lacks which class
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        try:
            return list(cv.split(np.zeros(len(y)), y, groups))
        except ValueError as error:  # e.g. every class has fewer clips than there are folds
            raise ConfigError(f"{what}: {error}") from None


def _hold_out(
    y: np.ndarray, groups: np.ndarray, n_splits: int, seed: int, what: str, min_rest_actors: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rest, held_out): the first fold that leaves `min_rest_actors` actors in the rest.

    Normally the very first fold; a later one only when the first holds out so many actors (few actors,
    uneven folds) that the rest could not be split again.
    """
    folds = _group_folds(y, groups, n_splits, seed, what)
    for rest, held_out in folds:
        if len(held_out) and len(np.unique(groups[rest])) >= min_rest_actors:
            return rest, held_out
    return folds[0]


def _carve_val(
    rest: np.ndarray, y: np.ndarray, groups: np.ndarray, fraction: float, seed: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) positions: validation actors held out of `rest` by the same method."""
    n_rest = len(np.unique(groups[rest]))
    if n_rest < 2:
        raise ConfigError(f"{what}: only {n_rest} actor left after the test set, none to spare for validation")
    train, val = _hold_out(y[rest], groups[rest], _n_folds(fraction, n_rest), seed, what, min_rest_actors=1)
    return rest[train], rest[val]


def _ordered_classes(y: np.ndarray) -> list[str]:
    present = set(y.tolist())
    return [e for e in EMOTIONS if e in present] + sorted(present - set(EMOTIONS))


def _finish(split: dict[str, np.ndarray], y: np.ndarray, groups: np.ndarray, what: str) -> dict[str, np.ndarray]:
    """Sort the indices and refuse a split in which a set misses a class of the data."""
    split = {name: np.sort(np.asarray(split[name], dtype=np.int64)) for name in SETS}
    for cls in _ordered_classes(y):
        for name in SETS:
            if not np.any(y[split[name]] == cls):
                n_actors = len(np.unique(groups[y == cls]))
                raise ConfigError(
                    f"{what}: class {cls!r} has no clip in the {name} set ({n_actors} actor(s) have it); "
                    "choose other fractions or another seed"
                )
    return split


def speaker_split(
    manifest: pd.DataFrame,
    test_fraction: float = SPLIT.test_fraction,
    val_fraction: float = SPLIT.val_fraction,
    seed: int = SPLIT.split_seed,
) -> dict[str, np.ndarray]:
    """Speaker-independent, emotion-stratified train/val/test split.

    test takes ~test_fraction of the actors, val ~val_fraction of the remaining ones. The number of folds
    is capped by the number of actors, so 3 actors give one actor per set.
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    y, groups = _labels_and_groups(manifest)
    n_actors = len(np.unique(groups))
    what = f"speaker split (seed={seed})"
    if n_actors < MIN_ACTORS:
        raise ConfigError(f"{what}: needs at least {MIN_ACTORS} actors (train, val, test), the data has {n_actors}")
    rest, test = _hold_out(y, groups, _n_folds(test_fraction, n_actors), seed, what, min_rest_actors=2)
    train, val = _carve_val(rest, y, groups, val_fraction, seed, what)
    return _finish({"train": train, "val": val, "test": test}, y, groups, what)


def actor_kfold(
    manifest: pd.DataFrame, k: int = SPLIT.cv_folds, seed: int = SPLIT.split_seed
) -> list[dict[str, np.ndarray]]:
    """k speaker-independent folds: each actor is in exactly one fold's test set.

    Validation is carved from each fold's remaining actors with the same method, 1/(k-1) of them (so val
    is about the size of test; half of them for k=2), at least one actor.
    """
    y, groups = _labels_and_groups(manifest)
    n_actors = len(np.unique(groups))
    if k < 2:
        raise ConfigError(f"parameter k={k}: must be at least 2")
    if n_actors < MIN_ACTORS:
        raise ConfigError(f"actor k-fold needs at least {MIN_ACTORS} actors, the data has {n_actors}")
    if k > n_actors:
        raise ConfigError(f"parameter k={k}: more folds than actors ({n_actors})")
    folds = []
    fold_parts = _group_folds(y, groups, k, seed, f"actor k-fold (k={k}, seed={seed})")
    for i, (rest, test) in enumerate(fold_parts):
        what = f"actor k-fold fold {i} (k={k}, seed={seed})"
        train, val = _carve_val(rest, y, groups, 1.0 / (k - 1), seed, what)
        folds.append(_finish({"train": train, "val": val, "test": test}, y, groups, what))
    return folds


def published_kfold(manifest: pd.DataFrame, folder, seed: int = SPLIT.split_seed):
    """Folds from published fold files (emotion/corpus/published_folds.py): (splits, fold numbers, report).

    Validation is carved from each fold's training actors as actor_kfold does, 1/(k-1) of them.
    """
    from emotion.corpus.published_folds import fold_files, published_folds

    y, groups = _labels_and_groups(manifest)
    k = len(fold_files(folder))
    fraction = 1.0 / (k - 1) if k > 2 else 0.5

    def carve(rest: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
        return _carve_val(rest, y, groups, fraction, seed, what)

    splits, numbers, report = published_folds(manifest, folder, carve)
    finished = [_finish(split, y, groups, f"published fold {n}") for split, n in zip(splits, numbers)]
    return finished, numbers, report


def rotated_validation(
    manifest: pd.DataFrame, split: dict[str, np.ndarray], k: int, seed: int = SPLIT.split_seed
) -> list[dict[str, np.ndarray]]:
    """The splits with `split`'s test set whose validation sets are, in turn, each inner fold of its
    non-test actors (the same carve actor_kfold(k, seed) made), starting with `split` itself.

    Models trained on these and averaged have, together, trained on every non-test actor, while each
    still stops early on speakers it never saw. The test set is never touched.
    """
    y, groups = _labels_and_groups(manifest)
    rest = np.sort(np.concatenate([split["train"], split["val"]]))
    n_rest = len(np.unique(groups[rest]))
    what = f"rotated validation (k={k}, seed={seed})"
    inner = [
        rest[held_out]
        for _, held_out in _group_folds(y[rest], groups[rest], _n_folds(1.0 / (k - 1), n_rest), seed, what)
    ]
    start = next((i for i, val in enumerate(inner) if np.array_equal(np.sort(val), split["val"])), 0)
    out = []
    for val in inner[start:] + inner[:start]:
        if len(val):
            train = np.setdiff1d(rest, val)
            out.append(_finish({"train": train, "val": val, "test": split["test"]}, y, groups, what))
    return out


def random_split_leaky(
    manifest: pd.DataFrame,
    test_fraction: float = SPLIT.test_fraction,
    val_fraction: float = SPLIT.val_fraction,
    seed: int = SPLIT.split_seed,
) -> dict[str, np.ndarray]:
    """Stratified random split that LEAKS SPEAKERS: one actor's clips land in train and test.

    It exists only to reproduce published random-split numbers for comparison: the same RAVDESS model
    scored 95.8% on a random split and 48% leave-one-speaker-out, because a model can recognise the voice
    instead of the emotion. Never report it as the headline result.
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    y, groups = _labels_and_groups(manifest)
    positions = np.arange(len(y))
    try:
        rest, test = train_test_split(positions, test_size=test_fraction, stratify=y, random_state=seed)
        train, val = train_test_split(rest, test_size=val_fraction, stratify=y[rest], random_state=seed)
    except ValueError as error:  # a class too small to stratify, or too few clips
        raise ConfigError(f"random split (seed={seed}): {error}") from None
    return _finish({"train": train, "val": val, "test": test}, y, groups, f"random split (seed={seed})")


def manifest_split(
    manifest: pd.DataFrame, val_fraction: float = SPLIT.val_fraction, seed: int = SPLIT.split_seed
) -> dict[str, np.ndarray]:
    """The split a manifest file's `split` column names (a published one). Validation, when the column
    names none, is carved from the training speakers as speaker_split does. Rows with an empty value are
    in no set. A speaker in test and in train or val is refused: the evaluation stays speaker-independent."""
    what = "parameter split=manifest"
    if "split" not in manifest.columns:
        raise ConfigError(f"{what}: the clips have no split column (give manifest=FILE with a train/val/test column)")
    y, groups = _labels_and_groups(manifest)
    sets = manifest["split"].fillna("").to_numpy(dtype=str)
    split = {name: np.flatnonzero(sets == name) for name in SETS}
    for name in ("train", "test"):
        if not len(split[name]):
            raise ConfigError(f"{what}: no clip has split {name!r} (values: {', '.join(sorted(set(sets))) or 'none'})")
    if not len(split["val"]):
        split["train"], split["val"] = _carve_val(split["train"], y, groups, val_fraction, seed, what)
    shared = sorted(map(str, set(groups[split["test"]]) & set(groups[np.concatenate([split["train"], split["val"]])])))
    if shared:
        raise ConfigError(
            f"{what}: speaker {shared[0]!r} has clips in test and in train or val ({len(shared)} such speakers); "
            "a published split must keep each speaker in one set"
        )
    return _finish(split, y, groups, what)


def make_split(manifest: pd.DataFrame, split_config: SplitConfig) -> dict[str, np.ndarray]:
    """The split a run's SplitConfig asks for."""
    args = (manifest, split_config.test_fraction, split_config.val_fraction, split_config.split_seed)
    if split_config.split == "speaker":
        return speaker_split(*args)
    if split_config.split == "random_leaky":
        return random_split_leaky(*args)
    if split_config.split == "manifest":
        return manifest_split(manifest, split_config.val_fraction, split_config.split_seed)
    raise ConfigError(f"parameter split={split_config.split!r}: expected one of speaker, random_leaky, manifest")


def describe_split(manifest: pd.DataFrame, split: dict[str, np.ndarray]) -> dict:
    """Per set: clip count, sorted actors and per-emotion counts (zeros shown), for logging."""
    classes = _ordered_classes(manifest["emotion"].to_numpy(dtype=str))
    out = {}
    for name, positions in split.items():
        part = manifest.iloc[positions]
        counts = part["emotion"].value_counts()
        out[name] = {
            "n_clips": int(len(part)),
            "actors": sorted(part["actor"].astype(str).unique().tolist()),
            "emotions": {cls: int(counts.get(cls, 0)) for cls in classes},
        }
    return out
