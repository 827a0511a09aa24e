"""`wav2vec_attention`: BiLSTM + masked scaled dot-product self-attention over wav2vec 2.0 frames."""

from __future__ import annotations

import keras

from emotion.config import Wav2VecAttentionConfig
from emotion.models.layers import MaskedFramePooling, MaskedGlobalAveragePooling1D
from emotion.models.lstm_kernel import use_cudnn


def build_wav2vec_attention(config: Wav2VecAttentionConfig, n_classes: int, input_dim: int) -> keras.Model:
    """Input "audio": (B, T, H) wav2vec embeddings, zero-padded -> (B, n_classes)."""
    l2 = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    inputs = keras.Input(shape=(None, input_dim), name="audio")
    x = keras.layers.Masking(mask_value=0.0)(inputs)
    if config.frame_pool > 1:
        x = MaskedFramePooling(config.frame_pool, name="frame_pool")(x)  # (B, ceil(T / frame_pool), H)
    lstm = keras.layers.LSTM(
        config.lstm_units,
        return_sequences=True,
        recurrent_dropout=config.recurrent_dropout,
        use_cudnn=use_cudnn(config),
    )
    x = keras.layers.Bidirectional(lstm, name="bilstm")(x)  # (B, T, 2u)
    x = keras.layers.LayerNormalization(name="layer_norm")(x)
    # Keras' Attention takes the propagated query/value masks: padded keys get no weight.
    x = keras.layers.Attention(use_scale=True, name="self_attention")([x, x])  # (B, T, 2u)
    x = MaskedGlobalAveragePooling1D(name="masked_gap")(x)  # (B, 2u), valid queries only
    x = keras.layers.Dense(config.dense_units_1, activation="relu", kernel_regularizer=l2)(x)
    x = keras.layers.Dropout(config.dropout)(x)
    x = keras.layers.Dense(config.dense_units_2, activation="relu", kernel_regularizer=l2)(x)
    x = keras.layers.Dropout(config.dropout_2)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return keras.Model({"audio": inputs}, outputs, name="wav2vec_attention")
