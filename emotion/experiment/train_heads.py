"""Fit a variant without a network (`whisper_heads`) inside an MLflow run: the clip heads alone.

The same run as experiment/train.py logs (parameters, split, metrics, confusion matrices, test
predictions, the pyfunc model), without epochs: the per-speaker head's C is chosen by grouped CV over
the training actors, scored on the validation actors, then refit with that C on training + validation
for the test metrics and the logged model.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np

from emotion.config import RunConfig
from emotion.data.dataset import PreparedCorpus, prepare_corpus
from emotion.corpus.splits import describe_split, make_split
from emotion.experiment.clip_head import fit_val_test_heads
from emotion.metrics import classification_metrics
from emotion.experiment.train_result import TrainResult
from emotion.features.cache import default_cache_dir
from emotion.tracking import run_logging, run_notes


def train_heads(
    config: RunConfig,
    cache_root: Path | None = None,
    *,
    corpus: PreparedCorpus | None = None,
    split: dict[str, np.ndarray] | None = None,
    run_part: str | None = None,
    on_run_started=None,
):
    """As experiment/train.py's train() (the same arguments and TrainResult), for the heads alone."""
    started = time.time()
    cache_root = Path(cache_root) if cache_root else default_cache_dir()
    if corpus is None:
        corpus = prepare_corpus(config.data, config.features, cache_root, allow_video=False)
    if split is None:
        split = make_split(corpus.manifest, config.split)
    nested = mlflow.active_run() is not None
    name = run_notes.run_name(config.variant, corpus.name, run_part)
    with (
        mlflow.start_run(nested=nested, run_name=name) as run,
        tempfile.TemporaryDirectory(prefix="emotion-run-") as tmp,
    ):
        if on_run_started is not None:
            on_run_started(run.info.run_id)
        split_summary = describe_split(corpus.manifest, split)
        run_logging.log_setup(config, corpus, split, split_summary, None, None, Path(tmp))
        raw_audio = corpus.features["audio"]
        head, val_proba, test_proba = fit_val_test_heads(config, corpus, raw_audio, split, cache_root)
        val = classification_metrics(corpus.labels[split["val"]], np.argmax(val_proba, axis=1), corpus.classes)
        test = classification_metrics(corpus.labels[split["test"]], np.argmax(test_proba, axis=1), corpus.classes)
        run_logging.log_results({}, val, test, Path(tmp))
        predictions = run_logging.test_predictions(corpus, split["test"], test_proba)
        mlflow.log_text(predictions.to_csv(index=False), "test_predictions.csv")
        mlflow.set_tag(run_notes.NOTE_TAG, run_notes.training_note(config.variant, corpus, split_summary, test))
        run_logging.log_trained_model(None, None, config, corpus, head)
        seconds = time.time() - started
        mlflow.log_metric("train_seconds", seconds)
    test_true = corpus.labels[split["test"]]
    return TrainResult(run.info.run_id, test, val, 0, seconds, 0.0, None, test_true, test_proba, 0)
