"""Variant name -> model builder. Entry points and tuning build models only through here."""

from __future__ import annotations

import keras

from emotion.config import MULTIMODAL_VARIANTS, RunConfig
from emotion.models.multimodal import build_multimodal
from emotion.models.segment import build_cnn_lstm, build_cnn_lstm_simplified, build_cnn_pooling
from emotion.models.wav2vec_attention import build_wav2vec_attention
from emotion.models.whisper_finetune import build_whisper_finetune

AUDIO_ONLY_BUILDERS = {
    "cnn_lstm_simplified": build_cnn_lstm_simplified,
    "cnn_lstm": build_cnn_lstm,
    "whisper_lstm": build_cnn_lstm,
    "cnn_pooling": build_cnn_pooling,
    "wav2vec_attention": build_wav2vec_attention,
}


def build_model(config: RunConfig, n_classes: int, input_dims: dict[str, int]) -> keras.Model:
    """input_dims: modality -> features per frame, e.g. {"audio": 40, "video": 16}."""
    if config.variant in MULTIMODAL_VARIANTS:
        return build_multimodal(config.model, n_classes, input_dims["audio"], input_dims.get("video"))
    if config.variant == "whisper_finetune":  # its blocks' weights come from the features' Whisper model
        return build_whisper_finetune(config.model, n_classes, input_dims["audio"], config.features)
    if config.variant in AUDIO_ONLY_BUILDERS:
        return AUDIO_ONLY_BUILDERS[config.variant](config.model, n_classes, input_dims["audio"])
    raise ValueError(f"no builder for variant {config.variant!r}")  # config.build_config rejects these first
