"""Training survives a tracking-server outage: metrics are buffered, and a run whose server never comes
back finishes in a local store that `emotion sync FOLDER` later pushes into the server's run.

- `MetricBuffer`: each epoch's metrics are sent at once when the server answers; when it does not,
  they wait in memory and go with the next epoch's (one warning line, training goes on). Calls fail
  fast (MLflow's own client retries a refused connection for minutes: OUTAGE_RETRIES replaces that).
- At the end of training `wait()` retries for `tracking_wait_seconds`. If the server is still away,
  `go_local()` ends the server run without the server, and the rest of the run (buffered metrics,
  final metrics, figures, model) is logged to `<cache>/unsynced/<run id>/mlflow.db`;
  `sync()` later copies it into the original run on the server and marks it FINISHED.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus, Metric
from mlflow.models import Model
from mlflow.models.model import MLMODEL_FILE_NAME

from emotion.errors import EmotionError
from emotion.tracking.server import check_tracking_server

OUTAGE_RETRIES = "1"  # MLFLOW_HTTP_REQUEST_MAX_RETRIES for buffered calls: the buffer is the retry
RETRY_SECONDS = 5.0  # between attempts while waiting for the server at the end of training
BATCH = 1000  # MLflow's log_batch limit on metrics per call
RECORD_FILE = "unsynced.json"
LOCAL_EXPERIMENT = "unsynced"


@contextlib.contextmanager
def _fail_fast():
    """MLflow's client retries for minutes by default; one quick retry here (env read per request)."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES=OUTAGE_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT="10")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _send(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    for start in range(0, len(metrics), BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + BATCH], synchronous=True)


class MetricBuffer:
    """Metrics of one run that reach the server whenever it answers; none is dropped."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.pending: list[Metric] = []
        self.down_since: float | None = None

    def log(self, metrics: dict, step: int) -> None:
        stamp = int(time.time() * 1000)
        self.pending += [Metric(k, float(v), stamp, step) for k, v in metrics.items()]
        self.flush()

    def flush(self) -> bool:
        """Send everything pending; False (and keep it) when the server does not answer."""
        if not self.pending:
            return True
        try:
            with _fail_fast():
                _send(MlflowClient(), self.run_id, self.pending)
        except Exception as error:  # connection refused, 5xx, timeouts: MlflowException or requests' errors
            if self.down_since is None:
                self.down_since = time.time()
                reason = " ".join(str(error).split())[:160]
                print(f"warning: tracking server unreachable ({reason}); metrics are kept and training goes on")
            return False
        if self.down_since is not None:
            print(
                f"tracking server back after {time.time() - self.down_since:.0f} s: {len(self.pending)} buffered metric values sent"
            )
            self.down_since = None
        self.pending = []
        return True

    def wait(self, seconds: float) -> bool:
        """Retry until everything is sent or `seconds` have passed."""
        deadline = time.time() + seconds
        while not self.flush():
            if time.time() >= deadline:
                return False
            time.sleep(min(RETRY_SECONDS, max(0.0, deadline - time.time())))
        return True


def go_local(buffer: MetricBuffer, cache_root: Path) -> Path:
    """The server stayed away: end its run here without it, and go on in a local store (returned folder)."""
    server_uri = mlflow.get_tracking_uri()
    folder = Path(cache_root) / "unsynced" / buffer.run_id
    folder.mkdir(parents=True, exist_ok=True)
    stack = mlflow.tracking.fluent._active_run_stack.get()  # no public way to drop a run the server cannot end
    run = stack.pop()
    monitor = mlflow.tracking.fluent.run_id_to_system_metrics_monitor.pop(run.info.run_id, None)
    if monitor is not None:  # stop its (daemon) thread, without joining: it may sit in MLflow's minutes-long retries
        monitor._shutdown_event.set()
    os.environ.pop("MLFLOW_RUN_ID", None)  # as end_run does: under `mlflow run` it names the server run
    record = {"server_uri": server_uri, "run_id": run.info.run_id}
    partial = folder / f".{RECORD_FILE}.tmp"
    partial.write_text(json.dumps(record, indent=1))
    os.replace(partial, folder / RECORD_FILE)  # whole or absent: sync never reads half a record
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    mlflow.set_experiment(LOCAL_EXPERIMENT)
    mlflow.start_run(run_name=f"unsynced-{run.info.run_id}", tags={"emotion.server_run_id": run.info.run_id})
    client = MlflowClient()
    _send(client, mlflow.active_run().info.run_id, buffer.pending)
    buffer.pending = []
    return folder


def sync_message(folder: Path) -> str:
    return (
        f"tracking server did not come back: the run finished locally in {folder}; "
        f"when the server is up, send it with: emotion sync {folder}"
    )


def _server_logged_model(server: MlflowClient, run_id: str, local_model, path: str) -> str:
    """The local run's LoggedModel recreated on the server for the server run (what `register` looks for,
    and what `models:/<id>` loads), its MLmodel pointing at the server's run and model ids."""
    experiment_id = server.get_run(run_id).info.experiment_id
    logged = server.create_logged_model(
        experiment_id,
        name=local_model.name,
        source_run_id=run_id,
        params=local_model.params,
        model_type=local_model.model_type,
        tags={k: v for k, v in local_model.tags.items() if not k.startswith("mlflow.")},
    )
    try:
        mlmodel = Model.load(path)
        mlmodel.run_id, mlmodel.model_id = run_id, logged.model_id
        mlmodel.save(str(Path(path) / MLMODEL_FILE_NAME))
        server.log_model_artifacts(logged.model_id, path)
    except BaseException:
        server.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)  # never left PENDING
        raise
    server.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    return logged.model_id


def sync(folder: Path) -> str:
    """Copy a locally finished run into its server run (metrics, artifacts, model) and finish it there."""
    folder = Path(folder)
    record_file = folder / RECORD_FILE
    if not record_file.is_file():
        raise EmotionError(f"{folder}: not an unsynced run folder (no {RECORD_FILE})")
    record = json.loads(record_file.read_text())
    check_tracking_server(record["server_uri"])  # still down: one line now, not MLflow's minutes of retries
    local_uri = f"sqlite:///{folder / 'mlflow.db'}"
    local = MlflowClient(local_uri)
    experiment = local.get_experiment_by_name(LOCAL_EXPERIMENT)
    runs = local.search_runs([experiment.experiment_id]) if experiment else []
    if len(runs) != 1:
        raise EmotionError(f"{folder}: expected one local run, found {len(runs)}")
    run, server, target = runs[0], MlflowClient(record["server_uri"]), record["run_id"]
    _send(server, target, [m for key in run.data.metrics for m in local.get_metric_history(run.info.run_id, key)])
    with tempfile.TemporaryDirectory(prefix="emotion-sync-") as tmp:
        artifacts = Path(local.download_artifacts(run.info.run_id, "", tmp))
        if any(artifacts.iterdir()):
            server.log_artifacts(target, str(artifacts))
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(local_uri)  # search_logged_models is fluent-only
        try:
            models = mlflow.search_logged_models(experiment_ids=[experiment.experiment_id], output_format="list")
            paths = {
                model.name: mlflow.artifacts.download_artifacts(
                    model.artifact_location, dst_path=str(Path(tmp) / "models" / model.name)
                )
                for model in models
            }
        finally:
            mlflow.set_tracking_uri(previous)
        for model in models:
            server.log_artifacts(target, paths[model.name], model.name)  # runs:/<id>/<name> loads, as before
            _server_logged_model(server, target, model, paths[model.name])
    server.set_terminated(target, "FINISHED")
    shutil.rmtree(folder)
    return target
