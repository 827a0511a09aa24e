"""cv_seeds: each fold is scored by the mean probabilities of models trained with consecutive seeds
(cv_rotate_val: each on its own validation actors)."""

from __future__ import annotations

import io

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from emotion.config import build_config
from emotion.experiment.cv import cross_validate
from emotion.corpus.labels import EMOTIONS
from emotion.errors import ConfigError


@pytest.mark.slow
def test_each_fold_averages_its_members_and_rotated_members_validate_on_different_actors(cache_dir, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    overrides = {"max_actors": "6", "cv_folds": "3", "epochs": "1", "cv_seeds": "2", "cv_rotate_val": "true"}
    result = cross_validate(build_config("cnn_pooling", overrides), cache_dir)
    children = mlflow.search_runs(
        search_all_experiments=True, filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'", output_format="list"
    )
    assert sorted(r.info.run_name for r in children) == [
        f"cnn_pooling-builtin-fold-{i}-seed-{k}" for i in range(3) for k in range(2)
    ]
    assert {r.data.params["seed"] for r in children} == {"42", "43"}
    assert len(result.folds) == 3 and result.confusion.sum() == sum(
        int(r.data.params["n_test"]) for r in children if r.info.run_name.endswith("seed-0")
    )
    for i, row in result.folds.iterrows():  # a fold row summarises its two member runs
        first, second = sorted(
            (r for r in children if r.info.run_name.startswith(f"cnn_pooling-builtin-fold-{i}-")),
            key=lambda r: r.info.run_name,
        )
        assert row["epochs"] == np.mean([m.data.metrics["epochs_run"] for m in (first, second)])
        assert 0.0 <= row["test_ua"] <= 1.0
        assert first.data.params["test_actors"] == second.data.params["test_actors"]
        vals = [set(r.data.params["val_actors"].split(",")) for r in (first, second)]
        assert vals[0] and vals[1] and not vals[0] & vals[1]  # each member stops early on its own speakers
        assert vals[1] <= set(first.data.params["train_actors"].split(","))  # ... that the other trained on
    predictions = mlflow.load_table(
        "test_predictions.json", run_ids=[result.run_id]
    )  # the fold ensembles' probabilities
    assert len(predictions) == result.confusion.sum() and predictions["clip_id"].is_unique
    for i, fold in predictions.groupby("fold"):
        proba = fold[[f"p_{e}" for e in EMOTIONS]].to_numpy()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        truth = fold["true"].map(EMOTIONS.index).to_numpy()
        assert balanced_accuracy_score(truth, proba.argmax(axis=1)) == pytest.approx(result.folds.loc[i, "test_ua"])
    with pytest.raises(ConfigError, match="cv_seeds"):
        build_config("cnn_pooling", {"cv_seeds": "0"})


def test_test_probabilities_come_in_split_order_for_bucketed_variable_length_clips(cache_dir, tmp_path):
    """cv averages members' test probabilities row by row: rows must be the split's test clips in its
    order, whatever bucket boundaries the member's own training lengths drew."""
    from emotion.data.dataset import prepare_corpus
    from emotion.experiment.train import train

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    config = build_config(
        "no_aug", {"max_actors": "4", "modalities": "audio", "epochs": "1", "audio_units_1": "8", "audio_units_2": "8"}
    )
    corpus = prepare_corpus(config.data, config.features, cache_dir, allow_video=False)
    actors = corpus.manifest["actor"].to_numpy()
    first, second, third, fourth = sorted(set(actors))
    split = {
        name: np.flatnonzero(np.isin(actors, group))
        for name, group in (("train", [first, second]), ("val", [third]), ("test", [fourth]))
    }
    lengths = np.array([len(corpus.features["audio"][i]) for i in split["test"]])
    assert len(set(lengths.tolist())) > 3  # variable length: bucketing would reorder them
    result = train(config, cache_dir, corpus=corpus, split=split)
    assert np.array_equal(result.test_true, corpus.labels[split["test"]])
    assert result.test_proba.shape == (len(split["test"]), 8)
    # every run logs those rows, named, for reading errors per speaker and per clip without re-running
    logged = pd.read_csv(io.StringIO(mlflow.artifacts.load_text(f"runs:/{result.run_id}/test_predictions.csv")))
    assert list(logged["clip_id"]) == list(corpus.manifest["clip_id"].iloc[split["test"]])
    assert set(logged["speaker"]) == {fourth} and list(logged["path"]) == list(
        corpus.manifest["audio_path"].iloc[split["test"]]
    )
    assert list(logged["true"]) == [EMOTIONS[c] for c in result.test_true]
    np.testing.assert_allclose(logged[[f"p_{e}" for e in EMOTIONS]].to_numpy(), result.test_proba, rtol=1e-6)
    assert list(logged["predicted"]) == [EMOTIONS[c] for c in result.test_proba.argmax(axis=1)]
