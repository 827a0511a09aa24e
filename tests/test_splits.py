"""Splits: no actor in two sets, every class in every set, determinism, and the leaky split's leak."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emotion.config import SplitConfig
from emotion.corpus.labels import EMOTIONS
from emotion.corpus.splits import (
    actor_kfold,
    describe_split,
    make_split,
    random_split_leaky,
    rotated_validation,
    speaker_split,
)
from emotion.errors import ConfigError

SETS = ("train", "val", "test")


def make_manifest(n_actors: int = 12, clips_per_emotion: int = 4, emotions=EMOTIONS) -> pd.DataFrame:
    rows = [
        {"clip_id": f"c{a:02d}-{e}-{i}", "actor": f"ravdess:{a:02d}", "emotion": emotion}
        for a in range(1, n_actors + 1)
        for e, emotion in enumerate(emotions)
        for i in range(clips_per_emotion)
    ]
    return pd.DataFrame(rows, columns=["clip_id", "actor", "emotion"])


def actors_of(manifest: pd.DataFrame, positions: np.ndarray) -> set[str]:
    return set(manifest.actor.iloc[positions])


def assert_speaker_independent(manifest: pd.DataFrame, split: dict) -> None:
    assert set(split) == set(SETS)
    joined = np.concatenate([split[name] for name in SETS])
    assert sorted(joined.tolist()) == list(range(len(manifest)))  # every row exactly once
    for name in SETS:
        assert split[name].dtype.kind == "i" and np.all(np.diff(split[name]) > 0)  # sorted, no repeats
    train, val, test = (actors_of(manifest, split[name]) for name in SETS)
    assert not (train & val) and not (train & test) and not (val & test)


def assert_all_classes(manifest: pd.DataFrame, split: dict) -> None:
    classes = set(manifest.emotion)
    for name in SETS:
        assert set(manifest.emotion.iloc[split[name]]) == classes, name


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 123])
def test_speaker_split_no_leak_all_classes(seed):
    manifest = make_manifest()
    split = speaker_split(manifest, seed=seed)
    assert_speaker_independent(manifest, split)
    assert_all_classes(manifest, split)
    counts = {name: len(actors_of(manifest, split[name])) for name in SETS}
    assert counts["test"] in (2, 3) and counts["val"] in (2, 3)  # ~1/5 of 12, then ~1/5 of the rest


def test_speaker_split_deterministic_and_seed_dependent():
    manifest = make_manifest()
    first, again = speaker_split(manifest, seed=3), speaker_split(manifest, seed=3)
    assert all(np.array_equal(first[name], again[name]) for name in SETS)
    tests = {tuple(sorted(actors_of(manifest, speaker_split(manifest, seed=s)["test"]))) for s in range(6)}
    assert len(tests) > 1


def test_speaker_split_uses_positions_not_index_labels():
    manifest = make_manifest(n_actors=6).set_index(pd.Index(np.arange(1000, 1000 + 6 * 32)))
    split = speaker_split(manifest, seed=0)
    assert max(max(split[name]) for name in SETS) == len(manifest) - 1
    assert_speaker_independent(manifest, split)


def test_speaker_split_three_actors_one_each():
    manifest = make_manifest(n_actors=3)
    split = speaker_split(manifest)
    assert [len(actors_of(manifest, split[name])) for name in SETS] == [1, 1, 1]


@pytest.mark.parametrize("n_actors", [0, 1, 2])
def test_speaker_split_needs_three_actors(n_actors):
    with pytest.raises(ConfigError, match=f"at least 3 actors .* has {n_actors}"):
        speaker_split(make_manifest(n_actors=n_actors))


def test_speaker_split_refuses_a_set_without_a_class():
    manifest = make_manifest(emotions=EMOTIONS[:7])
    only_one = pd.DataFrame([{"clip_id": f"s{i}", "actor": "ravdess:05", "emotion": "surprised"} for i in range(4)])
    manifest = pd.concat([manifest, only_one], ignore_index=True)
    with pytest.raises(ConfigError, match=r"class 'surprised' has no clip in the (train|val|test) set \(1 actor"):
        speaker_split(manifest)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_speaker_split_rejects_bad_fractions(bad):
    with pytest.raises(ConfigError, match="test_fraction"):
        speaker_split(make_manifest(), test_fraction=bad)


def test_actor_kfold_each_actor_tested_once():
    manifest = make_manifest(n_actors=10)
    folds = actor_kfold(manifest, k=5, seed=1)
    assert len(folds) == 5
    tested = [actors_of(manifest, fold["test"]) for fold in folds]
    assert sorted(a for actors in tested for a in actors) == sorted(set(manifest.actor))  # exactly once each
    for fold in folds:
        assert_speaker_independent(manifest, fold)
        assert_all_classes(manifest, fold)
        assert len(actors_of(manifest, fold["val"])) >= 1


def test_actor_kfold_deterministic_and_leave_one_out():
    manifest = make_manifest(n_actors=4, clips_per_emotion=1)
    first, again = actor_kfold(manifest, k=4, seed=9), actor_kfold(manifest, k=4, seed=9)
    assert all(np.array_equal(a[n], b[n]) for a, b in zip(first, again) for n in SETS)
    assert [len(actors_of(manifest, fold["test"])) for fold in first] == [1, 1, 1, 1]


@pytest.mark.parametrize(("k", "match"), [(1, "at least 2"), (13, "more folds than actors")])
def test_actor_kfold_bad_k(k, match):
    with pytest.raises(ConfigError, match=match):
        actor_kfold(make_manifest(), k=k)


def test_rotated_validation_covers_every_non_test_actor_once():
    manifest = make_manifest(n_actors=18, clips_per_emotion=2)
    for split in actor_kfold(manifest, k=6, seed=7):
        members = rotated_validation(manifest, split, k=6, seed=7)
        assert len(members) == 5  # 15 non-test actors, validation 1/(k-1) of them: 5 groups of 3
        assert all(np.array_equal(members[0][name], split[name]) for name in SETS)  # member 0: the fold itself
        for member in members:
            assert_speaker_independent(manifest, member)
            assert_all_classes(manifest, member)
            assert np.array_equal(member["test"], split["test"])
        val_actors = [actors_of(manifest, m["val"]) for m in members]
        assert sum(len(a) for a in val_actors) == 15 and set().union(*val_actors) == actors_of(
            manifest, np.concatenate([split["train"], split["val"]])
        )


def test_random_split_leaky_leaks_and_is_stratified():
    manifest = make_manifest()
    split = random_split_leaky(manifest, test_fraction=0.2, val_fraction=0.2, seed=0)
    joined = np.concatenate([split[name] for name in SETS])
    assert sorted(joined.tolist()) == list(range(len(manifest)))
    assert actors_of(manifest, split["train"]) & actors_of(manifest, split["test"])  # the leak, by design
    assert_all_classes(manifest, split)
    test_counts = manifest.emotion.iloc[split["test"]].value_counts()
    assert test_counts.max() - test_counts.min() <= 1


def test_make_split_dispatches():
    manifest = make_manifest()
    speaker = make_split(manifest, SplitConfig(split="speaker", split_seed=5))
    assert all(np.array_equal(speaker[n], speaker_split(manifest, seed=5)[n]) for n in SETS)
    leaky = make_split(manifest, SplitConfig(split="random_leaky", split_seed=5, test_fraction=0.25))
    assert all(np.array_equal(leaky[n], random_split_leaky(manifest, 0.25, 0.2, 5)[n]) for n in SETS)
    with pytest.raises(ConfigError, match="split='kfold'"):
        make_split(manifest, SplitConfig(split="kfold"))


def test_describe_split():
    manifest = make_manifest(n_actors=3, clips_per_emotion=2)
    split = {"train": np.arange(0, 16), "val": np.arange(16, 32), "test": np.array([32, 33, 47])}
    info = describe_split(manifest, split)
    assert info["train"] == {"n_clips": 16, "actors": ["ravdess:01"], "emotions": {e: 2 for e in EMOTIONS}}
    assert info["test"]["actors"] == ["ravdess:03"]
    assert info["test"]["emotions"] == {**{e: 0 for e in EMOTIONS}, "neutral": 2, "surprised": 1}
    assert list(info["test"]["emotions"]) == list(EMOTIONS)


@st.composite
def actor_tables(draw) -> pd.DataFrame:
    n_actors = draw(st.integers(0, 10))
    rows = []
    for actor in range(n_actors):
        emotions = draw(st.lists(st.sampled_from(EMOTIONS[:4]), min_size=1, max_size=12))
        rows += [{"actor": f"a{actor}", "emotion": e} for e in emotions]
    return pd.DataFrame(rows, columns=["actor", "emotion"])


@settings(max_examples=60, deadline=None)
@given(actor_tables(), st.integers(0, 2**16), st.sampled_from([0.2, 0.25, 0.34, 0.5]))
def test_speaker_split_never_leaks(manifest, seed, fraction):
    try:
        split = speaker_split(manifest, test_fraction=fraction, val_fraction=fraction, seed=seed)
    except ConfigError:
        # refusing is allowed only when the data cannot give every set every class
        every_actor_all = manifest.groupby("actor").emotion.nunique().eq(manifest.emotion.nunique()).all()
        assert manifest.actor.nunique() < 3 or not every_actor_all
        return
    assert_speaker_independent(manifest, split)
    assert_all_classes(manifest, split)


@settings(max_examples=40, deadline=None)
@given(actor_tables(), st.integers(0, 2**16), st.integers(2, 6))
def test_actor_kfold_never_leaks(manifest, seed, k):
    try:
        folds = actor_kfold(manifest, k=k, seed=seed)
    except ConfigError:
        every_actor_all = manifest.groupby("actor").emotion.nunique().eq(manifest.emotion.nunique()).all()
        assert manifest.actor.nunique() < max(3, k) or not every_actor_all or (k == 2 and manifest.actor.nunique() < 4)
        return
    tested = sorted(a for fold in folds for a in actors_of(manifest, fold["test"]))
    assert tested == sorted(set(manifest.actor))
    for fold in folds:
        assert_speaker_independent(manifest, fold)
        assert_all_classes(manifest, fold)


def _with_split(manifest: pd.DataFrame, sets_by_actor: dict[str, str]) -> pd.DataFrame:
    return manifest.assign(split=manifest["actor"].map(sets_by_actor))


def test_manifest_split_is_the_published_one_and_carves_validation_when_it_names_none():
    manifest = make_manifest(n_actors=6)
    named = {f"ravdess:0{a}": name for a, name in zip(range(1, 7), ["train"] * 3 + ["val", "test", "test"])}
    split = make_split(_with_split(manifest, named), SplitConfig(split="manifest"))
    for name in SETS:
        assert set(manifest.actor.iloc[split[name]]) == {a for a, s in named.items() if s == name}
    no_val = {a: "train" if s == "val" else s for a, s in named.items()}
    carved = make_split(_with_split(manifest, no_val), SplitConfig(split="manifest"))
    assert_speaker_independent(manifest, carved)
    assert actors_of(manifest, carved["test"]) == {"ravdess:05", "ravdess:06"} and len(carved["val"])


def test_manifest_split_refuses_a_speaker_in_test_and_train_and_a_manifest_without_the_column():
    manifest = make_manifest(n_actors=4)
    sets = np.where(np.arange(len(manifest)) % 2, "train", "test")  # every actor in both
    with pytest.raises(ConfigError, match="speaker 'ravdess:01' has clips in test and in train"):
        make_split(manifest.assign(split=sets), SplitConfig(split="manifest"))
    with pytest.raises(ConfigError, match="split=manifest: the clips have no split column"):
        make_split(manifest, SplitConfig(split="manifest"))
    no_test = _with_split(manifest, {a: "train" for a in manifest.actor.unique()})
    with pytest.raises(ConfigError, match="no clip has split 'test'"):
        make_split(no_test, SplitConfig(split="manifest"))
