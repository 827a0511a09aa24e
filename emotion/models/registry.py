"""Variant name -> model builder. Entry points and tuning build models only through here."""

from __future__ import annotations

import keras

from emotion.config import RunConfig
from emotion.models.multimodal import build_multimodal


def build_model(config: RunConfig, n_classes: int, input_dims: dict[str, int]) -> keras.Model:
    """input_dims: modality -> features per frame, e.g. {"audio": 40, "video": 16}."""
    if config.variant == "no_aug":
        return build_multimodal(config.model, n_classes, input_dims["audio"], input_dims.get("video"))
    raise ValueError(f"no builder for variant {config.variant!r}")  # config.build_config rejects these first
