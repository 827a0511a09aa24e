"""Variants over segment (CNN) features: `cnn_lstm_simplified`, `cnn_lstm`, `cnn_pooling`.

Input "audio": (B, T, F) segment feature vectors, zero-padded; output (B, n_classes) softmax.
"""

from __future__ import annotations

import keras

from emotion.config import CNNLSTMConfig, CNNPoolingConfig, SimplifiedLSTMConfig
from emotion.models.layers import MaskedGlobalAveragePooling1D, masked_pooling


def _l2(value: float):
    return keras.regularizers.L2(value) if value > 0 else None


def build_cnn_lstm_simplified(config: SimplifiedLSTMConfig, n_classes: int, input_dim: int) -> keras.Model:
    """Masking -> BiLSTM (recurrent L2) -> masked GAP -> Dropout -> Dense (L2) softmax."""
    inputs = keras.Input(shape=(None, input_dim), name="audio")
    x = keras.layers.Masking(mask_value=0.0)(inputs)
    lstm = keras.layers.LSTM(
        config.lstm_units,
        return_sequences=True,
        kernel_regularizer=_l2(config.l2),
        recurrent_regularizer=_l2(config.l2),
    )
    x = keras.layers.Bidirectional(lstm, name="bilstm")(x)  # (B, T, 2u)
    x = MaskedGlobalAveragePooling1D(name="masked_gap")(x)  # (B, 2u)
    x = keras.layers.Dropout(config.dropout)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", kernel_regularizer=_l2(config.l2), name="emotion")(x)
    return keras.Model({"audio": inputs}, outputs, name="cnn_lstm_simplified")


def build_cnn_lstm(config: CNNLSTMConfig, n_classes: int, input_dim: int) -> keras.Model:
    """Masking -> BiLSTM -> time-distributed Dense -> masked pooling (mean or mean+std) -> Dropout -> softmax."""
    inputs = keras.Input(shape=(None, input_dim), name="audio")
    x = keras.layers.Masking(mask_value=0.0)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(config.lstm_units, return_sequences=True), name="bilstm")(x)
    # Dense on (B, T, F) is applied per time step (time-distributed) and keeps the mask; the
    # TimeDistributed wrapper itself breaks on a short last batch in Keras 3 (pfor slice out of bounds).
    x = keras.layers.Dense(
        config.time_dense_units, activation="relu", kernel_regularizer=_l2(config.l2), name="time_dense"
    )(x)
    x = masked_pooling(config.pooling, name="masked_gap")(x)  # (B, time_dense_units), twice that with mean_std
    x = keras.layers.Dropout(config.dropout)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return keras.Model({"audio": inputs}, outputs, name="cnn_lstm")


def build_cnn_pooling(config: CNNPoolingConfig, n_classes: int, input_dim: int) -> keras.Model:
    """Masked pooling of the segment features -> Dense -> Dropout -> softmax: the no-sequence-model baseline."""
    inputs = keras.Input(shape=(None, input_dim), name="audio")
    x = keras.layers.Masking(mask_value=0.0)(inputs)
    x = masked_pooling(config.pooling, name="masked_gap")(x)  # (B, F) or (B, 2F) with mean_std
    x = keras.layers.Dense(config.dense_units, activation="relu", kernel_regularizer=_l2(config.l2))(x)
    x = keras.layers.Dropout(config.dropout)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return keras.Model({"audio": inputs}, outputs, name="cnn_pooling")
