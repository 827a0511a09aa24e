"""wav2vec 2.0 frames through the real loading path: a tiny random model saved with save_pretrained, loaded back.

No pretrained weights can be downloaded here, so the model is a 3-layer CNN + 2-layer transformer with
random weights; its CNN strides multiply to 320 like the released models, so the 50 Hz frame rate is real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch", reason="wav2vec tests need torch (pip install -e '.[wav2vec]')")
transformers = pytest.importorskip(
    "transformers", reason="wav2vec tests need transformers (pip install -e '.[wav2vec]')"
)

from emotion.errors import BadInputError, ConfigError  # noqa: E402
from emotion.features.wav2vec import (  # noqa: E402
    MISSING_EXTRA,
    WAV2VEC_SAMPLE_RATE,
    extract_wav2vec_features,
    frame_stride,
    load_wav2vec,
    n_frames,
    n_layers,
    wav2vec_embeddings,
)

ROOT = Path(__file__).resolve().parents[1]
from emotion.features.wav2vec_random import HIDDEN, save_random_wav2vec  # noqa: E402

FRAME_RATE = WAV2VEC_SAMPLE_RATE / 320  # 50 Hz: 20 ms frames
CLIP = "03-01-05-01-01-01-01.wav"  # a RAVDESS audio-only name


pytestmark = pytest.mark.xdist_group("test_wav2vec_features")  # its module fixtures run once, on one worker


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    # the shipped tiny random model (emotion wav2vec-random): config.json + weights, no preprocessor
    return save_random_wav2vec(tmp_path_factory.mktemp("tiny-wav2vec"))


@pytest.fixture(scope="module")
def loaded(model_dir):
    return load_wav2vec(str(model_dir))


def speech_like(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A 150 Hz harmonic tone with noise: something with structure for the model to see.  # (N,)"""
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 6))
    noise = np.random.default_rng(seed).normal(0, 0.05, len(t))
    return (0.3 * tone + noise).astype(np.float32)


def test_loads_from_a_save_pretrained_folder_with_a_default_extractor(loaded):
    model, extractor = loaded
    assert not model.training  # eval mode: dropout and SpecAugment masking off
    assert n_layers(model) == 3 and frame_stride(model) == 320
    assert extractor.sampling_rate == 16_000 and extractor.do_normalize


def test_extractor_saved_beside_the_weights_is_used(model_dir, tmp_path):
    folder = tmp_path / "with-extractor"
    shutil.copytree(model_dir, folder)
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=False).save_pretrained(folder)
    _, extractor = load_wav2vec(str(folder))
    assert extractor.do_normalize is False


def test_frames_follow_the_clip_duration(loaded, tmp_path):
    model, extractor = loaded
    path = tmp_path / CLIP
    sf.write(path, speech_like(3.7, 48_000), 48_000)  # 48 kHz like RAVDESS: resampled on load
    frames = extract_wav2vec_features(path, model, extractor, layer=-1)
    assert frames.dtype == np.float32 and frames.shape[1] == HIDDEN
    assert frames.shape[0] == n_frames(model, int(3.7 * 16_000))
    assert abs(frames.shape[0] - 3.7 * FRAME_RATE) <= 2  # 185 frames of 20 ms
    assert np.isfinite(frames).all() and frames.std() > 0


@pytest.mark.parametrize("seconds", [0.5, 1.0, 2.3])
def test_frame_count_scales_with_length(loaded, seconds):
    model, extractor = loaded
    frames = wav2vec_embeddings(model, extractor, speech_like(seconds, 16_000), layer=1)
    assert abs(frames.shape[0] - seconds * FRAME_RATE) <= 2


def test_layer_selection(loaded):
    model, extractor = loaded
    signal = speech_like(1.0, 16_000)
    by_layer = {layer: wav2vec_embeddings(model, extractor, signal, layer) for layer in (0, 1, 2, -1, -3)}
    assert np.array_equal(by_layer[-1], by_layer[2])  # -1 is the last transformer layer
    assert np.array_equal(by_layer[-3], by_layer[0])
    assert not np.allclose(by_layer[0], by_layer[1]) and not np.allclose(by_layer[1], by_layer[2])
    with torch.no_grad():
        values = extractor(signal, sampling_rate=16_000, return_tensors="pt")["input_values"]
        last = model(values).last_hidden_state[0].numpy()  # (T, H): the model's own final output
    np.testing.assert_allclose(by_layer[-1], last, rtol=1e-5, atol=1e-6)


def test_same_clip_same_frames_even_after_train_mode(loaded, model_dir):
    model, extractor = loaded
    signal = speech_like(1.5, 16_000, seed=3)
    first = wav2vec_embeddings(model, extractor, signal, layer=-1)
    model.train()  # a caller may leave it in train mode: dropout and time masking must not leak in
    second = wav2vec_embeddings(model, extractor, signal, layer=-1)
    again_model, again_extractor = load_wav2vec(str(model_dir))
    third = wav2vec_embeddings(again_model, again_extractor, signal, layer=-1)
    assert np.array_equal(first, second) and np.array_equal(first, third)


@pytest.mark.parametrize("layer", [3, -4, 1.5, True, "1"])
def test_bad_layer_is_a_config_error_with_the_range(loaded, layer):
    model, extractor = loaded
    with pytest.raises(ConfigError, match=r"wav2vec_layer=.*\[-3, 2\]"):
        wav2vec_embeddings(model, extractor, speech_like(0.5, 16_000), layer)


def test_bad_files_are_bad_input_errors_with_the_path(loaded, tmp_path):
    model, extractor = loaded
    short = tmp_path / "03-01-05-01-01-01-02.wav"
    sf.write(short, speech_like(0.01, 16_000), 16_000)  # 10 ms: shorter than the 25 ms receptive field
    with pytest.raises(BadInputError, match="too short") as info:
        extract_wav2vec_features(short, model, extractor, layer=-1)
    assert info.value.path == str(short)
    broken = tmp_path / "03-01-05-01-01-01-03.wav"
    broken.write_bytes(b"not audio at all")
    with pytest.raises(BadInputError, match="not decodable") as info:
        extract_wav2vec_features(broken, model, extractor, layer=-1)
    assert info.value.path == str(broken)
    with pytest.raises(ConfigError, match="16000 Hz"):
        extract_wav2vec_features(short, model, extractor, layer=-1, sample_rate=22_050)


def test_unusable_folders_are_bad_input_errors(tmp_path, model_dir):
    with pytest.raises(BadInputError, match="no config.json"):
        load_wav2vec(str(tmp_path))
    with pytest.raises(BadInputError, match="folder not found"):
        load_wav2vec(str(tmp_path / "missing"))  # a path, not a hub name: no hub lookup, no retries
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    shutil.copy(model_dir / "config.json", config_only)
    with pytest.raises(BadInputError, match="cannot load wav2vec weights") as info:
        load_wav2vec(str(config_only))
    assert "\n" not in str(info.value)


def test_unfetchable_hub_name_offline_is_one_line_config_error(tmp_path):
    """A fresh process: HF_HUB_OFFLINE is read when huggingface_hub is imported."""
    code = (
        "from emotion.errors import ConfigError\n"
        "from emotion.features.wav2vec import load_wav2vec\n"
        "try:\n"
        "    load_wav2vec('nonexistent-org/nonexistent-model')\n"
        "except ConfigError as err:\n"
        "    print('CONFIGERROR', err)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}  # empty cache: nothing to fall back on
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("CONFIGERROR")]
    assert len(lines) == 1, done.stdout + done.stderr
    assert "'nonexistent-org/nonexistent-model'" in lines[0] and "local path when offline" in lines[0]


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # how Python reports an uninstalled package
    with pytest.raises(ConfigError) as info:
        load_wav2vec("facebook/wav2vec2-base")
    assert str(info.value) == MISSING_EXTRA
