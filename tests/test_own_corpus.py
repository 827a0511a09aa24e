"""A team's own corpus, end to end with the commands RAVDESS uses: a CSV of path,emotion,speaker with labels
of its own -> `mlflow run` -> `emotion register` -> `mlflow models serve` -> `emotion evaluate`. The model
learns and answers the CSV's classes, not RAVDESS's."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request

import mlflow
import pytest
from mlflow import MlflowClient

from conftest import ROOT, subprocess_env
from emotion.serving.predict import serve_command
from services import free_port, stop, wait_for_ping

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_own_corpus")]

# RAVDESS's labels as a call-centre team might name them: none of them is a RAVDESS class name
RENAMED = {"angry": "irritated", "happy": "cheerful", "sad": "low", "neutral": "flat"}
LABELS = "irritated,cheerful,low,flat"  # the class-index order the run is asked for
ACTORS = ("01", "02", "03", "04")  # one each for test and validation, two to train on
# small for CI: tiny.en at the clip window, no synthetic voices (tests/test_voices.py covers them)
SMALL = "whisper_model=tiny.en whisper_window=clip global_voices=false"


@pytest.fixture(scope="module")
def calls(ravdess16k, tmp_path_factory):
    """calls.csv (path,emotion,speaker; absolute paths into ravdess16k) and the tracking store the commands share."""
    from emotion.corpus.manifest import build_manifest

    folder = tmp_path_factory.mktemp("own-corpus")
    source, _ = build_manifest(ravdess16k, "ravdess")
    source = source[source["emotion"].isin(RENAMED) & source["actor"].isin([f"ravdess:{a}" for a in ACTORS])]
    lines = ["path,emotion,speaker"] + [
        f"{row.audio_path},{RENAMED[row.emotion]},agent{row.actor[-2:]}" for row in source.itertuples()
    ]
    (folder / "calls.csv").write_text("\n".join(lines) + "\n")
    return {"folder": folder, "csv": folder / "calls.csv", "uri": f"sqlite:///{folder}/mlflow.db", "n": len(source)}


def _run(command: list[str], calls, cache_dir) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        command,
        cwd=calls["folder"],
        env=subprocess_env(cache_dir, calls["uri"]),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc


def test_a_csv_with_labels_of_its_own_trains_registers_serves_and_evaluates(calls, cache_dir):
    csv, classes = str(calls["csv"]), LABELS.split(",")
    train = ["mlflow", "run", str(ROOT), "-e", "whisper_heads", "--env-manager", "local", "--experiment-name", "calls"]
    _run([*train, "-P", f"manifest={csv}", "-P", f"labels={LABELS}", "-P", f"extra={SMALL}"], calls, cache_dir)
    client = MlflowClient(calls["uri"])
    experiment = client.get_experiment_by_name("calls").experiment_id
    (run,) = client.search_runs([experiment], "params.variant = 'whisper_heads'")
    assert run.data.params["classes"] == LABELS and run.data.params["n_classes"] == "4"
    assert run.data.params["n_clips"] == str(calls["n"]) and "test_recall_cheerful" in run.data.metrics
    mlflow.set_tracking_uri(calls["uri"])  # load_table searches the global store, whatever the client's
    confusion = client.load_table(experiment, "test_confusion_matrix.json", run_ids=[run.info.run_id])
    assert list(confusion.columns) == ["true", *classes] and list(confusion["true"]) == classes

    registered = _run(["emotion", "register", "experiment=calls"], calls, cache_dir)
    assert "now @champion" in registered.stdout
    version = client.get_model_version_by_alias("emotion", "champion")
    assert version.run_id == run.info.run_id and version.tags["classes"] == LABELS

    port = free_port()
    server = subprocess.Popen(
        serve_command("models:/emotion@champion", port),
        cwd=calls["folder"],
        env=subprocess_env(cache_dir, calls["uri"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_ping(server, port)
        first = calls["csv"].read_text().splitlines()[1].split(",")[0]
        payload = {"dataframe_records": [{"audio": base64.b64encode(open(first, "rb").read()).decode()}]}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            (answer,) = json.loads(response.read())["predictions"]
    finally:
        stop(server)
    assert answer["label"] in classes and answer["error"] in ("", None)
    assert sorted(k for k in answer if k.startswith("p_")) == sorted(f"p_{c}" for c in classes)

    evaluated = _run(["emotion", "evaluate", "models:/emotion@champion", csv], calls, cache_dir)
    assert f"over {calls['n']} clips (0 errors)" in evaluated.stdout
    everywhere = [e.experiment_id for e in client.search_experiments()]
    (evaluation,) = client.search_runs(everywhere, "tags.entry_point = 'evaluate'")
    assert (
        evaluation.data.params["eval_labels"] == LABELS and evaluation.data.params["model_classes_unmatched"] == "none"
    )
    assert evaluation.data.metrics["eval_ua"] > 0.5  # 2 of its 4 speakers trained it: well above chance (0.25)
