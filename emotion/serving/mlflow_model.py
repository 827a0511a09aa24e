"""The logged model: one MLflow model with two flavours.

- `keras`: the network in .keras format (`mlflow.keras.load_model` after `import emotion.models`),
  taking standardised features (the network alone: a clip-functional SVM, where trained, is pyfunc-only).
- `python_function`: loads with no project install: the model folder carries a copy of the
  `emotion` package under code/ (MLflow puts it on sys.path), the feature parameters and the
  normaliser, so it takes raw media and returns labels and probabilities. Input: a DataFrame
  with a binary column "audio" (an audio file's bytes: WAV, FLAC, OGG, MP3, any rate) and, for
  audio-visual models, "video" (a .video.npy file's bytes or a video file's). Output: columns
  "label", "p_<emotion>" for every emotion, and "error" (empty, or why that row has no prediction;
  such a row's probabilities are None, so served JSON says null, which every JSON parser reads).
  A request with no records, or without an "audio" field, is refused whole with a RequestError (HTTP 400).
  With `svm_weight` > 0 the probabilities blend the network's with the clip-functional SVM's
  (emotion/models/clip_svm.py, saved beside the network), exactly as the run's test metrics did.

Why not plain `mlflow.keras.log_model`: a model with custom layers logged that way cannot be loaded
by a fresh process ("Could not locate class"), and it takes no `code_paths`. This module is a
flavour module for `mlflow.models.Model.log`, which keeps MLflow 3's logged-model bookkeeping.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import pyfunc
from mlflow.models import Model, ModelSignature
from mlflow.models.utils import _save_example  # what every built-in flavour's save_model calls; no public twin
from mlflow.types.schema import ColSpec, DataType, Schema, TensorSpec

from emotion.config import FeatureConfig
from emotion.errors import BadInputError
from emotion.corpus.labels import EMOTIONS
from emotion.features.audio import require_min_duration
from emotion.features.normalise import Normaliser, per_speaker
from emotion.models.clip_svm import ClipSVM, blend
from emotion.serving.model_environment import pip_requirements, write_environment
from emotion.serving.model_output import EXAMPLE_REQUEST, RequestError, prediction_frame

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the emotion package, copied whole into each model's code/
NORMALISER_FILE = "normaliser.json"
METADATA_FILE = "emotion_model.json"
CLIP_SVM_FILE = "clip_svm.joblib"


def keras_signature(input_dims: dict[str, int], n_classes: int) -> ModelSignature:
    """The network's: variable-length standardised features per modality, (batch, time, features)."""
    inputs = Schema([TensorSpec(np.dtype(np.float32), (-1, -1, dim), name) for name, dim in input_dims.items()])
    outputs = Schema([TensorSpec(np.dtype(np.float32), (-1, n_classes), "probabilities")])
    return ModelSignature(inputs=inputs, outputs=outputs)


def media_signature(modalities: list[str], classes: list[str]) -> ModelSignature:
    """The pyfunc's (what serving enforces): raw media bytes in, label and probabilities out. Every input
    is optional to MLflow's enforcement, "audio" too: EmotionModel.predict checks it, with a message a
    client developer can act on (MLflow's own is "Model is missing inputs ['audio']" after the payload)."""
    inputs = Schema(
        [ColSpec(DataType.binary, m, required=False) for m in modalities]
        # normalisation=speaker models standardise the clips of one speaker together (absent: one speaker)
        + [ColSpec(DataType.string, "speaker", required=False)]
    )
    outputs = Schema(
        [ColSpec(DataType.string, "label")]
        + [ColSpec(DataType.double, f"p_{e}") for e in classes]
        + [ColSpec(DataType.string, "error", required=False)]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def save_model(
    path,
    mlflow_model=None,
    *,
    keras_model,
    normaliser: Normaliser,
    model_metadata: dict,
    signature,
    clip_svm=None,
    input_example: pd.DataFrame | None = None,
    validate_serving_input: bool = False,
):
    """Write the model folder (called by Model.log, or directly for a local copy). `signature` is the keras one;
    the MLmodel keeps the media signature the pyfunc (and serving) enforces. `input_example` is the pyfunc's (media
    bytes), attached here, not through the keras flavour, whose tensor signature it does not match.
    `validate_serving_input` is read by Model.log, which forwards its kwargs here too: accepted and unused (log_model
    turns the check off: it reloads the model and runs a clip through it at every run's end; test_model_use runs it)."""
    import mlflow.keras

    mlflow_model = mlflow_model or Model()
    requirements = pip_requirements(model_metadata["features"].get("whisper_model", ""))
    if keras_model is not None:
        mlflow.keras.save_model(
            keras_model, path, mlflow_model=mlflow_model, signature=signature, pip_requirements=requirements
        )
        # The network's own variable-length tensor signature stays on record for keras-flavour users.
        mlflow_model.metadata = {**(mlflow_model.metadata or {}), "keras_signature": signature.to_dict()}
    else:  # the clip heads alone: the environment files the keras flavour would have written
        write_environment(Path(path), requirements)
    mlflow_model.signature = media_signature(model_metadata["modalities"], model_metadata["labels"])
    if input_example is not None:
        _save_example(mlflow_model, input_example, str(path))  # input_example.json + serving_input_example.json
    data_dir = Path(path) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if normaliser is not None:
        normaliser.save(data_dir / NORMALISER_FILE)
    (data_dir / METADATA_FILE).write_text(json.dumps(model_metadata, indent=2))
    if clip_svm is not None:
        clip_svm.save(data_dir / CLIP_SVM_FILE)
    shutil.copytree(PACKAGE_DIR, Path(path) / "code" / "emotion", ignore=shutil.ignore_patterns("__pycache__"))
    # Replace the keras flavour's pyfunc entry with ours, which normalises and needs no install.
    mlflow_model.flavors.pop(pyfunc.FLAVOR_NAME, None)
    pyfunc.add_to_model(
        mlflow_model,
        loader_module="emotion.serving.mlflow_model",  # kept in each MLmodel: a move leaves a forwarder behind
        data="data",
        code="code",
        conda_env="conda.yaml",
        python_env="python_env.yaml",
    )
    mlflow_model.save(str(Path(path) / "MLmodel"))


def log_model(
    keras_model,
    normaliser: Normaliser,
    model_metadata: dict,
    signature: ModelSignature,
    name="model",
    clip_svm=None,
    input_example: pd.DataFrame | None = None,
):
    """Log to the active run; returns MLflow's ModelInfo (model_uri, model_id)."""
    return Model.log(
        None,  # artifact_path: deprecated in MLflow 3 in favour of name, but still positional
        sys.modules[__name__],
        name=name,
        flavor_name="keras" if keras_model is not None else pyfunc.FLAVOR_NAME,
        keras_model=keras_model,
        normaliser=normaliser,
        model_metadata=model_metadata,
        signature=signature,
        clip_svm=clip_svm,
        input_example=input_example,
        validate_serving_input=False,  # see save_model
    )


AUDIO_SUFFIXES = ((b"RIFF", ".wav"), (b"fLaC", ".flac"), (b"OggS", ".ogg"), (b"ID3", ".mp3"), (b"\xff\xfb", ".mp3"))
NPY_MAGIC = b"\x93NUMPY"
BATCH = 32  # clips per forward pass: bounded memory for long request lists


def _as_bytes(value, column: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise BadInputError(column, f"expected file bytes, got {type(value).__name__}")


class _TempMedia:
    """Bytes on disk for the file-based decoders, under a suffix they recognise; removed afterwards."""

    def __init__(self, blob: bytes, suffix: str):
        handle, self.path = tempfile.mkstemp(suffix=suffix, prefix="emotion-media-")
        with os.fdopen(handle, "wb") as f:
            f.write(blob)

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc):
        os.unlink(self.path)


class EmotionModel:
    """pyfunc model: media bytes (DataFrame columns "audio"[, "video"]) -> label, p_<emotion>, error."""

    def __init__(self, keras_model, normaliser: Normaliser, model_metadata: dict, clip_svm=None):
        self.keras_model = keras_model
        self.clip_svm = clip_svm  # ClipSVM or None; blended by model_metadata["svm_weight"]
        self.normaliser = normaliser
        self.metadata = model_metadata
        self.modalities = list(model_metadata["modalities"])
        # class-index order, the p_<label> columns (metadata written before labels were recorded: RAVDESS's 8)
        self.classes = tuple(model_metadata.get("labels", EMOTIONS))
        self.feature_config = FeatureConfig(**model_metadata["features"])
        self._audio_extractor = None  # built on first use: a CNN / wav2vec loads once

    def audio_features(self, blob: bytes, skip: tuple[str, ...] = ()) -> np.ndarray:
        """skip ("hnr", "prosody"): those columns are left at 0, not measured (a clip only a global head
        without them will see)."""
        if self._audio_extractor is None:
            from emotion.features.extractors import audio_extractor

            self._audio_extractor = audio_extractor(self.feature_config)[0]
        suffix = next((s for magic, s in AUDIO_SUFFIXES if blob.startswith(magic)), ".wav")
        with _TempMedia(blob, suffix) as path:
            try:
                require_min_duration(path, self.feature_config.min_clip_seconds)
                # only the segment extractor (voice_quality, prosody) takes these, and only then are they False
                return self._audio_extractor(path, **{name: False for name in skip})
            except BadInputError as error:
                raise BadInputError("audio", error.reason) from None

    def video_features(self, blob: bytes) -> np.ndarray:
        if blob.startswith(NPY_MAGIC):
            from emotion.features.video import load_video_features

            with _TempMedia(blob, ".video.npy") as path:
                return load_video_features(path)
        from emotion.data.dataset import video_features

        with _TempMedia(blob, ".mp4") as path:
            return video_features(path)

    def _row_features(self, row: dict, skip: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        out = {}
        for modality in self.modalities:
            value = row.get(modality)
            if value is None or (isinstance(value, float) and np.isnan(value)):
                raise BadInputError(modality, f"missing: this model takes {' + '.join(self.modalities)}")
            blob = _as_bytes(value, modality)
            out[modality] = self.audio_features(blob, skip) if modality == "audio" else self.video_features(blob)
            if self.normaliser is not None:  # the network's width (the heads' comes from the same extractor)
                self.normaliser.check(modality, out[modality])  # a wrong dimension fails this row only
        return out

    def _standardise(self, clips: list[dict[str, np.ndarray]], speakers: list[str]) -> list[dict[str, np.ndarray]]:
        """Raw features -> what the network saw in training: per speaker first if it was trained so."""
        if self.feature_config.normalisation == "speaker" and clips:
            for modality in self.modalities:
                for clip, sequence in zip(clips, per_speaker([c[modality] for c in clips], speakers)):
                    clip[modality] = sequence
        return [{m: self.normaliser.transform(m, c[m]) for m in self.modalities} for c in clips]

    def predict_features(self, clips: list[dict[str, np.ndarray]]) -> np.ndarray:
        """Standardised per-clip features -> (N, n_classes) probabilities, in zero-padded batches."""
        probabilities = []
        for start in range(0, len(clips), BATCH):
            chunk = clips[start : start + BATCH]
            batch = {}
            for modality in self.modalities:
                longest = max(len(c[modality]) for c in chunk)
                x = np.zeros((len(chunk), longest, chunk[0][modality].shape[1]), np.float32)  # (B, T, F)
                for i, clip in enumerate(chunk):
                    x[i, : len(clip[modality])] = clip[modality]
                batch[modality] = x
            # predict_on_batch runs Keras' compiled (tf.function, relaxed-shape) step: an eager call
            # walks the LSTM time loop op by op, ~1 s a request on 2 CPU cores.
            probabilities.append(np.asarray(self.keras_model.predict_on_batch(batch), dtype=np.float64))
        return np.concatenate(probabilities) if probabilities else np.zeros((0, len(self.classes)))

    def _global_head_rows(self, speakers: list[str]) -> np.ndarray:
        """(n,) True where the clip head's global head answers alone (a single clip, no speaker column)."""
        if getattr(self.clip_svm, "global_pipeline", None) is None:
            return np.zeros(len(speakers), dtype=bool)
        return self.clip_svm.global_rows(speakers)

    def _global_head_unread(self) -> tuple[str, ...]:
        """The Praat columns the global head does not read ("hnr", "prosody"), which its clips skip."""
        head = self.clip_svm
        flags = {"hnr": getattr(head, "global_hnr", True), "prosody": getattr(head, "global_prosody", True)}
        return tuple(name for name, read in flags.items() if not read)

    def predict(self, data, params=None) -> pd.DataFrame:
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        # An empty list and records without "audio" look alike here: MLflow drops the fields its schema lacks
        if len(frame) == 0 or "audio" not in frame.columns:
            given = f" (fields given: {', '.join(map(str, frame.columns))})" if len(frame.columns) else ""
            raise RequestError(
                f'the request has no record with an "audio" field{given}: send one record per clip, the base64 '
                f'of an audio file\'s bytes in "audio", e.g. {EXAMPLE_REQUEST}'
            )
        records = frame.to_dict("records")
        speakers = [r["speaker"] if isinstance(r.get("speaker"), str) else "" for r in records]
        # rows the global head will answer alone (fewer clips can only fail below, never more) skip
        # measuring what it does not read
        alone_rows = self._global_head_rows(speakers)  # (n,)
        unread = self._global_head_unread()
        clips, errors = [], []
        for row, alone in zip(records, alone_rows):
            try:
                clips.append(self._row_features(row, unread if alone else ()))
                errors.append("")
            except (BadInputError, ValueError) as error:  # this row gets its reason; the others go on
                clips.append(None)
                errors.append(str(error))
        kept = [i for i, c in enumerate(clips) if c is not None]
        raw_audio = [clips[i]["audio"] for i in kept]  # the SVM's input: _standardise replaces it
        kept_speakers = [speakers[i] for i in kept]
        # too few clips of a speaker for speaker statistics: the network's per-speaker input would be the
        # clip against itself, so the global head answers alone and the network is not run for that row
        few = self._global_head_rows(kept_speakers)  # (n kept,) bool
        probabilities = np.full((len(kept), len(self.classes)), np.nan)  # (n kept, classes)
        if self.keras_model is not None:
            good = self._standardise([clips[i] for i in kept], kept_speakers)
            probabilities[~few] = self.predict_features([clip for clip, alone in zip(good, few) if not alone])
        if self.clip_svm is not None and kept:
            svm = self.clip_svm.predict_proba(raw_audio, kept_speakers)
            if self.keras_model is None:  # the clip heads alone
                probabilities = svm
            else:
                probabilities = blend(probabilities, svm, self.metadata["svm_weight"])
                probabilities[few] = svm[few]
        probabilities = iter(probabilities)
        rows = []
        for clip, error in zip(clips, errors):
            if clip is None:
                rows.append({"label": "", "error": error})  # probabilities left out: None in the frame
                continue
            p = next(probabilities)  # (classes,)
            probability = {f"p_{e}": float(v) for e, v in zip(self.classes, p)}
            rows.append({"label": self.classes[int(np.argmax(p))], **probability, "error": error})
        return prediction_frame(rows, self.classes)


def _load_pyfunc(data_path: str) -> EmotionModel:
    """MLflow's pyfunc entry: data_path is the model folder's data/."""
    import keras

    import emotion.models.layers  # noqa: F401 -- registers the custom layers with Keras

    data_dir = Path(data_path)
    keras_model, normaliser = None, None  # a model without a network: the clip heads answer alone
    if (data_dir / "model.keras").exists():
        keras_model = keras.saving.load_model(data_dir / "model.keras")
        keras_model.jit_compile = False  # requests come in every length: XLA would compile again for each new one
        normaliser = Normaliser.load(data_dir / NORMALISER_FILE)
    model_metadata = json.loads((data_dir / METADATA_FILE).read_text())
    clip_svm = ClipSVM.load(data_dir / CLIP_SVM_FILE) if (data_dir / CLIP_SVM_FILE).exists() else None
    return EmotionModel(keras_model, normaliser, model_metadata, clip_svm)
