"""`cv refit=true`: after the folds, one model on every actor with the recipe the folds chose.

The folds measure the recipe; this model is what a user registers, the scikit-learn refit=True way.
No actor is held out, so nothing here is scored: its figure is the folds' mean (the cv parent's
metrics), and it is logged on the cv parent run, which `register` ranks by that mean.
The recipe: the variant's config with `epochs` = the folds' median best epoch (early stopping has no
validation actors to watch here); validation-driven learning-rate cuts (ReduceLROnPlateau) have
nothing to watch either and are left out, other schedules run as in the folds; the clip head, where
the variant has one, is fit on every clip with C chosen by grouped CV over every actor.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import mlflow
import numpy as np

from emotion.config import RunConfig, has_network
from emotion.data.dataset import PreparedCorpus
from emotion.experiment.clip_head import refit_clip_head
from emotion.data.epoch_order import EpochOrder
from emotion.experiment.epoch_seeds import EpochSeeds
from emotion.experiment.schedules import schedule_callbacks
from emotion.experiment.train import built_or_resumed_model, class_weights, dataset_maker, prepare_run_data, use_xla
from emotion.serving import plots
from emotion.tracking import run_logging
from emotion.serving.model_registry import REFIT_TAG


@dataclass
class RefitResult:
    epochs: int
    actors: list[str]
    n_clips: int
    seconds: float


def refit_epochs(best_epochs: list[float]) -> int:
    """The folds' median best epoch (1-based), at least 1."""
    return max(1, int(round(float(np.median(best_epochs)))))


def refit_on_every_actor(
    config: RunConfig, cache_root: Path, corpus: PreparedCorpus, best_epochs: list[float]
) -> RefitResult:
    """Train on every clip of `corpus` and log the model into the active run (the cv parent)."""
    started = time.time()
    if not has_network(config.variant):
        return _refit_heads(config, cache_root, corpus, started)
    epochs = refit_epochs(best_epochs)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))
    keras.utils.set_random_seed(config.train.seed)
    everyone = np.arange(len(corpus.labels))
    split = {"train": everyone, "val": everyone[:0], "test": everyone[:0]}
    data = prepare_run_data(config, cache_root, corpus, split)  # the normaliser: fit on every clip
    order = EpochOrder(config.train.seed, len(everyone))
    dataset = dataset_maker(config, data, order)
    weights = class_weights(corpus.labels) if config.train.class_weighting else None
    model, _ = built_or_resumed_model(config, data, use_xla(config, corpus.modalities), None)
    schedules = [c for c in schedule_callbacks(config.train) if not isinstance(c, keras.callbacks.ReduceLROnPlateau)]
    print(f"\nrefit: {epochs} epochs (the folds' median best epoch) on all {len(everyone)} clips")
    fitted = model.fit(
        dataset(everyone, True),
        epochs=epochs,
        class_weight=weights,
        callbacks=[EpochSeeds(config.train.seed, order), *schedules],
        shuffle=False,  # the dataset orders each epoch itself
        verbose=2,
    )
    clip_svm = None
    if getattr(config.model, "svm_weight", 0.0) > 0:
        clip_svm = refit_clip_head(config, data.corpus, data.raw_audio, cache_root)
    actors = sorted(corpus.manifest["actor"].astype(str).unique())
    seconds = time.time() - started
    mlflow.set_tag(REFIT_TAG, "true")
    mlflow.log_params({"refit_epochs": epochs, "refit_actors": ",".join(actors), "refit_clips": len(everyone)})
    history = {k: [float(v) for v in values] for k, values in fitted.history.items()}
    mlflow.log_dict(history, "refit_history.json")
    figure = plots.learning_curves(history)
    mlflow.log_figure(figure, "figures/refit_learning_curves.png")
    plt.close(figure)
    mlflow.log_metrics({"refit_train_accuracy": history["accuracy"][-1], "refit_seconds": seconds})
    run_logging.log_trained_model(model, data.normaliser, config, corpus, clip_svm)
    return RefitResult(epochs, actors, len(everyone), seconds)


def _refit_heads(config: RunConfig, cache_root: Path, corpus: PreparedCorpus, started: float) -> RefitResult:
    """A variant without a network: the clip heads on every clip, C by grouped CV over every actor."""
    print(f"\nrefit: the clip heads on all {len(corpus.labels)} clips")
    head = refit_clip_head(config, corpus, corpus.features["audio"], cache_root)
    actors = sorted(corpus.manifest["actor"].astype(str).unique())
    seconds = time.time() - started
    mlflow.set_tag(REFIT_TAG, "true")
    mlflow.log_params({"refit_epochs": 0, "refit_actors": ",".join(actors), "refit_clips": len(corpus.labels)})
    mlflow.log_metric("refit_seconds", seconds)
    run_logging.log_trained_model(None, None, config, corpus, head)
    return RefitResult(0, actors, len(corpus.labels), seconds)
