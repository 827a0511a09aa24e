"""Feature-space augmentation inside tf.data, drawn anew for every clip and epoch.

Every draw is a stateless random op on a per-clip seed pair (`EpochOrder.clip_seed`: a function of the
run's seed, the epoch and the clip), so an epoch's augmentation is the same in a resumed run.

`audio_only` (variant `aug`, the source design kept as a baseline): tempo change, pitch shift and
noise on the audio stream only; the video keeps its length, so the streams fall out of alignment.
`sync` (variant `sync_aug`): one tempo factor re-times both streams; a masked time span sits at the
same relative time in both; audio also gets pitch shift, gain, noise and a frequency mask, video a
small perturbation. Zero frames mean padding to the models, so masked spans are filled with a tiny
constant instead of zeros (standardised features: ~the mean).
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from emotion.config import AugmentConfig

MASK_FILL = 1e-3  # "the mean" of standardised features, but not an all-zero (= padding) frame


def time_resample(x: tf.Tensor, rate: tf.Tensor) -> tf.Tensor:
    """(T, F) -> (round(T / rate), F) by linear interpolation: rate > 1 is faster speech."""
    frames = tf.shape(x)[0]
    new = tf.maximum(1, tf.cast(tf.round(tf.cast(frames, tf.float32) / rate), tf.int32))
    resized = tf.image.resize(x[:, :, None], tf.stack([new, tf.shape(x)[1]]), method="bilinear")
    return resized[:, :, 0]


def shift_bins(x: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """Shift (T, F) along F by `shift` bins, repeating the edge bin: a pitch / vocal-tract change on log-mels."""
    width = tf.shape(x)[1]
    index = tf.clip_by_value(tf.range(width) - shift, 0, width - 1)
    return tf.gather(x, index, axis=1)


def mask_time(x: tf.Tensor, start: tf.Tensor, fraction: float) -> tf.Tensor:
    """Fill the relative span [start, start + fraction) of (T, F) with MASK_FILL."""
    frames = tf.cast(tf.shape(x)[0], tf.float32)
    position = (tf.cast(tf.range(tf.shape(x)[0]), tf.float32) + 0.5) / frames  # frame centres in [0, 1]
    inside = (position >= start) & (position < start + fraction)
    return tf.where(inside[:, None], tf.cast(MASK_FILL, x.dtype), x)


def _draw(seeds: tf.Tensor, index: int, low, high, dtype=tf.float32) -> tf.Tensor:
    """One scalar uniform in [low, high) from the index-th of the split seeds."""
    return tf.random.stateless_uniform([], seeds[index], low, high, dtype=dtype)


def mask_bins(x: tf.Tensor, max_bins: int, seeds: tf.Tensor) -> tf.Tensor:
    width = tf.shape(x)[1]
    size = _draw(seeds, 0, 0, max_bins + 1, tf.int32)
    start = _draw(seeds, 1, 0, tf.maximum(1, width - size), tf.int32)
    bins = tf.range(width)
    inside = (bins >= start) & (bins < start + size)
    return tf.where(inside[None, :], tf.cast(MASK_FILL, x.dtype), x)


def _audio_changes(audio: tf.Tensor, config: AugmentConfig, spectral: bool, seeds: tf.Tensor) -> tf.Tensor:
    """Pitch shift (seeds[0]) and noise (seeds[1])."""
    if spectral and config.pitch_shift_bins > 0:
        shift = _draw(seeds, 0, -config.pitch_shift_bins, config.pitch_shift_bins + 1, tf.int32)
        audio = shift_bins(audio, shift)
    return audio + tf.random.stateless_normal(tf.shape(audio), seeds[1], stddev=config.noise_std)


def mixup(inputs: dict, onehot: tf.Tensor, seeds: tf.Tensor, alpha: float) -> tuple[dict, tf.Tensor]:
    """Mix every clip of a padded batch with its neighbour (the batch rolled by one), inputs and labels alike.

    inputs: {modality: (B, T, F)}; onehot: (B, C); seeds: (B, 2) the clips' seed pairs (the first one
    draws the batch's weights, so a resumed epoch mixes the same way). Weight w ~ Beta(alpha, alpha),
    folded to max(w, 1 - w): the clip stays the dominant one. A frame that is padding in both clips stays
    all-zero (masked); padding mixed with a real frame becomes a real, scaled-down frame.
    """
    batch = tf.shape(onehot)[0]
    gammas = tf.random.stateless_gamma([2, batch], seeds[0], alpha=alpha)  # (2, B): Beta via two Gammas
    weight = gammas[0] / tf.maximum(gammas[0] + gammas[1], 1e-12)
    weight = tf.maximum(weight, 1.0 - weight)  # (B,) in [0.5, 1]
    partner = tf.roll(tf.range(batch), shift=1, axis=0)  # (B,)

    def mix(x: tf.Tensor) -> tf.Tensor:
        w = tf.reshape(weight, tf.concat([[batch], tf.ones([tf.rank(x) - 1], tf.int32)], axis=0))
        return w * x + (1.0 - w) * tf.gather(x, partner)

    return {m: mix(x) for m, x in inputs.items()}, mix(onehot)


def _seeds_for(seed: tf.Tensor | None, count: int) -> tf.Tensor:
    """`count` independent seed pairs from one clip seed (a fresh one when called without: tests, ad hoc use)."""
    if seed is None:
        seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int64)
    return tf.random.split(tf.cast(seed, tf.int64), count)  # (count, 2)


def make_augment(config: AugmentConfig, spectral: bool) -> Callable[..., dict] | None:
    """The per-clip augmentation `augment(inputs, seed=None)` for config.augment, or None.

    `spectral`: features have a frequency axis (log-mel), so pitch shift and frequency masks make sense.
    `seed`: the clip's (2,) seed pair; the same pair gives the same changes.
    """
    if config.augment == "none":
        return None

    def tempo(seeds):
        return _draw(seeds, 0, 1.0 - config.tempo_range, 1.0 + config.tempo_range)

    def audio_only(inputs: dict, seed=None) -> dict:
        seeds = _seeds_for(seed, 3)
        audio = time_resample(inputs["audio"], tempo(seeds))  # video untouched: misaligned on purpose
        return {**inputs, "audio": _audio_changes(audio, config, spectral, seeds[1:])}

    def sync(inputs: dict, seed=None) -> dict:
        seeds = _seeds_for(seed, 8)
        rate = tempo(seeds)
        start = _draw(seeds, 1, 0.0, 1.0 - config.time_mask_fraction)
        audio = time_resample(inputs["audio"], rate)
        audio = _audio_changes(audio, config, spectral, seeds[2:4]) + _draw(
            seeds, 4, -config.gain_range, config.gain_range
        )
        audio = mask_time(audio, start, config.time_mask_fraction)
        if spectral and config.freq_mask_bins > 0:
            audio = mask_bins(audio, config.freq_mask_bins, seeds[5:7])
        out = {**inputs, "audio": audio}
        if "video" in inputs:
            video = time_resample(inputs["video"], rate)
            video = video + tf.random.stateless_normal(tf.shape(video), seeds[7], stddev=config.video_noise_std)
            out["video"] = mask_time(video, start, config.time_mask_fraction)
        return out

    return audio_only if config.augment == "audio_only" else sync
