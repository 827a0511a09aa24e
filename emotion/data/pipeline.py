"""tf.data input pipeline: variable-length sequences -> padded batches whose zero frames are the mask.

Inputs are per-clip feature arrays per modality ("audio": list of (T_i, Fa), "video": list of
(Tv_i, Fv)) and integer labels. Every batch is ({"audio": (B, T, Fa)[, "video": (B, Tv, Fv)]},
(B, n_classes) one-hot). Padding is zeros, which the models' Masking layers turn into masks
(features are standardised first, so a real frame is never all zeros).

Length modes (PipelineConfig.length_mode):
- "bucket": clips grouped by audio length into buckets at train-length quantiles, padded to the
  longest clip of each batch: least padding.
- "batch_max": plain per-batch padding in the given (shuffled) order.
- "fixed" / "percentile": pad or truncate audio to one length (fixed_length, or the given
  percentile of training lengths); video is cut at the same duration.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from emotion.data.augment import mixup
from emotion.config import PipelineConfig
from emotion.data.epoch_order import EpochOrder


def target_length(config: PipelineConfig, train_lengths: np.ndarray) -> int | None:
    """Frames to pad/truncate audio to, or None for variable length."""
    if config.length_mode == "fixed":
        return config.fixed_length
    if config.length_mode == "percentile":
        return max(1, int(np.ceil(np.percentile(train_lengths, config.length_percentile))))
    return None


def one_length(config: PipelineConfig) -> bool:
    """Every batch padded or cut to one length (batch sizes aside): what XLA compiles once."""
    return config.length_mode in ("fixed", "percentile")


def bucket_boundaries(train_lengths: np.ndarray, n_buckets: int) -> list[int]:
    """Upper length limits of the buckets: quantiles of the training lengths, strictly increasing."""
    quantiles = np.quantile(train_lengths, np.linspace(0, 1, n_buckets + 1)[1:-1])
    return sorted({int(q) + 1 for q in quantiles})


def batch_count(lengths: np.ndarray, config: PipelineConfig, boundaries: list[int] | None) -> int:
    """Batches in one pass over clips of these audio lengths: per bucket when bucketing (a clip goes to
    the first bucket whose upper limit exceeds its length, as tf.data's bucket_by_sequence_length does;
    each bucket ends in a short batch), else over all clips."""
    if boundaries is None:
        return -(-len(lengths) // config.batch_size)
    per_bucket = np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(boundaries) + 1)
    return int(sum(-(-count // config.batch_size) for count in per_bucket))


def pad_or_truncate(sequence: np.ndarray, length: int) -> np.ndarray:
    """(T, F) -> (length, F): cut the tail or pad it with zero frames."""
    if len(sequence) >= length:
        return sequence[:length]
    pad = np.zeros((length - len(sequence), sequence.shape[1]), dtype=sequence.dtype)
    return np.concatenate([sequence, pad], axis=0)


def make_dataset(
    sequences: dict[str, list[np.ndarray]],
    labels: np.ndarray,
    n_classes: int,
    config: PipelineConfig,
    *,
    train_lengths: np.ndarray,
    shuffle: bool,
    seed: int,
    augment=None,
    order: EpochOrder | None = None,
    mixup_alpha: float = 0.0,
) -> tf.data.Dataset:
    """Batched dataset of ({modality: (B, T, F)}, (B, n_classes)); never yields an empty batch.

    augment: optional per-clip function ({modality: (T, F)}, seed) -> same (emotion.data.augment), drawn
    anew every epoch; fixed lengths are re-imposed after it.
    mixup_alpha: > 0 mixes each batch's clips and labels pairwise (emotion.data.augment.mixup); training only.
    shuffle: clips in a new order every pass, from `order` (made from `seed` when not given): the
    order and the augmentation seeds of a pass depend only on (seed, epoch), see emotion.data.epoch_order.
    """
    modalities = list(sequences)
    n = len(labels)
    if n == 0:
        raise ValueError("no clips to batch: the split is empty")
    fixed = target_length(config, train_lengths)
    if fixed is not None:
        sequences = _truncate_all(sequences, fixed)

    if shuffle and order is None:
        order = EpochOrder(seed, n)
    onehot = np.eye(n_classes, dtype=np.float32)[labels]  # (n, n_classes)

    def generate():
        # Called by tf.data at the start of every pass over the data (every epoch).
        epoch = order.start_pass() if order is not None else 0
        positions = order.permutation(epoch) if order is not None else range(n)
        for i in positions:
            clip_seed = order.clip_seed(epoch, i) if order is not None else np.zeros(2, np.int64)
            yield {m: sequences[m][i] for m in modalities}, onehot[i], clip_seed

    signature = (
        {m: tf.TensorSpec((None, sequences[m][0].shape[1]), tf.float32) for m in modalities},
        tf.TensorSpec((n_classes,), tf.float32),
        tf.TensorSpec((2,), tf.int64),
    )
    ds = tf.data.Dataset.from_generator(generate, output_signature=signature)
    # Elements stay (inputs, one-hot, clip seed) through batching: mixup draws from the batch's seeds.
    if augment is not None:
        ds = ds.map(lambda x, y, s: (augment(x, s), y, s), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if fixed is not None:
            ds = ds.map(lambda x, y, s: ({**x, "audio": _tf_pad_or_truncate(x["audio"], fixed)}, y, s))
    boundaries = bucket_boundaries(train_lengths, config.n_buckets) if config.length_mode == "bucket" else None
    if boundaries is not None:
        ds = ds.bucket_by_sequence_length(
            element_length_func=lambda x, y, s: tf.shape(x["audio"])[0],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[config.batch_size] * (len(boundaries) + 1),
            drop_remainder=False,
        )
    else:
        ds = ds.padded_batch(config.batch_size, drop_remainder=False)
    # Bucketing can leave a short last batch per bucket; it is kept, and an empty one is impossible
    # but guarded anyway because a zero-size batch crashes Keras' metric updates.
    ds = ds.filter(lambda x, y, s: tf.shape(y)[0] > 0)
    if mixup_alpha > 0:
        ds = ds.map(lambda x, y, s: mixup(x, y, s, mixup_alpha))
    else:
        ds = ds.map(lambda x, y, s: (x, y))
    # Keras reads the epoch's length from the cardinality; a generator's is unknown, and then Keras
    # 3.15 warns "Your input ran out of data" at the end of every first epoch. Known unless an
    # augmentation re-times clips between buckets. A count too high fails loudly; one too low would
    # cut fit's epochs short unseen, so tests/test_pipeline.py checks it against full passes.
    if boundaries is None or augment is None:
        lengths = np.array([len(a) for a in sequences["audio"]])
        ds = ds.apply(tf.data.experimental.assert_cardinality(batch_count(lengths, config, boundaries)))
    return ds.prefetch(tf.data.AUTOTUNE)


def _tf_pad_or_truncate(x: tf.Tensor, length: int) -> tf.Tensor:
    """(T, F) -> (length, F) inside tf.data."""
    x = x[:length]
    return tf.pad(x, [[0, length - tf.shape(x)[0]], [0, 0]])


def _truncate_all(sequences: dict[str, list[np.ndarray]], audio_length: int) -> dict[str, list[np.ndarray]]:
    """Pad/truncate audio to audio_length; cut each video at the same duration (no padding: per batch)."""
    out = {"audio": [pad_or_truncate(s, audio_length) for s in sequences["audio"]]}
    for modality, items in sequences.items():
        if modality == "audio":
            continue
        cut = []
        for audio, other in zip(sequences["audio"], items):
            keep = max(1, int(np.ceil(len(other) * min(1.0, audio_length / len(audio)))))
            cut.append(other[:keep])
        out[modality] = cut
    return out


def padding_waste(dataset: tf.data.Dataset, modality: str = "audio") -> float:
    """Padded steps / all steps over one pass of the dataset (a padded step is an all-zero frame)."""
    padded = total = 0
    for inputs, _ in dataset:
        frames = inputs[modality].numpy()  # (B, T, F)
        valid = np.any(frames != 0, axis=-1)  # (B, T)
        padded += int(valid.size - valid.sum())
        total += int(valid.size)
    return padded / total if total else 0.0
