"""Learning-rate schedules as epoch callbacks (they must combine with plateau reductions, which a
keras LearningRateSchedule object cannot: ReduceLROnPlateau refuses an optimizer driven by one)."""

from __future__ import annotations

import math

import keras

from emotion.config import TrainConfig


class WarmupPlateauCosine(keras.callbacks.Callback):
    """wav2vec_attention's schedule: linear warm-up over `warmup_epochs` from `start_lr` to `target_lr`;
    then x`factor` when `monitor` has not improved for `patience` epochs; from `cosine_start` on, cosine
    decay from the rate reached to 0 at the last epoch."""

    def __init__(
        self, target_lr, start_lr, warmup_epochs, cosine_start, total_epochs, factor, patience, monitor="val_loss"
    ):
        super().__init__()
        self.target_lr, self.start_lr = target_lr, start_lr
        self.warmup_epochs, self.cosine_start, self.total_epochs = warmup_epochs, cosine_start, total_epochs
        self.factor, self.patience, self.monitor = factor, patience, monitor
        self.current = target_lr  # the plateau-adjusted rate between warm-up and cosine
        self.best, self.wait, self.cosine_from = math.inf, 0, None

    def rate_for(self, epoch: int) -> float:
        if epoch < self.warmup_epochs:
            return self.start_lr + (self.target_lr - self.start_lr) * epoch / self.warmup_epochs
        if epoch >= self.cosine_start:
            if self.cosine_from is None:
                self.cosine_from = self.current
            span = max(1, self.total_epochs - self.cosine_start)
            return self.cosine_from * 0.5 * (1 + math.cos(math.pi * (epoch - self.cosine_start) / span))
        return self.current

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(self.rate_for(epoch))

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not self.warmup_epochs <= epoch < self.cosine_start:
            return
        if value < self.best:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.current *= self.factor
            self.wait = 0


def schedule_callbacks(train: TrainConfig) -> list[keras.callbacks.Callback]:
    """The callbacks that drive the learning rate for `train.lr_schedule`."""
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=train.reduce_lr_factor, patience=train.reduce_lr_patience
    )
    if train.lr_schedule == "plateau":
        return [plateau]
    if train.lr_schedule == "exponential":
        rate, start = train.lr_decay_rate, train.learning_rate
        return [keras.callbacks.LearningRateScheduler(lambda epoch: start * rate**epoch)]
    return [
        WarmupPlateauCosine(
            train.learning_rate,
            train.warmup_start_lr,
            train.warmup_epochs,
            train.cosine_start_epoch,
            train.epochs,
            train.reduce_lr_factor,
            train.reduce_lr_patience,
        )
    ]
