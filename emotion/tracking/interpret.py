"""Attention weights over time for a few test clips: what the attention variants looked at."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np

from emotion.models.layers import MaskedAttention, MaskedFramePooling

ATTENTION_LAYERS = {"audio": "audio_attention", "video": "video_attention"}


def attention_weights(model: keras.Model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{modality: (B, T)} weights of each MaskedAttention layer; padded steps get 0. Empty if none."""
    out = {}
    for modality, layer_name in ATTENTION_LAYERS.items():
        if modality not in inputs or layer_name not in {layer.name for layer in model.layers}:
            continue
        layer = model.get_layer(layer_name)
        if not isinstance(layer, MaskedAttention):
            continue
        source = layer.input[0] if isinstance(layer.input, list) else layer.input  # Keras records [x, mask]
        features = keras.Model(model.inputs, source)(inputs, training=False)  # (B, T, D) before pooling
        mask = np.any(inputs[modality] != 0, axis=-1)  # (B, T): zero frames are padding
        pooling = next(
            (p for p in model.layers if isinstance(p, MaskedFramePooling) and p.name.startswith(modality)), None
        )
        if pooling is not None:  # the attention steps through pooled frames: (B, ceil(T / pool))
            mask = keras.ops.convert_to_numpy(pooling.compute_mask(inputs[modality], mask))
        _, weights = layer(features, mask=mask, return_attention=True)
        out[modality] = keras.ops.convert_to_numpy(weights)
    return out


def attention_figure(weights: dict[str, np.ndarray], frame_seconds: dict[str, float], titles: list[str]):
    """One panel per clip, each modality's weights on a shared time axis in seconds."""
    n = len(titles)
    fig, axes = plt.subplots(n, 1, figsize=(8, 1.8 * n), squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        for modality, w in weights.items():
            valid = w[i] > 0
            steps = np.arange(int(valid.sum()))
            ax.plot(steps * frame_seconds[modality], w[i][: len(steps)] * len(steps), label=modality)
        ax.set_title(titles[i], fontsize=9)
        ax.set_ylabel("weight x T")
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig
