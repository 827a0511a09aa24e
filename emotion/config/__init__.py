"""Every default of the platform, in one place, with the reason for it. Below every other package.

    sections.py  the run's sections (data, features, split, pipeline, train, augment, each model) and RunConfig
    variants.py  the variants, their model sections and their own defaults (VARIANT_DEFAULTS, the recipes)
    feature_kinds.py  each feature_kind's facts (frame period, spectral, Whisper, segments), read everywhere
    build.py     build_config(variant, overrides): cast, validate, one-line errors; parse_assignments, label_names

The names below are the package's interface: `from emotion.config import build_config, TrainConfig`.
"""

from emotion.config.feature_kinds import FEATURE_KINDS, FeatureKind, feature_kind
from emotion.config.build import (
    WHISPER_COMPUTE,
    WHISPER_WINDOW_SECONDS,
    build_config,
    cast_parameter,
    label_names,
    parse_assignments,
    whisper_layer_parts,
    window_seconds,
)
from emotion.config.sections import (
    CORPORA,
    AugmentConfig,
    ClipHeadsConfig,
    CNNLSTMConfig,
    CNNPoolingConfig,
    DataConfig,
    FeatureConfig,
    MultimodalConfig,
    PipelineConfig,
    RunConfig,
    SimplifiedLSTMConfig,
    SplitConfig,
    TrainConfig,
    Wav2VecAttentionConfig,
    WhisperFinetuneConfig,
)
from emotion.config.variants import (
    MODEL_CONFIGS,
    MULTIMODAL_RECIPE,
    MULTIMODAL_VARIANTS,
    SEGMENT_RECIPE,
    VARIANT_DEFAULTS,
    VARIANTS,
    WHISPER_SEQUENCE,
    has_network,
    uses_video,
)

__all__ = [
    "CORPORA",
    "FEATURE_KINDS",
    "FeatureKind",
    "feature_kind",
    "MODEL_CONFIGS",
    "MULTIMODAL_RECIPE",
    "MULTIMODAL_VARIANTS",
    "SEGMENT_RECIPE",
    "VARIANT_DEFAULTS",
    "VARIANTS",
    "WHISPER_SEQUENCE",
    "AugmentConfig",
    "cast_parameter",
    "ClipHeadsConfig",
    "CNNLSTMConfig",
    "CNNPoolingConfig",
    "DataConfig",
    "FeatureConfig",
    "MultimodalConfig",
    "PipelineConfig",
    "RunConfig",
    "SimplifiedLSTMConfig",
    "SplitConfig",
    "TrainConfig",
    "Wav2VecAttentionConfig",
    "WhisperFinetuneConfig",
    "build_config",
    "label_names",
    "parse_assignments",
    "has_network",
    "uses_video",
    "whisper_layer_parts",
    "window_seconds",
    "WHISPER_COMPUTE",
    "WHISPER_WINDOW_SECONDS",
]
