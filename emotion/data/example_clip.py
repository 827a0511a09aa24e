"""A clip that carries no one's voice or face: every logged model's input example.

A real clip inside the model (input_example.json) would hand a training speaker's voice to anyone who
gets the model, which for a team's private recordings is a leak. This clip is made like the built-in
corpus's (emotion/data/synthetic.py), at the corpus's typical length and sample rate, so the example
still exercises decoding, resampling and the encoder as a real request does.
"""

from __future__ import annotations

import io
import tempfile
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from emotion.data.synthetic import SAMPLE_RATE, _face, _speaker, _voice
from emotion.data.synthetic_video import draw_face_speaker, write_face_video

EXAMPLE_SEED = 7  # any fixed seed: the same example bytes at every run
EXAMPLE_EMOTION = "neutral"
EXAMPLE_SECONDS = (0.5, 10.0)  # the typical length is kept within these: a clip, not a fragment or a session


def typical_clip(audio_paths) -> tuple[float, int]:
    """(median duration in s, most common sample rate) over the files whose header reads."""
    durations, rates = [], []
    for path in audio_paths:
        try:
            info = sf.info(str(path))
        except (sf.SoundFileError, RuntimeError, OSError):
            continue
        durations.append(info.duration)
        rates.append(int(info.samplerate))
    if not durations:
        return 3.0, SAMPLE_RATE
    seconds = float(np.clip(np.median(durations), *EXAMPLE_SECONDS))
    return seconds, int(np.bincount(rates).argmax())


def example_media(seconds: float, sample_rate: int, video: str | None = None, video_dim: int = 16) -> dict[str, bytes]:
    """{"audio": WAV bytes[, "video": bytes]} of one synthetic clip. `video`: None (audio only), ".video.npy"
    (per-frame features of `video_dim` columns) or a video file suffix (".mp4", ".avi": a drawn face)."""
    rng = np.random.default_rng(EXAMPLE_SEED)
    speaker = _speaker(rng, actor=1)
    signal, envelope = _voice(rng, speaker, EXAMPLE_EMOTION, intensity=1, seconds=seconds)  # (N,) at 16 kHz
    if sample_rate != SAMPLE_RATE:
        g = gcd(sample_rate, SAMPLE_RATE)
        signal = resample_poly(signal, up=sample_rate // g, down=SAMPLE_RATE // g).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(signal, -1, 1), sample_rate, subtype="PCM_16", format="WAV")
    media = {"audio": buffer.getvalue()}
    if video is None:
        return media
    pattern = rng.normal(size=video_dim)
    frames, activity = _face(rng, {"face": rng.normal(scale=0.3, size=video_dim)}, pattern, envelope, 1)
    if video.endswith(".npy"):
        buffer = io.BytesIO()
        np.save(buffer, frames, allow_pickle=False)  # (frames, video_dim) float32
        media["video"] = buffer.getvalue()
        return media
    with tempfile.TemporaryDirectory(prefix="emotion-example-") as folder:
        path = write_face_video(Path(folder) / f"example{video}", activity, 0, rng, speaker=draw_face_speaker(rng))
        media["video"] = path.read_bytes()
    return media
