"""Augmentation: `sync` keeps audio and video aligned, `audio_only` does not; padding stays padding."""

import numpy as np
import pytest
import tensorflow as tf

from emotion.data.augment import MASK_FILL, make_augment, mask_time, shift_bins, time_resample
from emotion.config import AugmentConfig

AUDIO_FPS, VIDEO_FPS = 100, 25  # 10 ms audio hop, 25 fps video


def _marked_clip(seconds=4.0, marker=0.4):
    """Audio (400, 8) and video (100, 4) of the same duration, each with one marker frame at `marker`."""
    audio = np.full((int(seconds * AUDIO_FPS), 8), 0.5, np.float32)
    video = np.full((int(seconds * VIDEO_FPS), 4), 0.5, np.float32)
    audio[int(marker * len(audio))] = 50.0
    video[int(marker * len(video))] = 50.0
    return {"audio": tf.constant(audio), "video": tf.constant(video)}


def _marker_position(x):
    x = x.numpy()
    return (np.argmax(x.sum(axis=1)) + 0.5) / len(x)


def test_sync_keeps_duration_and_marker_aligned():
    # No time mask here (it could hide the marker); mask_time's alignment is tested on its own below.
    augment = make_augment(
        AugmentConfig(augment="sync", tempo_range=0.2, noise_std=0.01, video_noise_std=0.01, time_mask_fraction=0.0),
        spectral=True,
    )
    rates = set()
    for clip in range(20):
        out = augment(_marked_clip(), tf.constant([3, clip], tf.int64))
        audio_seconds, video_seconds = len(out["audio"]) / AUDIO_FPS, len(out["video"]) / VIDEO_FPS
        rates.add(len(out["audio"]))
        assert abs(audio_seconds - video_seconds) <= 1.0 / VIDEO_FPS, "both streams must cover the same duration"
        assert abs(_marker_position(out["audio"]) - _marker_position(out["video"])) <= 1.5 / len(out["video"])
    assert len(rates) > 5, "tempo must actually vary"


@pytest.mark.parametrize("mode", ["audio_only", "sync"])
def test_the_same_clip_seed_gives_the_same_changes(mode):
    augment = make_augment(AugmentConfig(augment=mode), spectral=True)
    seed = tf.constant([11, 5], tf.int64)
    first, again, other = (
        augment(_marked_clip(), seed),
        augment(_marked_clip(), seed),
        augment(_marked_clip(), seed + 1),
    )
    for modality in ("audio", "video"):
        np.testing.assert_array_equal(first[modality].numpy(), again[modality].numpy())
    assert first["audio"].shape != other["audio"].shape or not np.array_equal(
        first["audio"].numpy(), other["audio"].numpy()
    )


def test_audio_only_misaligns_the_streams():
    augment = make_augment(AugmentConfig(augment="audio_only", tempo_range=0.2, noise_std=0.01), spectral=True)
    mismatched = 0
    for clip in range(20):
        out = augment(_marked_clip(), tf.constant([4, clip], tf.int64))
        assert out["video"].shape[0] == 100, "video untouched"
        mismatched += abs(len(out["audio"]) / AUDIO_FPS - 4.0) > 1.0 / VIDEO_FPS
    assert mismatched >= 10


def test_none_means_no_augmentation():
    assert make_augment(AugmentConfig(augment="none"), spectral=True) is None


def test_primitives():
    x = tf.constant(np.arange(20, dtype=np.float32).reshape(10, 2) + 1)
    assert time_resample(x, tf.constant(2.0)).shape == (5, 2)
    assert time_resample(x, tf.constant(0.5)).shape == (20, 2)
    shifted = shift_bins(tf.constant([[1.0, 2.0, 3.0, 4.0]]), tf.constant(1)).numpy()
    np.testing.assert_array_equal(shifted, [[1.0, 1.0, 2.0, 3.0]])
    masked = mask_time(x, tf.constant(0.2), 0.3).numpy()
    assert np.all(masked[2:5] == MASK_FILL) and np.all(masked[5:] == x.numpy()[5:])
    assert np.all(np.any(masked != 0, axis=1)), "a masked frame must not look like padding"


@pytest.mark.parametrize("mode", ["audio_only", "sync"])
def test_augmented_pipeline_batches_are_finite(mode):
    from emotion.config import PipelineConfig
    from emotion.data.pipeline import make_dataset

    rng = np.random.default_rng(0)
    sequences = {
        "audio": [rng.normal(size=(n, 8)).astype(np.float32) for n in (40, 60, 80)],
        "video": [rng.normal(size=(n // 4, 4)).astype(np.float32) for n in (40, 60, 80)],
    }
    ds = make_dataset(
        sequences,
        np.array([0, 1, 2]),
        3,
        PipelineConfig(batch_size=2),
        train_lengths=np.array([40, 60, 80]),
        shuffle=True,
        seed=0,
        augment=make_augment(AugmentConfig(augment=mode), spectral=True),
    )
    total = 0
    for inputs, y in ds:
        assert np.isfinite(inputs["audio"].numpy()).all() and np.isfinite(inputs["video"].numpy()).all()
        total += int(y.shape[0])
    assert total == 3


def test_mixup_mixes_each_clip_with_its_neighbour_and_keeps_it_dominant():
    from emotion.data.augment import mixup

    rng = np.random.default_rng(1)
    audio = rng.normal(size=(6, 10, 4)).astype(np.float32)  # (B, T, F)
    audio[2, 7:] = 0.0  # clips 1 and 2 padded at the end (clip 2 is clip 3's partner: roll by one)
    audio[1, 6:] = 0.0
    onehot = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]  # (B, C)
    seeds = tf.constant(rng.integers(0, 2**31, size=(6, 2)), tf.int64)
    mixed, labels = mixup({"audio": tf.constant(audio)}, tf.constant(onehot), seeds, alpha=0.4)
    mixed, labels = mixed["audio"].numpy(), labels.numpy()
    weight = labels[np.arange(6), [0, 1, 2, 0, 1, 2]]  # the clip's own class share: w (neighbours differ in class)
    assert np.all(weight >= 0.5) and np.all(weight <= 1.0) and weight.std() > 0
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
    partner = np.roll(np.arange(6), 1)
    expected = weight[:, None, None] * audio + (1 - weight[:, None, None]) * audio[partner]
    np.testing.assert_allclose(mixed, expected, rtol=1e-5, atol=1e-6)
    assert np.all(mixed[2, 7:] == 0.0), "padding in both clips must stay padding (the mask)"
    again, _ = mixup({"audio": tf.constant(audio)}, tf.constant(onehot), seeds, alpha=0.4)
    np.testing.assert_array_equal(again["audio"].numpy(), mixed)  # same seeds: the same mix (resumable epochs)


def test_mixup_in_the_training_pipeline_gives_soft_labels_and_config_checks_alpha():
    from emotion.config import PipelineConfig, build_config
    from emotion.errors import ConfigError
    from emotion.data.pipeline import make_dataset

    rng = np.random.default_rng(0)
    sequences = {"audio": [rng.normal(size=(20, 8)).astype(np.float32) for _ in range(8)]}
    labels = np.arange(8) % 4
    kwargs = dict(train_lengths=np.full(8, 20), shuffle=True, seed=0)
    soft = np.concatenate(
        [
            y.numpy()
            for _, y in make_dataset(sequences, labels, 4, PipelineConfig(batch_size=4), mixup_alpha=0.4, **kwargs)
        ]
    )
    hard = np.concatenate(
        [y.numpy() for _, y in make_dataset(sequences, labels, 4, PipelineConfig(batch_size=4), **kwargs)]
    )
    assert len(soft) == len(hard) == 8
    assert np.all(np.isin(hard, [0.0, 1.0])) and not np.all(np.isin(soft, [0.0, 1.0]))
    assert soft.max(axis=1).min() >= 0.5
    with pytest.raises(ConfigError, match="mixup_alpha"):
        build_config("cnn_lstm", {"mixup_alpha": "-0.1"})
