"""Determinism and kill -9: the same seed gives the same metrics, and a SIGKILLed training resumed by the
same command ends in the same MLflow run with exactly the metrics of an uninterrupted one (CPU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import mlflow
import pytest

from conftest import subprocess_env
from emotion.config import build_config
from emotion.experiment.train import train

# Dropout, sync augmentation (stateless draws per clip) and reshuffling: every kind of randomness a run has.
RANDOM_EVERYWHERE = {"max_actors": "6", "early_stopping_patience": "50", "augment": "sync"}
FINAL_METRICS = ("test_ua", "test_wa", "test_macro_f1", "val_ua", "val_wa", "val_macro_f1")


def _final(run_id: str) -> dict:
    """Final metrics and the whole learning curve of a finished run."""
    run = mlflow.MlflowClient().get_run(run_id)
    history = json.loads(mlflow.artifacts.load_text(f"runs:/{run_id}/history.json"))
    return {
        "metrics": {k: run.data.metrics[k] for k in FINAL_METRICS},
        "loss": history["loss"],
        "status": run.info.status,
    }


def test_same_seed_same_metrics_other_seed_other_metrics(cache_dir, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    config = build_config("cnn_lstm_simplified", {**RANDOM_EVERYWHERE, "epochs": "3"})
    first, second = train(config, cache_dir), train(config, cache_dir)
    assert _final(first.run_id) == _final(second.run_id)  # exact: every float, every epoch
    other = train(build_config("cnn_lstm_simplified", {**RANDOM_EVERYWHERE, "epochs": "3", "seed": "7"}), cache_dir)
    assert _final(other.run_id)["loss"] != _final(first.run_id)["loss"]


def _train_command(checkpoint_dir) -> list[str]:
    args = [f"{k}={v}" for k, v in {**RANDOM_EVERYWHERE, "epochs": "6", "checkpoint_dir": str(checkpoint_dir)}.items()]
    return [sys.executable, "-m", "emotion.cli", "train", "cnn_lstm_simplified", *args]


def _run_ids(tracking_uri: str) -> list[str]:
    mlflow.set_tracking_uri(tracking_uri)
    return [r.info.run_id for r in mlflow.search_runs(search_all_experiments=True, output_format="list")]


@pytest.mark.slow
def test_sigkill_then_the_same_command_resumes_to_identical_metrics(cache_dir, tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    env = subprocess_env(cache_dir, uri)
    reference = subprocess.run(
        _train_command(tmp_path / "ref-ckpt"), env=env, capture_output=True, text=True, timeout=600
    )
    assert reference.returncode == 0, reference.stderr[-3000:]
    (reference_id,) = _run_ids(uri)

    folder = tmp_path / "ckpt"
    victim = subprocess.Popen(_train_command(folder), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (folder / "epoch-0003").exists():  # three epochs safely on disk, the fourth under way
        assert victim.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline, "no third checkpoint within 5 min"
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    (killed_id,) = set(_run_ids(uri)) - {reference_id}
    assert mlflow.MlflowClient().get_run(killed_id).info.status == "RUNNING"  # SIGKILL: nobody could end it

    resumed = subprocess.run(_train_command(folder), env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming run {killed_id}" in resumed.stdout
    assert set(_run_ids(uri)) == {reference_id, killed_id}  # no third run: the killed one went on
    assert _final(killed_id) == {**_final(reference_id), "status": "FINISHED"}
    curve = mlflow.MlflowClient().get_metric_history(killed_id, "loss")
    assert {m.step for m in curve} == set(range(6))  # no epoch lost from the curve
    assert not list(folder.glob("epoch-*"))  # finished: checkpoints cleared
    assert not list(folder.glob(".partial-*"))
