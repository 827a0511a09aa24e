"""EmoBox-style published fold files over a corpus that lacks some of their actors."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest

from emotion.corpus.manifest import build_manifest
from emotion.corpus.splits import published_kfold
from emotion.data.synthetic import ensure_builtin_corpus
from emotion.errors import BadInputError, ConfigError

ABSENT_ACTOR = 23  # the built-in corpus has actors 1-12


def _line(stem: str, emotion: str = "Angry") -> str:
    return json.dumps(
        {"key": f"ravdess-{stem}", "wav": f"downloads/ravdess/{stem}.wav", "emo": emotion, "sample_rate": 48000}
    )


def write_folds(folder: Path, manifest, test_actors: dict[int, list[int]]) -> Path:
    """Fold n tests on its actors (+ one absent clip); trains on every other present clip (+ one absent)."""
    folder.mkdir(parents=True, exist_ok=True)
    stems = manifest["audio_path"].map(lambda p: Path(p).stem)
    actors = manifest["actor"].map(lambda a: int(a.split(":")[1]))
    absent = f"03-01-05-01-01-01-{ABSENT_ACTOR}"
    for fold, chosen in test_actors.items():
        test = [_line(s) for s in stems[actors.isin(chosen)]] + [_line(absent)]
        train = [_line(s) for s in stems[~actors.isin(chosen)]] + [_line(absent.replace("-01-01-", "-02-01-"))]
        (folder / f"ravdess_test_fold_{fold}.jsonl").write_text("\n".join(test) + "\n")
        (folder / f"ravdess_train_fold_{fold}.jsonl").write_text("\n".join(train) + "\n")
    return folder


@pytest.fixture(scope="module")
def manifest(cache_dir):
    return build_manifest(ensure_builtin_corpus(cache_dir), "auto")[0]


def test_folds_follow_the_files_absent_clips_are_counted_and_an_empty_fold_is_skipped(manifest, tmp_path):
    folder = write_folds(tmp_path / "folds", manifest, {1: [1, 2, 3], 2: [4, 5, 6], 3: [ABSENT_ACTOR]})
    splits, numbers, report = published_kfold(manifest, folder)
    assert numbers == [1, 2]
    assert report.skipped == {3: "none of its 1 test clips is in this corpus"}
    assert report.absent == {1: 1, 2: 1, 3: 1} and report.absent_train == {1: 1, 2: 1, 3: 1}
    actor = manifest["actor"].to_numpy()
    for split, expected in zip(
        splits, (["ravdess:01", "ravdess:02", "ravdess:03"], ["ravdess:04", "ravdess:05", "ravdess:06"])
    ):
        assert sorted(set(actor[split["test"]])) == expected
        assert not set(actor[split["test"]]) & (set(actor[split["train"]]) | set(actor[split["val"]]))
        assert not set(actor[split["train"]]) & set(actor[split["val"]])  # validation speakers never train
        assert len(split["train"]) + len(split["val"]) + len(split["test"]) == len(manifest)
    text = "\n".join(report.lines())
    assert "fold 3: 1 test clips listed, 1 absent here" in text and "skipped: none of its 1 test clips" in text


def test_bad_fold_folders_are_one_line_errors(manifest, tmp_path):
    with pytest.raises(ConfigError, match="not a folder"):
        published_kfold(manifest, tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no \\*_test_fold_N.jsonl"):
        published_kfold(manifest, tmp_path / "empty")
    only_absent = write_folds(tmp_path / "absent", manifest, {1: [ABSENT_ACTOR]})
    with pytest.raises(ConfigError, match="no fold has a test clip in this corpus"):
        published_kfold(manifest, only_absent)
    broken = write_folds(tmp_path / "broken", manifest, {1: [1, 2]})
    with open(broken / "ravdess_test_fold_1.jsonl", "a") as handle:
        handle.write("{not json\n")
    with pytest.raises(BadInputError, match="ravdess_test_fold_1.jsonl.*not a JSON object"):
        published_kfold(manifest, broken)


def test_cv_runs_the_published_folds_logs_what_was_absent_and_refits_on_every_actor(cache_dir, manifest, tmp_path):
    from emotion.config import build_config
    from emotion.experiment.cv import cross_validate

    folder = write_folds(
        tmp_path / "folds", manifest, {2: [1, 2, 3, 4], 5: [5, 6, 7, 8], 6: [9, 10, 11, 12], 7: [ABSENT_ACTOR]}
    )
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    config = build_config("cnn_pooling", {"epochs": "3", "folds": str(folder), "refit": "true"})
    result = cross_validate(config, cache_dir)
    assert result.folds["fold"].tolist() == [2, 5, 6]
    client = mlflow.MlflowClient()
    run = client.get_run(result.run_id)
    assert run.data.metrics["folds_skipped"] == 1 and run.data.metrics["test_clips_absent"] == 4
    report = mlflow.artifacts.load_text(f"runs:/{result.run_id}/published_folds.txt")
    assert "fold 7:" in report and "skipped" in report
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'")
    assert sorted(c.info.run_name for c in children) == [
        "cnn_pooling-builtin-fold-2",
        "cnn_pooling-builtin-fold-5",
        "cnn_pooling-builtin-fold-6",
    ]
    assert run.info.run_name == "cv-cnn_pooling-builtin"
    note = run.data.tags["mlflow.note.content"]  # the run page's description
    assert (
        "3-fold cross-validation" in note
        and f"UA {result.summary['cv_ua_mean']:.3f} ± {result.summary['cv_ua_std']:.3f}" in note
    )
    assert np.isfinite(result.summary["cv_ua_mean"])
    _the_refit_saw_every_actor_and_register_picks_it(config, result, cache_dir, run, children, tmp_path)


def _the_refit_saw_every_actor_and_register_picks_it(config, result, cache_dir, run, children, tmp_path):
    from emotion.data.dataset import prepare_corpus
    from emotion.experiment.train import prepare_run_data
    from emotion.features.normalise import Normaliser
    from emotion.serving.model_registry import register_best

    corpus = prepare_corpus(config.data, config.features, cache_dir, allow_video=False)
    params = run.data.params
    assert params["refit_actors"] == ",".join(sorted(corpus.manifest["actor"].unique()))  # all 12, none held out
    assert int(params["refit_clips"]) == len(corpus.labels) == 360
    assert int(params["refit_epochs"]) == round(float(np.median(result.folds["best_epoch"])))
    assert run.data.metrics["refit_clips_absent"] == 4  # listed in the fold files, not in this corpus
    assert run.data.tags["emotion.refit"] == "true" and "**Refit**" in run.data.tags["mlflow.note.content"]
    client = mlflow.MlflowClient()
    (logged,) = [m for m in client.search_logged_models([run.info.experiment_id]) if m.source_run_id == run.info.run_id]
    local = mlflow.artifacts.download_artifacts(f"models:/{logged.model_id}", dst_path=str(tmp_path / "refit"))
    saved = Normaliser.load(Path(local) / "data" / "normaliser.json").mean["audio"]
    positions = np.arange(len(corpus.labels))
    everyone = prepare_run_data(
        config, cache_dir, corpus, {"train": positions, "val": positions[:0], "test": positions[:0]}
    )
    np.testing.assert_allclose(saved, everyone.normaliser.mean["audio"], rtol=1e-5, atol=1e-6)
    some = prepare_run_data(config, cache_dir, corpus, result_split_without_one_actor(corpus))
    assert not np.allclose(saved, some.normaliser.mean["audio"], rtol=1e-5, atol=1e-6), "the check tells them apart"

    fold_best = max(c.data.metrics["test_ua"] for c in children)
    assert fold_best > result.summary["cv_ua_mean"], "precondition: a lucky fold run would win on its own figure"
    promotion = register_best(experiment=client.get_experiment(run.info.experiment_id).name, model_name="refit")
    assert promotion.run_id == run.info.run_id and promotion.value == pytest.approx(result.summary["cv_ua_mean"])
    version = client.get_model_version_by_alias("refit", "champion")
    assert version.run_id == run.info.run_id and "refit on every actor" in version.description


def result_split_without_one_actor(corpus) -> dict[str, np.ndarray]:
    actors = corpus.manifest["actor"].to_numpy()
    kept = np.flatnonzero(actors != sorted(set(actors))[0])
    return {"train": kept, "val": kept[:0], "test": kept[:0]}
