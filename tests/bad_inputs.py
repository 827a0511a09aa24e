"""The bad-input catalogue: a corpus folder of good clips plus one file of every kind users meet.

`write_catalogue(root, good)` links the good corpus into `root` and adds the bad kinds; it returns one
`Kind` per kind with the path the outcome is reported under and the outcome it must have:
"processed" (used, features compared with its good source) or "skipped" with a reason.
Bad clips reuse a good clip's actor and emotion with repetition 02 (the built-in corpus only has 01),
so every one is a well-formed, distinct RAVDESS name unless the kind is about names.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from emotion.features.video import VIDEO_FPS

RATE = 16_000
TWO_HOURS = 2 * 3600


@dataclass(frozen=True)
class Kind:
    name: str
    path: Path  # where the outcome shows: the clip's audio or video file, or the odd file itself
    outcome: str  # "processed" | "skipped"
    reason: str = ""  # for "skipped": a phrase the reason must contain
    source: Path | None = None  # for "processed": the good clip it was made from


def _name(actor: int, emotion: int, repetition: int = 2) -> str:
    return f"01-01-{emotion:02d}-01-01-{repetition:02d}-{actor:02d}"


def _link_tree(good: Path, root: Path) -> None:
    """Every good file as a file symlink (the corpus walk does not enter symlinked folders)."""
    for path in good.rglob("*"):
        if path.is_file() and not path.name.startswith(".") and path.name != "COMPLETE":
            target = root / path.relative_to(good)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)


def _wav_with_lying_header(source: Path, target: Path, extra_bytes: int) -> None:
    """The source WAV with RIFF and data chunk sizes claiming `extra_bytes` more than the file holds."""
    data = bytearray(source.read_bytes())
    riff = struct.unpack_from("<I", data, 4)[0]
    struct.pack_into("<I", data, 4, riff + extra_bytes)
    at = data.index(b"data")
    size = struct.unpack_from("<I", data, at + 4)[0]
    struct.pack_into("<I", data, at + 4, size + extra_bytes)
    target.write_bytes(bytes(data))


def _sparse_two_hour_wav(target: Path) -> None:
    """A real 2 h, 16 kHz, 16-bit WAV (230 MB of silence) as a sparse file: no disk blocks for the zeros."""
    n_bytes = TWO_HOURS * RATE * 2
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + n_bytes, b"WAVE", b"fmt ", 16, 1, 1, RATE, RATE * 2, 2, 16, b"data", n_bytes
    )
    with open(target, "wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + n_bytes)


def write_catalogue(good: Path, root: Path) -> list[Kind]:
    _link_tree(good, root)
    kinds: list[Kind] = []
    slots = iter((actor, emotion) for actor in range(1, 13) for emotion in range(1, 9))

    def clip():
        """A fresh bad-clip slot: (base path without suffix, good source wav, its good video features)."""
        actor, emotion = next(slots)
        folder = root / f"Actor_{actor:02d}"
        source = good / f"Actor_{actor:02d}" / f"{_name(actor, emotion, 1)}.wav"
        return folder / _name(actor, emotion), source, source.with_suffix("").with_suffix(".video.npy")

    def audio_kind(name, write, outcome, reason=""):
        """A bad audio file with a good video partner; the outcome shows on the audio path."""
        base, source, video = clip()
        wav = base.with_suffix(".wav")
        signal, _ = sf.read(source, dtype="float32")  # (N,)
        write(wav, signal, source)
        shutil.copyfile(video, f"{base}.video.npy")
        kinds.append(Kind(name, wav, outcome, reason, source if outcome == "processed" else None))

    def video_kind(name, array_or_bytes, reason):
        """A good audio file whose video feature file is bad; the outcome shows on the video path."""
        base, source, _ = clip()
        shutil.copyfile(source, base.with_suffix(".wav"))
        npy = Path(f"{base}.video.npy")
        if isinstance(array_or_bytes, bytes):
            npy.write_bytes(array_or_bytes)
        else:
            np.save(npy, array_or_bytes, allow_pickle=True)
        kinds.append(Kind(name, npy, "skipped", reason))

    # --- decodable in other formats: processed (resampled, mixed to mono) ---------------------------------
    audio_kind("8-bit PCM", lambda p, s, _: sf.write(p, s, RATE, subtype="PCM_U8"), "processed")
    audio_kind("24-bit PCM", lambda p, s, _: sf.write(p, s, RATE, subtype="PCM_24"), "processed")
    audio_kind("32-bit float", lambda p, s, _: sf.write(p, s, RATE, subtype="FLOAT"), "processed")
    audio_kind("stereo", lambda p, s, _: sf.write(p, np.stack([s, s], 1), RATE), "processed")
    audio_kind("6 channels", lambda p, s, _: sf.write(p, np.repeat(s[:, None], 6, 1), RATE), "processed")
    audio_kind("8 kHz", lambda p, s, _: sf.write(p, resample_poly(s, 1, 2), 8_000), "processed")
    audio_kind("96 kHz", lambda p, s, _: sf.write(p, resample_poly(s, 6, 1), 96_000, subtype="FLOAT"), "processed")
    audio_kind("clipped", lambda p, s, _: sf.write(p, np.clip(s * 8.0, -1.0, 1.0), RATE), "processed")
    audio_kind(
        "header claims more data than the file holds",
        lambda p, s, src: _wav_with_lying_header(src, p, 64_000),
        "processed",
    )

    # --- audio that cannot be a clip: skipped with the reason -------------------------------------------
    audio_kind("empty file", lambda p, s, _: p.write_bytes(b""), "skipped", "empty file (0 bytes)")
    audio_kind(
        "truncated header", lambda p, s, src: p.write_bytes(src.read_bytes()[:20]), "skipped", "not decodable as audio"
    )
    audio_kind(
        "not audio bytes named .wav",
        lambda p, s, _: p.write_bytes(b"<html>not a wav</html>\n" * 40),
        "skipped",
        "not decodable as audio",
    )
    audio_kind(
        "0.01 s clip", lambda p, s, _: sf.write(p, s[: RATE // 100], RATE), "skipped", "under min_clip_seconds=0.3"
    )
    audio_kind("all-silent clip", lambda p, s, _: sf.write(p, np.zeros_like(s), RATE), "skipped", "all-silent")
    audio_kind(
        "NaN samples in a float WAV",
        lambda p, s, _: sf.write(p, np.where(np.arange(len(s)) == 99, np.nan, s), RATE, subtype="FLOAT"),
        "skipped",
        "NaN or infinite samples",
    )
    audio_kind("two-hour file", lambda p, s, _: _sparse_two_hour_wav(p), "skipped", "over max_clip_seconds=60")
    audio_kind("unreadable file", lambda p, s, _: (sf.write(p, s, RATE), p.chmod(0)), "skipped", "permission denied")

    # --- bad per-frame feature files (.npy): skipped ----------------------------------------------------
    good_video = np.load(next(good.rglob("*.video.npy")))  # (T, 16)
    with_nan, with_inf = good_video.copy(), good_video.copy()
    with_nan[3, 2], with_inf[5, 1] = np.nan, np.inf
    video_kind("NaN in a .npy feature file", with_nan, "contains NaN or infinite values")
    video_kind("inf in a .npy feature file", with_inf, "contains NaN or infinite values")
    video_kind("wrong feature dimension", good_video[:, :15], "15 video features per frame, the other clips have 16")
    video_kind("empty .npy", np.zeros((0, good_video.shape[1]), np.float32), "empty (0 frames)")
    video_kind("pickled object array in a .npy", np.array([{"a": 1}], dtype=object), "not a valid .npy file")
    video_kind("truncated .npy", good_video.tobytes()[:10], "not a valid .npy file")

    # --- pairing -----------------------------------------------------------------------------------------
    base, source, _ = clip()
    shutil.copyfile(source, base.with_suffix(".wav"))
    kinds.append(Kind("audio without its video partner", base.with_suffix(".wav"), "skipped", "no video partner"))
    base, source, video = clip()
    shutil.copyfile(source, base.with_suffix(".wav"))
    long_video = np.concatenate([np.load(video)] * 4)  # (4 T, 16): four times the audio's duration
    assert len(long_video) / VIDEO_FPS - sf.info(source).duration > 2.0
    np.save(f"{base}.video.npy", long_video)
    kinds.append(
        Kind(
            "audio and video of very different durations",
            Path(f"{base}.video.npy"),
            "skipped",
            "differ by more than max_av_offset_seconds=1",
        )
    )

    # --- names and the file system -------------------------------------------------------------------------
    odd = root / "Actor_01" / "take3_final.wav"
    shutil.copyfile(source, odd)
    kinds.append(Kind("unknown name pattern", odd, "skipped", "name matches none of RAVDESS"))
    twin = root / "zz_copies" / source.name  # the same clip name as a good clip, in a later folder
    twin.parent.mkdir()
    shutil.copyfile(source, twin)
    kinds.append(
        Kind("the same clip name in two folders", twin, "skipped", f"duplicate of {root / source.relative_to(good)}")
    )
    base, _, video = clip()
    loop_a, loop_b = base.with_suffix(".wav"), root / "zz_copies" / f"{_name(12, 8, 2)}.wav"
    os.symlink(loop_b, loop_a)
    os.symlink(loop_a, loop_b)
    for end in (loop_a, loop_b):  # each with a good video partner: only the audio link is at fault
        shutil.copyfile(video, end.with_suffix(".video.npy"))
    kinds.append(Kind("symlink loop", loop_a, "skipped", "broken or looping symbolic link"))
    kinds.append(Kind("symlink loop (other end)", loop_b, "skipped", "broken or looping symbolic link"))
    base, _, video = clip()
    os.symlink(root / "nowhere.wav", base.with_suffix(".wav"))
    shutil.copyfile(video, f"{base}.video.npy")
    kinds.append(Kind("dangling symlink", base.with_suffix(".wav"), "skipped", "broken or looping symbolic link"))
    return kinds
