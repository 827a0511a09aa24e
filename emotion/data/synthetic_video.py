"""Synthetic talking-face video files: a drawn face whose expression depends on the emotion.

What a clip shows (so face features computed from it mean something):
- a face-shaped ellipse with eyes, brows and a mouth; the emotion (`pattern_id`, the index into
  `emotion.corpus.labels.EMOTIONS`) sets eye size, brow height and tilt, mouth width, opening and
  smile (table `EXPRESSIONS`);
- per frame, `activity` (the audio's syllable envelope at that frame's time, in [0, 1]) opens the
  mouth and strengthens the expression, so the video moves with the audio it belongs to;
- the speaker (`FaceSpeaker`: position, size, skin tone, backdrop, eye spacing) varies between
  actors, plus a little head jitter and pixel noise per frame. On the dark backdrop OpenCV's Haar
  frontal-face cascade finds these drawn faces, so synthetic clips take the face-box path of real video.
Drawn at SUPERSAMPLE x the output size and shrunk with area averaging: sub-pixel geometry, so small
expression changes still change the pixels of a 64 x 64 frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion.errors import BadInputError
from emotion.features.audio import require_file
from emotion.features.video import VIDEO_FPS

FRAME_SIZE = 64  # 64 x 64: room for a 48 x 48 face crop; a 30-frame clip is ~22 kB as .mp4, ~50 kB as .avi
SUPERSAMPLE = 4  # draw at 4x and area-average down: quarter-pixel geometry, anti-aliased edges
NOISE_STD = 6.0  # pixel noise (0-255 scale): a camera-like grain, well below the drawn contrasts
HEAD_JITTER = 0.012  # per-frame head shift, fraction of the frame: a talking head is never still
REST = 0.6  # expression strength at activity 0: faces keep their expression between syllables

# Suffix -> FourCC, each one the opencv-python wheel both writes and reads back (tests/test_face_features.py).
# .mp4 (MPEG-4 Part 2) is the default choice: RAVDESS's container, the smallest files; the wheel has no
# H.264 encoder. .avi MJPG is intra-only and also decodes without FFmpeg. .flv FLV1 is CREMA-D's codec
# (Sorenson H.263; FFmpeg prints a harmless "tag not supported, fallback" line when writing it).
FOURCC_BY_SUFFIX = {".avi": "MJPG", ".mp4": "mp4v", ".flv": "FLV1"}


@dataclass(frozen=True)
class Expression:
    eye_open: float  # eye height, 1 = neutral
    brow_raise: float  # brow lift, face-height units x 0.12; negative lowers (frown)
    brow_tilt: float  # inner brow end down (+, anger) or up (-, sadness/fear)
    mouth_width: float  # 1 = neutral
    mouth_open: float  # opening at rest, face-height units x 0.25
    smile: float  # mouth-corner lift (+) or drop (-)
    talk: float  # how far a syllable (activity 1) opens the mouth further


# One per EMOTIONS entry, in that order: the FACS-style cues of each basic emotion, exaggerated so
# two emotions differ more than two speakers do.
EXPRESSIONS = (
    Expression(1.0, 0.0, 0.0, 1.00, 0.10, 0.0, 0.35),  # neutral
    Expression(0.7, -0.1, 0.0, 0.95, 0.05, 0.3, 0.25),  # calm: relaxed lids, slight smile
    Expression(0.8, 0.2, 0.0, 1.35, 0.25, 1.0, 0.45),  # happy: wide smile, cheeks narrow the eyes
    Expression(0.7, 0.2, -0.8, 0.85, 0.05, -0.8, 0.20),  # sad: inner brows up, corners down
    Expression(1.1, -0.8, 1.0, 1.10, 0.30, -0.4, 0.55),  # angry: brows down and in, tense open mouth
    Expression(1.5, 0.9, -0.5, 1.05, 0.45, -0.3, 0.50),  # fearful: wide eyes, raised brows, stretched mouth
    Expression(0.55, -0.5, 0.5, 0.95, 0.15, -0.9, 0.30),  # disgust: narrowed eyes, lowered brows, corners down
    Expression(1.6, 1.2, 0.0, 0.75, 0.80, 0.0, 0.40),  # surprised: brows high, eyes and mouth round and open
)


@dataclass(frozen=True)
class FaceSpeaker:
    """One actor's look: the same for all of their clips when the caller passes it."""

    centre: tuple[float, float]  # face centre (x, y), fraction of the frame
    scale: float  # face size, 1 = 68% of the frame wide, 84% high
    skin: tuple[float, float, float]  # BGR 0-255
    background: float  # backdrop grey level 0-255
    eye_spacing: float  # 1 = eyes at +-0.4 face half-widths


def draw_face_speaker(rng: np.random.Generator) -> FaceSpeaker:
    """A random speaker: face placement, size and colours within what a frontal close-up shows."""
    tone = rng.uniform(0.35, 1.0)  # dark to light skin
    skin = (60 + 120 * tone, 90 + 120 * tone, 120 + 120 * tone)  # BGR: red > green > blue, like skin
    return FaceSpeaker(
        centre=(rng.uniform(0.47, 0.53), rng.uniform(0.47, 0.53)),  # +-2 px: actors sit where the camera points
        scale=rng.uniform(0.94, 1.06),  # head size and distance to the camera
        skin=skin,
        # A dark studio backdrop, always darker than the lit face: with a backdrop as light as the skin the
        # Haar cascade found these drawn faces in only a few frames, so crops switched between box and centre.
        background=rng.uniform(20, 80),
        eye_spacing=rng.uniform(0.94, 1.06),  # face geometry differs between people
    )


def _blend(neutral: Expression, target: Expression, amount: float) -> Expression:
    """Expression `amount` of the way from neutral to target (0 = neutral, 1 = the full expression)."""
    return Expression(*(n + amount * (t - n) for n, t in zip(vars(neutral).values(), vars(target).values())))


def draw_face_frame(
    size: int, speaker: FaceSpeaker, expression: Expression, talk: float, shift: tuple[float, float]
) -> np.ndarray:
    """One noise-free frame.  # (size, size, 3) uint8 BGR"""
    big = size * SUPERSAMPLE
    canvas = np.full((big, big, 3), speaker.background, dtype=np.uint8)  # (big, big, 3)
    skin = np.array(speaker.skin)
    # Brows, pupils, lips and eye whites are shades of the skin: the same relative contrast on any tone.
    ink = tuple(0.2 * skin)
    white = tuple(np.minimum(255.0, 1.3 * skin))
    pt = lambda x, y: (int(round(x)), int(round(y)))  # noqa: E731 -- canvas pixel coordinates
    cx = (speaker.centre[0] + shift[0]) * big
    cy = (speaker.centre[1] + shift[1]) * big
    a = 0.34 * big * speaker.scale  # face half-width
    b = 0.42 * big * speaker.scale  # face half-height
    cv2.ellipse(canvas, pt(cx, cy), pt(a, b), 0, 0, 360, speaker.skin, -1, cv2.LINE_AA)

    eye_y = cy - 0.22 * b
    for side in (-1, 1):
        eye_x = cx + side * 0.4 * a * speaker.eye_spacing
        eye_h = max(0.02 * b, 0.11 * b * expression.eye_open)
        cv2.ellipse(canvas, pt(eye_x, eye_y), pt(0.2 * a, eye_h), 0, 0, 360, white, -1, cv2.LINE_AA)
        cv2.circle(canvas, pt(eye_x, eye_y), int(round(min(0.09 * a, eye_h))), ink, -1, cv2.LINE_AA)
        brow_y = eye_y - 0.22 * b - 0.14 * b * expression.brow_raise
        inner = (eye_x - side * 0.24 * a, brow_y + 0.1 * b * expression.brow_tilt)
        outer = (eye_x + side * 0.26 * a, brow_y - 0.03 * b * expression.brow_tilt)
        cv2.line(canvas, pt(*inner), pt(*outer), ink, max(1, int(0.07 * b)), cv2.LINE_AA)

    # Mouth: upper and lower lip curves, corners lifted by the smile, the gap opened by talking.
    mouth_y = cy + 0.5 * b
    half_width = 0.4 * a * expression.mouth_width
    gap = 0.3 * b * max(0.0, expression.mouth_open + talk)
    xs = np.linspace(-1.0, 1.0, 21)
    lift = 0.16 * b * expression.smile * xs**2  # corners up (+) or down (-)
    upper = np.stack([cx + half_width * xs, mouth_y - lift - 0.5 * gap * (1 - xs**2)], axis=1)  # (21, 2)
    lower = np.stack([cx + half_width * xs, mouth_y - lift + 0.5 * gap * (1 - xs**2) + 0.03 * b], axis=1)
    outline = np.concatenate([upper, lower[::-1]]).round().astype(np.int32)  # (42, 2) closed lip outline
    cv2.fillPoly(canvas, [outline], tuple(skin * (0.3, 0.3, 0.5)), cv2.LINE_AA)
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)


def write_face_video(
    path,
    activity: np.ndarray,
    pattern_id: int,
    rng: np.random.Generator,
    fps: float = VIDEO_FPS,
    size: int = FRAME_SIZE,
    speaker: FaceSpeaker | None = None,
) -> Path:
    """Write one frame per `activity` value (in [0, 1]) to `path` (.avi, .mp4 or .flv); returns the path.

    `speaker=None` draws a new speaker from `rng`; pass one `FaceSpeaker` for all clips of an actor.
    """
    path = Path(path)
    activity = np.asarray(activity, dtype=np.float64)  # (T,)
    if activity.ndim != 1 or len(activity) == 0:
        raise ValueError(f"activity must be a non-empty 1-D array, got shape {activity.shape}")
    if not (np.isfinite(activity).all() and activity.min() >= 0.0 and activity.max() <= 1.0):
        raise ValueError("activity values must be finite and in [0, 1]")
    if not 0 <= pattern_id < len(EXPRESSIONS):
        raise ValueError(f"pattern_id={pattern_id}: expected 0..{len(EXPRESSIONS) - 1}")
    fourcc = FOURCC_BY_SUFFIX.get(path.suffix.lower())
    if fourcc is None:
        raise ValueError(f"{path}: unsupported video suffix; expected one of {', '.join(FOURCC_BY_SUFFIX)}")
    speaker = speaker if speaker is not None else draw_face_speaker(rng)

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), (size, size))
    if not writer.isOpened():
        raise OSError(f"{path}: this OpenCV build cannot write {fourcc} video")
    try:
        target = EXPRESSIONS[pattern_id]
        for level in activity:
            expression = _blend(EXPRESSIONS[0], target, REST + (1 - REST) * level)
            shift = tuple(rng.normal(scale=HEAD_JITTER, size=2))
            frame = draw_face_frame(size, speaker, expression, target.talk * level, shift)
            noisy = frame + rng.normal(scale=NOISE_STD, size=frame.shape)  # (size, size, 3)
            writer.write(np.clip(noisy, 0, 255).astype(np.uint8))
    finally:
        writer.release()
    return path


def read_video_frame_count(path) -> int:
    """Frames that actually decode (not the container's estimate, CAP_PROP_FRAME_COUNT)."""
    path = require_file(path)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise BadInputError(path, "not decodable as video")
        count = 0
        while capture.grab():  # grab() demuxes and decodes without the colour conversion of read()
            count += 1
    finally:
        capture.release()
    if count == 0:
        raise BadInputError(path, "no decodable video frames")
    return count
