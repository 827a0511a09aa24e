"""Shared fixtures: an isolated feature cache and tracking store per test session, the real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RAVDESS16K = ROOT.parent / "shared" / "data" / "ravdess16k"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One feature cache (and built-in corpus) for the whole session: generated once, reused."""
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
