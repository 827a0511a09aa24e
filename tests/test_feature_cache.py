"""Feature cache: keys, hits and misses, corrupt entries, atomic concurrent writes; video feature files."""

from __future__ import annotations

import errno
import multiprocessing
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion.config import FeatureConfig
from emotion.errors import BadInputError
from emotion.features import cache as cache_module
from emotion.features.cache import FeatureCache, default_cache_dir, extract_many
from emotion.features.video import VIDEO_FPS, load_video_features

PARAMS = {"n_mels": 40, "hop_ms": 10.0, "feature_version": 1}


def bytes_feature(path) -> np.ndarray:
    """A cheap deterministic 'feature' of a file (no TensorFlow): its bytes as a column.  # (T, 1)"""
    data = Path(path).read_bytes()
    if not data:
        raise BadInputError(path, "empty file (0 bytes)")
    return np.frombuffer(data, np.uint8).astype(np.float32)[:, None]


def cache_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def clip(tmp_path) -> Path:
    path = tmp_path / "clip.bin"
    path.write_bytes(bytes(range(256)) * 4)
    return path


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOTION_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("EMOTION_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "emotion"


def test_hit_returns_the_identical_array(tmp_path, clip):
    cache = FeatureCache(tmp_path / "cache")
    key = cache.key(clip, PARAMS)
    assert len(key) == 64 and cache.get(key) is None
    array = np.random.default_rng(0).normal(size=(37, 40)).astype(np.float32)
    cache.put(key, array)
    hit = cache.get(key)
    assert hit.dtype == array.dtype and np.array_equal(hit, array)
    assert cache_files(tmp_path / "cache") == [tmp_path / "cache" / key[:2] / f"{key}.npy"]


def test_key_changes_with_params_and_file_bytes_not_with_dict_order(tmp_path, clip):
    cache = FeatureCache(tmp_path / "cache")
    key = cache.key(clip, PARAMS)
    cache.put(key, np.ones((3, 2), np.float32))
    assert cache.key(clip, dict(reversed(list(PARAMS.items())))) == key
    changed_param = cache.key(clip, {**PARAMS, "hop_ms": 12.5})
    assert changed_param != key and cache.get(changed_param) is None
    clip.write_bytes(clip.read_bytes()[:-1] + b"\x00")  # same size, last byte changed
    changed_file = cache.key(clip, PARAMS)
    assert changed_file != key and cache.get(changed_file) is None


def test_same_bytes_elsewhere_share_the_key(tmp_path, clip):
    copy = tmp_path / "other" / "clip.bin"
    copy.parent.mkdir()
    copy.write_bytes(clip.read_bytes())
    cache = FeatureCache(tmp_path / "cache")
    assert cache.key(copy, PARAMS) == cache.key(clip, PARAMS)


@pytest.mark.parametrize("garbage", [b"", b"not a numpy file", b"\x93NUMPY\x01\x00truncated"])
def test_corrupt_entry_is_a_miss_and_gets_recomputed(tmp_path, clip, garbage):
    cache = FeatureCache(tmp_path / "cache")
    key = cache.key(clip, PARAMS)
    entry = cache.path_for(key)
    entry.parent.mkdir(parents=True)
    entry.write_bytes(garbage)
    assert cache.get(key) is None
    results, failures = extract_many([clip], bytes_feature, PARAMS, cache)
    assert failures == [] and np.array_equal(results[0], bytes_feature(clip))
    assert np.array_equal(cache.get(key), bytes_feature(clip))  # overwritten with the good entry


def test_failed_put_leaves_no_temp_file(tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    with pytest.raises(ValueError):
        cache.put("ab" * 32, np.array([{"a": 1}], dtype=object))  # needs pickle: refused
    assert cache_files(tmp_path / "cache") == []
    cache.put("cd" * 32, np.zeros(3))
    assert [p.name for p in cache_files(tmp_path / "cache")] == ["cd" * 32 + ".npy"]


def test_extract_many_skips_a_bad_file_and_caches_the_rest(tmp_path):
    from emotion.features.audio import extract_audio_features, feature_params

    config = FeatureConfig()
    rng = np.random.default_rng(3)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"good{i}.wav")
        sf.write(paths[-1], rng.normal(0, 0.1, 8000 + 1000 * i).astype(np.float32), 16_000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all" * 10)
    missing = tmp_path / "missing.wav"
    paths = [paths[0], bad, paths[1], missing, paths[2]]

    calls = []

    def compute(path):
        calls.append(path)
        return extract_audio_features(path, config)

    cache = FeatureCache(tmp_path / "cache")
    results, failures = extract_many(paths, compute, feature_params(config), cache)
    assert [r is None for r in results] == [False, True, False, True, False]
    assert [r.shape[0] for r in results if r is not None] == [1 + (n - 400) // 160 for n in (8000, 9000, 10000)]
    assert [f[0] for f in failures] == [str(bad), str(missing)]
    assert "not decodable as audio" in failures[0][1] and failures[1][1] == "file not found"

    calls.clear()
    again, failures_again = extract_many(paths, compute, feature_params(config), cache)
    assert calls == [bad, missing]  # the good files came from the cache
    assert failures_again == failures
    for first, second in zip(results, again):
        assert (first is None and second is None) or np.array_equal(first, second)


def test_extract_many_lets_other_errors_propagate(tmp_path, clip):
    def broken(path):
        raise RuntimeError("a bug, not a bad file")

    with pytest.raises(RuntimeError, match="a bug"):
        extract_many([clip], broken, PARAMS, FeatureCache(tmp_path / "cache"))


def test_extract_many_without_cache(clip):
    results, failures = extract_many([clip], bytes_feature, PARAMS, None)
    assert failures == [] and results[0].shape == (1024, 1)


def test_extract_many_on_two_workers_runs_two_clips_at_once_and_keeps_path_order(tmp_path):
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"clip{i}.bin")
        paths[-1].write_bytes(bytes([i]) * (100 + i))
    bad = tmp_path / "missing.bin"
    together = threading.Barrier(2, timeout=30)  # broken (an error, not a skip) unless two computes overlap

    def compute(path):
        if not Path(path).exists():
            raise BadInputError(path, "file not found")
        together.wait()
        return bytes_feature(path)

    order = [paths[0], paths[1], bad, *paths[2:]]
    results, failures = extract_many(order, compute, PARAMS, FeatureCache(tmp_path / "cache"), workers=2)
    assert [None if r is None else len(r) for r in results] == [100, 101, None, 102, 103, 104, 105]
    assert failures == [(str(bad), "file not found")]
    assert all(np.array_equal(r, bytes_feature(p)) for r, p in zip(results, order) if r is not None)


# --- two processes filling the same keys ---------------------------------------------------------------


def _in_two_processes(target, *args) -> list:
    """Run target(*args, barrier, outcomes) in two spawned processes started together; what each put."""
    ctx = multiprocessing.get_context("spawn")
    barrier, outcomes = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args, barrier, outcomes)) for _ in range(2)]
    for w in workers:
        w.start()
    results = [outcomes.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    return results


def _fill(root: str, paths: list[str], rounds: int, barrier, errors) -> None:
    """Write every key `rounds` times (order reversed on odd rounds), reading each back after the first write."""
    cache = FeatureCache(root)
    barrier.wait()  # start together so the writes overlap
    bad = 0
    for r in range(rounds):
        order = paths if r % 2 == 0 else paths[::-1]
        extract_many(order, bytes_feature, PARAMS, cache)
        for path in order:
            key = cache.key(path, PARAMS)
            cache.put(key, bytes_feature(path))  # forced rewrite while the other process reads
            hit = cache.get(key)
            if hit is None or not np.array_equal(hit, bytes_feature(path)):
                bad += 1
    errors.put(bad)


def test_two_processes_fill_the_same_keys(tmp_path):
    rng = np.random.default_rng(4)
    paths = []
    for i in range(12):
        paths.append(tmp_path / f"clip{i}.bin")
        paths[-1].write_bytes(rng.integers(0, 256, 400_000 + i, dtype=np.uint8).tobytes())  # ~1.6 MB entries
    root = tmp_path / "cache"
    bad_reads = _in_two_processes(_fill, str(root), [str(p) for p in paths], 3)
    assert bad_reads == [0, 0]  # no reader ever saw a half-written or wrong entry
    cache = FeatureCache(root)
    for path in paths:
        assert np.array_equal(cache.get(cache.key(path, PARAMS)), bytes_feature(path))
    assert len(cache_files(root)) == len(paths)  # one entry per key, no temp files left
    assert all(p.suffix == ".npy" and not p.name.startswith(".") for p in cache_files(root))


def _fill_slowly(root: str, paths: list[str], log: str, barrier, outcomes) -> None:
    """extract_many with a compute that takes 0.2 s and appends each clip it computes to `log`."""

    def compute(path):
        with open(log, "a") as handle:  # O_APPEND: one short line per write, whole, from either process
            handle.write(f"{path}\n")
        time.sleep(0.2)
        return bytes_feature(path)

    barrier.wait()  # start together: without claims each process would compute nearly every clip
    results, failures = extract_many(paths, compute, PARAMS, FeatureCache(root))
    right = [r is not None and np.array_equal(r, bytes_feature(p)) for r, p in zip(results, paths)]
    outcomes.put((right, failures))


def test_two_processes_share_the_clips_instead_of_computing_each_twice(tmp_path):
    paths = []
    for i in range(10):
        paths.append(str(tmp_path / f"clip{i}.bin"))
        Path(paths[-1]).write_bytes(bytes([i + 1]) * (50 + i))
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")  # a bad file: its failure is not cached, so both processes must report it
    order = [*paths[:5], str(empty), *paths[5:]]
    log, root = tmp_path / "computed.txt", tmp_path / "cache"
    results = _in_two_processes(_fill_slowly, str(root), order, str(log))
    computed = log.read_text().splitlines()
    assert sorted(c for c in computed if c != str(empty)) == sorted(paths)  # each good clip once, in one process
    for right, failures in results:  # both got every clip's features and the bad file's reason
        assert right == [True] * 5 + [False] + [True] * 5
        assert failures == [(str(empty), "empty file (0 bytes)")]
    assert all(p.suffix == ".npy" for p in cache_files(root))  # no claim left behind


def test_a_claim_held_past_the_wait_is_computed_here_anyway(tmp_path, clip, monkeypatch):
    """A stopped (not dead) process keeps its claim: after CLAIM_WAIT_SECONDS the clip is computed here."""
    monkeypatch.setattr(cache_module, "CLAIM_WAIT_SECONDS", 0.3)
    cache = FeatureCache(tmp_path / "cache")
    with cache.claim(cache.key(clip, PARAMS), wait=False) as held:  # as the stopped process holds it
        assert held
        start = time.monotonic()
        results, failures = extract_many([clip], bytes_feature, PARAMS, cache)
        waited = time.monotonic() - start
    assert failures == [] and np.array_equal(results[0], bytes_feature(clip))
    assert waited >= 0.3  # it did wait for the holder first


def test_a_filesystem_without_flock_computes_without_claims(tmp_path, clip, monkeypatch):
    """NFS mounted with nolock refuses flock (ENOLCK): features are computed and cached as before claims."""

    def refuse(handle, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(cache_module.fcntl, "flock", refuse)
    cache = FeatureCache(tmp_path / "cache")
    results, failures = extract_many([clip], bytes_feature, PARAMS, cache)
    assert failures == [] and np.array_equal(results[0], bytes_feature(clip))
    assert np.array_equal(cache.get(cache.key(clip, PARAMS)), bytes_feature(clip))


# --- per-frame video features -------------------------------------------------------------------------------


def test_video_fps_is_four_audio_hops():
    assert 1000 / VIDEO_FPS == 4 * FeatureConfig().hop_ms


def test_video_features_load_as_float32(tmp_path):
    path = tmp_path / "clip.video.npy"
    frames = np.random.default_rng(5).normal(size=(50, 16))  # float64 on disk
    np.save(path, frames)
    loaded = load_video_features(path)
    assert loaded.dtype == np.float32 and loaded.shape == (50, 16)
    np.testing.assert_allclose(loaded, frames, rtol=1e-6)


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("nan", "NaN or infinite"),
        ("too_big_for_float32", "NaN or infinite"),
        ("no_frames", "empty (0 frames)"),
        ("one_dim", "expected a 2-D"),
        ("three_dim", "expected a 2-D"),
        ("garbage", "not a valid .npy file"),
        ("pickled", "not a valid .npy file"),
        ("strings", "not real-valued"),
        ("zero_bytes", "empty file (0 bytes)"),
        ("missing", "file not found"),
    ],
)
def test_bad_video_features(tmp_path, kind, reason):
    path = tmp_path / f"{kind}.video.npy"
    if kind == "nan":
        frames = np.ones((10, 4), np.float32)
        frames[3, 2] = np.nan
        np.save(path, frames)
    elif kind == "too_big_for_float32":
        np.save(path, np.full((10, 4), 1e300))
    elif kind == "no_frames":
        np.save(path, np.zeros((0, 4), np.float32))
    elif kind == "one_dim":
        np.save(path, np.ones(10, np.float32))
    elif kind == "three_dim":
        np.save(path, np.ones((10, 4, 2), np.float32))
    elif kind == "garbage":
        path.write_bytes(b"\x00\x01 definitely not numpy " * 20)
    elif kind == "pickled":
        np.save(path, np.array([{"frame": 1}], dtype=object), allow_pickle=True)
    elif kind == "strings":
        np.save(path, np.array([["a", "b"], ["c", "d"]]))
    elif kind == "zero_bytes":
        path.write_bytes(b"")
    with pytest.raises(BadInputError) as caught:
        load_video_features(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and reason in message and "\n" not in message
