"""Every variant: forward/backward on variable-length batches, padding-invariant, save/load identical."""

import keras
import numpy as np
import pytest

from emotion.config import VARIANTS, build_config, has_network, uses_video
from emotion.models.registry import build_model

N_CLASSES = 8
SMALL = {  # shrink the big defaults: these tests check wiring, not capacity
    "no_aug": {"audio_units_1": 8, "audio_units_2": 4, "video_units_1": 8, "video_units_2": 4, "dense_units": 8},
    "cnn_lstm": {"lstm_units": 8, "time_dense_units": 4},
    "wav2vec_attention": {"lstm_units": 8, "dense_units_1": 8, "dense_units_2": 4},
}


# every variant at its defaults, plus the model options that change the graph
CASES = [(v, {}) for v in VARIANTS if has_network(v)] + [  # whisper_heads builds no Keras model
    ("cnn_lstm", {"pooling": "mean_std"}),
    ("cnn_pooling", {"pooling": "mean_std"}),
    ("no_aug", {"frame_pool": 4}),
    ("wav2vec_attention", {"frame_pool": 3}),
]
IDS = [variant + "".join(f"-{k}{v}" for k, v in options.items()) for variant, options in CASES]


def _model(variant, options=None):
    small = SMALL.get(variant, SMALL["no_aug"] if uses_video(variant) else {})
    dims = {"audio": 6, "video": 3} if uses_video(variant) else {"audio": 6}
    if variant == "whisper_finetune":  # tiny.en's blocks 3-4 (384 wide) + the clip-frame column
        dims = {"audio": 385}
    return build_model(build_config(variant, {**small, **(options or {})}), N_CLASSES, dims), dims


def _batch(dims, lengths, rng, extra_padding=0):
    out = {}
    for modality, dim in dims.items():
        scale = 1 if modality == "audio" else 4  # video has 1 frame per 4 audio frames
        steps = [max(1, n // scale) for n in lengths]
        x = np.zeros((len(lengths), max(steps) + extra_padding, dim), np.float32)
        for i, n in enumerate(steps):
            x[i, :n] = rng.normal(size=(n, dim)) + 0.1
        out[modality] = x
    return out


@pytest.mark.parametrize("variant, options", CASES, ids=IDS)
def test_output_unchanged_by_extra_padding(variant, options):
    model, dims = _model(variant, options)
    batch = _batch(dims, [12, 7, 4], np.random.default_rng(0))
    padded = _batch(dims, [12, 7, 4], np.random.default_rng(0), extra_padding=9)
    base = keras.ops.convert_to_numpy(model(batch, training=False))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(padded, training=False)), base, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(base.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("variant, options", CASES, ids=IDS)
def test_forward_backward_updates_every_weight(variant, options):
    model, dims = _model(variant, options)
    batch = _batch(dims, [12, 7, 4, 9], np.random.default_rng(1))
    y = keras.utils.to_categorical([0, 3, 7, 5], N_CLASSES)
    # Eagerly: gradient wiring is the same, and tracing the graph was up to 17 s of each case's 1-2 s on 2
    # CPUs; graph-mode training runs in the pipeline tests and every end-to-end run. Except pooling=mean_std:
    # no variant's default, so no other test trains it in a graph (~5 s for these small models).
    eager = "pooling" not in options
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy", run_eagerly=eager)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(batch, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    unchanged = [i for i, (a, b) in enumerate(zip(before, model.get_weights())) if np.allclose(a, b)]
    assert not unchanged, f"weights {unchanged} got no gradient"


@pytest.mark.parametrize("variant, options", CASES, ids=IDS)
def test_save_load_round_trip_identical(variant, options, tmp_path):
    model, dims = _model(variant, options)
    batch = _batch(dims, [10, 5], np.random.default_rng(2))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(batch, training=False)),
        keras.ops.convert_to_numpy(model(batch, training=False)),
    )


def test_warmup_plateau_cosine_schedule():
    from emotion.experiment.schedules import WarmupPlateauCosine

    s = WarmupPlateauCosine(3e-4, 5e-6, warmup_epochs=8, cosine_start=20, total_epochs=40, factor=0.3, patience=5)
    assert s.rate_for(0) == pytest.approx(5e-6)
    assert s.rate_for(4) == pytest.approx(5e-6 + (3e-4 - 5e-6) / 2)
    assert s.rate_for(8) == pytest.approx(3e-4)
    s.current = 9e-5  # as if one plateau reduction happened
    assert s.rate_for(20) == pytest.approx(9e-5)
    assert s.rate_for(30) == pytest.approx(9e-5 * 0.5)
    assert s.rate_for(40) == pytest.approx(0.0, abs=1e-12)


def test_served_model_drops_xla_and_answers_any_length(tmp_path):
    """Training may compile with XLA at one batch length; requests come in every length, and each new
    shape would be a new XLA compilation, so the loaded pyfunc predicts without it."""
    import json

    from emotion.features.normalise import Normaliser
    from emotion.serving.mlflow_model import METADATA_FILE, NORMALISER_FILE, _load_pyfunc

    config = build_config("wav2vec_attention", {**SMALL["wav2vec_attention"], "frame_pool": 2})
    model = build_model(config, N_CLASSES, {"audio": 6})
    model.compile(optimizer="adam", loss="categorical_crossentropy", jit_compile=True)
    data = tmp_path / "data"
    data.mkdir()
    model.save(data / "model.keras")
    Normaliser({"audio": np.zeros(6, np.float32)}, {"audio": np.ones(6, np.float32)}).save(data / NORMALISER_FILE)
    (data / METADATA_FILE).write_text(
        json.dumps({"variant": "wav2vec_attention", "modalities": ["audio"], "features": {}})
    )
    served = _load_pyfunc(str(data))
    assert served.keras_model.jit_compile is False
    rng = np.random.default_rng(5)
    clips = [{"audio": rng.normal(size=(n, 6)).astype(np.float32)} for n in (7, 50, 3000)]  # 3000: a minute at 50 Hz
    proba = served.predict_features(clips)
    assert proba.shape == (3, N_CLASSES)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


# the loader names of models logged before the tracking/ layout, then before the serving/ one
@pytest.mark.parametrize("loader", ["emotion.mlflow_model", "emotion.tracking.mlflow_model"])
def test_a_model_logged_before_a_layout_change_still_loads_in_a_process_that_imported_emotion(tmp_path, loader):
    """Its MLmodel names an old module as the loader; with this package imported (emotion predict,
    evaluate) MLflow cannot fall back on the model's own code copy, so the old name forwards."""
    import json

    import mlflow
    from mlflow import pyfunc
    from mlflow.models import Model

    import emotion.experiment.train  # noqa: F401 -- the package is imported, as in `emotion predict`
    from emotion.features.normalise import Normaliser
    from emotion.serving.mlflow_model import METADATA_FILE, NORMALISER_FILE, EmotionModel

    config = build_config("no_aug", {"frame_pool": 1})
    model = build_model(config, N_CLASSES, {"audio": 6})
    data = tmp_path / "data"
    data.mkdir()
    model.save(data / "model.keras")
    Normaliser({"audio": np.zeros(6, np.float32)}, {"audio": np.ones(6, np.float32)}).save(data / NORMALISER_FILE)
    (data / METADATA_FILE).write_text(json.dumps({"variant": "no_aug", "modalities": ["audio"], "features": {}}))
    old = Model()
    pyfunc.add_to_model(old, loader_module=loader, data="data")
    old.save(str(tmp_path / "MLmodel"))
    # loader-module models have no public accessor (get_raw_model is for python_model ones)
    served = mlflow.pyfunc.load_model(str(tmp_path))._model_impl
    assert isinstance(served, EmotionModel)
    proba = served.predict_features([{"audio": np.ones((20, 6), np.float32)}])
    assert proba.shape == (1, N_CLASSES)
