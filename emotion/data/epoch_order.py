"""The training clips' order and their augmentation seeds, keyed by (seed, epoch): the same epoch reads
the same order whenever it runs, so a resumed run sees what an uninterrupted one saw.

tf.data's shuffle keeps a reshuffle counter that moves on with every pass and that a checkpoint does
not hold; here every draw of epoch e is a function of (seed, e) only. The model's own seeds (Dropout)
are re-seeded the same way by experiment/epoch_seeds.py, which also sets the epoch on the order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def mix(*parts: int) -> int:
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
        return np.array([mix(self.seed, epoch), clip], dtype=np.int64)
