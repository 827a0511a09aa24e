"""Two trainings started at once on an empty cache: both build the built-in corpus and fill the same
feature cache, and what is left is one correct cache (one whole entry per clip, no temporary files)."""

from __future__ import annotations

import subprocess
import sys

import mlflow
import numpy as np
import pytest

from conftest import subprocess_env
from emotion.config import build_config
from emotion.data.synthetic import builtin_corpus_dir
from emotion.features.cache import FeatureCache
from emotion.features.extractors import audio_extractor

ARGS = ["cnn_pooling", "max_actors=4", "epochs=2"]


@pytest.mark.slow
def test_two_trainings_fill_one_cache(tmp_path):
    cache = tmp_path / "cache"
    runs = []
    for name in ("a", "b"):
        env = subprocess_env(cache, f"sqlite:///{tmp_path}/{name}.db")
        runs.append(
            subprocess.Popen(
                [sys.executable, "-m", "emotion.cli", "train", *ARGS],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]

    corpus = builtin_corpus_dir(cache)
    clips = sorted(p for actor in sorted(corpus.glob("Actor_*"))[:4] for p in actor.glob("*.wav"))
    compute, params = audio_extractor(build_config(*ARGS[:1]).features)
    store = FeatureCache(cache / "features")
    for clip in clips:  # every entry whole and equal to a fresh computation
        np.testing.assert_array_equal(store.get(store.key(clip, params)), compute(str(clip)))
    entries = list((cache / "features").rglob("*"))
    assert len([p for p in entries if p.is_file()]) == len(clips) == 120  # one entry per clip, nothing else
    assert not [p for p in cache.rglob("*") if p.name.startswith((".building-", ".")) or p.suffix == ".tmp"]

    metrics = []
    for name in ("a", "b"):
        mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/{name}.db")
        (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
        metrics.append({k: v for k, v in run.data.metrics.items() if k.startswith(("test_", "val_"))})
    assert metrics[0] == metrics[1]  # same seed, same data, run side by side: the same numbers
