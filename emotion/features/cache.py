"""On-disk feature cache: one .npy per (file content, feature parameters), safe for concurrent writers.

The key hashes the file's bytes, not its path or mtime: a re-encoded or replaced clip never reuses a stale
entry, and a copy of the corpus in another folder reuses the same entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from emotion.errors import BadInputError
from emotion.features.progress import progress

CHUNK_BYTES = 1 << 20  # hash files in 1 MiB chunks: constant memory for any clip size


def default_cache_dir() -> Path:
    """$EMOTION_CACHE_DIR if set, else ~/.cache/emotion."""
    override = os.environ.get("EMOTION_CACHE_DIR")
    return Path(override).expanduser() if override else Path.home() / ".cache" / "emotion"


class FeatureCache:
    """Arrays stored as `root/<key[:2]>/<key>.npy` (two-character fan-out keeps folders small)."""

    def __init__(self, root):
        self.root = Path(root)

    def key(self, path, params: dict) -> str:
        """sha256 of the file's bytes and the parameters; raises OSError when the file cannot be read."""
        content = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                content.update(chunk)
        # Hash a JSON record of both parts, not their concatenation: no file can mimic other parameters.
        record = json.dumps({"content": content.hexdigest(), "params": params}, sort_keys=True)
        return hashlib.sha256(record.encode("utf-8")).hexdigest()

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The stored array, or None when absent or unloadable (a corrupt entry is a miss, then overwritten)."""
        try:
            array = np.load(self.path_for(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if not isinstance(array, np.ndarray):  # an .npz archive where an .npy belongs: corrupt
            array.close()
            return None
        return array

    def put(self, key: str, array: np.ndarray) -> None:
        """Write atomically: readers see the old entry or the whole new one, never part of a file."""
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Unique temp name in the same folder (same filesystem, so os.replace is an atomic rename);
        # opened with "xb" rather than mkstemp so the entry gets umask permissions, not 0600.
        temp = target.parent / f".{key}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        try:
            with open(temp, "xb") as handle:
                np.save(handle, np.asarray(array), allow_pickle=False)
            os.replace(temp, target)  # last writer wins; both wrote the same bytes for the same key
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def extract_many(
    paths: Iterable,
    compute: Callable[[str], np.ndarray],
    params: dict,
    cache: FeatureCache | None,
    desc: str = "features",
    workers: int = 1,
) -> tuple[list[np.ndarray | None], list[tuple[str, str]]]:
    """Features for every path (cached or `compute(path)`); a BadInputError skips that file, not the run.

    Returns one entry per path (None for a failed file) and the failures as (path, reason), in path order.
    `cache=None` computes everything. Any other exception propagates: it is a bug, not a bad file.
    `workers > 1` runs `compute` on that many threads: only for a compute that is thread-safe and
    releases the GIL (the Whisper encoder's CTranslate2 replicas), where it multiplies clips per second.
    """

    def one(path) -> tuple[np.ndarray | None, str | None]:
        key = None
        if cache is not None:
            try:
                key = cache.key(path, params)
            except OSError:
                key = None  # missing or unreadable: let compute() raise the user-facing reason
            hit = cache.get(key) if key is not None else None
            if hit is not None:
                return hit, None
        try:
            array = compute(path)
        except BadInputError as err:
            return None, err.reason
        if key is not None:
            cache.put(key, array)
        return array, None

    paths = list(paths)
    results: list[np.ndarray | None] = []
    failures: list[tuple[str, str]] = []
    with ThreadPoolExecutor(max_workers=workers) if workers > 1 else nullcontext() as pool:
        outcomes = pool.map(one, paths) if pool else map(one, paths)  # in path order either way
        for path, (array, reason) in zip(paths, progress(outcomes, desc=desc, unit="clip", total=len(paths))):
            results.append(array)
            if reason is not None:
                failures.append((str(path), reason))
    return results, failures
