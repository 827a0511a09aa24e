"""labels=: the classes a model learns and answers. Clips of other labels are reported and left out;
the logged model, its p_<label> columns, predict, evaluate and register follow the model's own classes."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from emotion.config import build_config
from emotion.corpus.dev_paths import EMODB2
from emotion.corpus.labels import EMOTIONS
from emotion.errors import ConfigError

EMODB_SEVEN = "angry,bored,disgust,fearful,happy,neutral,sad"


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("angry", "a model needs at least two classes"),
        ("angry,Angry,sad", "'angry' is named twice"),
        ("angry,very sad", "'very sad' is not a class name"),
        ("angry,,sad", "'' is not a class name"),
    ],
)
def test_a_bad_label_set_is_one_line_naming_it(labels, message):
    with pytest.raises(ConfigError, match=message) as error:
        build_config("no_aug", {"labels": labels})
    assert str(error.value).startswith(f"parameter labels={labels}:") and "\n" not in str(error.value)


def test_default_labels_are_ravdess_eight_and_given_ones_keep_their_order():
    from emotion.corpus.labels import run_classes

    assert run_classes(build_config("no_aug").data.labels) == EMOTIONS
    assert run_classes(build_config("no_aug", {"labels": "Sad, angry"}).data.labels) == ("sad", "angry")


def test_a_class_no_clip_has_is_one_line_before_any_feature_is_made(cache_dir, monkeypatch):
    import emotion.data.dataset as dataset

    monkeypatch.setattr(dataset, "audio_features", lambda *a, **k: pytest.fail("features made before the check"))
    config = build_config("no_aug", {"labels": "angry,bored,sad"})  # the built-in corpus has no `bored`
    with pytest.raises(ConfigError, match=r"labels=angry,bored,sad: no usable clip of .* is labelled 'bored'"):
        dataset.prepare_corpus(config.data, config.features, cache_dir)


def test_a_run_learns_only_its_classes_and_reports_the_other_clips(cache_dir):
    from emotion.corpus.manifest import build_manifest
    from emotion.data.dataset import prepare_corpus

    config = build_config("cnn_pooling", {"labels": "sad,angry", "max_actors": "3"})
    corpus = prepare_corpus(config.data, config.features, cache_dir)
    assert corpus.classes == ("sad", "angry") and set(corpus.labels) == {0, 1}
    assert list(corpus.manifest["emotion"].map(corpus.classes.index)) == list(corpus.labels)
    left_out = [reason for _, reason in corpus.skipped if "is not one of the run's labels: sad, angry" in reason]
    every, _ = build_manifest(corpus.root, "auto")  # labels are left out before max_actors: every actor's
    assert len(left_out) == (~every["emotion"].isin(["sad", "angry"])).sum() > 0


@pytest.mark.slow
def test_emodb_seven_classes_with_boredom_train_predict_and_evaluate(cache_dir, tmp_path):
    """EmoDB's own 7 classes end to end. emodb2 holds 2 speakers, too few for a speaker split with every
    class in every set, so this run asks for the leaky split: it checks the classes, not the accuracy."""
    from emotion.experiment.train import train
    from emotion.serving.predict import evaluate, model_classes, predict_files

    if not EMODB2.is_dir():
        pytest.skip(f"EmoDB sample not found at {EMODB2}")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    overrides = {"data_dir": str(EMODB2), "labels": EMODB_SEVEN, "split": "random_leaky", "epochs": "2"}
    result = train(build_config("cnn_pooling", overrides), cache_dir)
    run = mlflow.get_run(result.run_id)
    assert run.data.params["classes"] == EMODB_SEVEN and run.data.params["n_clips"] == "92"  # bored kept
    assert result.test_proba.shape[1] == 7 and "class_weight_bored" in run.data.params
    (logged,) = mlflow.search_logged_models(filter_string=f"source_run_id = '{result.run_id}'", output_format="list")
    model = mlflow.pyfunc.load_model(logged.model_uri)
    assert model_classes(model) == tuple(EMODB_SEVEN.split(","))
    bored = sorted(p for p in EMODB2.rglob("*.wav") if p.stem[5] == "L")[:2]  # 03a01Lb: L is boredom
    predictions = predict_files(model, bored)
    assert list(predictions.columns) == ["path", "label", *[f"p_{c}" for c in EMODB_SEVEN.split(",")], "error"]
    assert np.allclose(predictions.filter(like="p_").sum(axis=1), 1.0)
    scored = evaluate(logged.model_uri, str(EMODB2))
    assert set(scored["recall"]) == set(EMODB_SEVEN.split(",")) and not np.isnan(scored["recall"]["bored"])


class _Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def _run_predicting(classes: str, ua: float) -> str:
    with mlflow.start_run() as run:
        mlflow.log_params({"classes": classes})
        mlflow.log_metric("test_ua", ua)
        mlflow.pyfunc.log_model(name="model", python_model=_Echo())
    return run.info.run_id


def test_register_does_not_let_a_model_of_other_classes_take_the_champion_by_its_ua(tmp_path):
    """A 4-class UA of 0.9 says nothing against an 8-class 0.5: the alias stays unless forced."""
    from emotion.serving.model_registry import register_best

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    mlflow.set_experiment("mixed")
    eight = _run_predicting(",".join(EMOTIONS), 0.5)
    assert register_best("mixed").run_id == eight
    four = _run_predicting("angry,happy,neutral,sad", 0.9)
    kept = register_best("mixed")
    assert not kept.moved and kept.version is None and "their test_ua do not compare" in kept.message
    forced = register_best("mixed", force=True)
    assert forced.moved and forced.run_id == four
