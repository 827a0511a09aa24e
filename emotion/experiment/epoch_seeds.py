"""Randomness keyed by (seed, epoch): the same epoch draws the same numbers whenever it runs.

Keras and tf.data keep random state that moves on with every epoch (the shuffle's reshuffle counter,
each Dropout's seed generator) and that a checkpoint does not hold. A resumed run would then see
other data orders and dropout masks than an uninterrupted one, and end with other metrics. Here every
random draw of epoch e is a function of (seed, e) only:
- `EpochOrder` (emotion/data/epoch_order.py, read by the tf.data pipeline): the training clips' order
  and each clip's augmentation seed for the current epoch;
- `EpochSeeds`: a callback that, at the start of every epoch, sets the epoch on the order and re-seeds
  every seed generator of the model (Dropout, recurrent dropout) from (seed, layer position, epoch).
So the weights, optimizer and callback counters in a checkpoint are all a resumed epoch depends on.
"""

from __future__ import annotations

import keras
import numpy as np

from emotion.data.epoch_order import EpochOrder, mix

STEP_BITS = 20  # a generator's counter starts at epoch << 20: room for 1M draws an epoch, never overlapping


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
                state = np.array([mix(self.seed, position, k), epoch << STEP_BITS])
                generator.state.assign(state.astype(keras.backend.standardize_dtype(generator.state.dtype)))
