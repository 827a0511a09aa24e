"""The variants: each one's model section and where its defaults differ from the shared ones, with why."""

from __future__ import annotations

from emotion.config.sections import (
    CNNLSTMConfig,
    CNNPoolingConfig,
    MultimodalConfig,
    SimplifiedLSTMConfig,
    Wav2VecAttentionConfig,
)

MODEL_CONFIGS: dict[str, type] = {
    "no_aug": MultimodalConfig,
    "aug": MultimodalConfig,
    "sync_aug": MultimodalConfig,
    "cnn_lstm_simplified": SimplifiedLSTMConfig,
    "cnn_lstm": CNNLSTMConfig,
    "whisper_lstm": CNNLSTMConfig,  # the same network over frozen Whisper segment features
    "cnn_pooling": CNNPoolingConfig,
    "wav2vec_attention": Wav2VecAttentionConfig,
}
VARIANTS = tuple(MODEL_CONFIGS)
MULTIMODAL_VARIANTS = ("no_aug", "aug", "sync_aug")  # audio + video branches; the rest are audio-only


def uses_video(variant: str) -> bool:
    return variant in MULTIMODAL_VARIANTS


# The segment models' best RAVDESS recipe, shared by cnn_lstm and whisper_lstm (README, "Real-data accuracy").
SEGMENT_RECIPE: dict[str, object] = {
    "loss": "crossentropy",
    "lr_schedule": "exponential",
    "n_mels": 64,
    "normalisation": "speaker",
    "prosody": True,
    "segment_deltas": True,
    "voice_quality": True,
    "epochs": 60,
    "early_stopping_patience": 15,
    "svm_weight": 0.5,
}

# The sequence variants' input on real speech (README, "Sequence variants on real speech"): frozen
# Whisper tiny.en frames (bundled, offline), a 10-s window (matches 30 s on validation actors at a
# third of the encoder time), per-speaker standardisation (7 points in the linear probes), 8 frames
# pooled to 160 ms (8x fewer LSTM steps than Whisper's 20 ms): validation UA against 4 frames, EmoBox's
# folds, no_aug 0.752 vs 0.727, aug 0.748 vs 0.737, sync_aug 0.754 vs 0.739. frame_pool=4 restores 80 ms.
WHISPER_SEQUENCE: dict[str, object] = {
    "feature_kind": "whisper",
    "whisper_window": "10s",
    "normalisation": "speaker",
    "frame_pool": 8,
}
# no_aug / aug / sync_aug: the source design's two BiLSTM + masked-attention branches over that input;
# one length (98th percentile of the training clips) so XLA compiles the step once for audio alone
# (jit_compile=auto: audio-visual runs stay uncompiled, their video is padded per batch)
MULTIMODAL_RECIPE: dict[str, object] = {**WHISPER_SEQUENCE, "length_mode": "percentile", "jit_compile": "auto"}

# Where a variant's source design differs from the shared defaults above. One place, with the reason.
VARIANT_DEFAULTS: dict[str, dict[str, object]] = {
    "no_aug": MULTIMODAL_RECIPE,
    "aug": {**MULTIMODAL_RECIPE, "augment": "audio_only"},
    "sync_aug": {**MULTIMODAL_RECIPE, "augment": "sync"},
    # fixed length 20 over segment features; L2/dropout in its model config; lr 3e-4 + plateau
    "cnn_lstm_simplified": {
        "feature_kind": "logmel_stats",
        "length_mode": "fixed",
        "fixed_length": 20,
        "learning_rate": 3e-4,
        "loss": "crossentropy",
    },
    # cross-entropy, Adam with an exponential schedule, early stopping; plus the best configuration of
    # the RAVDESS k-fold benchmark (README, "Real-data accuracy"): 64 bands, per-speaker normalisation,
    # pitch / energy / spectral-change / HNR per segment, 60 epochs with patience 15, an equal blend with
    # the clip-functional SVM, 5 models per cv fold each validated on another fifth of the non-test actors.
    "cnn_lstm": {"feature_kind": "logmel_stats", **SEGMENT_RECIPE, "cv_seeds": 5, "cv_rotate_val": True},
    # The champion (README, "Pretrained encoder"): cnn_lstm's best recipe over frozen Whisper tiny.en
    # segment features beside the prosody columns, blended with a logistic head on the clip's frame
    # mean / std + the extras' functionals (validation UA 0.780 vs 0.751 on segment functionals), refit
    # on every non-test speaker; a global head for single clips.
    "whisper_lstm": {
        "feature_kind": "whisper_segments",
        # each clip padded to 10 s: validation UA 0.778 vs 0.771 at Whisper's 30-s window (per speaker)
        # and 0.688 vs 0.671 (global head), same day, EmoBox's folds; 4.8x the encoder's clips/s and
        # 2.3x faster served (README, "Pretrained encoder"). "30s" restores the 2026-12-02 champion.
        "whisper_window": "10s",
        **SEGMENT_RECIPE,
        "clip_head": "logistic",
        "global_head": True,
        "clip_head_refit": True,
        "clip_functionals": "frames",
        "global_extras_std": False,  # validation UA of the global head 0.672 vs 0.651 with (0.665 frames alone)
        # the global head also learns from 2 synthetic voices of every training clip: nested grouped-CV UA
        # 0.719 vs 0.707 over the folds' non-test actors (README, "Pretrained encoder")
        "global_voices": True,
        # the global head leaves out the HNR's mean, so a single clip skips Praat's HNR: nested grouped-CV UA
        # 0.720 with and without it (within 0.005 the simpler head, by the rule written before the run; README)
        "global_hnr": False,
        "svm_weight": 0.7,  # val_ua_blend over EmoBox's 6 folds: .762 / .764 / .768 / .774 / .771 for 0 / .3 / .5 / .7 / 1
    },
    "cnn_pooling": {"feature_kind": "logmel_stats", "loss": "crossentropy", "lr_schedule": "exponential"},
    # length at the 98th percentile; warm-up 5e-6 -> 3e-4 over 8 epochs, plateau x0.3 patience 5,
    # cosine after epoch 20, early stopping patience 12; input WHISPER_SEQUENCE (wav2vec 2.0 frames,
    # feature_kind=wav2vec, need the hub once)
    "wav2vec_attention": {
        # WHISPER_SEQUENCE's 8 frames pooled to 160 ms: validation UA 0.754 vs 0.753 at 4 over EmoBox's
        # folds, a 6-fold run in 12.7 instead of 42 min on 2 CPUs (README, "Sequence variants on real speech")
        **WHISPER_SEQUENCE,
        "length_mode": "percentile",
        "learning_rate": 3e-4,
        "loss": "crossentropy",
        "lr_schedule": "warmup_plateau_cosine",
        "reduce_lr_factor": 0.3,
        "reduce_lr_patience": 5,
        "early_stopping_patience": 12,
        "epochs": 40,
        "jit_compile": "auto",  # one length (percentile): XLA compiles once, 2x faster epochs on 2 CPUs
    },
}
