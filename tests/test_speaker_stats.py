"""Speaker statistics on the per-speaker path: a request whose clips are mostly one emotion."""

import numpy as np
import pytest

from emotion.models.speaker_stats import METHODS, SpeakerStats


def _corpus(seed=0, speakers=6, per_class=8, classes=4, width=5):
    """Clips = class centroid + speaker offset + noise.  # x: (speakers * classes * per_class, width)"""
    rng = np.random.default_rng(seed)
    centroids = rng.normal(0, 3, (classes, width))
    offsets = rng.normal(0, 5, (speakers, width))
    x, y, who = [], [], []
    for s in range(speakers):
        for c in range(classes):
            x.append(centroids[c] + offsets[s] + rng.normal(0, 0.5, (per_class, width)))
            y += [c] * per_class
            who += [f"s{s}"] * per_class
    return np.concatenate(x), np.array(y), np.array(who), offsets


def test_balanced_statistics_ignore_a_skew_in_emotions_that_moves_the_plain_mean():
    x, y, who, _ = _corpus()
    train = who != "s5"
    own = np.flatnonzero(who == "s5")
    skewed = np.sort(np.concatenate([own[y[own] == 2], own[y[own] == 0][:2]]))  # 8 of class 2, 2 of class 0: 80%
    reference = SpeakerStats.fit(x[train], y[train], who[train], "speaker").transform(x[own], who[own])
    at = np.isin(own, skewed)  # the skewed clips' rows in the balanced request
    errors = {}
    for method in ("speaker", "balanced"):
        stats = SpeakerStats.fit(x[train], y[train], who[train], method)
        got = stats.transform(x[skewed], who[skewed], y[skewed])
        expected = stats.transform(x[own], who[own], y[own])[at]  # the same clips sent with all of theirs
        errors[method] = float(np.abs(got - expected).mean())
    assert errors["balanced"] < 0.2 * errors["speaker"], errors
    assert np.abs(reference).max() < 10  # standardised, not raw


@pytest.mark.parametrize("method", ["speaker", "centre", "balanced"])
def test_a_balanced_training_speaker_is_centred_on_its_own_mean(method):
    x, y, who, _ = _corpus(seed=1)
    out = SpeakerStats.fit(x, y, who, method).transform(x, who, y)
    for s in np.unique(who):
        assert np.abs(out[who == s].mean(axis=0)).max() < 1e-6


def test_shrink_keeps_part_of_a_few_clips_offset_from_the_population():
    x, y, who, offsets = _corpus(seed=2)
    stats = SpeakerStats.fit(x[who != "s0"], y[who != "s0"], who[who != "s0"], "shrink")
    few = np.flatnonzero(who == "s0")[::8]  # one clip of each class: 4 clips against a prior of 20
    std = np.sqrt((4 * x[few].var(axis=0) + 20 * stats.within_var) / 24)  # variance shrunk alike
    centred = stats.transform(x[few], who[few]).mean(axis=0) * std  # (F,) the offset left in
    left = centred / (x[few].mean(axis=0) - stats.population_mean)
    assert np.allclose(left, 20 / 24)  # prior_clips / (n + prior_clips) of the request's offset remains


def test_an_unknown_method_is_refused_by_name():
    x, y, who, _ = _corpus()
    with pytest.raises(ValueError, match="speaker_stats='median'"):
        SpeakerStats.fit(x, y, who, "median")


def test_balanced_needs_predicted_emotions():
    x, y, who, _ = _corpus()
    with pytest.raises(ValueError, match="predicted emotion"):
        SpeakerStats.fit(x, y, who, "balanced").transform(x, who)
