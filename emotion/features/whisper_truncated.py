"""A CTranslate2 Whisper model cut after encoder block k: CTranslate2 then runs only the blocks a middle
layer needs, at its own speed (int8 included), and returns layer k as whisper_keras.py defines it (block
k's output through the final LayerNorm).

CTranslate2 counts an encoder's blocks by the `encoder/layer_N` variables it finds (it builds layers until
one is missing), so dropping blocks k..n-1 from `model.bin` is the whole change. The decoder stays: the
model class loads it. The cut folder is made once in the cache, keyed by the source weights' digest.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from emotion.features.ct2_weights import read_model_bin, write_model_bin

_BLOCK = re.compile(r"^encoder/layer_(\d+)/")


def truncated_model_dir(source: Path, keep_blocks: int, identity: str, cache_root: Path) -> Path:
    """`source`'s CTranslate2 folder with only encoder blocks 0..keep_blocks-1 (made once, atomically)."""
    target = Path(cache_root) / "whisper" / f"{identity}-blocks{keep_blocks}"
    if (target / "model.bin").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".cutting-", dir=target.parent))
    try:
        for item in Path(source).iterdir():  # config.json, vocabulary, tokenizer: everything but the weights
            if item.is_file() and item.name != "model.bin":
                shutil.copyfile(item, staging / item.name)

        def keep(name: str) -> bool:
            block = _BLOCK.match(name)
            return block is None or int(block.group(1)) < keep_blocks

        write_model_bin(read_model_bin(Path(source) / "model.bin"), staging / "model.bin", keep)
        try:
            os.replace(staging, target)
        except OSError:  # another process finished first: the same bytes
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
