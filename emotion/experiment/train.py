"""Fit one variant from a RunConfig inside an MLflow run: data -> split -> normalise -> fit -> evaluate -> log."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import mlflow
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from emotion.experiment import checkpoint
from emotion.tracking import offline, run_logging, run_notes
from emotion.data.augment import make_augment
from emotion.config import RunConfig, feature_kind, has_network, uses_video
from emotion.data.epoch_order import EpochOrder
from emotion.experiment.epoch_seeds import EpochSeeds
from emotion.experiment.train_result import TrainResult
from emotion.errors import ConfigError
from emotion.corpus.splits import describe_split, make_split
from emotion.data.dataset import PreparedCorpus, prepare_corpus
from emotion.features.cache import default_cache_dir
from emotion.features.normalise import Normaliser, per_speaker
from emotion.metrics import classification_metrics
from emotion.experiment.clip_head import blend_clip_head
from emotion.models.clip_svm import ClipSVM
from emotion.models.lstm_kernel import lstm_path
from emotion.models.registry import build_model
from emotion.data.pipeline import make_dataset, one_length
from emotion.experiment.schedules import schedule_callbacks


def class_weights(train_labels: np.ndarray) -> dict[int, float]:
    """Balanced inverse-frequency weights for the classes present in training."""
    present = np.unique(train_labels)
    weights = compute_class_weight("balanced", classes=present, y=train_labels)
    return {int(c): float(w) for c, w in zip(present, weights)}


def make_loss(config: RunConfig) -> keras.losses.Loss:
    if config.train.loss == "focal":
        return keras.losses.CategoricalFocalCrossentropy(gamma=config.train.focal_gamma)
    return keras.losses.CategoricalCrossentropy()


def _normalised(corpus: PreparedCorpus, normaliser: Normaliser, positions: np.ndarray) -> dict[str, list[np.ndarray]]:
    return {m: [normaliser.transform(m, corpus.features[m][i]) for i in positions] for m in corpus.modalities}


def predict_probabilities(model: keras.Model, dataset) -> tuple[np.ndarray, np.ndarray]:
    """(y_true (n,), probabilities (n, classes)) over one pass; an evaluation dataset's order (bucketed by
    length, not shuffled) is the same on every pass, so two models' rows line up."""
    true, proba = [], []
    for inputs, onehot in dataset:
        true.append(np.argmax(onehot.numpy(), axis=1))
        proba.append(np.asarray(model.predict_on_batch(inputs)))  # compiled step, not eager
    return np.concatenate(true), np.concatenate(proba)


def use_xla(config: RunConfig, modalities) -> bool:
    """jit_compile: "auto" compiles with XLA only when the batches have one length (see TrainConfig):
    length_mode fixed / percentile and audio alone, because video is padded per batch (a new shape each)."""
    if config.train.jit_compile == "auto":
        return one_length(config.pipeline) and list(modalities) == ["audio"]
    return config.train.jit_compile == "on"


def lstm_tags(config: RunConfig) -> dict[str, str]:
    """For variants with the switch, which LSTM kernel runs; lstm_kernel=cudnn where cuDNN cannot run
    is a one-line error before any data is read."""
    if not hasattr(config.model, "lstm_kernel"):
        return {}
    path = lstm_path(config.model)
    if config.model.lstm_kernel == "cudnn" and path != "cudnn":
        raise ConfigError(f"parameter lstm_kernel=cudnn: the cuDNN kernel cannot run here: {path}")
    return {"lstm_path": path}


def kernel_tags(config: RunConfig, modalities) -> dict[str, str]:
    """What ran, for the run's tags: XLA on or off and the LSTM kernel (lstm_tags)."""
    return {"xla": "on" if use_xla(config, modalities) else "off", **lstm_tags(config)}


def _callbacks(
    config: RunConfig, workdir: Path, order: EpochOrder, buffer: offline.MetricBuffer, resumed: bool
) -> list[keras.callbacks.Callback]:
    t = config.train
    return [
        EpochSeeds(t.seed, order),  # first: the epoch's data order and dropout seeds before anything draws
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy", mode="max", patience=t.early_stopping_patience, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(
            workdir / "best.keras", monitor="val_accuracy", mode="max", save_best_only=True
        ),
        *schedule_callbacks(t),
        keras.callbacks.TensorBoard(log_dir=str(workdir / "tensorboard")),
        run_logging.EpochMetricsCallback(buffer, resumed),
    ]


@dataclass
class RunData:
    """What one training reads: the prepared corpus (per-speaker standardised when asked), its split and
    the features before normalisation (the clip head's input)."""

    corpus: PreparedCorpus
    split: dict[str, np.ndarray]
    raw_audio: list[np.ndarray]
    normaliser: Normaliser  # fitted on the training clips
    train_lengths: np.ndarray  # (n_train,) audio frames per training clip: buckets and percentile lengths
    cache_root: Path  # features and synthetic voices


def prepare_run_data(config: RunConfig, cache_root: Path, corpus: PreparedCorpus | None, split: dict | None) -> RunData:
    if corpus is None:
        corpus = prepare_corpus(config.data, config.features, cache_root, allow_video=uses_video(config.variant))
    if split is None:
        split = make_split(corpus.manifest, config.split)
    raw_audio = corpus.features["audio"]  # before any normalisation
    if config.features.normalisation == "speaker":
        speakers = corpus.manifest["actor"].to_numpy(dtype=str)
        corpus = dataclasses.replace(
            corpus, features={m: per_speaker(corpus.features[m], speakers) for m in corpus.modalities}
        )
    train_idx = split["train"]
    fit = Normaliser.identity if config.features.normalisation == "none" else Normaliser.fit
    normaliser = fit({m: [corpus.features[m][i] for i in train_idx] for m in corpus.modalities})
    train_lengths = np.array([len(corpus.features["audio"][i]) for i in train_idx])
    return RunData(corpus, split, raw_audio, normaliser, train_lengths, Path(cache_root))


def dataset_maker(config: RunConfig, data: RunData, order: EpochOrder):
    """`dataset(positions, training, pipeline=config.pipeline)`: the tf.data batches of those clips;
    training ones shuffled by `order` and augmented, evaluation ones in a fixed order."""
    augment = make_augment(config.augment, spectral=feature_kind(config.features.feature_kind).spectral)

    def dataset(positions, training, pipeline=config.pipeline):
        return make_dataset(
            _normalised(data.corpus, data.normaliser, positions),
            data.corpus.labels[positions],
            len(data.corpus.classes),
            pipeline,
            train_lengths=data.train_lengths,
            shuffle=training,
            seed=config.train.seed,
            augment=augment if training else None,
            order=order if training else None,
            mixup_alpha=config.augment.mixup_alpha if training else 0.0,
        )

    return dataset


def built_or_resumed_model(config: RunConfig, data: RunData, xla: bool, checkpoint_root: Path | None):
    """(model, resume state or None): the last epoch's state of an interrupted run with this config
    (weights, optimizer moments, learning rate) in checkpoint_root, else a new compiled model."""
    digest, parameters = checkpoint.config_digest(config), checkpoint.checkpointed_parameters(config)
    resume = checkpoint.latest_state(checkpoint_root, digest, parameters) if checkpoint_root else None
    if resume is not None:
        print(f"Resuming run {resume.run_id} at epoch {resume.next_epoch + 1} from {resume.folder}")
        return resume.load_model(), resume
    input_dims = {m: data.corpus.features[m][0].shape[1] for m in data.corpus.modalities}
    model = build_model(config, len(data.corpus.classes), input_dims)
    model.compile(
        optimizer=keras.optimizers.Adam(config.train.learning_rate),
        loss=make_loss(config),
        metrics=["accuracy"],
        jit_compile=xla,
    )
    return model, resume


def evaluate_model(
    config: RunConfig, model, data: RunData, dataset
) -> tuple[dict, dict, np.ndarray, np.ndarray, ClipSVM | None]:
    """(val metrics, test metrics, test labels, test probabilities, clip head or None), in split order."""
    # Bucketing orders clips by boundaries drawn from the training lengths; without it the clips come
    # in split order, so the probabilities of models trained on other splits (cv members) line up.
    in_order = config.pipeline
    if in_order.length_mode == "bucket":
        in_order = dataclasses.replace(in_order, length_mode="batch_max")
    val_true, val_proba = predict_probabilities(model, dataset(data.split["val"], False, in_order))
    test_true, test_proba = predict_probabilities(model, dataset(data.split["test"], False, in_order))
    clip_svm = None
    if getattr(config.model, "svm_weight", 0.0) > 0:
        clip_svm, val_proba, test_proba = blend_clip_head(
            config, data.corpus, data.raw_audio, data.split, data.cache_root, val_proba, test_proba
        )
    val = classification_metrics(val_true, np.argmax(val_proba, axis=1), data.corpus.classes)
    test = classification_metrics(test_true, np.argmax(test_proba, axis=1), data.corpus.classes)
    return val, test, test_true, test_proba, clip_svm


def _fit(config: RunConfig, model, dataset, split: dict, weights, callbacks: list, resume):
    """model.fit over the split's training clips, validated on its validation clips; a resumed run goes
    on from its next epoch (one that had stopped early trains 0 epochs and restores its best)."""
    return model.fit(
        dataset(split["train"], True),
        validation_data=dataset(split["val"], False),
        epochs=resume.next_epoch if resume and resume.stopped else config.train.epochs,
        initial_epoch=resume.next_epoch if resume else 0,
        class_weight=weights,
        callbacks=callbacks,
        shuffle=False,  # the dataset orders each epoch itself (EpochOrder); Keras' default True only warns
        verbose=2,
    )


def _evaluate_and_log(config: RunConfig, model, data: RunData, dataset, history, split_summary, workdir: Path):
    """(val metrics, test metrics, test labels, test probabilities); logs the results, every test clip's
    prediction (split order, as evaluated), the run's description, attention figures and the model."""
    corpus, split = data.corpus, data.split
    val, test, test_true, test_proba, clip_svm = evaluate_model(config, model, data, dataset)
    run_logging.log_results(history, val, test, workdir)
    predictions = run_logging.test_predictions(corpus, split["test"], test_proba)
    mlflow.log_text(predictions.to_csv(index=False), "test_predictions.csv")
    mlflow.set_tag(run_notes.NOTE_TAG, run_notes.training_note(config.variant, corpus, split_summary, test))
    run_logging.log_attention(model, dataset(split["test"], False), config, corpus.classes)
    run_logging.log_trained_model(model, data.normaliser, config, corpus, clip_svm)
    return val, test, test_true, test_proba


def train(
    config: RunConfig,
    cache_root: Path | None = None,
    *,
    corpus: PreparedCorpus | None = None,
    split: dict[str, np.ndarray] | None = None,
    run_part: str | None = None,
    extra_callbacks: list | None = None,
    on_run_started=None,
) -> TrainResult:
    """Train and evaluate `config.variant`, logging everything to the active (or a new) MLflow run.

    corpus / split: given by callers that train many times on the same data (cross-validation folds).
    run_part: the fold, trial or member this run is, for its name (`<variant>-<corpus>-<run_part>`).
    extra_callbacks: added to fit's (e.g. Optuna's pruning callback); on_run_started(run_id) is
    called once the run exists (a sweep tags its trial runs, also the ones pruned mid-training).
    """
    if not has_network(config.variant):
        from emotion.experiment.train_heads import train_heads

        return train_heads(
            config, cache_root, corpus=corpus, split=split, run_part=run_part, on_run_started=on_run_started
        )
    return _train_network(config, cache_root, corpus, split, run_part, extra_callbacks, on_run_started)


def _train_network(
    config: RunConfig, cache_root, corpus, split, run_part, extra_callbacks, on_run_started
) -> TrainResult:
    """train() for a variant with a Keras network."""
    started = time.time()
    lstm_tags(config)  # a cuDNN request that cannot run fails before the features are read
    keras.utils.set_random_seed(config.train.seed)
    cache_root = Path(cache_root) if cache_root else default_cache_dir()
    data = prepare_run_data(config, cache_root, corpus, split)
    corpus, split = data.corpus, data.split
    tags = kernel_tags(config, corpus.modalities)
    # the training data's per-epoch order and augmentation seeds
    order = EpochOrder(config.train.seed, len(split["train"]))
    dataset = dataset_maker(config, data, order)
    weights = class_weights(corpus.labels[split["train"]]) if config.train.class_weighting else None
    checkpoint_root = Path(config.train.checkpoint_dir) if config.train.checkpoint_dir else None
    model, resume = built_or_resumed_model(config, data, tags["xla"] == "on", checkpoint_root)

    nested = mlflow.active_run() is not None  # a child of `main`, `cv` or a sweep
    run_id = resume.run_id if resume else None  # a resumed run goes on in the same MLflow run
    name = None if run_id else run_notes.run_name(config.variant, corpus.name, run_part)
    # log_system_metrics: CPU, memory (and GPU where present) sampled while training, shown live in the UI
    with (
        mlflow.start_run(run_id=run_id, nested=nested, run_name=name, log_system_metrics=True) as run,
        tempfile.TemporaryDirectory(prefix="emotion-run-") as tmp,
    ):
        workdir = Path(tmp)
        if on_run_started is not None:
            on_run_started(run.info.run_id)
        mlflow.set_tags(tags)
        split_summary = describe_split(corpus.manifest, split)
        if resume is None:
            run_logging.log_setup(config, corpus, split, split_summary, weights, data.normaliser, workdir)
        buffer = offline.MetricBuffer(run.info.run_id)
        callbacks = _callbacks(config, workdir, order, buffer, resume is not None) + list(extra_callbacks or [])
        saver = None
        if checkpoint_root is not None:  # last: it restores the others' counters after they reset
            saver = checkpoint.EpochCheckpoint(
                checkpoint_root,
                run.info.run_id,
                checkpoint.config_digest(config),
                list(callbacks),
                resume,
                checkpoint.checkpointed_parameters(config),
            )
            callbacks.append(saver)
        fitted = _fit(config, model, dataset, split, weights, callbacks, resume)
        history = saver.history if saver else fitted.history  # the saver's: the epochs before a resume too
        server_uri, unsynced = mlflow.get_tracking_uri(), None
        if not buffer.wait(config.train.tracking_wait_seconds):
            unsynced = offline.go_local(buffer, cache_root)  # the rest of the run is logged there
        val, test, test_true, test_proba = _evaluate_and_log(
            config, model, data, dataset, history, split_summary, workdir
        )
        seconds = time.time() - started
        best = int(np.argmax(history["val_accuracy"]))
        gap = float(history["accuracy"][best] - history["val_accuracy"][best])
        mlflow.log_metrics({"train_seconds": seconds, "train_val_gap": gap})
        if saver is not None:
            checkpoint.clear(checkpoint_root)  # finished: a new command with this folder starts a new run
    if unsynced is not None:
        mlflow.end_run()  # the local run (the server run left the stack in go_local, so `with` did not end it)
        mlflow.set_tracking_uri(server_uri)
        print(offline.sync_message(unsynced))
    return TrainResult(
        run.info.run_id, test, val, len(history["loss"]), seconds, gap, unsynced, test_true, test_proba, best + 1
    )
