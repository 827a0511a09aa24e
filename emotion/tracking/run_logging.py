"""What a training run logs to MLflow: parameters, data, class weights, curves, metrics, figures, model."""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import mlflow.data
import numpy as np
import pandas as pd
from mlflow.keras import MlflowCallback

from emotion.serving import mlflow_model, plots
from emotion.config import RunConfig, feature_kind
from emotion.data.dataset import PreparedCorpus
from emotion.data.example_clip import example_media, typical_clip
from emotion.corpus.manifest import VIDEO_FEATURE_SUFFIX
from emotion.features.normalise import Normaliser
from emotion.features.video import VIDEO_FPS
from emotion.tracking.offline import MetricBuffer


class EpochMetricsCallback(MlflowCallback):
    """MLflow's Keras 3 callback (per-epoch loss, accuracy, val_*, learning rate, live in the UI),
    minus its per-validation `validation_*` metrics, which repeat val_* without an epoch step, and with
    the epoch metrics going through a MetricBuffer (kept while the tracking server is down, not lost)."""

    def on_test_end(self, logs=None):
        pass

    def __init__(self, buffer: MetricBuffer, resumed: bool = False):
        super().__init__()
        self.buffer, self.resumed = buffer, resumed

    def on_epoch_end(self, epoch, logs=None):
        if logs:
            self.buffer.log(logs, step=epoch)

    def on_train_begin(self, logs=None):
        if not self.resumed:  # a resumed run has its optimizer params and summary logged already
            super().on_train_begin(logs)


def log_params_once(params: dict) -> None:
    """Log params not already on the run: `mlflow run` logs MLproject's own, and re-logging a value
    written differently ('1e-3' vs '0.001') is an error."""
    run = mlflow.active_run()
    existing = mlflow.get_run(run.info.run_id).data.params
    mlflow.log_params({k: v for k, v in params.items() if k not in existing})


def _log_input(dataset, context: str, attempts: int = 3) -> None:
    """mlflow.log_input, safe when two processes log the same dataset at once (sweep workers sharing a
    PostgreSQL store): both see it missing and insert it, and the loser's unique-key error is retried,
    which then finds the row and only links it to the run."""
    for attempt in range(attempts):
        try:
            mlflow.log_input(dataset, context=context)
            return
        except mlflow.exceptions.MlflowException as error:
            duplicate = "dataset_pk" in str(error) or "UNIQUE constraint failed: datasets" in str(error)
            if not duplicate or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def log_setup(
    config: RunConfig,
    corpus: PreparedCorpus,
    split: dict[str, np.ndarray],
    split_summary: dict,
    class_weights: dict[int, float] | None,
    normaliser: Normaliser | None,
    workdir: Path,
) -> None:
    """Everything known before the first epoch (normaliser None: a variant without a network)."""
    derived = {
        "corpus": corpus.name,
        "corpus_root": str(corpus.root),
        "modalities_used": "+".join(corpus.modalities),
        "n_clips": len(corpus.labels),
        "n_classes": len(corpus.classes),
        "classes": ",".join(corpus.classes),
        "n_skipped": len(corpus.skipped),
        **{f"n_{name}": len(idx) for name, idx in split.items()},
        **{f"{name}_actors": ",".join(split_summary[name]["actors"]) for name in split},
        **{f"{m}_dim": corpus.features[m][0].shape[1] for m in corpus.modalities},
    }
    if class_weights:
        derived.update({f"class_weight_{corpus.classes[c]}": round(w, 4) for c, w in class_weights.items()})
        mlflow.log_dict({corpus.classes[c]: w for c, w in class_weights.items()}, "class_weights.json")
    log_params_once({**config.flat(), **derived})
    mlflow.set_tags({"variant": config.variant, "corpus": corpus.name})

    for name, idx in split.items():
        frame = corpus.manifest.iloc[idx]
        with warnings.catch_warnings():  # MLflow's hint about integer columns (statement, repetition) is noise here
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(
                frame, source=str(corpus.root), targets="emotion", name=f"{corpus.name}-{name}"
            )
            _log_input(dataset, {"val": "validation"}.get(name, name))
    mlflow.log_dict(split_summary, "split.json")
    if normaliser is not None:
        normaliser.save(workdir / "normaliser.json")
        mlflow.log_artifact(str(workdir / "normaliser.json"))
    mlflow.log_text(corpus.report_text(), "build_report.txt")


def _metric_dict(prefix: str, metrics: dict) -> dict[str, float]:
    out = {f"{prefix}_ua": metrics["ua"], f"{prefix}_wa": metrics["wa"], f"{prefix}_macro_f1": metrics["macro_f1"]}
    out.update({f"{prefix}_recall_{label}": r for label, r in metrics["recall"].items() if not math.isnan(r)})
    return out


def log_results(history: dict, val: dict, test: dict, workdir: Path) -> None:
    """Final metrics on validation and held-out test speakers, figures and tables, TensorBoard logs."""
    mlflow.log_metrics({**_metric_dict("val", val), **_metric_dict("test", test)})
    mlflow.log_metric("epochs_run", len(history.get("loss", [])))
    for name, metrics in (("test", test), ("val", val)):
        classes = list(metrics["recall"])  # the run's classes, in class-index order
        confusion = pd.DataFrame(metrics["confusion"], index=classes, columns=classes)
        mlflow.log_table(confusion.rename_axis("true").reset_index(), f"{name}_confusion_matrix.json")
        figure = plots.confusion_figure(metrics["confusion"], classes, f"{name}: UA {metrics['ua']:.3f}")
        mlflow.log_figure(figure, f"figures/{name}_confusion_matrix.png")
        plt.close(figure)
    if history:  # a variant without a network has no epochs
        figure = plots.learning_curves(history)
        mlflow.log_figure(figure, "figures/learning_curves.png")
        plt.close(figure)
    mlflow.log_dict({k: [float(v) for v in values] for k, values in history.items()}, "history.json")
    if (workdir / "tensorboard").exists():
        mlflow.log_artifacts(str(workdir / "tensorboard"), "tensorboard")


def test_predictions(corpus: PreparedCorpus, positions: np.ndarray, proba: np.ndarray) -> pd.DataFrame:
    """One row per test clip (positions' order): clip, path, speaker, true and predicted label, p_<emotion>,
    so per-speaker and per-clip errors can be read from a run without re-running it.  # proba: (n, classes)"""
    part = corpus.manifest.iloc[positions]
    frame = pd.DataFrame(
        {
            "clip_id": part["clip_id"].to_numpy(),
            "path": part["audio_path"].to_numpy(),
            "speaker": part["actor"].to_numpy(),
            "true": [corpus.classes[c] for c in corpus.labels[positions]],
            "predicted": [corpus.classes[c] for c in np.argmax(proba, axis=1)],
        }
    )
    return frame.join(pd.DataFrame(proba, columns=[f"p_{e}" for e in corpus.classes]))


def log_attention(model, dataset, config: RunConfig, classes: tuple[str, ...], n_clips: int = 4) -> None:
    """Attention weights over time for the first test clips (variants with attention layers only)."""
    from emotion.tracking.interpret import attention_figure, attention_weights

    inputs, onehot = next(iter(dataset))
    inputs = {m: t.numpy()[:n_clips] for m, t in inputs.items()}
    weights = attention_weights(model, inputs)
    if not weights:
        return
    predicted = np.argmax(model(inputs, training=False).numpy(), axis=1)
    truth = np.argmax(onehot.numpy()[:n_clips], axis=1)
    titles = [f"clip {i}: true {classes[t]}, predicted {classes[p]}" for i, (t, p) in enumerate(zip(truth, predicted))]
    audio_seconds = feature_kind(config.features.feature_kind).frame_seconds or config.features.hop_ms / 1000
    seconds = {"audio": audio_seconds * getattr(config.model, "frame_pool", 1), "video": 1 / VIDEO_FPS}
    figure = attention_figure(weights, seconds, titles)
    mlflow.log_figure(figure, "figures/attention_weights.png")
    plt.close(figure)


def log_trained_model(model, normaliser: Normaliser, config: RunConfig, corpus: PreparedCorpus, clip_svm=None):
    """The model (keras flavour + self-contained pyfunc) with a variable-length signature; a clip-functional
    SVM, when given, is blended into the pyfunc's probabilities by the config's svm_weight. model None (a
    variant without a network): the pyfunc alone, the clip heads' probabilities."""
    input_dims = {m: corpus.features[m][0].shape[1] for m in corpus.modalities}
    metadata = {
        "variant": config.variant,
        "labels": list(corpus.classes),
        "modalities": list(corpus.modalities),
        "features": json.loads(json.dumps(config.features.__dict__)),
        "video_fps": VIDEO_FPS,
        "svm_weight": config.model.svm_weight if clip_svm is not None else 0.0,
    }
    return mlflow_model.log_model(
        model,
        normaliser,
        metadata,
        mlflow_model.keras_signature(input_dims, len(corpus.classes)) if model is not None else None,
        name="model",
        clip_svm=clip_svm,
        input_example=input_example(corpus),
    )


def input_example(corpus: PreparedCorpus) -> pd.DataFrame | None:
    """A synthetic clip (no one's voice or face) of the corpus's typical length and rate, as the pyfunc
    takes it; its video in the corpus's video format. None when the corpus has no audio files on disk."""
    frame = corpus.manifest
    if "audio" not in corpus.modalities or frame["audio_path"].isna().all():
        return None
    seconds, rate = typical_clip(frame["audio_path"].dropna().iloc[:200])  # headers only; 200 give the median
    video = None
    if "video" in corpus.modalities:
        first = str(frame["video_path"].dropna().iloc[0])
        video = VIDEO_FEATURE_SUFFIX if first.endswith(VIDEO_FEATURE_SUFFIX) else Path(first).suffix.lower()
    video_dim = corpus.features["video"][0].shape[1] if video == VIDEO_FEATURE_SUFFIX else 16
    media = example_media(seconds, rate, video, video_dim)
    return pd.DataFrame({m: [media[m]] for m in corpus.modalities})
