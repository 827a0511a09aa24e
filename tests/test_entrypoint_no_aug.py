"""End to end: `mlflow run . -e no_aug` through the real mlflow command, read back with MlflowClient."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from conftest import ROOT, subprocess_env
from services import clean_env, free_port, unavailable, wait_for_ping
from emotion.corpus.labels import EMOTIONS
from emotion.config.variants import WHISPER_SEQUENCE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("test_entrypoint_no_aug"),
]  # group: its module fixtures run once, on one worker

EPOCHS = 2


@pytest.fixture(scope="module")
def finished_run(cache_dir, tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{store}/mlflow.db"
    command = ["mlflow", "run", str(ROOT), "-e", "no_aug", "--env-manager", "local", "--experiment-name", "e2e"]
    command += ["-P", f"epochs={EPOCHS}", "-P", "extra=reduce_lr_patience=1"]
    proc = subprocess.run(command, env=subprocess_env(cache_dir, uri), capture_output=True, text=True, timeout=1200)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("e2e")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    return {"uri": uri, "client": client, "run": runs[0], "output": output, "store": store}


def test_run_finished_and_told_the_user_where_it_went(finished_run):
    run = finished_run["run"]
    assert run.info.status == "FINISHED"
    assert f"Run {run.info.run_id}" in finished_run["output"]
    assert "mlflow ui --backend-store-uri" in finished_run["output"]


def test_the_run_is_named_for_what_it_is_and_describes_its_data_split_and_result(finished_run):
    run = finished_run["run"]
    assert run.info.run_name == "no_aug-builtin", "mlflow run's random name replaced"
    note = run.data.tags["mlflow.note.content"]  # the description on the run page
    params, metrics = run.data.params, run.data.metrics
    assert "**no_aug** on `builtin`" in note and f"{params['n_clips']} clips" in note
    for name in ("train", "val", "test"):
        assert f"- {name}: {params[f'n_{name}']} clips, actors {params[f'{name}_actors'].replace(',', ', ')}" in note
    assert (
        f"Test UA {metrics['test_ua']:.3f} · WA {metrics['test_wa']:.3f} · macro-F1 {metrics['test_macro_f1']:.3f}"
        in note
    )


def test_the_mlflow_ui_shows_the_run_name_its_description_and_a_figure(finished_run, tmp_path):
    """The real UI, rendered by headless Chromium (Debian's package; .ci/run installs it)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        unavailable("Chromium not installed (apt-get install chromium): the MLflow UI check needs a browser")
    run, client = finished_run["run"], finished_run["client"]
    figure = next(a.path for a in client.list_artifacts(run.info.run_id, "figures") if a.path.endswith(".png"))
    port = free_port()
    ui = subprocess.Popen(
        ["mlflow", "ui", "--backend-store-uri", finished_run["uri"], "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        wait_for_ping(ui, port, path="/health")
        page = f"http://127.0.0.1:{port}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"

        def rendered(url: str) -> str:  # the DOM after the React app has fetched and drawn the run
            browser = [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=30000",
                "--dump-dom",
                url,
            ]
            return subprocess.run(browser, capture_output=True, text=True, timeout=180).stdout

        overview = rendered(page)
        assert run.info.run_name in overview, overview[-2000:]
        assert f"Test UA {run.data.metrics['test_ua']:.3f}" in overview, "the description is on the run page"
        assert f'alt="{figure}"' in rendered(f"{page}/artifacts/{figure}"), "the figure renders in the artifact view"
    finally:
        ui.terminate()
        ui.wait(timeout=30)


def test_parameters_and_class_weights_logged(finished_run):
    params = finished_run["run"].data.params
    assert params["variant"] == "no_aug" and params["epochs"] == str(EPOCHS)
    assert params["reduce_lr_patience"] == "1", "extra= overrides must reach the config"
    assert (
        params["split"] == "speaker"
        and params["feature_kind"] == "whisper"
        and params["frame_pool"] == str(WHISPER_SEQUENCE["frame_pool"])
    )  # the main job's defaults
    assert params["modalities_used"] == "audio+video"
    weights = {e: float(params[f"class_weight_{e}"]) for e in EMOTIONS}
    assert weights["neutral"] > weights["happy"] > 0, "neutral has half the clips, so twice the weight"
    actors = {name: set(params[f"{name}_actors"].split(",")) for name in ("train", "val", "test")}
    assert (
        not (actors["train"] & actors["test"])
        and not (actors["train"] & actors["val"])
        and not (actors["val"] & actors["test"])
    )


def test_curves_and_metrics_logged(finished_run):
    client, run = finished_run["client"], finished_run["run"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        history = client.get_metric_history(run.info.run_id, key)
        assert [m.step for m in history] == list(range(EPOCHS)), key
    metrics = run.data.metrics
    for key in ("test_ua", "test_wa", "test_macro_f1", "val_ua"):
        assert 0.0 <= metrics[key] <= 1.0
    assert any(k.startswith("test_recall_") for k in metrics)
    assert any(k.startswith("system/cpu_utilization") for k in metrics), "system metrics logged while training"


def test_artifacts_and_datasets_logged(finished_run):
    client, run_id = finished_run["client"], finished_run["run"].info.run_id
    paths = {a.path for a in client.list_artifacts(run_id)}
    paths |= {a.path for a in client.list_artifacts(run_id, "figures")}
    expected = {
        "figures/learning_curves.png",
        "figures/test_confusion_matrix.png",
        "test_confusion_matrix.json",
        "normaliser.json",
        "class_weights.json",
        "build_report.txt",
        "split.json",
        "tensorboard",
    }
    assert expected <= paths
    inputs = finished_run["run"].inputs.dataset_inputs
    contexts = {next(t.value for t in i.tags if t.key == "mlflow.data.context") for i in inputs}
    assert contexts == {"train", "validation", "test"}
    assert all(i.dataset.digest for i in inputs)


def test_logged_model_has_keras_flavour_and_variable_length_signature(finished_run, tmp_path):
    client, run = finished_run["client"], finished_run["run"]
    models = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert len(models) == 1
    mlflow.set_tracking_uri(finished_run["uri"])
    local = mlflow.artifacts.download_artifacts(f"models:/{models[0].model_id}", dst_path=str(tmp_path))
    info = mlflow.models.Model.load(local)
    assert {"keras", "python_function"} <= set(info.flavors)
    assert any(tmp_path.rglob("model.keras"))
    assert [c.name for c in info.signature.inputs.inputs] == [
        "audio",
        "video",
        "speaker",
    ]  # raw media (+ optional speaker id)
    keras_signature = mlflow.models.ModelSignature.from_dict(info.metadata["keras_signature"])
    shapes = {spec.name: spec.shape for spec in keras_signature.inputs.inputs}
    assert shapes["audio"][:2] == (-1, -1) and shapes["video"][:2] == (-1, -1)  # any batch, any length


FRESH_PROCESS = """
import json, sys
import mlflow, pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model(sys.argv[2])
rows = [{"audio": open(a, "rb").read(), "video": open(v, "rb").read()} for a, v in json.loads(sys.argv[3])]
model.predict(pd.DataFrame(rows)).to_json(sys.argv[4], orient="records")
import emotion
print("EMOTION_FROM", emotion.__file__)
"""


def test_logged_model_predicts_raw_media_in_a_fresh_process(finished_run, cache_dir, tmp_path):
    from emotion.data.synthetic import ensure_builtin_corpus

    client, run = finished_run["client"], finished_run["run"]
    model_id = client.search_logged_models(experiment_ids=[run.info.experiment_id])[0].model_id
    wavs = sorted(ensure_builtin_corpus(cache_dir).glob("Actor_01/*.wav"))[:3]
    pairs = [[str(w), str(w.with_suffix(".video.npy"))] for w in wavs]
    (tmp_path / "not-audio.wav").write_bytes(b"hello, not audio")
    pairs.append([str(tmp_path / "not-audio.wav"), pairs[0][1]])
    out = tmp_path / "pred.json"
    proc = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, finished_run["uri"], f"models:/{model_id}", json.dumps(pairs), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=subprocess_env(tmp_path, finished_run["uri"]),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert len(rows) == 4
    for row in rows[:3]:
        assert row["label"] in EMOTIONS and row["error"] == ""
        assert abs(sum(row[f"p_{e}"] for e in EMOTIONS) - 1.0) < 1e-4
    assert rows[3]["label"] == "" and "audio" in rows[3]["error"], "a bad file gets an error row, not a crash"
    # The model carries its own code: the fresh process imported emotion from the model folder.
    origin = next(line for line in proc.stdout.splitlines() if line.startswith("EMOTION_FROM"))
    assert "/code/emotion/" in origin


def test_logged_normaliser_was_fitted_on_the_training_speakers_as_the_run_saw_them(finished_run, cache_dir, tmp_path):
    from emotion.config import build_config
    from emotion.data.dataset import prepare_corpus
    from emotion.features.normalise import Normaliser, per_speaker

    run = finished_run["run"]
    mlflow.set_tracking_uri(finished_run["uri"])
    logged = Normaliser.load(
        mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/normaliser.json", dst_path=str(tmp_path))
    )
    config = build_config("no_aug")  # the run's defaults: Whisper frames, per-speaker standardisation first
    assert run.data.params["normalisation"] == config.features.normalisation == "speaker"
    corpus = prepare_corpus(config.data, config.features, cache_dir)  # same cache: features are hits
    speakers = corpus.manifest["actor"].to_numpy(dtype=str)
    is_train = corpus.manifest["actor"].isin(set(run.data.params["train_actors"].split(","))).to_numpy()
    for modality in corpus.modalities:
        standardised = per_speaker(corpus.features[modality], speakers)
        expected = Normaliser.fit({modality: [a for a, keep in zip(standardised, is_train) if keep]})
        np.testing.assert_allclose(logged.mean[modality], expected.mean[modality], atol=1e-5)
        np.testing.assert_allclose(logged.std[modality], expected.std[modality], rtol=1e-4)
    # The leak check (fitted on the training speakers, not on all) is tests/test_speaker_normalisation.py's:
    # after per-speaker standardisation every speaker has mean 0 and std 1, so it cannot tell here.
