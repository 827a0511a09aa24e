"""The clip-functional SVM head (emotion/models/clip_svm.py) and its blend into training and the logged model."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from emotion.config import build_config
from emotion.errors import ConfigError
from emotion.features.cnn import logmel_stats
from emotion.models.clip_svm import C_GRID, MIN_SPEAKER_CLIPS, ClipSVM, blend, clip_functionals, pooled_functionals

SCALES = {"a": 0.25, "b": 0.5, "c": 1.0, "d": 2.0, "e": 4.0, "new": 8.0}  # each speaker's loudness / range


def speaker_clips(speaker: str, rng, per_class: int = 12):
    """Class k's clips vary 2**k times more in column 0; every column scaled by the speaker."""
    clips, labels = [], []
    for label in range(3):
        for _ in range(per_class):
            x = rng.normal(size=(20, 4))  # (T, F)
            x[:, 0] *= 2.0**label
            clips.append((x * SCALES[speaker]).astype(np.float32))
            labels.append(label)
    return clips, labels


def corpus(speakers, seed=0):
    rng = np.random.default_rng(seed)
    clips, labels, owners = [], [], []
    for speaker in speakers:
        c, y = speaker_clips(speaker, rng)
        clips += c
        labels += y
        owners += [speaker] * len(y)
    return clips, np.array(labels), np.array(owners)


def test_functionals_are_mean_then_std_of_every_column():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)  # (T=4, F=3)
    np.testing.assert_allclose(clip_functionals([x])[0], np.concatenate([x.mean(0), x.std(0)]))


def test_frame_functionals_are_recovered_from_mean_std_segments_and_extras_pooled():
    rng = np.random.default_rng(3)
    frames = rng.normal(size=(40, 3)) * [1.0, 2.0, 5.0] + [0.0, 1.0, -3.0]  # (T, d): 10 frames a segment below
    extras = rng.normal(size=(4, 2))  # (S, e): e.g. pitch per segment
    segments = np.concatenate([logmel_stats(frames, 4), extras], axis=1)  # (4, 2d + e) as whisper_segments lays it out
    out = pooled_functionals([segments], width=3)[0]  # (2d + 2e,)
    np.testing.assert_allclose(out[:3], frames.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(out[3:6], frames.std(axis=0), rtol=1e-5)  # within + between segments = the clip's std
    np.testing.assert_allclose(out[6:], np.concatenate([extras.mean(axis=0), extras.std(axis=0)]), rtol=1e-5)


def test_a_refit_like_an_earlier_head_keeps_its_c_and_learns_from_every_clip_given():
    clips, labels, owners = corpus(["a", "b", "c", "d"])
    first = ClipSVM.fit(clips, labels, owners, per_speaker=True, n_classes=3, seed=0, kind="logistic", global_head=True)
    for pipeline in (first.pipeline, first.global_pipeline):  # a C no grid search could choose
        pipeline.set_params(logisticregression__C=0.0123)
    more, more_labels, more_owners = corpus(["a", "b", "c", "d", "e"], seed=1)
    refit = ClipSVM.fit(
        more,
        more_labels,
        more_owners,
        per_speaker=True,
        n_classes=3,
        seed=0,
        kind="logistic",
        global_head=True,
        like=first,
    )
    assert refit.c == first.c and refit.global_pipeline[-1].C == first.global_pipeline[-1].C
    assert refit.pipeline[0].n_samples_seen_ == len(more) > first.pipeline[0].n_samples_seen_


def test_without_the_extras_std_the_global_head_reads_frame_mean_std_and_the_extras_mean_only():
    rng = np.random.default_rng(4)
    width, n_extras = 3, 2
    clips, labels, owners = [], [], []
    for speaker in "abcd":
        for label in range(3):
            for _ in range(10):
                frames = rng.normal(size=(40, width)) + label  # (T, d)
                extras = rng.normal(size=(4, n_extras)) * (1 + label)  # (S, e): the class is in their spread too
                clips.append(np.concatenate([logmel_stats(frames, 4), extras], axis=1))  # (S, 2d + e)
                labels.append(label)
                owners.append(speaker)
    labels, owners = np.array(labels), np.array(owners)
    fit = dict(per_speaker=True, n_classes=3, seed=0, kind="logistic", global_head=True, pooled_width=width)
    full = ClipSVM.fit(clips, labels, owners, **fit)
    lean = ClipSVM.fit(clips, labels, owners, **fit, global_extras_std=False)
    assert full.global_pipeline[0].n_features_in_ == 2 * width + 2 * n_extras
    assert lean.global_pipeline[0].n_features_in_ == 2 * width + n_extras
    np.testing.assert_array_equal(
        lean.global_functionals(clips[:5]), full.functionals(clips[:5])[:, : 2 * width + n_extras]
    )
    assert lean.pipeline[0].n_features_in_ == full.pipeline[0].n_features_in_, (
        "the per-speaker head keeps every functional"
    )
    assert lean.predict_global(clips[:5]).shape == (5, 3)
    with pytest.raises(ConfigError, match="global_extras_std=false: only with clip_functionals=frames"):
        build_config("cnn_lstm", {"global_extras_std": "false"})


def test_without_the_hnr_the_global_head_ignores_the_last_extra_and_the_per_speaker_head_keeps_it():
    rng = np.random.default_rng(6)
    width, n_extras = 3, 2  # the last extra stands for the HNR (voice_quality, last in EXTRA_OPTIONS order)
    clips, labels, owners = [], [], []
    for speaker in "abcd":
        for label in range(3):
            for _ in range(10):
                frames = rng.normal(size=(40, width)) + label  # (T, d)
                extras = rng.normal(size=(4, n_extras)) + label  # (S, e): the HNR carries the class too
                clips.append(np.concatenate([logmel_stats(frames, 4), extras], axis=1))  # (S, 2d + e)
                labels.append(label)
                owners.append(speaker)
    labels, owners = np.array(labels), np.array(owners)
    fit = dict(per_speaker=True, n_classes=3, seed=0, kind="logistic", global_head=True, pooled_width=width)
    with_hnr = ClipSVM.fit(clips, labels, owners, **fit, global_extras_std=False)
    without = ClipSVM.fit(clips, labels, owners, **fit, global_extras_std=False, global_hnr=False)
    assert without.global_pipeline[0].n_features_in_ == 2 * width + n_extras - 1
    assert without.pipeline[0].n_features_in_ == with_hnr.pipeline[0].n_features_in_
    # as served to a single clip: the HNR not measured, its column 0
    zeroed = [np.concatenate([c[:, :-1], np.zeros((len(c), 1))], axis=1) for c in clips[:6]]
    np.testing.assert_array_equal(without.predict_global(zeroed), without.predict_global(clips[:6]))
    assert not np.allclose(with_hnr.predict_global(zeroed), with_hnr.predict_global(clips[:6]))
    with pytest.raises(ConfigError, match="global_hnr=false: leaves the HNR mean out"):
        build_config("cnn_lstm", {"global_hnr": "false"})
    with pytest.raises(ValueError, match="global_hnr=False"):
        ClipSVM.fit(clips, labels, owners, **fit, global_hnr=False)  # extras' std kept: HNR not the last column


def test_the_heads_leave_out_the_groups_asked_and_a_global_head_without_praat_ignores_those_columns():
    """global_prosody=false / global_hnr=false: the global head reads the frames and the spectral change's
    means; speaker_hnr=false: the per-speaker head reads everything but the HNR's mean and std."""
    rng = np.random.default_rng(8)
    width, groups = 3, (("prosody", 2), ("segment_deltas", 3), ("voice_quality", 1))
    n_extras = sum(w for _, w in groups)
    clips, labels, owners = [], [], []
    for speaker in "abcd":
        for label in range(3):
            for _ in range(10):
                frames = rng.normal(size=(40, width)) + label  # (T, d)
                extras = rng.normal(size=(4, n_extras)) + label  # (S, e): every group carries the class
                clips.append(np.concatenate([logmel_stats(frames, 4), extras], axis=1))  # (S, 2d + e)
                labels.append(label)
                owners.append(speaker)
    labels, owners = np.array(labels), np.array(owners)
    fit = dict(per_speaker=True, n_classes=3, seed=0, kind="logistic", global_head=True, pooled_width=width)
    lean = ClipSVM.fit(
        clips, labels, owners, **fit, extra_groups=groups, global_extras_std=False, global_hnr=False,
        global_prosody=False, speaker_hnr=False,
    )  # fmt: skip
    full = ClipSVM.fit(clips, labels, owners, **fit, extra_groups=groups)
    assert lean.global_pipeline[0].n_features_in_ == 2 * width + 3  # frames + the spectral change's means
    assert lean.pipeline[0].n_features_in_ == full.pipeline[0].n_features_in_ - 2  # no HNR mean and std
    np.testing.assert_array_equal(
        lean.global_functionals(clips[:3])[:, 2 * width :],
        full.functionals(clips[:3])[:, 2 * width + 2 : 2 * width + 5],
    )
    # as served to a single clip: neither Praat group measured, their columns 0
    unmeasured = [c.copy() for c in clips[:6]]
    for c in unmeasured:
        c[:, 2 * width : 2 * width + 2] = 0  # prosody
        c[:, -1] = 0  # HNR
    np.testing.assert_array_equal(lean.predict_global(unmeasured), lean.predict_global(clips[:6]))
    with pytest.raises(ConfigError, match="global_prosody=false: leaves the prosody means out"):
        build_config("cnn_lstm", {"global_prosody": "false"})
    with pytest.raises(ConfigError, match="speaker_hnr=false: leaves the HNR's functionals out"):
        build_config("cnn_lstm", {"speaker_hnr": "false"})
    with pytest.raises(ValueError, match="global_prosody=False"):
        ClipSVM.fit(clips, labels, owners, **fit, extra_groups=groups, global_prosody=False)


def test_frame_functionals_need_mean_std_segments():
    with pytest.raises(ConfigError, match="clip_functionals=frames"):
        build_config("cnn_lstm", {"feature_kind": "cnn", "clip_functionals": "frames"})
    with pytest.raises(ConfigError, match="clip_functionals=frames"):
        build_config("cnn_lstm", {"clip_std": "true", "clip_functionals": "frames"})


def test_per_speaker_functionals_recognise_an_unseen_speakers_much_louder_voice():
    clips, labels, speakers = corpus(["a", "b", "c", "d", "e"])
    test_clips, test_labels, test_speakers = corpus(["new"], seed=1)
    accuracy = {}
    for per_speaker in (True, False):
        head = ClipSVM.fit(clips, labels, speakers, per_speaker=per_speaker, n_classes=3, seed=0)
        assert head.c in C_GRID
        proba = head.predict_proba(test_clips, test_speakers)  # (36, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        accuracy[per_speaker] = float(np.mean(proba.argmax(axis=1) == test_labels))
    assert accuracy[True] > 0.9, accuracy  # relative to the speaker's own clips, the spread gives the class
    assert accuracy[False] < 0.6, accuracy  # raw: a loud speaker's every clip looks like the widest class


def test_classes_absent_from_training_get_zero_and_the_head_survives_a_round_trip(tmp_path):
    clips, labels, speakers = corpus(["a", "b", "c"])
    head = ClipSVM.fit(clips, labels + 2, speakers, per_speaker=True, n_classes=8, seed=0)  # classes 2, 3, 4 of 8
    proba = head.predict_proba(clips[:36], speakers[:36])  # speaker a's clips
    assert proba.shape == (36, 8) and np.isfinite(proba).all() and not proba[:, [0, 1, 5, 6, 7]].any()
    head.save(tmp_path / "svm.joblib")
    np.testing.assert_array_equal(ClipSVM.load(tmp_path / "svm.joblib").predict_proba(clips[:36], speakers[:36]), proba)


def test_a_speaker_with_too_few_clips_in_a_request_gets_the_network_alone():
    clips, labels, speakers = corpus(["a", "b", "c"])
    head = ClipSVM.fit(clips, labels, speakers, per_speaker=True, n_classes=3, seed=0)
    few = np.array(["a"] * (MIN_SPEAKER_CLIPS - 1) + ["b"] * MIN_SPEAKER_CLIPS)
    proba = head.predict_proba(clips[: len(few)], few)
    assert np.isnan(proba[: MIN_SPEAKER_CLIPS - 1]).all() and np.isfinite(proba[MIN_SPEAKER_CLIPS - 1 :]).all()
    network = np.full((len(few), 3), 1 / 3)
    mixed = blend(network, proba, 0.5)
    np.testing.assert_array_equal(mixed[: MIN_SPEAKER_CLIPS - 1], network[: MIN_SPEAKER_CLIPS - 1])
    np.testing.assert_allclose(
        mixed[MIN_SPEAKER_CLIPS - 1 :], 0.5 * network[MIN_SPEAKER_CLIPS - 1 :] + 0.5 * proba[MIN_SPEAKER_CLIPS - 1 :]
    )


def test_blend_weights_and_bad_weight():
    network, svm = np.array([[0.8, 0.2]]), np.array([[0.2, 0.8]])
    np.testing.assert_allclose(blend(network, svm, 0.25), [[0.65, 0.35]])
    np.testing.assert_array_equal(blend(network, svm, 0.0), network)
    with pytest.raises(ConfigError, match="svm_weight"):
        build_config("cnn_lstm", {"svm_weight": "1.5"})


def test_a_trained_cnn_lstm_logs_both_parts_and_its_model_blends_them(cache_dir, tmp_path, monkeypatch):
    """Test metrics, logged metrics and the served (pyfunc) model all use the same blend; a single clip
    gets the global head, which (global_hnr=false, global_prosody=false) reads no Praat column, so the
    clip skips Praat."""
    import emotion.features.prosody as prosody
    from emotion.corpus.labels import EMOTIONS
    from emotion.experiment.train import train

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    global_head = {
        "global_head": "true",
        "clip_functionals": "frames",
        "global_extras_std": "false",
        "global_hnr": "false",
        "global_prosody": "false",
    }
    config = build_config(
        "cnn_lstm", {"max_actors": "6", "epochs": "2", "svm_weight": "0.5", "lstm_units": "16", **global_head}
    )
    assert config.features.voice_quality  # cnn_lstm's default: the HNR column is there to leave out
    result = train(config, cache_dir)
    run = mlflow.get_run(result.run_id)
    assert float(run.data.params["svm_c"]) in C_GRID
    assert {"test_ua_network", "test_ua_svm", "test_ua"} <= set(run.data.metrics)
    uri = mlflow.search_logged_models(filter_string=f"source_run_id = '{result.run_id}'", output_format="list")[
        0
    ].model_uri
    folder = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model"))
    assert (tmp_path / "model" / "data" / "clip_svm.joblib").is_file(), folder
    served = mlflow.pyfunc.load_model(uri)

    params = run.data.params
    test_actors = params["test_actors"].split(",")
    from emotion.data.dataset import prepare_corpus

    prepared = prepare_corpus(config.data, config.features, cache_dir, allow_video=False)
    rows = prepared.manifest[prepared.manifest["actor"].isin(test_actors)]
    request = pd.DataFrame(
        {"audio": [open(p, "rb").read() for p in rows["audio_path"]], "speaker": rows["actor"].tolist()}
    )
    hnr_calls, pitch_calls = [], []
    measure_hnr, measure_pitch = prosody.harmonicity_track, prosody.prosody_tracks
    monkeypatch.setattr(prosody, "harmonicity_track", lambda *a, **k: hnr_calls.append(1) or measure_hnr(*a, **k))
    monkeypatch.setattr(prosody, "prosody_tracks", lambda *a, **k: pitch_calls.append(1) or measure_pitch(*a, **k))
    answer = served.predict(request)
    proba = answer[[f"p_{e}" for e in EMOTIONS]].to_numpy()
    np.testing.assert_allclose(proba, result.test_proba, atol=1e-4)  # the run's test probabilities: the same blend
    assert len(hnr_calls) == len(pitch_calls) == len(rows), "the per-speaker path measures every clip with Praat"

    hnr_calls.clear(), pitch_calls.clear()
    alone = served.predict(request.iloc[:2].drop(columns="speaker"))  # 2 clips, no speaker: the global head
    assert (alone["error"] == "").all() and not hnr_calls and not pitch_calls, "a clip answered alone skips Praat"
    head = ClipSVM.load(tmp_path / "model" / "data" / "clip_svm.joblib")
    raw = [prepared.features["audio"][i] for i in rows.index[:2]]  # the run's features, HNR measured
    np.testing.assert_allclose(alone[[f"p_{e}" for e in EMOTIONS]].to_numpy(), head.predict_global(raw), atol=1e-5)


def test_extra_clips_train_the_global_head_alone():
    clips, labels, owners = corpus(["a", "b", "c", "d"])
    extra, extra_labels, extra_owners = corpus(["a", "b"], seed=5)  # e.g. two actors in another voice
    fit = dict(per_speaker=True, n_classes=3, seed=0, kind="logistic", global_head=True)
    plain = ClipSVM.fit(clips, labels, owners, **fit)
    voiced = ClipSVM.fit(clips, labels, owners, **fit, global_extra=(extra, extra_labels, extra_owners))
    assert voiced.global_pipeline[0].n_samples_seen_ == len(clips) + len(extra)
    assert not np.allclose(voiced.global_pipeline[-1].coef_, plain.global_pipeline[-1].coef_)
    np.testing.assert_array_equal(voiced.pipeline[-1].coef_, plain.pipeline[-1].coef_)  # per-speaker head unchanged
    with pytest.raises(ConfigError, match="global_voices=true: it trains the global head"):
        build_config("cnn_lstm", {"global_voices": "true"})


def test_speaker_stats_shrink_standardises_a_request_toward_the_training_population_and_is_saved(tmp_path):
    from emotion.models.speaker_stats import SpeakerStats

    clips, labels, owners = corpus(["a", "b", "c", "d"])
    fit = dict(per_speaker=True, n_classes=3, seed=0, kind="logistic")
    plain = ClipSVM.fit(clips, labels, owners, **fit)
    shrunk = ClipSVM.fit(clips, labels, owners, **fit, speaker_stats="shrink")
    assert shrunk.speaker_stats.method == "shrink" and plain.speaker_stats.method == "speaker"
    request, who = clips[:8], np.array(["new"] * 8)  # 8 clips of an unseen speaker
    expected = shrunk.speaker_stats.transform(shrunk.functionals(request), who)  # (8, features)
    np.testing.assert_allclose(shrunk.predict_proba(request, who), shrunk.pipeline.predict_proba(expected))
    assert not np.allclose(
        expected, SpeakerStats.fit(plain.functionals(clips), labels, owners).transform(plain.functionals(request), who)
    )
    shrunk.save(tmp_path / "head.joblib")
    np.testing.assert_array_equal(
        ClipSVM.load(tmp_path / "head.joblib").predict_proba(request, who), shrunk.predict_proba(request, who)
    )
    with pytest.raises(ConfigError, match="speaker_stats='median'|speaker_stats=.median.: expected one of"):
        build_config("whisper_lstm", {"speaker_stats": "median"})
    with pytest.raises(ConfigError, match="speaker_stats=balanced: reads each clip's emotion off the global head"):
        build_config(
            "whisper_lstm",
            {
                "speaker_stats": "balanced",
                "global_head": "false",
                "global_voices": "false",
                "global_hnr": "true",
                "global_prosody": "true",
            },
        )
