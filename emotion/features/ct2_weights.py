"""CTranslate2's `model.bin`, read and written without CTranslate2: names, shapes, dtypes and bytes.

The layout is CTranslate2's own (`ctranslate2/specs/model_spec.py`, `_serialize`; binary version 6):
uint32 version, string spec name, uint32 revision, uint32 count, then per variable: string name, uint8
rank, uint32 dims, uint8 dtype id, uint32 byte count, the bytes; then uint32 alias count and (alias,
target) string pairs. A string is uint16 length (with its NUL), the UTF-8 bytes, NUL. Little-endian.

Reading is what lets Keras own the encoder (emotion/features/whisper_keras.py); writing a subset is how
CTranslate2 runs a truncated encoder (emotion/features/whisper_truncated.py).
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.errors import BadInputError

# CTranslate2's DataType enum order (include/ctranslate2/types.h); bfloat16 has no numpy dtype: read as uint16
DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
NUMPY_DTYPES = {"float32": np.float32, "int8": np.int8, "int16": np.int16, "int32": np.int32, "float16": np.float16}
SUPPORTED_VERSIONS = (3, 4, 5, 6)  # per-variable dtype ids from 4; older files carry an item size instead


@dataclass(frozen=True)
class Variable:
    name: str
    shape: tuple[int, ...]
    dtype: str  # one of DTYPES
    offset: int  # where its bytes start in the file
    nbytes: int


@dataclass(frozen=True)
class ModelBin:
    path: Path
    version: int
    spec: str  # e.g. "WhisperSpec"
    revision: int
    variables: dict[str, Variable]  # in file order
    aliases: dict[str, str]  # alias -> variable name (shared weights)

    def array(self, name: str) -> np.ndarray:
        """One variable as stored (int8 stays int8; bfloat16 comes back as float32)."""
        var = self.variables[self.aliases.get(name, name)]
        with open(self.path, "rb") as handle:
            handle.seek(var.offset)
            raw = handle.read(var.nbytes)
        if len(raw) != var.nbytes:
            raise BadInputError(self.path, f"truncated model.bin: {var.name} ends past the file's end")
        if var.dtype == "bfloat16":  # the high half of a float32
            return (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(var.shape)
        return np.frombuffer(raw, NUMPY_DTYPES[var.dtype]).reshape(var.shape)

    def float32(self, name: str) -> np.ndarray:
        """A weight as float32, dequantised where the file stores int8 / int16 with a `<name>_scale`
        beside it (CTranslate2 multiplies each row by scale before rounding, so divide it back out)."""
        value = self.array(name)
        scale_name = f"{name}_scale"
        if value.dtype in (np.int8, np.int16) and scale_name in self.variables:
            scale = self.array(scale_name).astype(np.float32)  # (rows,) or a scalar
            rows = value.reshape(value.shape[0], -1).astype(np.float32) / scale.reshape(-1, 1)
            return rows.reshape(value.shape)
        return value.astype(np.float32)


def whisper_encoder_shape(weights: ModelBin) -> dict:
    """n_mels, d_model, n_heads, n_layers and max_frames, read off the variables."""
    conv1 = weights.variables["encoder/conv1/weight"].shape  # (d, n_mels, 3)
    n_layers = 0
    while f"encoder/layer_{n_layers}/ffn/linear_0/weight" in weights.variables:
        n_layers += 1
    return {
        "n_mels": conv1[1],
        "d_model": conv1[0],
        "n_heads": int(weights.array("encoder/num_heads")),
        "n_layers": n_layers,
        "max_frames": weights.variables["encoder/position_encodings/encodings"].shape[0],
    }


def _string(handle) -> str:
    (length,) = struct.unpack("<H", handle.read(2))
    return handle.read(length)[:-1].decode("utf-8")  # drop the NUL


def read_model_bin(path) -> ModelBin:
    """The index of a model.bin (no weight is read until asked); a malformed file is one line naming it."""
    path = Path(path)
    size = path.stat().st_size
    try:
        with open(path, "rb") as handle:
            (version,) = struct.unpack("<I", handle.read(4))
            if version not in SUPPORTED_VERSIONS:
                raise BadInputError(path, f"CTranslate2 binary version {version}, expected one of {SUPPORTED_VERSIONS}")
            spec = _string(handle)
            (revision,) = struct.unpack("<I", handle.read(4))
            (count,) = struct.unpack("<I", handle.read(4))
            variables = {}
            for _ in range(count):
                name = _string(handle)
                (rank,) = struct.unpack("<B", handle.read(1))
                shape = struct.unpack(f"<{rank}I", handle.read(4 * rank))
                if version >= 4:
                    dtype_id, nbytes = struct.unpack("<BI", handle.read(5))
                    dtype = DTYPES[dtype_id]
                else:  # an item size: 4 float32, 2 float16 / int16, 1 int8
                    item, nbytes = struct.unpack("<BI", handle.read(5))
                    dtype = {4: "float32", 2: "float16", 1: "int8"}[item]
                offset = handle.tell()
                if offset + nbytes > size:
                    raise BadInputError(path, f"truncated model.bin: {name} ends past the file's end")
                variables[name] = Variable(name, tuple(shape), dtype, offset, nbytes)
                handle.seek(nbytes, os.SEEK_CUR)
            (n_aliases,) = struct.unpack("<I", handle.read(4))
            aliases = dict((_string(handle), _string(handle)) for _ in range(n_aliases))
    except (struct.error, UnicodeDecodeError, IndexError, KeyError) as err:
        raise BadInputError(path, f"not a CTranslate2 model.bin ({type(err).__name__}: {err})") from None
    return ModelBin(path, version, spec, revision, variables, aliases)


def write_model_bin(source: ModelBin, target, keep) -> None:
    """A copy of `source` with only the variables `keep(name)` accepts (and the aliases to them), written
    whole or not at all (a temporary file renamed into place)."""
    target = Path(target)
    kept = [v for v in source.variables.values() if keep(v.name)]
    aliases = {a: t for a, t in source.aliases.items() if keep(t) and keep(a)}

    def string(text: str) -> bytes:
        data = text.encode("utf-8")
        return struct.pack("<H", len(data) + 1) + data + b"\0"

    handle, staging = tempfile.mkstemp(prefix=".model-", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, open(source.path, "rb") as src:
            out.write(struct.pack("<I", 6) + string(source.spec) + struct.pack("<II", source.revision, len(kept)))
            for var in kept:
                out.write(string(var.name) + struct.pack(f"<B{len(var.shape)}I", len(var.shape), *var.shape))
                out.write(struct.pack("<BI", DTYPES.index(var.dtype), var.nbytes))
                src.seek(var.offset)
                out.write(src.read(var.nbytes))
            out.write(struct.pack("<I", len(aliases)))
            for alias, name in aliases.items():
                out.write(string(alias) + string(name))
        os.replace(staging, target)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
