"""Prosody per segment: pitch and energy, the cues of arousal and valence that 40-64 mel bands blur.

Frame tracks at the log-mel hop (10 ms): log F0 and voicing from Praat's autocorrelation pitch tracker
(parselmouth; 60-500 Hz: low male to high female voices), and log RMS energy over the log-mel window.
(librosa's YIN was the first choice: its numba/LLVM runtime segfaults in a process that has loaded
TensorFlow.) Each of the clip's segments (the same contiguous split as the log-mel statistics)
becomes 5 numbers:
    log F0 mean, log F0 std, log F0 slope (per second), voiced fraction, log energy mean
A segment without voiced frames takes the clip's mean voiced log F0 (slope and std 0): the voiced
fraction tells the model it was silent. Absolute pitch is a speaker trait; `normalisation=speaker`
turns it into pitch relative to the speaker's own.
"""

from __future__ import annotations

import numpy as np

from emotion.features.segments import segment_bounds

FMIN, FMAX = 60.0, 500.0  # Hz: F0 search range covering adult speech
N_PROSODY = 5  # numbers per segment


def stretch(track: np.ndarray, n_frames: int) -> np.ndarray:
    """Resample a Praat track onto `n_frames` analysis frames by nearest earlier index.  # (Tp,) -> (n_frames,)"""
    return track[np.minimum((np.arange(n_frames) * len(track)) // n_frames, len(track) - 1)]


def prosody_tracks(signal: np.ndarray, sample_rate: int, hop: int, window: int) -> np.ndarray:
    """Frame tracks: log F0 (NaN where unvoiced), voiced (0/1), log RMS.  # (N,) -> (T, 3)"""
    import parselmouth

    sound = parselmouth.Sound(signal.astype(np.float64), sampling_frequency=sample_rate)
    try:
        f0 = sound.to_pitch(time_step=hop / sample_rate, pitch_floor=FMIN, pitch_ceiling=FMAX).selected_array[
            "frequency"
        ]  # (Tp,) Hz, 0 unvoiced
    except parselmouth.PraatError:  # shorter than 3 periods of FMIN (50 ms): too short to have a pitch
        f0 = np.zeros(0)
    if len(signal) >= window:
        frames = np.lib.stride_tricks.sliding_window_view(signal, window)[::hop]  # (Te, window)
        log_rms = np.log(np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)) + 1e-6)  # (Te,)
    else:
        log_rms = np.array([np.log(np.sqrt((signal.astype(np.float64) ** 2).mean()) + 1e-6)])
    if len(f0) == 0:  # shorter than Praat's analysis window: no pitch frame at all
        f0 = np.zeros(len(log_rms))
    f0 = stretch(f0, len(log_rms))  # (Te,): the two tracks differ by a few frames at the ends
    voiced = f0 > 0
    log_f0 = np.where(voiced, np.log(np.where(voiced, f0, 1.0)), np.nan)
    return np.stack([log_f0, voiced.astype(np.float64), log_rms], axis=1).astype(np.float32)  # (Te, 3)


def harmonicity_track(signal: np.ndarray, sample_rate: int, hop: int, n_frames: int) -> np.ndarray:
    """Harmonics-to-noise ratio in dB per frame (Praat's cross-correlation method), NaN where unvoiced.  # (N,) -> (n_frames,)"""
    import parselmouth

    sound = parselmouth.Sound(signal.astype(np.float64), sampling_frequency=sample_rate)
    try:
        hnr = sound.to_harmonicity_cc(time_step=hop / sample_rate, minimum_pitch=FMIN).values[0]  # (Th,), -200 unvoiced
    except parselmouth.PraatError:  # too short for one analysis window
        hnr = np.zeros(0)
    if len(hnr) == 0:
        return np.full(n_frames, np.nan, dtype=np.float32)
    hnr = stretch(hnr, n_frames)  # (n_frames,)
    return np.where(hnr > -100.0, hnr, np.nan).astype(np.float32)


def segment_harmonicity(hnr: np.ndarray, n_segments: int) -> np.ndarray:
    """Mean voiced HNR per segment; a segment without voiced frames takes the clip's mean (0 dB if none).  # (T,) -> (n_segments, 1)"""
    voiced = np.isfinite(hnr)
    clip_mean = float(hnr[voiced].mean()) if voiced.any() else 0.0
    rows = [
        float(hnr[a:b][voiced[a:b]].mean()) if voiced[a:b].any() else clip_mean
        for a, b in segment_bounds(len(hnr), n_segments)
    ]
    return np.asarray(rows, dtype=np.float32)[:, None]


def segment_prosody(tracks: np.ndarray, n_segments: int, hop_seconds: float) -> np.ndarray:
    """Per segment: log F0 mean, std, slope per second, voiced fraction, log energy mean.  # (T, 3) -> (n_segments, 5)"""
    log_f0, voiced, log_rms = tracks[:, 0], tracks[:, 1], tracks[:, 2]
    clip_f0 = float(np.nanmean(log_f0)) if np.isfinite(log_f0).any() else float(np.log(150.0))  # 150 Hz: mid voice
    rows = []
    for a, b in segment_bounds(len(tracks), n_segments):
        f0 = log_f0[a:b][np.isfinite(log_f0[a:b])]
        slope = float(np.polyfit(np.arange(len(f0)) * hop_seconds, f0, 1)[0]) if len(f0) >= 3 else 0.0
        mean, std = (float(f0.mean()), float(f0.std())) if len(f0) else (clip_f0, 0.0)
        rows.append([mean, std, slope, float(voiced[a:b].mean()), float(log_rms[a:b].mean())])
    return np.asarray(rows, dtype=np.float32)  # (n_segments, 5)
