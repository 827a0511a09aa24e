"""The `no_aug` family: BiLSTM + masked attention over audio (and video), merged, softmax."""

from __future__ import annotations

import keras

from emotion.config import MultimodalConfig
from emotion.models.layers import MaskedAttention, MaskedFramePooling
from emotion.models.lstm_kernel import use_cudnn


def _branch(
    inputs,
    units_1: int,
    units_2: int,
    attention_units: int,
    dropout: float,
    name: str,
    frame_pool: int = 1,
    cudnn="auto",
):
    """Masking [-> frame pooling] -> BiLSTM -> Dropout -> BiLSTM -> masked attention: (B, T, F) -> (B, 2 * units_2)."""
    x = keras.layers.Masking(mask_value=0.0, name=f"{name}_masking")(inputs)
    if frame_pool > 1:
        x = MaskedFramePooling(frame_pool, name=f"{name}_frame_pool")(x)  # (B, ceil(T / frame_pool), F)
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(units_1, return_sequences=True, use_cudnn=cudnn), name=f"{name}_bilstm_1"
    )(x)
    x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(units_2, return_sequences=True, use_cudnn=cudnn), name=f"{name}_bilstm_2"
    )(x)
    return MaskedAttention(attention_units, name=f"{name}_attention")(x)  # (B, 2 * units_2)


def build_multimodal(config: MultimodalConfig, n_classes: int, audio_dim: int, video_dim: int | None) -> keras.Model:
    """Inputs "audio" (B, Ta, Fa) and, when video_dim is given, "video" (B, Tv, Fv); zero frames are padding."""
    audio_in = keras.Input(shape=(None, audio_dim), name="audio")
    inputs = {"audio": audio_in}
    pooled = [
        _branch(
            audio_in,
            config.audio_units_1,
            config.audio_units_2,
            config.attention_units,
            config.dropout,
            "audio",
            config.frame_pool,
            use_cudnn(config),
        )
    ]
    if video_dim is not None:
        video_in = keras.Input(shape=(None, video_dim), name="video")
        inputs["video"] = video_in
        pooled.append(
            _branch(
                video_in,
                config.video_units_1,
                config.video_units_2,
                config.attention_units,
                config.dropout,
                "video",
                cudnn=use_cudnn(config),
            )
        )
    merged = keras.layers.Concatenate(name="merge")(pooled) if len(pooled) > 1 else pooled[0]
    regulariser = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    x = keras.layers.Dense(config.dense_units, activation="relu", kernel_regularizer=regulariser, name="dense")(merged)
    x = keras.layers.Dropout(config.dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="multimodal_bilstm_attention")
