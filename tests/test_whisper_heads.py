"""whisper_heads, the champion's clip heads without a network: trained, registered and served as the
network variants are, through the same run, model and registry."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from emotion.corpus.labels import EMOTIONS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_whisper_heads")]
PROBABILITIES = [f"p_{e}" for e in EMOTIONS]
# small for CI: 6 built-in actors, tiny.en at the clip window, no synthetic voices (tests/test_voices.py)
SMALL = {"max_actors": "6", "whisper_window": "clip", "whisper_model": "tiny.en", "global_voices": "false"}


@pytest.fixture(scope="module")
def heads(cache_dir, tmp_path_factory):
    from emotion.config import build_config
    from emotion.data.dataset import prepare_corpus
    from emotion.experiment.train import train

    folder = tmp_path_factory.mktemp("heads-store")
    uri = f"sqlite:///{folder}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    config = build_config("whisper_heads", SMALL)
    result = train(config, cache_dir)
    corpus = prepare_corpus(config.data, config.features, cache_dir, allow_video=False)
    test_actors = mlflow.get_run(result.run_id).data.params["test_actors"].split(",")
    rows = corpus.manifest[corpus.manifest["actor"].isin(test_actors)]
    return {"result": result, "rows": rows, "corpus": corpus, "config": config, "folder": folder, "uri": uri}


def test_the_run_logs_a_model_without_a_network_whose_answers_are_the_runs_test_probabilities(heads, monkeypatch):
    import emotion.features.prosody as prosody

    mlflow.set_tracking_uri(heads["uri"])  # each test starts from a reset MLflow state (conftest)
    result = heads["result"]
    run = mlflow.get_run(result.run_id)
    assert {"test_ua", "val_ua", "test_ua_global"} <= set(run.data.metrics) and "svm_c" in run.data.params
    assert "dropout" not in run.data.params and "lstm_units" not in run.data.params  # no network section
    uri = mlflow.search_logged_models(filter_string=f"source_run_id = '{result.run_id}'", output_format="list")[
        0
    ].model_uri
    local = mlflow.artifacts.download_artifacts(uri, dst_path=str(heads["folder"] / "model"))
    assert not list(__import__("pathlib").Path(local).rglob("model.keras")), "no network is logged"
    model = mlflow.pyfunc.load_model(uri)
    rows = heads["rows"]
    audio = [open(p, "rb").read() for p in rows["audio_path"]]
    together = model.predict(pd.DataFrame({"audio": audio, "speaker": rows["actor"].tolist()}))
    np.testing.assert_allclose(together[PROBABILITIES].to_numpy(), result.test_proba, atol=1e-6)
    calls = []
    measure = prosody.prosody_tracks
    monkeypatch.setattr(prosody, "prosody_tracks", lambda *a, **k: calls.append(1) or measure(*a, **k))
    alone = model.predict(pd.DataFrame({"audio": audio[:2]}))  # no speaker: the global head, no Praat
    assert (alone["error"] == "").all() and not calls
    assert np.allclose(alone[PROBABILITIES].sum(axis=1), 1.0)


def test_a_cv_refit_logs_the_heads_on_every_actor_and_register_promotes_it(heads, cache_dir):
    from emotion.config import build_config
    from emotion.experiment.cv import cross_validate
    from emotion.serving.model_registry import register_best

    mlflow.set_tracking_uri(heads["uri"])
    config = build_config("whisper_heads", {**SMALL, "cv_folds": "3", "refit": "true"})
    mlflow.set_experiment("heads-cv")  # the cv parent and its fold runs only: register must skip the folds
    result = cross_validate(config, cache_dir)
    parent = mlflow.get_run(result.run_id)
    assert parent.data.tags.get("emotion.refit") == "true"
    assert len(parent.data.params["refit_actors"].split(",")) == 6 and parent.data.params["refit_epochs"] == "0"
    registered = register_best(experiment="heads-cv", model_name="emotion-heads")
    assert registered.run_id == result.run_id


def test_a_cross_corpus_evaluation_scores_the_shared_classes_only(heads):
    """A model of the built-in corpus scored on two EmoDB speakers over angry, happy, neutral, sad."""
    from emotion.corpus.dev_paths import EMODB2
    from emotion.errors import EmotionError
    from emotion.serving.predict import evaluate

    if not EMODB2.is_dir():
        pytest.skip(f"EmoDB sample not found at {EMODB2}")
    mlflow.set_tracking_uri(heads["uri"])
    uri = f"runs:/{heads['result'].run_id}/model"
    result = evaluate(uri, str(EMODB2), labels="angry,happy,neutral,sad")
    run = mlflow.get_run(result["run_id"])
    assert run.data.params["eval_labels"] == "angry,happy,neutral,sad"
    assert run.data.params["eval_corpora"] == "emodb" and run.data.params["n_clips"] == "69"  # 27 + 11 + 20 + 11
    assert run.data.params["model_classes_unmatched"] == "calm,fearful,disgust,surprised"
    assert np.asarray(result["confusion"]).shape == (4, 4) and 0.0 <= result["ua"] <= 1.0
    report = mlflow.artifacts.load_text(f"runs:/{result['run_id']}/build_report.txt")
    assert report.count("is not among the evaluated labels") == 92 - 69  # bored, disgust, fearful
    with pytest.raises(EmotionError, match="--labels bored: not a class of the model"):
        evaluate(uri, str(EMODB2), labels="angry,bored")
    with pytest.raises(EmotionError, match="needs at least two classes"):
        evaluate(uri, str(EMODB2), labels="angry")


def test_a_sweep_over_a_variant_without_a_network_is_one_line():
    from emotion.errors import ConfigError
    from emotion.experiment.tune_settings import parse_settings

    with pytest.raises(ConfigError, match="variant whisper_heads: no network to tune"):
        parse_settings({}, "whisper_heads")
