"""Video file -> per-frame face descriptors on the audio frame grid (OpenCV: decode, Haar face box, HOG).

Per clip:
1. Decode with cv2.VideoCapture. Source frame i starts at its timestamp and lasts until the next one.
2. Resample to `fps`: target frame t covers [t/fps, (t+1)/fps) s and takes the source frame shown at
   its centre, so T = round(duration * fps) and frame t lines up with audio hops 4t..4t+3 at 25 fps.
3. Face box: the Haar frontal-face cascade shipped with opencv-python 4.x, on a downscaled grey
   frame every DETECT_EVERY target frames, largest detection (after the first hit, searched near
   the last box first); the box is reused in between: 5x fewer cascade runs and no crop jitter
   within those frames. Frames before the first hit get the first box. A missed detection keeps
   the last box. No face anywhere in the clip: the centre square of each frame, face_found_ratio 0.
4. Crop, resize to face_size x face_size grey, HOG descriptor (below).

Descriptor choice: HOG, not downsampled pixels. Expressions are shapes (brow angle, eye and mouth
opening), which orientation histograms per cell capture, and HOG's contrast normalisation removes
overall brightness (lighting, skin tone), which differs between speakers but says nothing about
emotion; raw pixels keep both. Cells of face_size / 6 (8 px at 48) put brows, eyes, nose and mouth
in separate cell rows; one normalisation per face (see the HOG constants) keeps flat skin small.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from emotion.errors import BadInputError, ConfigError
from emotion.features.audio import require_file
from emotion.features.video import VIDEO_FPS

# Bump when a change here changes the numbers produced: old cache entries stop matching.
FACE_FEATURE_VERSION = 1
FACE_SIZE = 48  # 48 x 48 grey: the FER-2013 face size, enough for brow/eye/mouth shape at 8 px cells

# HOG layout: a 6 x 6 grid of cells over the face, 6 unsigned orientation bins of 30 degrees (Dalal &
# Triggs lose little going from 9 to 6), and ONE block spanning the whole face, i.e. one L2-Hys
# normalisation per frame. Usual 2 x 2-cell blocks rescale every block to unit norm, which turns the
# noise of flat skin (cheeks, forehead, compression grain) into full-strength histograms; on our
# synthetic clips that made two speakers differ more than two emotions. Normalising once keeps flat
# cells small next to brows, eyes and mouth, still removes overall contrast (lighting, skin tone),
# and Hys clipping at 0.2 stops one strong edge (face outline, hair) from swamping the rest. OpenCV
# weights the block with a Gaussian (sigma = face_size / 4), a soft mask on the inner face.
# D = 36 cells x 6 bins = 216, the same for any face_size that is a multiple of 6.
HOG_CELLS = 6  # cells per side
HOG_BINS = 6
FACE_FEATURE_DIM = HOG_CELLS * HOG_CELLS * HOG_BINS  # 216

DETECT_EVERY = 5  # cascade on every 5th target frame (5x a second at 25 fps): a seated face moves little in 0.2 s
WORK_WIDTH = 640  # wider frames are shrunk first (720p: 4x fewer pixels); a face 1/3 of the height stays 120 px
DETECT_WIDTH = 320  # the cascade sees a further-shrunk copy (that face: 60 px, above its 24 px window), 4x cheaper
HAAR_CASCADE = "haarcascade_frontalface_default.xml"  # ships inside opencv-python(-headless) 4.x
HAAR_SCALE_FACTOR = 1.1  # OpenCV's default pyramid step
HAAR_MIN_NEIGHBORS = 5  # stricter than the default 3: fewer false boxes on hair, clothes, background
MIN_FACE_FRACTION = 0.15  # ignore boxes under 15% of the frame's shorter side: both corpora are close-ups
TRACK_MARGIN = 0.5  # after a hit, search the last box grown by half its size per side (faces move little in 0.2 s)
TRACK_SCALE = 1.4  # ... for faces from 1/1.4 to 1.4x its size: a few pyramid levels instead of ~20
MAX_SOURCE_FPS = 240.0  # a header "rate" above this is a container timebase misread as a rate: ignored


@dataclass(frozen=True)
class FaceFeatures:
    features: np.ndarray  # (T, FACE_FEATURE_DIM) float32, T = round(duration * fps)
    face_found_ratio: float  # fraction of target frames whose box came from a successful detection


def face_feature_params(fps: float = VIDEO_FPS, face_size: int = FACE_SIZE) -> dict:
    """Everything that decides the numbers `extract_face_features` returns: the cache key's parameters."""
    return {"fps": float(fps), "face_size": int(face_size), "face_feature_version": FACE_FEATURE_VERSION}


@functools.lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    """The frontal-face cascade, loaded once per process (~30 ms to parse)."""
    path = Path(cv2.data.haarcascades) / HAAR_CASCADE
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"{path}: Haar cascade missing or unreadable (opencv-python 4.x ships it; 5.x does not)")
    return cascade


@functools.lru_cache(maxsize=8)
def _hog(face_size: int) -> cv2.HOGDescriptor:
    cell = face_size // HOG_CELLS
    whole = (face_size, face_size)  # window = block = stride: one block, one normalisation
    return cv2.HOGDescriptor(whole, whole, whole, (cell, cell), HOG_BINS)


def _shrink(gray: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """`gray` scaled down to at most `width` columns, and the scale factor applied (<= 1)."""
    height, current = gray.shape
    if current <= width:
        return gray, 1.0
    scale = width / current
    size = (width, max(1, int(round(height * scale))))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), scale


def _largest(gray: np.ndarray, min_side: int, max_side: int | None = None) -> tuple[int, int, int, int] | None:
    """The cascade's largest box (x, y, w, h) with a side in [min_side, max_side], or None."""
    sizes = {"minSize": (min_side, min_side)}
    if max_side is not None:
        sizes["maxSize"] = (max_side, max_side)
    boxes = _cascade().detectMultiScale(gray, HAAR_SCALE_FACTOR, HAAR_MIN_NEIGHBORS, **sizes)
    if len(boxes) == 0:
        return None
    return tuple(int(v) for v in max(boxes, key=lambda box: box[2] * box[3]))


def _detect(gray: np.ndarray, near: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int] | None:
    """Largest frontal face (x, y, w, h) in `gray`'s pixel coordinates, or None.

    With `near` (the last box) the cascade first searches only around it, for faces of about its size:
    ~7x cheaper than a whole-frame search, and it keeps to the same face. Not found there: whole frame.
    """
    small, scale = _shrink(gray, DETECT_WIDTH)
    height, width = small.shape
    found = None
    if near is not None:
        x, y, w, h = (v * scale for v in near)
        x0, y0 = max(0, int(x - TRACK_MARGIN * w)), max(0, int(y - TRACK_MARGIN * h))
        x1, y1 = min(width, int(x + (1 + TRACK_MARGIN) * w)), min(height, int(y + (1 + TRACK_MARGIN) * h))
        side = max(w, h)
        found = _largest(small[y0:y1, x0:x1], max(24, int(side / TRACK_SCALE)), max(24, int(side * TRACK_SCALE)))
        if found is not None:
            found = (found[0] + x0, found[1] + y0, found[2], found[3])
    if found is None:
        found = _largest(small, max(24, int(MIN_FACE_FRACTION * min(height, width))))  # 24 px: the cascade's window
    if found is None:
        return None
    return tuple(int(round(v / scale)) for v in found)


def _crop(gray: np.ndarray, box: tuple[int, int, int, int] | None, face_size: int) -> np.ndarray:
    """The box (or the centre square when None), clipped to the frame, as face_size^2.  # (S, S) uint8"""
    height, width = gray.shape
    if box is None:
        side = min(height, width)
        box = ((width - side) // 2, (height - side) // 2, side, side)
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    if x1 <= x0 or y1 <= y0:  # cannot happen for a detection inside the frame; guard anyway
        x0, y0, x1, y1 = 0, 0, width, height
    patch = gray[y0:y1, x0:x1]
    shrinking = patch.shape[0] > face_size
    return cv2.resize(patch, (face_size, face_size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _source_frames(
    capture: cv2.VideoCapture, path: Path, header_fps: float | None
) -> Iterator[tuple[float, np.ndarray | None]]:
    """(start time in s from the first frame, BGR frame) per decoded frame, then a last (end time, None).

    Times are the stream's timestamps; a missing or non-increasing one is replaced by the previous
    time + 1/header_fps. The last frame lasts the median frame interval (robust to a wrong header).
    """
    first = previous = None
    intervals: list[float] = []
    while True:
        ok, frame = capture.read()
        if not ok or frame is None:
            break
        stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if first is None:
            first = stamp if np.isfinite(stamp) else 0.0  # times count from the first frame shown
            start = 0.0
        else:
            start = stamp - first
            if not (np.isfinite(start) and start > previous):
                if header_fps is None:
                    raise BadInputError(path, "frame rate unreadable (no usable header rate or frame timestamps)")
                start = previous + 1.0 / header_fps
            intervals.append(start - previous)
        previous = start
        yield start, frame
    if previous is None:
        raise BadInputError(path, "no decodable video frames")
    if intervals:
        period = float(np.median(intervals))
    elif header_fps is not None:
        period = 1.0 / header_fps
    else:
        raise BadInputError(path, "frame rate unreadable (one frame and no usable header rate)")
    yield previous + period, None


def _resample(sources: Iterator[tuple[float, np.ndarray | None]], fps: float) -> Iterator[np.ndarray]:
    """Target frames at `fps`: for t = 0, 1, ... the source frame whose span holds (t + 0.5) / fps."""
    t = 0
    held = None  # the latest source frame: shown until the next one starts
    for start, frame in sources:
        while held is not None and (t + 0.5) / fps < start:
            yield held
            t += 1
        held = frame


def extract_face_features(path, fps: float = VIDEO_FPS, face_size: int = FACE_SIZE) -> FaceFeatures:
    """Per-frame HOG face descriptors of a video file (.mp4, .flv, .avi, anything FFmpeg decodes)."""
    if not fps > 0:
        raise ConfigError(f"parameter fps={fps!r}: must be > 0")
    if face_size < 2 * HOG_CELLS or face_size % HOG_CELLS:
        raise ConfigError(f"parameter face_size={face_size!r}: must be a multiple of {HOG_CELLS}, >= {2 * HOG_CELLS}")
    path = require_file(path)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise BadInputError(path, "not decodable as video (OpenCV/FFmpeg cannot open it)")
        header_fps = capture.get(cv2.CAP_PROP_FPS)
        header_fps = header_fps if np.isfinite(header_fps) and 0 < header_fps <= MAX_SOURCE_FPS else None
        hog = _hog(face_size)
        sources = _source_frames(capture, path, header_fps)
        descriptors: list[np.ndarray] = []  # (D,) per target frame, in order
        pending: list[np.ndarray] = []  # grey frames before the first detection, cropped once a box exists
        box = None
        found = last_ok = 0
        for t, frame in enumerate(_resample(sources, fps)):
            gray, _ = _shrink(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), WORK_WIDTH)  # (H, W) uint8
            if t % DETECT_EVERY == 0:
                detected = _detect(gray, near=box)
                last_ok = detected is not None
                if detected is not None:  # a missed detection keeps the last box: the face rarely vanishes
                    box = detected
            found += last_ok
            if box is None:
                pending.append(gray)
                continue
            for waiting in pending:
                descriptors.append(hog.compute(_crop(waiting, box, face_size)).ravel())
            pending.clear()
            descriptors.append(hog.compute(_crop(gray, box, face_size)).ravel())
        for waiting in pending:  # no face in the whole clip: centre squares
            descriptors.append(hog.compute(_crop(waiting, None, face_size)).ravel())
    finally:
        capture.release()

    if not descriptors:
        raise BadInputError(path, f"shorter than one frame at {fps:g} fps")
    features = np.stack(descriptors).astype(np.float32)  # (T, D)
    if not np.isfinite(features).all():
        raise BadInputError(path, "face features contain NaN or infinite values")
    return FaceFeatures(features, found / len(features))
