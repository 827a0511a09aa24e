"""feature_kind -> (per-clip extractor, the parameters that key its cache). The one dispatch point."""

from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np

from emotion.config import FeatureConfig, feature_kind
from emotion.features.audio import extract_audio_features, feature_params


def audio_extractor(config: FeatureConfig, cache=None) -> tuple[Callable[[str], np.ndarray], dict]:
    """Built once per corpus: the CNN, wav2vec or Whisper model loads here, not per clip (a missing or
    corrupt model folder is a one-line error here, before any clip or training). `cache`: a FeatureCache
    that whisper_segments share with feature_kind=whisper for the encoder frames."""
    kind = config.feature_kind
    if kind in ("logmel", "mfcc"):
        return partial(extract_audio_features, config=config), feature_params(config)
    if kind in ("whisper", "whisper_hidden"):
        return whisper_frame_extractor(config)[:2]
    if kind in ("logmel_stats", "cnn", "whisper_segments"):
        from emotion.features.cnn import CnnFeatureExtractor

        # whisper_segments read (and fill) the cache's Whisper frames: the encoder is the costly part
        extractor = CnnFeatureExtractor.from_config(config, frame_cache=cache)
        return extractor, extractor.params()
    if kind == "wav2vec":
        from emotion.features.wav2vec import extract_wav2vec_features, load_wav2vec, wav2vec_params

        model, processor = load_wav2vec(config.wav2vec_model)
        compute = partial(extract_wav2vec_features, model=model, extractor=processor, layer=config.wav2vec_layer)
        return compute, wav2vec_params(config.wav2vec_model, config.wav2vec_layer)
    raise ValueError(f"no extractor for feature_kind {kind!r}")  # build_config rejects these first


def whisper_frame_extractor(
    config: FeatureConfig, many_clips: bool = False
) -> tuple[Callable[[str], np.ndarray], dict, int]:
    """Whisper encoder frames per clip, their cache parameters, and how many threads may call it at once
    (the encoder's CTranslate2 replicas). The frames whisper_segments pool are cached under the same key.
    many_clips: a corpus pass, where one thread per replica encodes the most clips a second at every
    window (30 s: 4.7 against 3.6 clips/s with 2 threads x 1, benchmarks/whisper_features.py); a single
    clip (serving) keeps the window's own layout, which answers it soonest."""
    from emotion.features.whisper import load_encoder

    encoder = load_encoder(
        config.whisper_model,
        config.whisper_window,
        1 if many_clips else 0,
        config.whisper_layers,
        config.whisper_compute,
        residual=feature_kind(config.feature_kind).residual,
    )
    return partial(encoder, max_seconds=config.max_clip_seconds), encoder.params(), encoder.replicas
