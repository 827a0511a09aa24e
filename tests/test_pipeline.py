"""tf.data pipeline: padding and masks, bucketing, fixed lengths, short/empty last batches, normaliser."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from emotion.config import MultimodalConfig, PipelineConfig
from emotion.features.normalise import Normaliser
from emotion.models.multimodal import build_multimodal
from emotion.data.pipeline import bucket_boundaries, make_dataset, pad_or_truncate, padding_waste, target_length


def _clips(rng, lengths, dim=3):
    return [rng.normal(size=(n, dim)).astype(np.float32) + 5.0 for n in lengths]  # +5: no all-zero real frame


def _dataset(lengths, config, shuffle=False, video=False):
    rng = np.random.default_rng(0)
    sequences = {"audio": _clips(rng, lengths)}
    if video:
        sequences["video"] = _clips(rng, [max(1, n // 4) for n in lengths], dim=2)
    labels = np.arange(len(lengths)) % 4
    ds = make_dataset(sequences, labels, 4, config, train_lengths=np.array(lengths), shuffle=shuffle, seed=1)
    return ds, sequences, labels


def test_every_clip_once_with_its_label_and_exact_valid_length():
    lengths = [5, 17, 3, 9, 30, 12, 8, 1, 22, 14]
    ds, sequences, labels = _dataset(lengths, PipelineConfig(batch_size=3, n_buckets=3), shuffle=True)
    seen = []
    for inputs, onehot in ds:
        frames = inputs["audio"].numpy()
        for row, target in zip(frames, onehot.numpy()):
            valid = np.any(row != 0, axis=-1)
            n = int(valid.sum())
            assert valid[:n].all() and not valid[n:].any(), "padding must be a zero tail"
            match = [i for i, s in enumerate(sequences["audio"]) if len(s) == n and np.allclose(s, row[:n])]
            assert len(match) == 1
            assert np.argmax(target) == labels[match[0]]
            seen.append(match[0])
    assert sorted(seen) == list(range(len(lengths)))


@pytest.mark.parametrize("mode", ["bucket", "batch_max"])
def test_short_last_batch_and_batch_of_one_train(mode):
    # 7 clips, batch 3: batches of 3, 3 and 1 (per bucket more short ones); training must not crash.
    lengths = [4, 6, 5, 9, 3, 7, 8]
    ds, _, _ = _dataset(lengths, PipelineConfig(batch_size=3, length_mode=mode, n_buckets=2), video=True)
    sizes = [int(y.shape[0]) for _, y in ds]
    assert sum(sizes) == 7 and min(sizes) >= 1
    config = MultimodalConfig(
        audio_units_1=4, audio_units_2=4, video_units_1=4, video_units_2=4, attention_units=2, dense_units=4
    )
    model = build_multimodal(config, 4, 3, 2)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_single_clip_dataset_and_empty_split_error():
    ds, _, _ = _dataset([5], PipelineConfig(batch_size=32))
    assert [int(y.shape[0]) for _, y in ds] == [1]
    with pytest.raises(ValueError, match="empty"):
        make_dataset(
            {"audio": []},
            np.array([], dtype=int),
            4,
            PipelineConfig(),
            train_lengths=np.array([5]),
            shuffle=False,
            seed=0,
        )


def test_fixed_and_percentile_lengths():
    lengths = list(range(10, 110, 10))
    assert target_length(PipelineConfig(length_mode="fixed", fixed_length=20), np.array(lengths)) == 20
    assert target_length(PipelineConfig(length_mode="percentile", length_percentile=50), np.array(lengths)) == 55
    ds, _, _ = _dataset(lengths, PipelineConfig(batch_size=4, length_mode="fixed", fixed_length=20), video=True)
    for inputs, _ in ds:
        assert inputs["audio"].shape[1] == 20
        assert inputs["video"].shape[1] <= 20 // 4 + 1  # video cut at the same duration


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=30),
    st.lists(st.integers(1, 60), min_size=1, max_size=30),
    st.sampled_from(["bucket", "batch_max", "percentile"]),
    st.integers(1, 8),
    st.integers(1, 5),
)
@example([6, 6, 6, 5], [2, 4, 6, 8], "bucket", 2, 2)  # three clips exactly at the boundary (6): bucket 1
def test_the_batch_count_is_known_in_advance_and_is_what_a_pass_yields(lengths, train, mode, batch, buckets):
    """Keras reads the epoch's length from the cardinality (no "ran out of data" warning); a wrong count
    would raise while iterating, so the pass below checks it too. Boundaries come from other clips'
    lengths, as for a validation set."""
    rng = np.random.default_rng(0)
    config = PipelineConfig(batch_size=batch, length_mode=mode, n_buckets=buckets)
    labels = np.arange(len(lengths)) % 4
    ds = make_dataset(
        {"audio": _clips(rng, lengths)}, labels, 4, config, train_lengths=np.array(train), shuffle=False, seed=1
    )
    assert int(ds.cardinality()) == sum(1 for _ in ds) >= 1


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40))
def test_pad_or_truncate_property(n, length):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2) + 1
    out = pad_or_truncate(x, length)
    assert out.shape == (length, 2)
    keep = min(n, length)
    np.testing.assert_array_equal(out[:keep], x[:keep])
    assert not out[keep:].any()


def test_bucketing_wastes_less_padding_than_batch_max():
    rng = np.random.default_rng(7)
    lengths = rng.integers(100, 500, size=300).tolist()
    bucketed, _, _ = _dataset(lengths, PipelineConfig(batch_size=16, length_mode="bucket", n_buckets=8), shuffle=True)
    plain, _, _ = _dataset(lengths, PipelineConfig(batch_size=16, length_mode="batch_max"), shuffle=True)
    assert padding_waste(bucketed) < 0.5 * padding_waste(plain)
    assert bucket_boundaries(np.array(lengths), 8) == sorted(set(bucket_boundaries(np.array(lengths), 8)))


def test_normaliser_fitted_on_given_sequences_only(tmp_path):
    rng = np.random.default_rng(3)
    train = [rng.normal(2.0, 3.0, size=(50, 4)) for _ in range(20)]
    test = [rng.normal(100.0, 1.0, size=(50, 4)) for _ in range(20)]
    normaliser = Normaliser.fit({"audio": train})
    stacked = np.concatenate(train)
    np.testing.assert_allclose(normaliser.mean["audio"], stacked.mean(0), rtol=1e-5)
    assert np.all(np.abs(normaliser.mean["audio"] - 100.0) > 50), "test data must not leak into the statistics"
    out = normaliser.transform("audio", test[0])
    assert np.all(out > 20)  # far from the training distribution, as it should be
    normaliser.save(tmp_path / "n.json")
    loaded = Normaliser.load(tmp_path / "n.json")
    np.testing.assert_array_equal(loaded.transform("audio", test[1]), normaliser.transform("audio", test[1]))
    with pytest.raises(ValueError, match="audio"):
        normaliser.transform("audio", np.zeros((3, 5)))
