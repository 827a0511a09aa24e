"""The logged model: one MLflow model with two flavours.

- `keras`: the network in .keras format (`mlflow.keras.load_model` after `import emotion.models`),
  taking standardised features.
- `python_function`: loads with no project install: the model folder carries a copy of the
  `emotion` package under code/ (MLflow puts it on sys.path) and the normaliser, so it takes raw
  feature sequences and returns class probabilities.

Why not plain `mlflow.keras.log_model`: a model with custom layers logged that way cannot be loaded
by a fresh process ("Could not locate class"), and it takes no `code_paths`. This module is a
flavour module for `mlflow.models.Model.log`, which keeps MLflow 3's logged-model bookkeeping.
"""

from __future__ import annotations

import json
import shutil
import sys
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
from mlflow import pyfunc
from mlflow.models import Model, ModelSignature
from mlflow.types.schema import Schema, TensorSpec

from emotion.features.normalise import Normaliser

PACKAGE_DIR = Path(__file__).resolve().parent
NORMALISER_FILE = "normaliser.json"
METADATA_FILE = "emotion_model.json"
REQUIRED_PACKAGES = ("tensorflow", "keras", "mlflow", "numpy", "pandas", "scipy", "soundfile", "scikit-learn")


def pip_requirements() -> list[str]:
    """Pinned to what trained the model: MLflow's inference finds only mlflow and keras here."""
    return [f"{name}=={importlib_metadata.version(name)}" for name in REQUIRED_PACKAGES]


def model_signature(input_dims: dict[str, int], n_classes: int) -> ModelSignature:
    """Variable-length input per modality: (batch, time, features) with batch and time free."""
    inputs = Schema([TensorSpec(np.dtype(np.float32), (-1, -1, dim), name) for name, dim in input_dims.items()])
    outputs = Schema([TensorSpec(np.dtype(np.float32), (-1, n_classes), "probabilities")])
    return ModelSignature(inputs=inputs, outputs=outputs)


def save_model(path, mlflow_model=None, *, keras_model, normaliser: Normaliser, model_metadata: dict, signature):
    """Write the model folder (called by Model.log, or directly for a local copy)."""
    import mlflow.keras

    mlflow_model = mlflow_model or Model()
    mlflow.keras.save_model(
        keras_model, path, mlflow_model=mlflow_model, signature=signature, pip_requirements=pip_requirements()
    )
    data_dir = Path(path) / "data"
    normaliser.save(data_dir / NORMALISER_FILE)
    (data_dir / METADATA_FILE).write_text(json.dumps(model_metadata, indent=2))
    shutil.copytree(PACKAGE_DIR, Path(path) / "code" / "emotion", ignore=shutil.ignore_patterns("__pycache__"))
    # Replace the keras flavour's pyfunc entry with ours, which normalises and needs no install.
    mlflow_model.flavors.pop(pyfunc.FLAVOR_NAME, None)
    pyfunc.add_to_model(
        mlflow_model,
        loader_module="emotion.mlflow_model",
        data="data",
        code="code",
        conda_env="conda.yaml",
        python_env="python_env.yaml",
    )
    mlflow_model.save(str(Path(path) / "MLmodel"))


def log_model(keras_model, normaliser: Normaliser, model_metadata: dict, signature: ModelSignature, name="model"):
    """Log to the active run; returns MLflow's ModelInfo (model_uri, model_id)."""
    return Model.log(
        None,  # artifact_path: deprecated in MLflow 3 in favour of name, but still positional
        sys.modules[__name__],
        name=name,
        flavor_name="keras",
        keras_model=keras_model,
        normaliser=normaliser,
        model_metadata=model_metadata,
        signature=signature,
    )


class EmotionModel:
    """pyfunc model: {"audio": (B, T, F)[, "video": ...]} raw zero-padded features -> (B, n_classes)."""

    def __init__(self, keras_model, normaliser: Normaliser, model_metadata: dict):
        self.keras_model = keras_model
        self.normaliser = normaliser
        self.metadata = model_metadata

    def predict(self, data, params=None) -> np.ndarray:
        inputs = {}
        for modality in self.metadata["modalities"]:
            if modality not in data:
                raise ValueError(f"missing input {modality!r}; the model takes {', '.join(self.metadata['modalities'])}")
            batch = np.asarray(data[modality], dtype=np.float32)  # (B, T, F)
            padded = ~np.any(batch != 0, axis=-1, keepdims=True)  # (B, T, 1): all-zero frames are padding
            normalised = (batch - self.normaliser.mean[modality]) / self.normaliser.std[modality]
            inputs[modality] = np.where(padded, 0.0, normalised).astype(np.float32)
        return np.asarray(self.keras_model.predict(inputs, verbose=0), dtype=np.float32)


def _load_pyfunc(data_path: str) -> EmotionModel:
    """MLflow's pyfunc entry: data_path is the model folder's data/."""
    import keras

    import emotion.models.layers  # noqa: F401 -- registers the custom layers with Keras

    data_dir = Path(data_path)
    keras_model = keras.saving.load_model(data_dir / "model.keras")
    normaliser = Normaliser.load(data_dir / NORMALISER_FILE)
    model_metadata = json.loads((data_dir / METADATA_FILE).read_text())
    return EmotionModel(keras_model, normaliser, model_metadata)
