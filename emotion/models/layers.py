"""Mask-aware layers shared by the variants: attention pooling, average and statistics pooling over valid steps."""

from __future__ import annotations

import keras
from keras import ops

# A "minus infinity" that stays finite: exp(NEG_LARGE - max) is exactly 0 in float32, and a
# fully padded row gives a uniform softmax (then zeroed below) instead of NaN.
NEG_LARGE = -1e9


@keras.saving.register_keras_serializable(package="emotion")
class MaskedAttention(keras.layers.Layer):
    """Additive attention pooling over time that gives padded steps zero weight.

    (B, T, D) with mask (B, T) -> context (B, D); with `return_attention=True` also weights (B, T),
    which sum to 1 over valid steps (all zeros for a fully padded row).
    """

    def __init__(self, units: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.score_hidden = keras.layers.Dense(units, activation="tanh", name="score_hidden")
        self.score_out = keras.layers.Dense(1, use_bias=False, name="score_out")
        self.supports_masking = True

    def build(self, input_shape):
        self.score_hidden.build(input_shape)
        self.score_out.build((*input_shape[:-1], self.units))

    def call(self, inputs, mask=None, return_attention=False):
        scores = ops.squeeze(self.score_out(self.score_hidden(inputs)), axis=-1)  # (B, T)
        if mask is None:
            weights = ops.softmax(scores, axis=-1)
        else:
            valid = ops.cast(mask, scores.dtype)  # (B, T), 1 = real step
            scores = ops.where(valid > 0, scores, NEG_LARGE)
            weights = ops.softmax(scores, axis=-1) * valid
            # Renormalise over valid steps; an all-padded row stays all zeros.
            weights = weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), 1e-9)
        context = ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)  # (B, D)
        if return_attention:
            return context, weights
        return context

    def compute_mask(self, inputs, mask=None):
        return None  # the time axis is pooled away

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="emotion")
class MaskedGlobalAveragePooling1D(keras.layers.Layer):
    """Mean over valid steps only: (B, T, D) with mask (B, T) -> (B, D); zeros for a fully padded row."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        valid = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)  # (B, T, 1)
        total = ops.sum(inputs * valid, axis=1)  # (B, D)
        return total / ops.maximum(ops.sum(valid, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="emotion")
class MaskedStatisticsPooling1D(keras.layers.Layer):
    """Mean and standard deviation over valid steps, concatenated (x-vector statistics pooling):
    (B, T, D) with mask (B, T) -> (B, 2D); how much a clip varies is itself an emotion cue."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            valid = ops.ones_like(inputs[..., :1])  # (B, T, 1)
        else:
            valid = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)  # (B, T, 1)
        count = ops.maximum(ops.sum(valid, axis=1), 1.0)  # (B, 1)
        mean = ops.sum(inputs * valid, axis=1) / count  # (B, D)
        variance = ops.sum(ops.square(inputs - ops.expand_dims(mean, 1)) * valid, axis=1) / count
        # sqrt has an infinite gradient at 0 (a constant feature, a one-step clip): keep it finite
        return ops.concatenate([mean, ops.sqrt(variance + 1e-6)], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[-1])


def masked_pooling(kind: str, name: str) -> keras.layers.Layer:
    """Pooling over valid steps by kind: "mean" (B, T, D) -> (B, D); "mean_std" -> (B, 2D)."""
    return MaskedStatisticsPooling1D(name=name) if kind == "mean_std" else MaskedGlobalAveragePooling1D(name=name)


@keras.saving.register_keras_serializable(package="emotion")
class MaskedFramePooling(keras.layers.Layer):
    """Mean of every `pool` consecutive valid frames: (B, T, F) with mask (B, T) -> (B, ceil(T/pool), F)
    with mask (B, ceil(T/pool)). Lowers the frame rate the LSTMs step through (Whisper's 20 ms frames
    x 4 = 80 ms: 4x fewer recurrent steps); a group is valid when any of its frames is, and averages
    only those, so a clip's last, partly padded group is not pulled towards zero."""

    def __init__(self, pool: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.pool = pool
        self.supports_masking = True

    def _pool(self, x, op):
        """(B, T, C) -> (B, ceil(T/pool), C): groups start at frame 0 ("same" padding would centre them)."""
        x = ops.pad(x, [[0, 0], [0, self.pool - 1], [0, 0]])  # zeros: invalid frames, in numerator and count alike
        return op(x, self.pool, strides=self.pool, padding="valid")

    def call(self, inputs, mask=None):
        if self.pool == 1:
            return inputs
        valid = (
            ops.ones_like(inputs[..., :1]) if mask is None else ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        )  # (B, T, 1)
        # the ratio of two means over a group is the mean over its valid frames
        summed = self._pool(inputs * valid, ops.average_pool)  # (B, T', F)
        count = self._pool(valid, ops.average_pool)  # (B, T', 1)
        return summed / ops.maximum(count, 1e-9)

    def compute_mask(self, inputs, mask=None):
        if mask is None or self.pool == 1:
            return mask
        any_valid = self._pool(ops.expand_dims(ops.cast(mask, "float32"), -1), ops.max_pool)  # (B, T', 1)
        return ops.squeeze(any_valid, -1) > 0  # (B, T')

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else -(-steps // self.pool), input_shape[2])

    def get_config(self):
        return {**super().get_config(), "pool": self.pool}
