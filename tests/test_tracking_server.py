"""Team tracking server: a real `mlflow server` on PostgreSQL with S3 (moto) artifacts proxied through
it; a training entry point logs to it with no cloud keys and everything reads back through it.
A server that is down is one line naming the URI, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from conftest import ROOT, subprocess_env
from emotion.errors import EmotionError
from emotion.tracking.server import HOST_REJECTED, check_tracking_server, server_command
from services import PG_PASSWORD, free_port, moto_s3, postgres_db, tracking_server  # noqa: F401 (fixtures)


def _client_env(cache_dir, uri: str) -> dict[str, str]:
    """A team member's machine: the server's URI and nothing else, no AWS settings at all."""
    return {k: v for k, v in subprocess_env(cache_dir, uri).items() if not k.startswith("AWS_")}


def test_server_command_uses_flags_this_mlflow_has():
    from mlflow.cli import server

    command = server_command(
        "postgresql://postgres@127.0.0.1:5432/mlflow", "s3://bucket/mlflow", port=5123, allowed_hosts="mlflow.lan"
    )
    assert command[:2] == ["mlflow", "server"]
    known = {opt for param in server.params for opt in param.opts}
    assert {arg for arg in command[2:] if arg.startswith("--")} <= known
    options = dict(zip(command, command[1:]))  # flag -> the word after it
    assert options["--artifacts-destination"] == "s3://bucket/mlflow" and options["--workers"] == "1"
    assert options["--port"] == "5123" and options["--allowed-hosts"] == "mlflow.lan" and "--serve-artifacts" in command


def test_tracking_server_command_masks_the_password_and_keeps_it_out_of_the_arguments(monkeypatch, capsys):
    import os

    from emotion import cli

    ran = []
    monkeypatch.setattr(os, "execvpe", lambda file, args, env: ran.append((args, env)))
    store = "postgresql://mlflow:s3cret-pw@127.0.0.1:5432/mlflow"
    argv = [
        "tracking-server",
        "--backend-store-uri",
        store,
        "--artifacts-destination",
        "s3://b/mlflow",
        "--port",
        "5123",
    ]
    cli.main(argv)
    (args, env), printed = ran[0], capsys.readouterr().out.strip()
    assert args[:2] == ["mlflow", "server"] and "--serve-artifacts" in args
    assert not any("s3cret" in a for a in args), "the password would show in `ps`"
    assert env["MLFLOW_BACKEND_STORE_URI"] == store  # `mlflow server` reads --backend-store-uri from it
    assert "s3cret" not in printed
    assert printed == "MLFLOW_BACKEND_STORE_URI=postgresql://mlflow:***@127.0.0.1:5432/mlflow " + " ".join(args)


def test_a_down_server_is_one_line_naming_the_uri():
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EmotionError) as caught:
        check_tracking_server(uri)
    message = str(caught.value)
    assert message.startswith(f"tracking server {uri} is not reachable: ") and "\n" not in message
    assert "MLFLOW_TRACKING_URI" in message


@pytest.mark.parametrize("uri", ["sqlite:///mlflow.db", "file:///tmp/mlruns", "databricks", "/tmp/mlruns"])
def test_local_stores_are_not_checked(uri):
    check_tracking_server(uri)


TRACKING_COMMANDS = [
    ["train", "no_aug"],
    ["compare", "no_aug,cnn_pooling"],
    ["cv", "cnn_pooling"],
    ["tune", "cnn_pooling", "n_trials=1"],
    ["register"],
    ["evaluate", "models:/emotion@champion", "."],
    ["predict", "models:/emotion@champion", "."],
]


def _one_line_error(args: list[str], uri: str, tmp_path) -> str:
    """The command's stderr, after checking it exits 2 with one line and no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "emotion.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_client_env(tmp_path, uri),
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-2000:]
    return proc.stderr


@pytest.mark.parametrize("args", TRACKING_COMMANDS, ids=lambda a: a[0])
def test_cli_with_a_down_server_exits_2_with_one_line(args, tmp_path):
    """Every command that talks to the tracking server checks it first (MLflow's retries take ~250 s)."""
    uri = f"http://127.0.0.1:{free_port()}"
    assert _one_line_error(args, uri, tmp_path).startswith(f"error: tracking server {uri} is not reachable")


@pytest.mark.parametrize("args", TRACKING_COMMANDS, ids=lambda a: a[0])
def test_a_malformed_tracking_uri_is_one_line(args, tmp_path):
    uri = "http://not a uri"
    assert _one_line_error(args, uri, tmp_path).startswith(f"error: tracking URI {uri!r} is malformed")


def test_the_running_server_never_shows_the_store_password(tracking_server):
    """The fixture's store URI carries a password (trust auth ignores it): not in what `emotion
    tracking-server` printed, nor in the arguments of any process of the server (what `ps` shows)."""
    assert PG_PASSWORD in tracking_server.store_uri
    log = tracking_server.log.read_text()
    assert log.splitlines()[0].startswith("MLFLOW_BACKEND_STORE_URI=postgresql://") and PG_PASSWORD not in log
    group = os.getpgid(tracking_server.pid)  # start_new_session: the server and its workers share one group
    members = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _group(p) == group]
    assert len(members) >= 2, "mlflow server and its uvicorn worker"
    for member in members:
        assert PG_PASSWORD.encode() not in (member / "cmdline").read_bytes(), member


def _group(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2])  # field 5: the process group
    except (OSError, IndexError, ValueError):
        return None  # exited meanwhile


def test_a_live_server_passes_the_check(tracking_server):
    check_tracking_server(tracking_server.uri)
    print(f"mlflow server answered /health after {tracking_server.seconds_to_health:.1f} s")


def test_the_server_checks_host_names_on_the_api_but_not_on_health(tracking_server):
    """Why check_tracking_server tries an API path too: MLflow 3 answers /health whatever the Host
    header, the API only for --allowed-hosts (default: loopback and private IPs)."""
    import urllib.error
    import urllib.request

    def status(path: str, host: str) -> tuple[int, str]:
        request = urllib.request.Request(f"{tracking_server.uri}{path}", headers={"Host": host})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    api = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default"
    assert status("/health", "mlflow.team.example")[0] == 200
    code, body = status(api, "mlflow.team.example")
    assert code == 403 and body.startswith(HOST_REJECTED)
    assert status(api, tracking_server.uri.split("//")[1])[0] == 200


def test_a_rejected_host_name_is_one_line_naming_the_flag():
    """A stand-in for a server reached by a name it does not allow (as above, without DNS)."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code, body = (
                (200, b"OK")
                if self.path == "/health"
                else (403, (HOST_REJECTED + " - possible DNS rebinding").encode())
            )
            self.send_response(code)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(EmotionError, match=f"--allowed-hosts 127.0.0.1:{server.server_port}$"):
            check_tracking_server(uri)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_entry_point_logs_through_the_server_to_postgres_and_s3(tracking_server, cache_dir, tmp_path, monkeypatch):
    uri, experiment = tracking_server.uri, f"team-{uuid.uuid4().hex[:8]}"
    command = [
        "mlflow",
        "run",
        str(ROOT),
        "-e",
        "cnn_pooling",
        "--env-manager",
        "local",
        "--experiment-name",
        experiment,
        "-P",
        "max_actors=6",
        "-P",
        "epochs=1",
    ]
    env = _client_env(cache_dir, uri)
    assert not any(k.startswith("AWS_") for k in env)
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert f"Logged to {uri}" in proc.stdout

    # Everything read back through the server. MLflow 3.17 resolves models:/<id> with the default
    # client whatever tracking_uri= says: without this it would read ./mlflow.db.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    run = runs[0]
    run_id = run.info.run_id
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), "artifacts must be proxied by the server"
    assert run.data.params["variant"] == "cnn_pooling" and float(run.data.params["epochs"]) == 1
    assert 0.0 <= run.data.metrics["test_ua"] <= 1.0
    loss = client.get_metric_history(run_id, "loss")
    assert [m.step for m in loss] == list(range(int(run.data.metrics["epochs_run"]))) and loss

    top = {a.path for a in client.list_artifacts(run_id)}
    assert {"figures", "normaliser.json", "build_report.txt"} <= top
    assert "figures/learning_curves.png" in {a.path for a in client.list_artifacts(run_id, "figures")}
    normaliser = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="normaliser.json", dst_path=str(tmp_path / "dl"), tracking_uri=uri
    )
    assert json.loads(Path(normaliser).read_text())

    models = client.search_logged_models(experiment_ids=[exp.experiment_id])
    assert len(models) == 1
    model_id = models[0].model_id
    model_dir = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{model_id}", dst_path=str(tmp_path / "model"), tracking_uri=uri
    )
    assert (Path(model_dir) / "MLmodel").is_file()

    # ... and the bytes really are in the bucket, under the server's prefix
    keys = tracking_server.s3.keys(f"{tracking_server.prefix}/")
    run_keys = [k for k in keys if f"/{run_id}/artifacts/" in k]
    assert any(k.endswith("/normaliser.json") for k in run_keys) and any("/figures/" in k for k in run_keys)
    assert any(f"/models/{model_id}/" in k and k.endswith("/MLmodel") for k in keys), keys[:20]

    # ... and nowhere local: no ./mlruns, ./mlartifacts or ./mlflow.db where the client ran
    for folder in (tmp_path, ROOT):
        assert not [p for p in folder.glob("mlruns/**/*") if run_id in p.name or model_id in p.name]
        assert not (folder / "mlartifacts").exists()
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_a_missing_service_fails_under_ci_and_skips_elsewhere(monkeypatch):
    from services import unavailable

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        unavailable("PostgreSQL not reachable at 127.0.0.1:5432: refused")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL not reachable"):
        unavailable("PostgreSQL not reachable at 127.0.0.1:5432: refused")
