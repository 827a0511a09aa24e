"""Whisper's encoder in Keras 3, loaded from the CTranslate2 `model.bin` the wheels ship: every layer open.

The architecture is OpenAI's (whisper/model.py, AudioEncoder): two convolutions (k=3; the second stride 2)
with GELU, the stored sinusoidal positions, pre-norm transformer blocks (LayerNorm -> self-attention ->
residual, LayerNorm -> 4x MLP with GELU -> residual), a final LayerNorm. The final layer equals
CTranslate2's `encode` output (tests/test_whisper_keras.py states the tolerance).

Hidden layers are numbered 1..n_layers: layer k is block k's output read through the final LayerNorm, so
layer n_layers is exactly the encoder's output and every layer has its scale. SUPERB's featurizer also
layer-normalises each hidden layer before using it. For a head that standardises its inputs (every head
here), the final norm's affine gamma/beta then cancels out. A truncated CTranslate2 model, with the blocks
after k removed, computes the same thing (emotion/features/whisper_truncated.py).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from emotion.features.ct2_weights import ModelBin, whisper_encoder_shape

LN_EPSILON = 1e-5  # Whisper's nn.LayerNorm default, and CTranslate2's


@keras.saving.register_keras_serializable(package="emotion")
class WhisperBlock(keras.layers.Layer):
    """One pre-norm transformer block (Whisper pads with silence and attends to it; see call's key_mask).
    (B, T, d) -> (B, T, d). Its Dense layers take Keras' own `enable_lora(rank)` for adapters."""

    def __init__(self, d_model: int, n_heads: int, **kwargs):
        super().__init__(**kwargs)
        self.d_model, self.n_heads = d_model, n_heads
        self.attn_norm = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="attn_norm")
        self.qkv = keras.layers.Dense(3 * d_model, name="qkv")  # CTranslate2 fuses q, k, v (k's bias is 0)
        self.attn_out = keras.layers.Dense(d_model, name="attn_out")
        self.mlp_norm = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="mlp_norm")
        self.fc1 = keras.layers.Dense(4 * d_model, activation="gelu", name="fc1")  # exact (erf) GELU, as Whisper
        self.fc2 = keras.layers.Dense(d_model, name="fc2")

    def build(self, input_shape):
        self.attn_norm.build(input_shape)
        self.qkv.build(input_shape)
        self.attn_out.build(input_shape)
        self.mlp_norm.build(input_shape)
        self.fc1.build(input_shape)
        self.fc2.build((*input_shape[:-1], 4 * self.d_model))

    def call(self, inputs, key_mask=None):
        """key_mask (B, T), True on frames to attend to: a batch's zero padding is left out (whisper_finetune);
        None attends to every frame, as Whisper does over its window."""
        batch, steps = ops.shape(inputs)[0], ops.shape(inputs)[1]
        head = self.d_model // self.n_heads
        qkv = ops.reshape(self.qkv(self.attn_norm(inputs)), (batch, steps, 3, self.n_heads, head))  # (B, T, 3, H, hd)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]  # each (B, T, H, hd)
        mask = None if key_mask is None else ops.cast(key_mask, "bool")[:, None, None, :]  # (B, 1, 1, T)
        attended = ops.dot_product_attention(q, k, v, mask=mask)  # softmax(q k^T / sqrt(hd)) v: (B, T, H, hd)
        x = inputs + self.attn_out(ops.reshape(attended, (batch, steps, self.d_model)))
        return x + self.fc2(self.fc1(self.mlp_norm(x)))  # (B, T, d)

    def get_config(self):
        return {**super().get_config(), "d_model": self.d_model, "n_heads": self.n_heads}


@keras.saving.register_keras_serializable(package="emotion")
class AddPositions(keras.layers.Layer):
    """Adds Whisper's stored sinusoidal positions to the first T frames: (B, T, d) -> (B, T, d)."""

    def __init__(self, max_frames: int, d_model: int, **kwargs):
        super().__init__(**kwargs)
        self.max_frames, self.d_model = max_frames, d_model

    def build(self, input_shape):
        self.encodings = self.add_weight(
            shape=(self.max_frames, self.d_model), initializer="zeros", trainable=False, name="encodings"
        )

    def call(self, inputs):
        return inputs + ops.cast(self.encodings[: ops.shape(inputs)[1]], inputs.dtype)[None]

    def get_config(self):
        return {**super().get_config(), "max_frames": self.max_frames, "d_model": self.d_model}


def build_encoder(
    weights: ModelBin, layers: tuple[int, ...], name: str = "whisper_encoder", normed: bool = True
) -> keras.Model:
    """A Keras model: log-mel (B, T_mel, n_mels) -> the chosen layers, each (B, T_mel / 2, d), in `layers`
    order (one tensor when one layer is asked). Only the blocks up to the deepest asked layer are built.
    normed=False: the blocks' raw outputs (the residual stream), what a block above takes in."""
    shape = whisper_encoder_shape(weights)
    d, deepest = shape["d_model"], max(layers)
    mel = keras.Input((None, shape["n_mels"]), name="mel")  # (B, T_mel, n_mels)
    x = keras.layers.ZeroPadding1D(1)(mel)  # PyTorch's padding=1 on both sides (Keras "same" differs at stride 2)
    x = keras.layers.Conv1D(d, 3, activation="gelu", name="conv1")(x)
    x = keras.layers.ZeroPadding1D(1)(x)
    x = keras.layers.Conv1D(d, 3, strides=2, activation="gelu", name="conv2")(x)  # (B, T_mel / 2, d)
    x = AddPositions(shape["max_frames"], d, name="positions")(x)
    final_norm = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="final_norm")
    hidden = {}
    for index in range(deepest):
        x = WhisperBlock(d, shape["n_heads"], name=f"block_{index}")(x)
        if index + 1 in layers:
            hidden[index + 1] = final_norm(x) if normed else x  # (B, T, d); one norm shared by every layer read
    outputs = [hidden[k] for k in layers]
    model = keras.Model(mel, outputs[0] if len(outputs) == 1 else outputs, name=name)
    load_weights(model, weights, deepest)
    return model


def _conv_kernel(weights: ModelBin, name: str) -> np.ndarray:
    return np.transpose(weights.float32(name), (2, 1, 0))  # PyTorch (out, in, k) -> Keras (k, in, out)


def _dense(weights: ModelBin, scope: str) -> list[np.ndarray]:
    return [weights.float32(f"{scope}/weight").T, weights.float32(f"{scope}/bias")]  # (out, in) -> (in, out)


def _norm(weights: ModelBin, scope: str) -> list[np.ndarray]:
    return [weights.float32(f"{scope}/gamma"), weights.float32(f"{scope}/beta")]


def load_final_norm(norm: keras.layers.LayerNormalization, weights: ModelBin) -> None:
    norm.set_weights(_norm(weights, "encoder/layer_norm"))


def load_weights(model: keras.Model, weights: ModelBin, n_blocks: int) -> None:
    """Every weight of the model from the file, float16 / int8 widened to float32."""
    for conv in ("conv1", "conv2"):
        model.get_layer(conv).set_weights(
            [_conv_kernel(weights, f"encoder/{conv}/weight"), weights.float32(f"encoder/{conv}/bias")]
        )
    model.get_layer("positions").set_weights([weights.float32("encoder/position_encodings/encodings")])
    if any(layer.name == "final_norm" for layer in model.layers):  # normed=False builds none
        load_final_norm(model.get_layer("final_norm"), weights)
    for index in range(n_blocks):
        load_block(model.get_layer(f"block_{index}"), weights, index)


def load_block(block: WhisperBlock, weights: ModelBin, index: int) -> None:
    """Encoder block `index`'s weights (CTranslate2's encoder/layer_<index>) into a built WhisperBlock."""
    scope = f"encoder/layer_{index}"
    block.attn_norm.set_weights(_norm(weights, f"{scope}/self_attention/layer_norm"))
    block.qkv.set_weights(_dense(weights, f"{scope}/self_attention/linear_0"))
    block.attn_out.set_weights(_dense(weights, f"{scope}/self_attention/linear_1"))
    block.mlp_norm.set_weights(_norm(weights, f"{scope}/ffn/layer_norm"))
    block.fc1.set_weights(_dense(weights, f"{scope}/ffn/linear_0"))
    block.fc2.set_weights(_dense(weights, f"{scope}/ffn/linear_1"))
