"""Synthetic voices of training clips, for the global head (`global_voices`).

A single clip comes without speaker statistics, so the global head must answer for a voice it never
heard after learning from 12-15 actors. Each training clip is re-voiced with Praat's Change gender
(PSOLA): formants and pitch median moved together, the pitch contour's shape and the timing kept, so
the emotion's cues stay and the voice changes. The copies are WAV files under the cache folder, named by
the source file's content and the voice, written once and reused by every run and fold.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

# name: (formant shift ratio, pitch median ratio). Two voices, one up and one down: nested grouped-CV UA
# of the global head (docs/decisions.md#the-global-head-single-clips; 2 settings tried).
VOICES = {"up": (1.1, 1.25), "down": (0.9, 0.8)}
PITCH_RANGE = (75.0, 600.0)  # Hz: Praat's Change gender analysis range (its defaults)
CHUNK_BYTES = 1 << 20


def _digest(source: str, voice: str) -> str:
    """sha256 of the voice's settings and the source's bytes."""
    digest = hashlib.sha256(repr(VOICES[voice]).encode())
    with open(source, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def voice_path(source: str, voice: str, root: Path) -> Path:
    """Where `source` in `voice` is kept: root/<voice>/<sha256 of the source's bytes and the voice>.wav."""
    return root / voice / f"{_digest(source, voice)}.wav"


def revoice(source: str, target: str, voice: str) -> str | None:
    """Write `source` in `voice` to `target` atomically (a killed run leaves no half file); the reason
    when Praat cannot read or change it, else None."""
    import parselmouth
    import soundfile as sf
    from parselmouth.praat import call, run

    formants, pitch = VOICES[voice]
    try:
        # PSOLA places pulses at random in voiceless stretches: seeded by the clip, so a copy is the same
        # bytes whichever process or order makes it (and its cached features stay valid)
        run(f"random_initializeWithSeedUnsafelyButPredictably ({int(_digest(source, voice)[:12], 16)})")
        sound = parselmouth.Sound(source)
        contour = sound.to_pitch(pitch_floor=PITCH_RANGE[0], pitch_ceiling=PITCH_RANGE[1])
        median = call(contour, "Get quantile", 0, 0, 0.5, "Hertz")
        new_median = median * pitch if np.isfinite(median) else 0.0  # 0: Praat keeps the pitch (no voiced frame)
        changed = call(sound, "Change gender", *PITCH_RANGE, formants, new_median, 1.0, 1.0)
    except (parselmouth.PraatError, OSError) as err:
        return f"Praat could not re-voice it ({str(err).strip().splitlines()[0]})"
    finally:
        run("random_initializeSafelyAndUnpredictably ()")
    signal = changed.values[0]  # (N,) first channel
    peak = np.abs(signal).max()
    signal = signal * (0.99 / peak) if peak > 0.99 else signal  # PSOLA can overshoot full scale
    os.makedirs(os.path.dirname(target), exist_ok=True)
    partial = f"{target}.{os.getpid()}.tmp.wav"
    sf.write(partial, signal.astype(np.float32), int(changed.sampling_frequency), subtype="PCM_16")
    os.replace(partial, target)
    return None


def voiced_copies(sources: list[str], root: Path) -> tuple[dict[str, list[str | None]], list[tuple[str, str]]]:
    """Every source in every voice: {voice: n paths, None where it failed}, and the failures as
    (source, reason). Missing copies are made by `python -m emotion.corpus.voices`, one process per CPU
    (Praat holds Python's lock). A child process of its own, not a pool here: this process may run
    TensorFlow's threads, which a forked worker would inherit locked, and spawned workers would re-run
    the caller's script when it has no `__main__` guard."""
    root = Path(root)
    targets = {voice: [voice_path(s, voice, root) for s in sources] for voice in VOICES}
    jobs = [(s, str(t), v) for v in VOICES for s, t in zip(sources, targets[v]) if not t.exists()]
    reasons = {}
    if jobs:
        print(f"global_voices: re-voicing {len(jobs)} clips (once: the copies stay in {root})", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "emotion.corpus.voices"], input=json.dumps(jobs), capture_output=True, text=True
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"re-voicing clips into {root} failed: {last}")
        reasons = {(source, voice): reason for source, voice, reason in json.loads(done.stdout)}
    copies = {v: [None if (s, v) in reasons else str(t) for s, t in zip(sources, targets[v])] for v in VOICES}
    failures = [(source, f"voice {voice}: {reason}") for (source, voice), reason in sorted(reasons.items())]
    return copies, failures


if __name__ == "__main__":  # jobs [source, target, voice] as JSON on stdin -> [source, voice, reason] of failures
    jobs = json.load(sys.stdin)
    with multiprocessing.Pool(min(len(jobs), os.cpu_count() or 1)) as pool:  # forked: no TensorFlow here
        outcomes = pool.starmap(revoice, jobs, chunksize=8)
    json.dump([[source, voice, reason] for (source, _, voice), reason in zip(jobs, outcomes) if reason], sys.stdout)
