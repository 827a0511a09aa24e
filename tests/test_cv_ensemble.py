"""cv_seeds: each fold is scored by the mean probabilities of models trained with consecutive seeds."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from emotion.config import build_config
from emotion.cv import cross_validate
from emotion.errors import ConfigError


@pytest.mark.slow
def test_each_fold_averages_its_seed_models(cache_dir, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    config = build_config("cnn_pooling", {"max_actors": "6", "cv_folds": "3", "epochs": "2", "cv_seeds": "2"})
    result = cross_validate(config, cache_dir)
    children = mlflow.search_runs(search_all_experiments=True, filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'", output_format="list")
    assert sorted(r.info.run_name for r in children) == [f"fold-{i}-seed-{k}" for i in range(3) for k in range(2)]
    assert {r.data.params["seed"] for r in children} == {"42", "43"}
    assert len(result.folds) == 3 and result.confusion.sum() == sum(
        int(r.data.params["n_test"]) for r in children if r.info.run_name.endswith("seed-0")
    )
    for i, row in result.folds.iterrows():  # a fold row summarises its two member runs
        members = [r for r in children if r.info.run_name.startswith(f"fold-{i}-")]
        assert row["epochs"] == np.mean([m.data.metrics["epochs_run"] for m in members])
        assert 0.0 <= row["test_ua"] <= 1.0
    with pytest.raises(ConfigError, match="cv_seeds"):
        build_config("cnn_pooling", {"cv_seeds": "0"})
