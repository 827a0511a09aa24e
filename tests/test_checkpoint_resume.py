"""checkpoint_dir: a training that dies after some epochs goes on, in the same MLflow run, from the last one."""

from __future__ import annotations

import json

import keras
import mlflow
import pytest

from emotion.experiment import checkpoint
from emotion.config import build_config
from emotion.errors import EmotionError
from emotion.experiment.train import train

FAST = {"max_actors": "6", "epochs": "4", "early_stopping_patience": "50"}


class DieAfterEpoch(keras.callbacks.Callback):
    """Stands in for a spot interruption: the process is gone after `epoch` epochs were checkpointed."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt("simulated interruption")


def test_an_interrupted_run_resumes_in_the_same_run_from_the_last_epoch(cache_dir, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    folder = tmp_path / "ckpt"
    config = build_config("cnn_pooling", {**FAST, "checkpoint_dir": str(folder)})

    # The interruption fires in a callback placed before the checkpoint, so epoch 2's state is not saved.
    with pytest.raises(KeyboardInterrupt):
        train(config, cache_dir, extra_callbacks=[DieAfterEpoch(3)])
    mlflow.end_run("KILLED")
    saved = checkpoint.latest_state(folder, checkpoint.config_digest(config))
    assert saved is not None and saved.next_epoch == 2  # epochs 1-2 survived, epoch 3 was lost with the process
    assert not list(folder.glob(".partial-*"))

    result = train(config, cache_dir)
    assert result.run_id == saved.run_id  # the same MLflow run goes on
    assert result.epochs_run == 4  # 2 before the interruption + 2 after, one curve
    client = mlflow.MlflowClient()
    curve = client.get_metric_history(result.run_id, "val_accuracy")
    # Epoch 3 was logged, then lost before its checkpoint: it is trained and logged again (same step).
    assert sorted({m.step for m in curve}) == [0, 1, 2, 3]
    history = json.loads(mlflow.artifacts.load_text(f"runs:/{result.run_id}/history.json"))
    assert len(history["loss"]) == 4
    assert client.get_run(result.run_id).info.status == "FINISHED"
    assert result.test["ua"] > 0  # evaluated after the resume
    assert not list(folder.glob("epoch-*"))  # finished: the next command starts a new run


def test_a_checkpoint_of_another_configuration_is_refused(cache_dir, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    folder = tmp_path / "ckpt"
    first = build_config("cnn_pooling", {**FAST, "checkpoint_dir": str(folder)})
    epoch = folder / "epoch-0001"
    epoch.mkdir(parents=True)  # what EpochCheckpoint leaves after one epoch of `first` (its state file)
    state = {
        "run_id": "r",
        "next_epoch": 1,
        "history": {},
        "callbacks": {},
        "config_digest": checkpoint.config_digest(first),
    }
    (epoch / checkpoint.STATE_FILE).write_text(json.dumps(state))
    other = build_config("cnn_pooling", {**FAST, "dropout": "0.1", "checkpoint_dir": str(folder)})
    with pytest.raises(EmotionError, match=r"another configuration \(its digest differs\)"):
        train(other, cache_dir)
    assert checkpoint.latest_state(folder, checkpoint.config_digest(first)).next_epoch == 1  # the same settings resume
