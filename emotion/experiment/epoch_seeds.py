"""Randomness keyed by (seed, epoch): the same epoch draws the same numbers whenever it runs.

Keras and tf.data keep random state that moves on with every epoch (the shuffle's reshuffle counter,
each Dropout's seed generator) and that a checkpoint does not hold. A resumed run would then see
other data orders and dropout masks than an uninterrupted one, and end with other metrics. Here every
random draw of epoch e is a function of (seed, e) only:
- `EpochOrder`: the training clips' order and each clip's augmentation seed for the current epoch;
- `EpochSeeds`: a callback that, at the start of every epoch, sets the epoch on the order and re-seeds
  every seed generator of the model (Dropout, recurrent dropout) from (seed, layer position, epoch).
So the weights, optimizer and callback counters in a checkpoint are all a resumed epoch depends on.
"""

from __future__ import annotations

import hashlib

import keras
import numpy as np

STEP_BITS = 20  # a generator's counter starts at epoch << 20: room for 1M draws an epoch, never overlapping


def _mix(*parts: int) -> int:
    """A stable 31-bit number from integers (Python's hash() of tuples is not stable across processes)."""
    digest = hashlib.sha256(",".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


class EpochOrder:
    """The order of the training clips and their augmentation seeds, per epoch.

    `start_pass()` is called by the dataset's generator each time an epoch begins reading; it uses the
    current epoch and moves it on by one, so a dataset without the callback still reshuffles every pass.
    """

    def __init__(self, seed: int, n: int):
        self.seed, self.n = int(seed), int(n)
        self.epoch = 0

    def start_pass(self) -> int:
        epoch, self.epoch = self.epoch, self.epoch + 1
        return epoch

    def permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)  # (n,)

    def clip_seed(self, epoch: int, clip: int) -> np.ndarray:
        """Seed pair for stateless random ops on one clip in one epoch.  # (2,) int64"""
        return np.array([_mix(self.seed, epoch), clip], dtype=np.int64)


class EpochSeeds(keras.callbacks.Callback):
    """At each epoch start: the order's epoch, and every model seed generator re-seeded from (seed, epoch)."""

    def __init__(self, seed: int, order: EpochOrder | None = None):
        super().__init__()
        self.seed, self.order = int(seed), order

    def on_epoch_begin(self, epoch, logs=None):
        if self.order is not None:
            self.order.epoch = epoch
        # Position in the layer walk, not the layer's name: auto names ("dropout_3") depend on what
        # else the process built, positions only on the architecture.
        for position, layer in enumerate(self.model._flatten_layers(include_self=False, recursive=True)):
            for k, generator in enumerate(getattr(layer, "_seed_generators", [])):
                state = np.array([_mix(self.seed, position, k), epoch << STEP_BITS])
                generator.state.assign(state.astype(keras.backend.standardize_dtype(generator.state.dtype)))
