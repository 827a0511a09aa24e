"""Shared fixtures: an isolated feature cache and tracking store per test session, the real-data folder;
and the test order that keeps the xdist workers busy to the end."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import mlflow.tracking.fluent
import pytest


def _share_the_cpus_between_workers() -> None:
    """TensorFlow's and OpenMP's thread pools in each xdist worker, and in the processes it starts, get
    the worker's share of the CPUs. With 3 workers on 2 CPUs, a pool of one thread per CPU in every
    process oversubscribed them: the whole suite took 874 s, and 774, 782 and 961 s with one thread
    each (2026-12-03, a noisy shared machine). CTranslate2's replicas still follow os.cpu_count()
    (emotion/features/whisper.py). Set before TensorFlow starts; a value already in the environment wins."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))  # set before a worker reads conftest
    if workers:
        share = str(max(1, (os.cpu_count() or 1) // workers))
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(name, share)


_share_the_cpus_between_workers()

from emotion.corpus.dev_paths import RAVDESS16K  # noqa: E402  (after the thread settings: it may start TensorFlow)

ROOT = Path(__file__).resolve().parents[1]
PRISTINE_MLFLOW_ENV = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}  # before any test ran


def pytest_addoption(parser):
    parser.addoption(
        "--extended",
        action="store_true",
        help="also run the tests marked extended (end-to-end runs whose code paths the default suite covers)",
    )


EXTENDED_SKIP = pytest.mark.skip(reason="extended: `pytest --extended` runs it (README, Quick start)")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the order and the groups
def pytest_collection_modifyitems(config, items):
    """Extended tests are skipped without --extended: CI's 15 minutes (README, Quick start). A skip,
    not a deselection, so the count and the reason reach the summary under xdist too. Slow tests
    first: xdist hands tests out in this order, so the multi-minute ones start at once and the short
    ones even out the workers' ends (seen before: the last minutes of CI on one worker alone)."""
    if not config.getoption("--extended"):
        for item in items:
            if item.get_closest_marker("extended"):
                item.add_marker(EXTENDED_SKIP)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept within each group


@pytest.fixture(autouse=True)
def isolated_mlflow_state():
    """mlflow.set_experiment / set_tracking_uri are process-global (the former also sets
    MLFLOW_EXPERIMENT_ID): without this, one test's store or experiment leaks into the next."""
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)  # the global URI outranks MLFLOW_TRACKING_URI: forget it
    for key in [k for k in os.environ if k.startswith("MLFLOW_")]:
        del os.environ[key]
    os.environ.update(PRISTINE_MLFLOW_ENV)
    mlflow.tracking.fluent._active_experiment_id = None  # no public reset exists in MLflow 3.17


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One feature cache (and built-in corpus) for the whole session, shared by its xdist workers (the
    cache and the corpus build are safe for concurrent writers): each clip is encoded once, not once per
    worker."""
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's basetemp is <session basetemp>/popen-gwN
        shared = tmp_path_factory.getbasetemp().parent / "emotion-cache"
        shared.mkdir(exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("emotion-cache")


@pytest.fixture(scope="session")
def ravdess16k() -> Path:
    if not RAVDESS16K.is_dir():
        pytest.skip(f"real RAVDESS folder not found at {RAVDESS16K} (only present on the team's dev and CI machines)")
    return RAVDESS16K


def subprocess_env(cache_dir: Path, tracking_uri: str) -> dict[str, str]:
    """Environment for a child process: this session's cache and tracking store, no inherited run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"EMOTION_CACHE_DIR": str(cache_dir), "MLFLOW_TRACKING_URI": tracking_uri, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return env


def half_written(cache_dir: Path, pid: int) -> list[Path]:
    """Cache entries a process left half-written (its temp files; other workers may be mid-write)."""
    return [path for path in cache_dir.rglob("*.tmp") if f".{pid}." in path.name]
