"""`whisper_finetune`: Whisper's top encoder blocks, trained, under a pooled classification head.

Input "audio" is feature_kind=whisper_hidden: block k's raw output over the whole window (k =
whisper_layers; the frozen blocks 1..k run once per clip, and are cached like every feature) plus a
column marking the clip's frames. The model runs blocks k+1..n_layers, initialised from the same
model.bin, then the final LayerNorm, a mean over the clip's frames and a dense softmax. With the blocks
as loaded and before any step, the pooled vector is exactly the frozen encoder's last layer averaged
over the clip (tests/test_whisper_finetune.py checks it).

What trains: every weight of those blocks (lora_rank=0), or low-rank adapters on their Dense layers
(Keras' own `Dense.enable_lora`, the pretrained kernels frozen) with lora_rank=r. Whole blocks are the
default: tiny.en's top two blocks hold 3.5M weights, which a CPU trains in minutes, and they were what
the nested rule compared; adapters are for an encoder too large to train whole.
"""

from __future__ import annotations

import keras
from keras import ops

from emotion.config import FeatureConfig, WhisperFinetuneConfig
from emotion.errors import ConfigError
from emotion.features.ct2_weights import read_model_bin, whisper_encoder_shape
from emotion.features.whisper_keras import LN_EPSILON, WhisperBlock, load_block, load_final_norm


@keras.saving.register_keras_serializable(package="emotion")
class SplitClipFrames(keras.layers.Layer):
    """(B, T, d + 1) -> [(B, T, d) the hidden frames, (B, T) 1 on the clip's frames and 0 on the window's
    padding, (B, T) True on every frame but a batch's zero padding (which the blocks do not attend to)]."""

    def call(self, inputs):
        frames = inputs[..., :-1]
        return [frames, inputs[..., -1], ops.any(ops.not_equal(frames, 0.0), axis=-1)]

    def compute_output_shape(self, input_shape):
        steps = tuple(input_shape[:-1])
        return [(*steps, input_shape[-1] - 1), steps, steps]


@keras.saving.register_keras_serializable(package="emotion")
class ClipFrameMean(keras.layers.Layer):
    """Mean over the clip's frames only: [(B, T, d), (B, T) weights] -> (B, d)."""

    def call(self, inputs):
        frames, valid = inputs
        valid = ops.cast(valid, frames.dtype)[..., None]  # (B, T, 1)
        return ops.sum(frames * valid, axis=1) / ops.maximum(ops.sum(valid, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][-1])


def first_trained_block(features: FeatureConfig, n_layers: int) -> int:
    """whisper_layers=k: blocks after k train; k must leave at least one (a one-line error naming it)."""
    from emotion.features.whisper import chosen_layers

    layers = chosen_layers(features.whisper_layers, n_layers, features.whisper_model)
    if len(layers) != 1 or layers[0] >= n_layers:
        raise ConfigError(
            f"parameter whisper_layers={features.whisper_layers}: whisper_finetune trains the blocks above one "
            f"layer, so 1-{n_layers - 1} for {features.whisper_model} ({n_layers} layers)"
        )
    return layers[0]


def _mixed_precision(config: WhisperFinetuneConfig) -> bool:
    import tensorflow as tf

    return config.mixed_precision == "auto" and bool(tf.config.list_physical_devices("GPU"))


def build_whisper_finetune(
    config: WhisperFinetuneConfig, n_classes: int, input_dim: int, features: FeatureConfig
) -> keras.Model:
    """Input "audio": (B, T, d + 1) whisper_hidden frames -> (B, n_classes)."""
    from emotion.features.whisper import resolve_model

    weights = read_model_bin(resolve_model(features.whisper_model) / "model.bin")
    shape = whisper_encoder_shape(weights)
    first, d = first_trained_block(features, shape["n_layers"]), shape["d_model"]
    if input_dim != d + 1:
        raise ConfigError(
            f"parameter feature_kind={features.feature_kind}: {input_dim} columns, whisper_finetune over "
            f"{features.whisper_model} takes {d + 1} (feature_kind=whisper_hidden)"
        )
    previous = keras.config.dtype_policy()
    if _mixed_precision(config):  # float16 blocks on a GPU; the softmax stays float32 (below)
        keras.config.set_dtype_policy("mixed_float16")
    try:
        l2 = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
        inputs = keras.Input(shape=(None, d + 1), name="audio")
        x, valid, keys = SplitClipFrames(name="clip_frames")(inputs)  # (B, T, d), (B, T), (B, T)
        blocks = []
        for index in range(first, shape["n_layers"]):
            blocks.append(WhisperBlock(d, shape["n_heads"], name=f"block_{index}"))
            x = blocks[-1](x, key_mask=keys)  # (B, T, d)
        norm = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="final_norm")
        x = ClipFrameMean(name="clip_mean")([norm(x), valid])  # (B, d)
        x = keras.layers.Dropout(config.dropout)(x)
        outputs = keras.layers.Dense(
            n_classes, activation="softmax", kernel_regularizer=l2, dtype="float32", name="emotion"
        )(x)
        model = keras.Model({"audio": inputs}, outputs, name="whisper_finetune")
    finally:
        keras.config.set_dtype_policy(previous)
    for index, block in zip(range(first, shape["n_layers"]), blocks):
        load_block(block, weights, index)
        if config.lora_rank > 0:  # adapters only: the pretrained kernels and the norms stay as loaded
            for dense in (block.qkv, block.attn_out, block.fc1, block.fc2):
                dense.enable_lora(config.lora_rank)
            block.attn_norm.trainable = block.mlp_norm.trainable = False
    load_final_norm(norm, weights)
    return model
