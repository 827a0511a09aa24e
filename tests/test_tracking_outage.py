"""A real `mlflow server` stops mid-training: training goes on, and every metric reaches the server once
it is back; when it never comes back the run finishes locally and `emotion sync` sends it later."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from conftest import subprocess_env
from emotion.tracking.server import server_command, wait_until_healthy
from services import clean_env, free_port, log_tail, stop

EPOCHS = 12
TRAIN = ["cnn_lstm_simplified", "max_actors=6", f"epochs={EPOCHS}", "early_stopping_patience=50"]


class Server:
    """One `mlflow server` on a SQLite store and a local artifact folder, stopped and started at will."""

    def __init__(self, workdir: Path):
        self.workdir, self.port = workdir, free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> None:
        command = server_command(f"sqlite:///{self.workdir}/mlflow.db", str(self.workdir / "artifacts"), port=self.port)
        with open(self.workdir / "server.log", "a") as out:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=clean_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_healthy(self.uri, timeout=180, process=self.process)

    def stop(self) -> None:
        stop(self.process)


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path)
    running.start()
    yield running
    stop(running.process)


def _train_watching(server: Server, cache_dir: Path, tmp_path: Path, actions: dict[int, callable], *extra: str):
    """Run `emotion train`, calling actions[n] when epoch n starts; (returncode, stdout)."""
    env = {**subprocess_env(cache_dir, server.uri), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "emotion.cli", "train", *TRAIN, *extra]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        for epoch, action in list(actions.items()):
            if line.startswith(f"Epoch {epoch}/"):
                action()
                del actions[epoch]
    return proc.wait(timeout=600), "".join(lines)


def _steps(client, run_id: str, key: str) -> set[int]:
    return {m.step for m in client.get_metric_history(run_id, key)}


@pytest.mark.slow
def test_metrics_logged_during_an_outage_reach_the_server_when_it_returns(server, cache_dir, tmp_path):
    code, out = _train_watching(server, cache_dir, tmp_path, {3: server.stop, 6: server.start})
    assert code == 0, out[-3000:] + log_tail(server.workdir / "server.log")
    assert "tracking server unreachable" in out and "buffered metric values sent" in out
    assert "Traceback" not in out
    client = mlflow.MlflowClient(server.uri)
    (run,) = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert _steps(client, run.info.run_id, key) == set(range(EPOCHS)), key  # 0 metrics lost
    assert run.info.status == "FINISHED" and "test_ua" in run.data.metrics


@pytest.mark.slow
def test_a_server_that_never_returns_leaves_a_local_run_that_syncs_later(server, cache_dir, tmp_path):
    code, out = _train_watching(server, cache_dir, tmp_path, {3: server.stop}, "tracking_wait_seconds=3")
    assert code == 0, out[-3000:]
    assert "Traceback" not in out
    (message,) = [line for line in out.splitlines() if "emotion sync" in line]
    folder = message.rsplit("emotion sync ", 1)[1].strip()
    assert Path(folder, "mlflow.db").is_file()

    server.start()
    synced = subprocess.run(
        [sys.executable, "-m", "emotion.cli", "sync", folder],
        env=subprocess_env(cache_dir, server.uri),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert synced.returncode == 0, synced.stderr[-3000:]
    # global as well: MLflow resolves a run's model artifacts through its LoggedModel on the global URI
    mlflow.set_tracking_uri(server.uri)
    client = mlflow.MlflowClient(server.uri)
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    (run,) = runs
    assert run.info.status == "FINISHED"
    for key in ("loss", "val_accuracy"):
        assert _steps(client, run.info.run_id, key) == set(range(EPOCHS)), key
    assert {"test_ua", "test_wa", "test_macro_f1", "train_seconds"} <= set(run.data.metrics)
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"history.json", "figures", "model"} <= names
    assert "MLmodel" in {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "model")}
    assert not Path(folder).exists()  # sent: the local copy is gone

    # a LoggedModel on the server for the synced run: `register` can promote it, models:/<id> loads it
    (logged,) = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert logged.source_run_id == run.info.run_id and str(logged.status) == "READY"
    from emotion.serving.model_registry import register_best

    promoted = register_best(experiment=client.get_experiment(run.info.experiment_id).name, model_name="synced")
    assert promoted.moved and promoted.run_id == run.info.run_id
    champion = client.get_model_version_by_alias("synced", "champion")
    assert champion.run_id == run.info.run_id and logged.model_id in champion.source  # models:/<the server's id>
    mlmodel = mlflow.models.Model.load(f"models:/{logged.model_id}")
    assert (mlmodel.run_id, mlmodel.model_id) == (run.info.run_id, logged.model_id)
