"""Per-frame video features from a `.video.npy` file (what the built-in synthetic corpus writes)."""

from __future__ import annotations

import numpy as np

from emotion.errors import BadInputError
from emotion.features.audio import require_file

# 25 fps = one video frame per 40 ms = 4 audio hops of 10 ms, so the two streams align by integer ratios.
# (RAVDESS video is 29.97 fps; the synthetic corpus writes its per-frame features at 25 fps.)
VIDEO_FPS = 25


def load_video_features(path) -> np.ndarray:
    """A 2-D finite numeric array of per-frame features.  # (T, D) float32"""
    path = require_file(path)
    try:
        array = np.load(path, allow_pickle=False)  # no pickles: a feature file must not run code
    except (ValueError, OSError, EOFError) as err:
        raise BadInputError(path, f"not a valid .npy file ({' '.join(str(err).split())})") from None
    if not isinstance(array, np.ndarray):  # np.load returns an (open) NpzFile for .npz archives
        array.close()
        raise BadInputError(path, "not a valid .npy file (an .npz archive)")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise BadInputError(path, f"not real-valued numbers (dtype {array.dtype})")
    if array.ndim != 2:
        raise BadInputError(path, f"expected a 2-D (frames, features) array, got shape {array.shape}")
    if array.shape[0] == 0:
        raise BadInputError(path, "empty (0 frames)")
    if array.shape[1] == 0:
        raise BadInputError(path, "empty (0 features per frame)")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is reported just below
        array = array.astype(np.float32)
    if not np.isfinite(array).all():  # checked after the cast: float64 values beyond float32 become inf
        raise BadInputError(path, "contains NaN or infinite values")
    return array
