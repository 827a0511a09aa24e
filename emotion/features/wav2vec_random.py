"""A tiny randomly initialised wav2vec 2.0 model folder: lets `wav2vec_attention` run offline.

Plumbing only (tests, smoke runs, CI): its frames carry no pretrained speech knowledge. For real
features pass a pretrained folder (save_pretrained of facebook/wav2vec2-base, say) as wav2vec_model.
"""

from __future__ import annotations

from pathlib import Path

from emotion.features.wav2vec import _import_hf

HIDDEN = 32  # small enough that extraction costs ~ms per clip on CPU


def save_random_wav2vec(folder, seed: int = 0) -> Path:
    """Write config.json + weights of a 2-layer, 32-wide wav2vec 2.0 (stride 320 = 20 ms frames, as the real one)."""
    torch, transformers = _import_hf()
    config = transformers.Wav2Vec2Config(
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(32, 32, 32),
        conv_stride=(5, 8, 8),
        conv_kernel=(10, 8, 8),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    torch.manual_seed(seed)
    folder = Path(folder)
    transformers.Wav2Vec2Model(config).save_pretrained(folder)
    return folder
