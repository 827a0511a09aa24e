"""What each `feature_kind` is, in one table: every module reads these facts here instead of testing the
kind's name (docs/results.md#encoder-throughput for the encoders' costs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureKind:
    name: str
    frame_seconds: float | None  # one row's period; None: the configured hop (hop_ms), as log-mel frames
    spectral: bool  # columns are mel bands, so spectral masking (SpecAugment) applies
    whisper: bool  # rows come from the Whisper encoder: 16 kHz audio only, a `whisper_window`
    segments: bool  # one row per fixed segment of the clip, not per frame
    mean_std_segments: bool  # rows laid out [frames' mean | frames' std | extras] (clip_functionals=frames)
    residual: bool = False  # a block's raw output over the whole window + a clip-frame column (whisper_finetune)


FEATURE_KINDS: dict[str, FeatureKind] = {
    k.name: k
    for k in (
        FeatureKind("logmel", None, spectral=True, whisper=False, segments=False, mean_std_segments=False),
        FeatureKind("mfcc", None, spectral=False, whisper=False, segments=False, mean_std_segments=False),
        FeatureKind("logmel_stats", None, spectral=False, whisper=False, segments=True, mean_std_segments=True),
        FeatureKind("cnn", None, spectral=False, whisper=False, segments=True, mean_std_segments=False),
        FeatureKind("wav2vec", 0.02, spectral=False, whisper=False, segments=False, mean_std_segments=False),
        FeatureKind("whisper", 0.02, spectral=False, whisper=True, segments=False, mean_std_segments=False),
        # one block's raw output over the whole window + a clip-frame column: whisper_finetune's input
        FeatureKind(
            "whisper_hidden", 0.02, spectral=False, whisper=True, segments=False, mean_std_segments=False, residual=True
        ),
        FeatureKind("whisper_segments", None, spectral=False, whisper=True, segments=True, mean_std_segments=True),
    )
}


def feature_kind(name: str) -> FeatureKind:
    """The facts of a kind build_config has accepted."""
    return FEATURE_KINDS[name]
