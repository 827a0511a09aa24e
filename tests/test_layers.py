"""Masked attention and pooling: padding gets no weight, extra padding changes nothing, serialisation."""

import keras
import numpy as np
import pytest

from emotion.config import MultimodalConfig
from emotion.models.layers import (
    MaskedAttention,
    MaskedFramePooling,
    MaskedGlobalAveragePooling1D,
    MaskedStatisticsPooling1D,
)
from emotion.models.multimodal import build_multimodal


def _padded(rng, lengths, dim, total):
    batch = np.zeros((len(lengths), total, dim), dtype=np.float32)
    for i, n in enumerate(lengths):
        batch[i, :n] = rng.normal(size=(n, dim))
    mask = np.arange(total)[None, :] < np.array(lengths)[:, None]
    return batch, mask


def test_attention_gives_padding_zero_weight_and_sums_to_one():
    rng = np.random.default_rng(0)
    x, mask = _padded(rng, [5, 3, 8], dim=6, total=8)
    layer = MaskedAttention(4)
    context, weights = layer(x, mask=mask, return_attention=True)
    weights = keras.ops.convert_to_numpy(weights)
    assert np.all(weights[~mask] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    # context is the weighted mean of valid steps only
    expected = (x * weights[..., None]).sum(axis=1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(context), expected, rtol=1e-5, atol=1e-6)


def test_attention_all_padded_row_is_zero_not_nan():
    x = np.ones((2, 4, 3), dtype=np.float32)
    mask = np.array([[True, True, False, False], [False] * 4])
    context, weights = MaskedAttention(2)(x, mask=mask, return_attention=True)
    assert np.isfinite(keras.ops.convert_to_numpy(context)).all()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(weights)[1], 0.0)


def test_attention_unchanged_by_extra_padding():
    rng = np.random.default_rng(1)
    x, mask = _padded(rng, [4, 2], dim=5, total=4)
    layer = MaskedAttention(3)
    short = keras.ops.convert_to_numpy(layer(x, mask=mask))
    longer_x = np.concatenate([x, np.zeros((2, 7, 5), np.float32)], axis=1)
    longer_mask = np.concatenate([mask, np.zeros((2, 7), bool)], axis=1)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(longer_x, mask=longer_mask)), short, rtol=1e-6, atol=1e-7
    )  # atol: a sum over more (zero-weight) steps may round differently near 0


def test_masked_average_pooling_ignores_padding():
    rng = np.random.default_rng(2)
    x, mask = _padded(rng, [3, 1], dim=4, total=5)
    pooled = keras.ops.convert_to_numpy(MaskedGlobalAveragePooling1D()(x, mask=mask))
    np.testing.assert_allclose(pooled[0], x[0, :3].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(pooled[1], x[1, 0], rtol=1e-5)


def test_statistics_pooling_is_mean_and_std_of_valid_steps_only():
    rng = np.random.default_rng(3)
    x, mask = _padded(rng, [4, 1], dim=3, total=6)
    x[:, 4:] += 100.0 * (~mask[:, 4:, None])  # garbage in padded steps must not leak into either statistic
    pooled = keras.ops.convert_to_numpy(MaskedStatisticsPooling1D()(x, mask=mask))  # (2, 6)
    assert pooled.shape == (2, 6)
    np.testing.assert_allclose(pooled[0, :3], x[0, :4].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(pooled[0, 3:], x[0, :4].std(axis=0), rtol=1e-4)
    np.testing.assert_allclose(pooled[1, 3:], 1e-3, rtol=1e-3)  # one valid step: std 0, kept off sqrt's infinite slope


def test_statistics_pooling_gradient_is_finite_for_a_constant_clip():
    import tensorflow as tf

    x = tf.constant(np.ones((1, 5, 2), np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(MaskedStatisticsPooling1D()(x, mask=tf.ones((1, 5), bool)))
    assert np.all(np.isfinite(tape.gradient(total, x).numpy()))


def test_frame_pooling_averages_valid_frames_and_pools_the_mask():
    rng = np.random.default_rng(3)
    x, mask = _padded(rng, [7, 3, 1], dim=2, total=9)
    layer = MaskedFramePooling(4)
    pooled = keras.ops.convert_to_numpy(layer(x, mask=mask))  # (3, ceil(9 / 4) = 3, 2)
    pooled_mask = keras.ops.convert_to_numpy(layer.compute_mask(x, mask))
    assert pooled.shape == (3, 3, 2)
    np.testing.assert_array_equal(pooled_mask, [[True, True, False], [True, False, False], [True, False, False]])
    np.testing.assert_allclose(pooled[0, 0], x[0, :4].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pooled[0, 1], x[0, 4:7].mean(axis=0), rtol=1e-6)  # 3 valid frames, not / 4
    np.testing.assert_allclose(pooled[1, 0], x[1, :3].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pooled[2, 0], x[2, 0], rtol=1e-6)


def test_frame_pooling_of_one_is_the_identity():
    x, mask = _padded(np.random.default_rng(4), [5, 2], dim=3, total=5)
    layer = MaskedFramePooling(1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, mask=mask)), x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.compute_mask(x, mask)), mask)


def test_layer_config_round_trip():
    layer = MaskedAttention(7, name="att")
    clone = MaskedAttention.from_config(layer.get_config())
    assert clone.units == 7 and clone.name == "att"


pytestmark = pytest.mark.xdist_group("test_layers")  # its module fixtures run once, on one worker


@pytest.fixture(scope="module")
def small_model():
    config = MultimodalConfig(
        audio_units_1=8, audio_units_2=4, video_units_1=8, video_units_2=4, attention_units=4, dense_units=8
    )
    return build_multimodal(config, n_classes=8, audio_dim=6, video_dim=3)


def test_model_output_unchanged_by_extra_padding(small_model):
    rng = np.random.default_rng(3)
    audio, _ = _padded(rng, [10, 6], dim=6, total=10)
    video, _ = _padded(rng, [3, 2], dim=3, total=3)
    base = small_model({"audio": audio, "video": video}, training=False)
    padded = small_model(
        {
            "audio": np.concatenate([audio, np.zeros((2, 9, 6), np.float32)], axis=1),
            "video": np.concatenate([video, np.zeros((2, 4, 3), np.float32)], axis=1),
        },
        training=False,
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(padded), keras.ops.convert_to_numpy(base), rtol=1e-5, atol=1e-6
    )


def test_model_forward_backward_on_variable_lengths(small_model):
    rng = np.random.default_rng(4)
    audio, _ = _padded(rng, [10, 6, 3], dim=6, total=10)
    video, _ = _padded(rng, [3, 2, 1], dim=3, total=3)
    y = keras.utils.to_categorical([0, 3, 7], 8)
    # eagerly, as in tests/test_variants.py: the same gradients without ~15 s of graph tracing
    small_model.compile(optimizer="adam", loss=keras.losses.CategoricalFocalCrossentropy(), run_eagerly=True)
    before = [w.copy() for w in small_model.get_weights()]
    small_model.fit({"audio": audio, "video": video}, y, epochs=1, verbose=0)
    changed = [not np.allclose(a, b) for a, b in zip(before, small_model.get_weights())]
    assert all(changed), "every weight (both branches and the head) must receive gradient"


def test_model_save_load_identical_predictions(small_model, tmp_path):
    rng = np.random.default_rng(5)
    inputs = {"audio": _padded(rng, [7, 4], 6, 7)[0], "video": _padded(rng, [2, 1], 3, 2)[0]}
    path = tmp_path / "model.keras"
    small_model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(inputs, training=False)),
        keras.ops.convert_to_numpy(small_model(inputs, training=False)),
    )
