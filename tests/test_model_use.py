"""From runs to a usable model: register @champion, predict files, evaluate a folder, serve over REST."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from conftest import subprocess_env
from emotion.corpus.labels import EMOTIONS
from emotion.serving.predict import serve_command
from services import wait_for_ping

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("test_model_use"),
]  # group: its module fixtures run once, on one worker


@pytest.fixture(scope="module")
def store(cache_dir, tmp_path_factory):
    """Experiment 'strong': no_aug and cnn_pooling trained on one split; experiment 'weak': a model that never learnt."""
    from emotion.experiment.compare import compare
    from emotion.config import build_config
    from emotion.experiment.train import train

    folder = tmp_path_factory.mktemp("registry-store")
    uri = f"sqlite:///{folder}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("strong")
    compare(["no_aug", "cnn_pooling"], {"max_actors": "6", "epochs": "3"}, cache_root=cache_dir, name="strong")
    mlflow.set_experiment("weak")
    train(build_config("cnn_pooling", {"max_actors": "6", "epochs": "1", "learning_rate": "1e-9"}), cache_dir)
    return {"uri": uri, "client": MlflowClient(uri), "folder": folder}


def test_register_best_sets_champion_and_never_lets_a_worse_run_take_it(store):
    from emotion.serving.model_registry import register_best

    client = store["client"]
    first = register_best(experiment="strong", model_name="emotion")
    assert first.moved and first.version == "1"
    runs = client.search_runs([client.get_experiment_by_name("strong").experiment_id], "attributes.status = 'FINISHED'")
    best = max((r for r in runs if "test_ua" in r.data.metrics), key=lambda r: r.data.metrics["test_ua"])
    assert first.run_id == best.info.run_id
    version = client.get_model_version_by_alias("emotion", "champion")
    assert str(version.version) == "1" and version.tags["variant"] == best.data.params["variant"]
    assert version.tags["data_digest"] and version.description

    again = register_best(experiment="strong", model_name="emotion")
    assert not again.moved and "already champion" in again.message

    weak = register_best(experiment="weak", model_name="emotion")
    assert weak.value < first.value, "precondition: the untrained run must score lower"
    assert not weak.moved and weak.version is None
    assert str(client.get_model_version_by_alias("emotion", "champion").version) == "1"

    forced = register_best(experiment="weak", model_name="emotion", force=True)
    assert forced.moved and str(client.get_model_version_by_alias("emotion", "champion").version) == forced.version
    restored = register_best(experiment="strong", model_name="emotion")  # the better run takes it back
    assert restored.moved and restored.run_id == best.info.run_id


def test_every_logged_model_carries_a_synthetic_clip_as_its_input_example_and_it_serves(store, cache_dir, tmp_path):
    """The example carries no training speaker's voice: it is none of the corpus's files, but a clip of
    their typical length and rate, and the model answers it as `mlflow models serve` would."""
    import io

    import soundfile as sf
    from mlflow.models import Model, validate_serving_input

    from emotion.data.synthetic import ensure_builtin_corpus

    corpus_files = {p.read_bytes() for p in ensure_builtin_corpus(cache_dir).rglob("*") if p.is_file()}
    durations = [sf.info(p).duration for p in ensure_builtin_corpus(cache_dir).glob("Actor_0[1-6]/*.wav")]
    client = store["client"]
    mlflow.set_tracking_uri(store["uri"])  # models:/<id> resolves on the global URI (MLflow ignores tracking_uri there)
    models = client.search_logged_models(experiment_ids=[client.get_experiment_by_name("strong").experiment_id])
    assert len(models) == 2
    for logged in models:
        local = mlflow.artifacts.download_artifacts(
            f"models:/{logged.model_id}", dst_path=str(tmp_path / logged.model_id)
        )
        model = Model.load(local)
        example = model.load_input_example(local)  # the DataFrame the pyfunc takes: one clip's media bytes
        assert "audio" in example.columns and set(example.columns) <= set(model.signature.inputs.input_names())
        for column in example.columns:
            assert bytes(example[column][0]) not in corpus_files, f"the example's {column} is a corpus file"
        info = sf.info(io.BytesIO(bytes(example["audio"][0])))
        assert info.samplerate == 16_000 and info.duration == pytest.approx(np.median(durations), abs=0.01)
        answer = validate_serving_input(local, model.get_serving_input(local))  # as `mlflow models serve` parses it
        assert answer["label"][0] in EMOTIONS and not answer["error"][0], answer.to_dict()


def _cli(args, store, cache_dir):
    return subprocess.run(
        [sys.executable, "-m", "emotion.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=subprocess_env(cache_dir, store["uri"]),
    )


def _champion_uri(store):
    from emotion.serving.model_registry import register_best

    mlflow.set_tracking_uri(store["uri"])
    register_best(experiment="strong", model_name="emotion")
    return "models:/emotion@champion"


def test_predict_gives_every_input_a_row_and_an_exit_code_that_says_whether_any_failed(store, cache_dir, tmp_path):
    import soundfile as sf

    from emotion.data.synthetic import ensure_builtin_corpus
    from test_serving_contract import strict_json

    uri = _champion_uri(store)
    actor = ensure_builtin_corpus(cache_dir) / "Actor_05"
    bad = tmp_path / "03-01-05-01-01-01-05.wav"
    bad.write_bytes(b"definitely not a wav file")
    signal, rate = sf.read(next(actor.glob("*.wav")))
    short = tmp_path / "short.wav"
    sf.write(short, signal[: rate // 20], rate)  # 50 ms of a real clip, and its video for audio-visual models
    (tmp_path / "short.video.npy").write_bytes(next(actor.glob("*.video.npy")).read_bytes())
    missing, empty = tmp_path / "not-here.wav", tmp_path / "empty-folder"
    empty.mkdir()
    out = tmp_path / "predictions.json"
    inputs = [str(actor), str(bad), str(short), str(missing), str(empty)]
    proc = _cli(["predict", uri, *inputs, "--output", str(out)], store, cache_dir)
    assert proc.returncode == 1, proc.stderr[-3000:]  # 1: some rows are errors, each with its reason
    rows = strict_json(out.read_text())  # error rows' probabilities are null, not NaN
    assert len(rows) == 34
    good = [r for r in rows if not r["error"]]
    assert len(good) == 30 and all(r["label"] in EMOTIONS for r in good)
    reasons = {r["path"]: r["error"] for r in rows if r["error"]}
    assert list(reasons) == [str(bad), str(short), str(missing), str(empty)]
    assert "under min_clip_seconds=0.3" in reasons[str(short)] and "no such file" in reasons[str(missing)]
    assert "no audio files in this folder" in reasons[str(empty)]
    assert all(r["p_angry"] is None and r["label"] in ("", None) for r in rows if r["error"])
    assert "34 rows, 4 errors" in proc.stderr

    proc = _cli(["predict", uri, str(actor / "01-01-05-01-01-01-05.wav"), "--output", str(out)], store, cache_dir)
    assert proc.returncode == 0 and len(strict_json(out.read_text())) == 1, proc.stderr[-3000:]
    proc = _cli(["predict", uri, str(bad), str(missing)], store, cache_dir)  # every row failed: still rows, exit 1
    assert proc.returncode == 1 and len(proc.stdout.strip().splitlines()) == 3, proc.stdout


def test_unknown_model_and_missing_path_are_one_line_errors(store, cache_dir, tmp_path):
    proc = _cli(["predict", "models:/emotion@nonexistent", str(tmp_path)], store, cache_dir)
    assert proc.returncode == 2
    (tmp_path / "a.wav").write_bytes(b"x")
    proc = _cli(["predict", "models:/no-such-model@champion", str(tmp_path / "a.wav")], store, cache_dir)
    assert proc.returncode == 2 and proc.stderr.startswith("error: model models:/no-such-model@champion")
    assert "Traceback" not in proc.stderr


def _mlflow_run(entry: str, params: list[str], store, cache_dir) -> subprocess.CompletedProcess:
    from conftest import ROOT

    command = ["mlflow", "run", str(ROOT), "-e", entry, "--env-manager", "local", "--experiment-name", "use", *params]
    proc = subprocess.run(
        command, env=subprocess_env(cache_dir, store["uri"]), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc


def test_register_and_evaluate_entry_points(store, cache_dir, tmp_path):
    from emotion.data.synthetic import ensure_builtin_corpus

    _champion_uri(store)
    proc = _mlflow_run("register", ["-P", "experiment=strong"], store, cache_dir)
    assert "already champion" in proc.stdout
    labelled = tmp_path / "two-actors"  # a labelled folder of 60 clips (linked): the served encoder's time, not 360
    for actor in ("Actor_01", "Actor_02"):
        (labelled / actor).mkdir(parents=True)
        for clip in (ensure_builtin_corpus(cache_dir) / actor).iterdir():
            (labelled / actor / clip.name).symlink_to(clip)
    _mlflow_run("evaluate", ["-P", f"data_dir={labelled}"], store, cache_dir)
    client = store["client"]
    run = client.search_runs([client.get_experiment_by_name("use").experiment_id], "tags.entry_point = 'evaluate'")[0]
    assert run.data.params["n_clips"] == "60" and run.data.params["n_errors"] == "0"
    assert run.data.params["model_uri"] == "models:/emotion@champion"
    for key in ("eval_ua", "eval_wa", "eval_macro_f1"):
        assert 0.0 <= run.data.metrics[key] <= 1.0
    assert "predictions.csv" in {a.path for a in client.list_artifacts(run.info.run_id)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, payload: dict, timeout: float = 60) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            return error.code, json.loads(text or "{}")
        except json.JSONDecodeError:  # MLflow's 504 on a timed-out request is plain text
            return error.code, {"message": text}


def _post_raw(url: str, payload: dict) -> str:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read().decode()


def _two_hundred_at_once(url: str, record: dict, expected: str, n: int = 200) -> None:
    """n requests released together from n client threads: all answered 200 with the single request's label."""
    barrier = threading.Barrier(n)

    def one(_):
        barrier.wait()
        started = time.perf_counter()
        status, body = _post(url, {"dataframe_records": [record]}, timeout=300)
        return status, body, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(one, range(n)))
    errors = [(status, body) for status, body, _ in answers if status != 200]
    assert not errors, errors[:3]
    assert all(body["predictions"][0]["label"] == expected for _, body, _ in answers)  # same clip, same answer
    latency = np.array([seconds for _, _, seconds in answers]) * 1000
    p50, p90, p99 = np.percentile(latency, [50, 90, 99])
    print(
        f"{n} concurrent requests, 0 errors: latency p50 {p50:.0f} ms, p90 {p90:.0f} ms, p99 {p99:.0f} ms, max {latency.max():.0f} ms"
    )


def test_served_model_answers_raw_audio_and_rejects_a_wrong_payload(store, cache_dir):
    from emotion.data.synthetic import ensure_builtin_corpus
    from test_serving_contract import strict_json

    uri = _champion_uri(store)
    port = _free_port()
    # 200 requests queue behind one worker: the last waits ~200 encoder passes, past MLflow's default
    # 60-s request limit (a 504) on a slow day; the limit is the clients' 300 s, as the README advises
    env = {**subprocess_env(cache_dir, store["uri"]), "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT": "300"}
    server = subprocess.Popen(
        serve_command(uri, port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_ping(server, port)
        clip = sorted((ensure_builtin_corpus(cache_dir) / "Actor_06").glob("*.wav"))[0]
        record = {"audio": base64.b64encode(clip.read_bytes()).decode()}
        video = clip.with_suffix(".video.npy")
        wants_video = "video" in mlflow.pyfunc.load_model(uri).metadata.get_input_schema().input_names()
        if wants_video:
            record["video"] = base64.b64encode(video.read_bytes()).decode()
        status, body = _post(f"http://127.0.0.1:{port}/invocations", {"dataframe_records": [record]})
        assert status == 200, body
        prediction = body["predictions"][0]
        assert prediction["label"] in EMOTIONS and prediction["error"] in ("", None)
        bad_row = {**record, "audio": base64.b64encode(b"notaudio").decode()}
        raw = _post_raw(f"http://127.0.0.1:{port}/invocations", {"dataframe_records": [record, bad_row]})
        good, failed = strict_json(raw)["predictions"]  # a browser's JSON.parse reads it too
        assert good["label"] == prediction["label"] and failed["error"] and failed["p_angry"] is None
        for records in ([], [{"wrong_column": "x" * 500}]):  # MLflow's own 400s: "missing inputs", the payload
            status, body = _post(f"http://127.0.0.1:{port}/invocations", {"dataframe_records": records})
            assert status == 400 and body["message"].startswith('the request has no record with an "audio"'), body
            assert "xxxxx" not in body["message"] and "Failed to predict" not in body["message"]
        _two_hundred_at_once(f"http://127.0.0.1:{port}/invocations", record, prediction["label"])
    finally:
        server.terminate()
        server.wait(timeout=30)
