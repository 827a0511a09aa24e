"""Property tests (hypothesis): name parsing never fails other than with a reason, padding and masking
keep every real frame and only real frames, masked pooling ignores padding, k-fold and speaker splits."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emotion.config import PipelineConfig
from emotion.corpus.names import parse_cremad, parse_ravdess
from emotion.data.pipeline import make_dataset

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(st.text(alphabet="0123456789-_ABCDEFGHIJKLMNOPQRSTUVWXYZabc.", max_size=30))
def test_any_stem_parses_or_fails_with_a_one_line_reason(stem):
    for parse in (parse_ravdess, parse_cremad):
        try:
            fields = parse(stem)
        except ValueError as error:
            assert str(error) and "\n" not in str(error)
        else:
            assert fields["emotion"] and fields["actor"]


@FAST
@given(
    lengths=st.lists(st.integers(1, 60), min_size=1, max_size=12),
    batch_size=st.integers(1, 5),
    mode=st.sampled_from(["bucket", "batch_max"]),
    seed=st.integers(0, 5),
)
def test_padded_batches_hold_every_frame_once_and_mask_exactly_the_padding(lengths, batch_size, mode, seed):
    rng = np.random.default_rng(seed)
    # Standardised features are never all-zero frames: shift away from 0 so a real frame is never padding.
    clips = [rng.normal(size=(n, 3)).astype(np.float32) + 5.0 for n in lengths]
    ds = make_dataset(
        {"audio": clips},
        np.arange(len(lengths)) % 4,
        4,
        PipelineConfig(batch_size=batch_size, length_mode=mode, n_buckets=3),
        train_lengths=np.array(lengths),
        shuffle=True,
        seed=seed,
    )
    seen = []
    for inputs, _ in ds:
        frames = inputs["audio"].numpy()  # (B, T, 3)
        assert frames.shape[0] <= batch_size
        valid = np.any(frames != 0, axis=-1)  # (B, T): what Masking(0.0) passes on
        for clip, mask in zip(frames, valid):
            n = int(mask.sum())
            assert mask[:n].all() and not mask[n:].any()  # real frames first, then only padding
            seen.append(clip[:n])
    assert sorted(len(c) for c in seen) == sorted(lengths)
    assert sorted(float(c.sum()) for c in seen) == sorted(float(c.sum()) for c in clips)  # each clip once, unchanged


@FAST
@given(length=st.integers(1, 20), pad=st.integers(0, 20), seed=st.integers(0, 5))
def test_masked_average_pooling_ignores_padding(length, pad, seed):
    import keras

    from emotion.models.layers import MaskedGlobalAveragePooling1D

    x = np.random.default_rng(seed).normal(size=(1, length, 4)).astype(np.float32) + 3.0
    padded = np.concatenate([x, np.zeros((1, pad, 4), np.float32)], axis=1)  # (1, length + pad, 4)
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, MaskedGlobalAveragePooling1D()(keras.layers.Masking(0.0)(inputs)))
    np.testing.assert_allclose(model(padded).numpy(), x.mean(axis=1), rtol=1e-5)
