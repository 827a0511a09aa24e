"""Resumable training: the whole training state after every epoch, so a killed run can go on.

Layout under `checkpoint_dir`: one `epoch-NNNN/` folder per finished epoch (only the latest is kept):
    model.keras        the model with its optimizer state (Adam moments, current learning rate)
    best_weights.npz   EarlyStopping's best weights so far (restore_best_weights must survive a resume)
    state.json         MLflow run id, next epoch, history so far, callback counters, config digest
A folder is written under a temporary name and renamed into place, so a kill at any moment leaves
either the previous epoch's folder or the new one, never half of one. `state.json` ties the folder
to one configuration: resuming with different settings is refused rather than silently mixed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from emotion.errors import EmotionError

STATE_FILE = "state.json"
MODEL_FILE = "model.keras"
BEST_WEIGHTS_FILE = "best_weights.npz"
EPOCH_PREFIX = "epoch-"

# The counters each callback keeps between epochs (Keras resets them in on_train_begin).
RESUMABLE_ATTRIBUTES = {
    "EarlyStopping": ("wait", "best", "best_epoch", "stopped_epoch"),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
    "ModelCheckpoint": ("best",),
    "WarmupPlateauCosine": ("current", "best", "wait", "cosine_from"),
}


@dataclass
class TrainingState:
    run_id: str
    next_epoch: int  # fit(initial_epoch=next_epoch)
    history: dict[str, list[float]]
    callbacks: dict[str, dict]  # "<index>:<class>" -> {attribute: value}
    config_digest: str
    folder: Path
    stopped: bool = False  # early stopping had fired: no epochs left, only the best weights to restore

    def load_model(self) -> keras.Model:
        import emotion.models  # noqa: F401  registers the custom layers before loading

        return keras.models.load_model(self.folder / MODEL_FILE)


def config_digest(config) -> str:
    """Everything that shapes training, minus where the checkpoints go."""
    settings = dataclasses.asdict(config)
    settings["train"].pop("checkpoint_dir", None)
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _epoch_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.glob(f"{EPOCH_PREFIX}*") if p.is_dir() and (p / STATE_FILE).exists())


def checkpointed_parameters(config) -> dict:
    """The flat parameters a checkpoint records, so a refusal can say which differ (not where it goes)."""
    return {k: v for k, v in config.flat().items() if k != "checkpoint_dir"}


def _differences(saved: dict | None, current: dict | None, most: int = 3) -> str:
    if not saved or not current:
        return "its digest differs"
    names = [k for k in sorted(set(saved) | set(current)) if str(saved.get(k)) != str(current.get(k))]
    shown = ", ".join(f"{k}: {saved.get(k)!r} there, {current.get(k)!r} here" for k in names[:most])
    return shown + (f", and {len(names) - most} more" if len(names) > most else "") if names else "its digest differs"


def latest_state(root: Path, digest: str, parameters: dict | None = None) -> TrainingState | None:
    """The newest complete epoch folder under root, or None; one for another configuration (another
    encoder, say) is a one-line error naming the parameters that differ (`parameters`: this run's)."""
    folders = _epoch_folders(Path(root)) if Path(root).is_dir() else []
    if not folders:
        return None
    folder = folders[-1]
    saved = json.loads((folder / STATE_FILE).read_text())
    if saved["config_digest"] != digest:
        raise EmotionError(
            f"checkpoint_dir {root}: holds a checkpoint of another configuration "
            f"({_differences(saved.get('parameters'), parameters)}); use another folder or delete it"
        )
    return TrainingState(
        saved["run_id"],
        saved["next_epoch"],
        saved["history"],
        saved["callbacks"],
        digest,
        folder,
        saved.get("stopped", False),
    )


def _key(index: int, callback) -> str:
    return f"{index}:{type(callback).__name__}"


def _jsonable(value):
    return value.item() if isinstance(value, np.generic) else value


class EpochCheckpoint(keras.callbacks.Callback):
    """Writes the training state after every epoch and restores callback counters on resume.

    Put it last in the callback list: its on_train_begin runs after the others have reset themselves.
    """

    def __init__(
        self,
        root: Path,
        run_id: str,
        digest: str,
        callbacks: list,
        resume: TrainingState | None = None,
        parameters: dict | None = None,
    ):
        super().__init__()
        self.root, self.run_id, self.digest = Path(root), run_id, digest
        self.parameters = parameters or {}  # checkpointed_parameters: named when another config finds this
        self.tracked = callbacks
        self.resume = resume
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (resume.history if resume else {}).items()}

    def _early_stopping(self):
        return next((c for c in self.tracked if isinstance(c, keras.callbacks.EarlyStopping)), None)

    def on_train_begin(self, logs=None):
        if self.resume is None:
            return
        for index, callback in enumerate(self.tracked):
            for name, value in self.resume.callbacks.get(_key(index, callback), {}).items():
                setattr(callback, name, value)
        stopper, weights_file = self._early_stopping(), self.resume.folder / BEST_WEIGHTS_FILE
        if stopper is not None and weights_file.exists():
            with np.load(weights_file) as saved:
                stopper.best_weights = [saved[f"w{i}"] for i in range(len(saved.files))]

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        counters = {
            _key(i, c): {
                a: _jsonable(getattr(c, a)) for a in RESUMABLE_ATTRIBUTES.get(type(c).__name__, ()) if hasattr(c, a)
            }
            for i, c in enumerate(self.tracked)
        }
        state = {
            "run_id": self.run_id,
            "next_epoch": epoch + 1,
            "history": self.history,
            "callbacks": counters,
            "config_digest": self.digest,
            "parameters": {k: _jsonable(v) for k, v in self.parameters.items()},
            "stopped": bool(self.model.stop_training),
        }
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / f"{EPOCH_PREFIX}{epoch + 1:04d}"
        partial = self.root / f".partial-{final.name}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        self.model.save(partial / MODEL_FILE)
        stopper = self._early_stopping()
        if stopper is not None and stopper.best_weights is not None:
            np.savez(partial / BEST_WEIGHTS_FILE, **{f"w{i}": w for i, w in enumerate(stopper.best_weights)})
        (partial / STATE_FILE).write_text(json.dumps(state))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)  # the epoch becomes visible whole or not at all
        for older in _epoch_folders(self.root)[:-1]:
            shutil.rmtree(older, ignore_errors=True)


def clear(root: Path) -> None:
    """Remove the epoch folders once the run has finished (its results live in MLflow)."""
    for folder in Path(root).glob(f"{EPOCH_PREFIX}*"):
        shutil.rmtree(folder, ignore_errors=True)
