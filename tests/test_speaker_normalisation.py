"""normalisation=speaker: each speaker standardised by their own clips, in training and in the served model."""

from __future__ import annotations

import mlflow
import numpy as np

from emotion.config import build_config
from emotion.data.synthetic import ensure_builtin_corpus
from emotion.features.normalise import per_speaker
from emotion.serving.predict import evaluate
from emotion.experiment.train import train


def test_each_speaker_ends_with_zero_mean_unit_variance_frames():
    rng = np.random.default_rng(0)
    speakers = np.array(["a", "a", "b", "b", "b"])
    offsets = {"a": 5.0, "b": -3.0}  # a voice / microphone offset the model should not have to learn
    sequences = [rng.normal(offsets[s], 2.0, size=(rng.integers(10, 30), 4)) for s in speakers]
    out = per_speaker(sequences, speakers)
    for speaker in ("a", "b"):
        frames = np.concatenate([o for o, s in zip(out, speakers) if s == speaker])
        np.testing.assert_allclose(frames.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(frames.std(axis=0), 1, atol=1e-4)
    assert [o.shape for o in out] == [s.shape for s in sequences]


def test_the_served_model_normalises_per_speaker_as_training_did(cache_dir, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    config = build_config("cnn_pooling", {"max_actors": "6", "epochs": "3", "normalisation": "speaker"})
    result = train(config, cache_dir)
    run = mlflow.get_run(result.run_id)
    folder = tmp_path / "test-speakers"
    for actor in (a.split(":")[-1] for a in run.data.params["test_actors"].split(",")):  # "ravdess:03" -> 03
        (folder / f"Actor_{actor}").mkdir(parents=True)  # every clip of the held-out speakers, linked
        for wav in (ensure_builtin_corpus(cache_dir) / f"Actor_{actor}").glob("*.wav"):
            (folder / f"Actor_{actor}" / wav.name).symlink_to(wav)
    model_uri = mlflow.search_logged_models(filter_string=f"source_run_id = '{result.run_id}'", output_format="list")[
        0
    ].model_uri
    scored = evaluate(model_uri, str(folder))
    # Same clips, same per-speaker statistics (all of each speaker's clips): the same confusion matrix.
    np.testing.assert_array_equal(scored["confusion"], result.test["confusion"])


def test_the_normaliser_is_fitted_on_the_training_speakers_only(cache_dir):
    from emotion.experiment.train import prepare_run_data
    from emotion.features.normalise import Normaliser

    for normalisation in ("train", "speaker"):
        config = build_config("cnn_pooling", {"max_actors": "6", "normalisation": normalisation})
        data = prepare_run_data(config, cache_dir, corpus=None, split=None)
        features = data.corpus.features["audio"]  # as the network sees them (per speaker first, when asked)
        on_train = Normaliser.fit({"audio": [features[i] for i in data.split["train"]]})
        np.testing.assert_allclose(data.normaliser.mean["audio"], on_train.mean["audio"], atol=1e-6)
        np.testing.assert_allclose(data.normaliser.std["audio"], on_train.std["audio"], rtol=1e-6)
        if normalisation == "train":  # per speaker, every speaker is mean 0 / std 1: only here can a leak show
            on_all = Normaliser.fit({"audio": features})
            assert not np.allclose(data.normaliser.mean["audio"], on_all.mean["audio"], rtol=1e-4)
