"""The variants: each one's model section and where its defaults differ from the shared ones, with why."""

from __future__ import annotations

from emotion.config.sections import (
    ClipHeadsConfig,
    CNNLSTMConfig,
    CNNPoolingConfig,
    MultimodalConfig,
    SimplifiedLSTMConfig,
    Wav2VecAttentionConfig,
    WhisperFinetuneConfig,
)

MODEL_CONFIGS: dict[str, type] = {
    "no_aug": MultimodalConfig,
    "aug": MultimodalConfig,
    "sync_aug": MultimodalConfig,
    "cnn_lstm_simplified": SimplifiedLSTMConfig,
    "cnn_lstm": CNNLSTMConfig,
    "whisper_lstm": CNNLSTMConfig,  # the same network over frozen Whisper segment features
    "whisper_heads": ClipHeadsConfig,  # whisper_lstm's clip heads without its network
    "cnn_pooling": CNNPoolingConfig,
    "wav2vec_attention": Wav2VecAttentionConfig,
    "whisper_finetune": WhisperFinetuneConfig,  # Whisper's top blocks trained with a pooled head
}
VARIANTS = tuple(MODEL_CONFIGS)
MULTIMODAL_VARIANTS = ("no_aug", "aug", "sync_aug")  # audio + video branches; the rest are audio-only


def uses_video(variant: str) -> bool:
    return variant in MULTIMODAL_VARIANTS


def has_network(variant: str) -> bool:
    """Whether the variant trains a Keras network (whisper_heads: scikit-learn heads alone)."""
    return MODEL_CONFIGS[variant] is not ClipHeadsConfig


# The segment models' best RAVDESS recipe, shared by cnn_lstm and whisper_lstm (docs/decisions.md#cnn_lstm-recipe).
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

# The sequence variants' input on real speech: frozen Whisper tiny.en frames (bundled, offline), a 10-s
# window (as good as 30 s at a third of the encoder time), per-speaker standardisation, 8 frames pooled
# to 160 ms (docs/decisions.md#sequence-variants-frame_pool8). frame_pool=4 restores 80 ms.
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
    # the RAVDESS k-fold benchmark (docs/decisions.md#cnn_lstm-recipe): 64 bands, per-speaker normalisation,
    # pitch / energy / spectral-change / HNR per segment, 60 epochs with patience 15, an equal blend with
    # the clip-functional SVM, 5 models per cv fold each validated on another fifth of the non-test actors.
    "cnn_lstm": {"feature_kind": "logmel_stats", **SEGMENT_RECIPE, "cv_seeds": 5, "cv_rotate_val": True},
    # cnn_lstm's best recipe over frozen Whisper segment features beside the prosody columns, blended
    # with a logistic head on the clip's frame mean / std + the extras' functionals, refit on every
    # non-test speaker; a global head for single clips. Its heads without the network are the champion,
    # whisper_heads (docs/decisions.md#the-champion-whisper_heads).
    "whisper_lstm": {
        "feature_kind": "whisper_segments",
        # each clip padded to 10 s: as accurate as 30 s, 4.8x the encoder's clips/s
        # (docs/decisions.md#whisper_window10s, docs/results.md#which-encoder-window)
        "whisper_window": "10s",
        # both encoders' frames side by side: +1.9 / +2.5 nested-CV UA points over tiny.en alone per speaker /
        # single clip, at 2.9x the encoder time (docs/results.md#which-encoder)
        "whisper_model": "tiny.en+base",
        **SEGMENT_RECIPE,
        "clip_head": "logistic",
        "global_head": True,
        "clip_head_refit": True,
        "clip_functionals": "frames",
        "global_extras_std": False,  # docs/decisions.md#the-global-head-single-clips
        # the global head also learns from 2 synthetic voices of every training clip (nested grouped CV;
        # docs/decisions.md#the-global-head-single-clips)
        "global_voices": True,
        # the global head leaves out the HNR's mean, so a single clip skips Praat's HNR: no measurable loss,
        # so the simpler head (docs/decisions.md#the-global-head-single-clips)
        "global_hnr": False,
        # nor the prosody means, so a single clip needs no Praat at all; the per-speaker head leaves out the
        # HNR: neither costs 0.5 nested-CV UA points (docs/results.md#which-parts-of-the-clip-heads-earn-their-place)
        "global_prosody": False,
        "speaker_hnr": False,
        # shrunk toward the training population's: a speaker whose clips are mostly one emotion keeps 0.68
        # UA instead of 0.37, at no cost when they are not (docs/results.md#a-speaker-whose-clips-are-mostly-one-emotion)
        "speaker_stats": "shrink",
        "svm_weight": 0.7,  # the best validation blend of 5 tried (docs/decisions.md#blend-weight-svm_weight07)
    },
    # whisper_lstm without its network, which added less than 0.5 nested-CV UA points to the heads
    # (docs/results.md#does-the-network-earn-its-place); no HNR column, which neither head reads
    "whisper_heads": {
        "feature_kind": "whisper_segments",
        "whisper_window": "10s",
        "whisper_model": "tiny.en+base",
        "n_mels": 64,
        "normalisation": "speaker",
        "prosody": True,
        "segment_deltas": True,
        "voice_quality": False,
    },
    # tiny.en frozen up to layer 2 (cached once), its blocks 3-4 trained with the head: a CPU trains it in
    # minutes a fold; whisper_layers=1 trains three. Whisper's window of 10 s, as the champion's encoder.
    "whisper_finetune": {
        "feature_kind": "whisper_hidden",
        "whisper_model": "tiny.en",
        "whisper_window": "10s",
        "whisper_layers": "2",
        "normalisation": "none",  # the blocks take the residual stream as the frozen blocks left it
        "loss": "crossentropy",
        "learning_rate": 1e-4,  # fine-tuning: pretrained blocks move little; the head learns at the same rate
        "batch_size": 16,
        "epochs": 8,
        "early_stopping_patience": 3,
        "reduce_lr_patience": 2,
        "length_mode": "batch_max",  # every clip is one 10-s window (500 frames): nothing to bucket
    },
    "cnn_pooling": {"feature_kind": "logmel_stats", "loss": "crossentropy", "lr_schedule": "exponential"},
    # length at the 98th percentile; warm-up 5e-6 -> 3e-4 over 8 epochs, plateau x0.3 patience 5,
    # cosine after epoch 20, early stopping patience 12; input WHISPER_SEQUENCE (wav2vec 2.0 frames,
    # feature_kind=wav2vec, need the hub once)
    "wav2vec_attention": {
        # WHISPER_SEQUENCE's 8 frames pooled to 160 ms: as accurate as 4 at a third of the time
        # (docs/decisions.md#sequence-variants-frame_pool8)
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
