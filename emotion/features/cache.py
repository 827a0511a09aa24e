"""On-disk feature cache: one .npy per (file content, feature parameters), safe for concurrent writers.

The key hashes the file's bytes, not its path or mtime: a re-encoded or replaced clip never reuses a stale
entry, and a copy of the corpus in another folder reuses the same entries. Processes that fill it at once
(Optuna workers, the test suite's workers) share the work: a clip another process is computing is left to
it and read back at the end, not computed twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from emotion.errors import BadInputError
from emotion.features.progress import progress

CHUNK_BYTES = 1 << 20  # hash files in 1 MiB chunks: constant memory for any clip size
# A claim held this long (its process stopped or hung, not dead: the OS drops a dead one's) is not waited
# out: the clip is computed here too. One clip takes seconds, even a 60-s one through a large encoder.
CLAIM_WAIT_SECONDS = 600.0
CLAIM_POLL_SECONDS = 0.05


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

    def has(self, path, params: dict) -> bool:
        """Whether an entry for the file and parameters is stored (not whether it loads)."""
        try:
            return self.path_for(self.key(path, params)).is_file()
        except OSError:
            return False

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

    @contextmanager
    def claim(self, key: str, wait: bool) -> Iterator[bool]:
        """Yields True when this thread should compute `key`: it holds the claim (an flock, which the OS
        drops if the holder dies: no stale claims), or claims cannot be taken on this filesystem; False if
        another process or thread holds it, at once (wait=False) or after CLAIM_WAIT_SECONDS. Only saves
        work, and not always all of it (after a holder that failed, a waiter and a newcomer may both
        compute): put() is atomic, so two computations of one key still leave one whole entry."""
        lock = self.root / key[:2] / f".{key}.lock"
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            handle = open(lock, "a")  # one open file description per call: threads exclude each other too
        except OSError:  # a read-only cache: no claims, as before them (put reports the real problem)
            yield True
            return
        with handle:
            deadline = time.monotonic() + (CLAIM_WAIT_SECONDS if wait else 0.0)
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(CLAIM_POLL_SECONDS)
                except OSError:  # a filesystem without flock (NFS with nolock, some FUSE mounts): no claims
                    yield True
                    return
            try:
                yield True
            finally:
                # Removed while held, so no lock file outlives its entry. A process already waiting on it
                # then holds a removed file beside a new one's holder; both find the entry first.
                lock.unlink(missing_ok=True)
                fcntl.flock(handle, fcntl.LOCK_UN)

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

    def one(path, wait: bool = False) -> tuple[np.ndarray | None, str | None] | None:
        """(array, failure reason); None when another process is computing it (wait=False)."""
        key = None
        if cache is not None:
            try:
                key = cache.key(path, params)
            except OSError:
                key = None  # missing or unreadable: let compute() raise the user-facing reason
            hit = cache.get(key) if key is not None else None
            if hit is not None:
                return hit, None
        with cache.claim(key, wait) if key is not None else nullcontext(True) as mine:
            if not mine and not wait:
                return None  # left to the process computing it; read back after the rest
            # mine, or its holder kept it past CLAIM_WAIT_SECONDS: computed here all the same
            hit = cache.get(key) if key is not None else None  # finished while this process waited or looked
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
    with ThreadPoolExecutor(max_workers=workers) if workers > 1 else nullcontext() as pool:
        mapped = pool.map(one, paths) if pool else map(one, paths)  # in path order either way
        outcomes = list(progress(mapped, desc=desc, unit="clip", total=len(paths)))
    # Clips another process held: wait for its claim, then the cache has them (or its failure repeats here)
    held = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if held:  # shown, not a silent pause after a full bar
        waited = progress(
            (one(paths[i], wait=True) for i in held), desc=f"{desc}, held by other processes", total=len(held)
        )
        for i, outcome in zip(held, waited):
            outcomes[i] = outcome
    results = [array for array, _ in outcomes]
    failures = [(str(path), reason) for path, (_, reason) in zip(paths, outcomes) if reason is not None]
    return results, failures
