"""The built-in corpus: deterministic synthetic audio-visual "speech" in the real RAVDESS layout.

How it is made (so its accuracy figures mean something):
- 12 actors (odd male, even female), 30 clips each: per emotion, statements 1-2 x intensities
  normal/strong (neutral: normal only), repetition 1. Files `Actor_XX/01-01-EE-II-SS-01-XX.wav`
  (16 kHz mono PCM) plus `...video.npy`, per-frame video features at 25 fps.
- Audio: a harmonic voice whose pitch level, pitch movement, syllable rate, loudness, brightness
  and breathiness depend on the emotion (table below), scaled up for strong intensity, on top of
  the speaker's own pitch (male ~120 Hz, female ~210 Hz) and timbre, with per-clip jitter of every
  cue and background noise at 3-15 dB SNR. Pitch level overlaps across speakers, so no single cue
  separates the classes: a model has to combine them, which takes several epochs.
- Video: 16 "facial" features a frame = the emotion's expression pattern, gated by the same
  syllable envelope as the audio at that frame's time (the streams are time-aligned: same
  duration, frame t covers [t/25, (t+1)/25) s), plus a per-speaker offset and frame noise.
- Video files: a small 64x64 synthetic talking face (`...mp4`, emotion-specific mouth/brow/eye shapes
  driven by the same per-frame activity) beside each `.video.npy`, so the real video path (OpenCV
  face detection + HOG, `video_source=files`) runs end to end. Drawn from a separate random stream:
  the audio and `.video.npy` files are identical to version 1.
- Generated on first use into the feature cache folder, in a temporary folder renamed into place
  when complete, so an interrupted build is never mistaken for a corpus.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from emotion.corpus.labels import EMOTIONS
from emotion.data.synthetic_video import draw_face_speaker, write_face_video
from emotion.features.video import VIDEO_FPS

CORPUS_VERSION = 2  # bump when the recipe changes: a new folder, never a stale corpus
SAMPLE_RATE = 16_000
N_ACTORS = 12
VIDEO_DIM = 16
SEED = 20240521

# emotion: (pitch factor, pitch movement, syllables/s, loudness, brightness, breathiness)
CUES = {
    "neutral": (1.00, 0.03, 4.0, 0.50, 1.0, 0.10),
    "calm": (0.94, 0.02, 3.0, 0.35, 0.7, 0.25),
    "happy": (1.22, 0.12, 5.0, 0.75, 1.5, 0.10),
    "sad": (0.86, 0.04, 2.5, 0.30, 0.5, 0.35),
    "angry": (1.12, 0.07, 5.5, 1.00, 2.0, 0.15),
    "fearful": (1.32, 0.15, 6.2, 0.55, 1.1, 0.40),
    "disgust": (0.90, 0.08, 3.4, 0.60, 1.3, 0.45),
    "surprised": (1.38, 0.22, 4.4, 0.80, 1.2, 0.10),
}


def builtin_corpus_dir(cache_root: Path) -> Path:
    return Path(cache_root) / f"builtin_corpus_v{CORPUS_VERSION}"


def ensure_builtin_corpus(cache_root: Path) -> Path:
    """Return the built-in corpus folder, generating it first if it is not there yet."""
    target = builtin_corpus_dir(cache_root)
    if (target / "COMPLETE").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        write_corpus(staging)
        (staging / "COMPLETE").write_text(f"built-in synthetic corpus v{CORPUS_VERSION}\n")
        try:
            os.replace(staging, target)
        except OSError:  # another process finished first: its corpus is identical (deterministic)
            if not (target / "COMPLETE").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def write_corpus(root: Path) -> int:
    """Write every clip of the corpus under root; returns the number of clips."""
    rng = np.random.default_rng(SEED)
    video_rng = np.random.default_rng(SEED + 1)  # separate stream: adding video files changed nothing else
    patterns = rng.normal(size=(len(EMOTIONS), VIDEO_DIM))  # one expression pattern per emotion
    patterns /= np.linalg.norm(patterns, axis=1, keepdims=True)
    count = 0
    for actor in range(1, N_ACTORS + 1):
        speaker = _speaker(rng, actor)
        face = draw_face_speaker(video_rng)
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for code, emotion in enumerate(EMOTIONS, start=1):
            for intensity in (1,) if emotion == "neutral" else (1, 2):
                for statement in (1, 2):
                    stem = f"01-01-{code:02d}-{intensity:02d}-{statement:02d}-01-{actor:02d}"
                    audio, envelope = _voice(rng, speaker, emotion, intensity)
                    video, activity = _face(rng, speaker, patterns[code - 1], envelope, intensity)
                    sf.write(folder / f"{stem}.wav", audio, SAMPLE_RATE, subtype="PCM_16")
                    np.save(folder / f"{stem}.video.npy", video)
                    write_face_video(folder / f"{stem}.mp4", activity, code - 1, video_rng, speaker=face)
                    count += 1
    return count


def _speaker(rng: np.random.Generator, actor: int) -> dict:
    female = actor % 2 == 0
    return {
        "f0": rng.uniform(185, 235) if female else rng.uniform(100, 140),
        "timbre": rng.uniform(0.7, 1.3, size=12),  # per-harmonic colour of this voice
        "face": rng.normal(scale=0.3, size=VIDEO_DIM),  # this face's resting features
    }


def _voice(
    rng, speaker: dict, emotion: str, intensity: int, seconds: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One clip: (samples,) float32 audio and (samples,) syllable envelope in [0, 1]; `seconds`: its
    length instead of the corpus's 0.8-1.4 s (the input example's)."""
    pitch, movement, rate, loud, bright, breath = CUES[emotion]
    strength = 1.0 if intensity == 1 else 1.35  # strong intensity exaggerates the cues
    jitter = lambda v: v * rng.uniform(0.85, 1.15)  # noqa: E731 -- per-clip variation of every cue
    pitch = jitter(1 + (pitch - 1) * strength)
    movement, rate, loud = jitter(movement * strength), jitter(rate), jitter(min(1.0, loud * strength))
    bright, breath = jitter(bright), jitter(breath)

    drawn = rng.uniform(0.8, 1.4)  # drawn even when `seconds` is given: the corpus's random stream is unchanged
    n = int((seconds or drawn) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    f0 = speaker["f0"] * pitch * (1 + movement * np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * t + rng.uniform(0, 6.3)))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    harmonics = np.arange(1, 13)
    amplitudes = speaker["timbre"] * harmonics ** (-2.0 / bright)  # brighter voices keep high harmonics
    voiced = (amplitudes[:, None] * np.sin(harmonics[:, None] * phase[None, :])).sum(axis=0)
    voiced /= np.abs(voiced).max()
    envelope = np.clip(np.sin(np.pi * rate * t + rng.uniform(0, 1)) ** 2, 0, 1)  # syllables
    envelope *= np.minimum(1, np.minimum(t, t[-1] - t) / 0.05)  # 50 ms fade in and out
    source = (1 - breath) * voiced + breath * rng.normal(scale=0.5, size=n)
    speech = loud * envelope * source
    snr_db = rng.uniform(3, 15)
    noise = rng.normal(size=n) * np.sqrt(np.mean(speech**2) / 10 ** (snr_db / 10))
    audio = speech + noise
    audio = 0.8 * audio / np.abs(audio).max()
    return audio.astype(np.float32), envelope


def _face(
    rng, speaker: dict, pattern: np.ndarray, envelope: np.ndarray, intensity: int
) -> tuple[np.ndarray, np.ndarray]:
    """(frames, VIDEO_DIM) float32 at VIDEO_FPS, gated by the audio's envelope at the same times,
    and that per-frame activity (frames,) in [0, 1] for the video file."""
    n_frames = max(1, int(len(envelope) / SAMPLE_RATE * VIDEO_FPS))
    centres = ((np.arange(n_frames) + 0.5) / VIDEO_FPS * SAMPLE_RATE).astype(int)
    activity = 0.3 + 0.7 * envelope[np.minimum(centres, len(envelope) - 1)]  # (frames,)
    strength = 1.6 if intensity == 1 else 2.2
    frames = speaker["face"] + strength * activity[:, None] * pattern[None, :]
    frames += rng.normal(scale=1.2, size=frames.shape)
    return frames.astype(np.float32), (activity - 0.3) / 0.7
