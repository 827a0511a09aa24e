"""Video file -> per-frame face features: frame grid, descriptor, face box, fallback, bad inputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion.corpus.labels import emotion_index
from emotion.data.synthetic_video import draw_face_speaker, read_video_frame_count, write_face_video
from emotion.errors import BadInputError, ConfigError
from emotion.features.face import FACE_FEATURE_DIM, extract_face_features
from emotion.features.video import VIDEO_FPS


def syllables(n_frames: int, fps: float = VIDEO_FPS, rate: float = 4.0) -> np.ndarray:
    """An audio-like syllable envelope sampled at the video frame centres.  # (n_frames,) in [0, 1]"""
    centres = (np.arange(n_frames) + 0.5) / fps
    return np.sin(np.pi * rate * centres) ** 2


def write_frames(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """Write BGR frames with the codec the suffix implies (.avi MJPG, .mp4 mp4v)."""
    fourcc = {".avi": "MJPG", ".mp4": "mp4v"}[path.suffix]
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


@pytest.mark.parametrize("suffix", [".avi", ".mp4", ".flv"])
def test_synthetic_video_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    path = write_face_video(tmp_path / f"clip{suffix}", syllables(30), emotion_index("happy"), rng)
    assert read_video_frame_count(path) == 30
    assert path.stat().st_size < 100_000  # small enough to sit next to every corpus clip
    result = extract_face_features(path)
    assert result.features.shape == (30, FACE_FEATURE_DIM)  # 25 fps in, 25 fps out: one frame each
    assert result.features.dtype == np.float32
    assert np.isfinite(result.features).all()
    assert result.features.std(axis=0).max() > 0  # frames differ: the mouth moves with the syllables
    assert result.face_found_ratio > 0.5  # the drawn face goes through the Haar face-box path


@pytest.mark.parametrize("source_fps, n_frames", [(30.0, 37), (29.97, 111), (12.5, 15)])
def test_resampled_to_the_audio_frame_grid(tmp_path, source_fps, n_frames):
    """Frames t/25 s apart whatever the source rate: T = round(duration * 25), duration = frames / rate."""
    rng = np.random.default_rng(1)
    activity = syllables(n_frames, fps=source_fps)
    path = write_face_video(tmp_path / "clip.mp4", activity, emotion_index("angry"), rng, fps=source_fps)
    features = extract_face_features(path).features
    duration = n_frames / source_fps
    assert abs(len(features) - round(duration * VIDEO_FPS)) <= 1
    if source_fps == 30.0:
        assert len(features) == 31  # 37 / 30 s = 1.233 s -> 30.8 frames of 40 ms


def test_frames_taken_at_target_frame_centres(tmp_path):
    """Each source frame shows its index as brightness; 30 -> 25 fps keeps the frame shown at (t + 0.5) / 25."""
    frames = [np.full((48, 48, 3), 0, np.uint8) for _ in range(30)]
    for i, frame in enumerate(frames):
        frame[:, : 8 * (i % 6)] = 255  # a vertical edge whose position encodes i mod 6
    path = write_frames(tmp_path / "index.avi", frames, 30.0)
    features = extract_face_features(path).features  # (25, D)
    expected = [int((t + 0.5) / 25 * 30) for t in range(25)]  # source frame holding each centre
    reference = extract_face_features(write_frames(tmp_path / "expected.avi", [frames[i] for i in expected], 25.0))
    np.testing.assert_allclose(features, reference.features, atol=1e-6)


def test_emotion_changes_the_descriptor_more_than_the_speaker(tmp_path):
    """Clip-mean descriptors: every pair of emotions is further apart than one emotion on two speakers."""
    rng = np.random.default_rng(2)
    speakers = [draw_face_speaker(rng) for _ in range(2)]
    activity = syllables(30)
    emotions = ("happy", "sad", "angry", "surprised")
    mean = {}  # (speaker, emotion) -> (D,)
    for s, speaker in enumerate(speakers):
        for emotion in emotions:
            path = tmp_path / f"{s}_{emotion}.mp4"
            write_face_video(path, activity, emotion_index(emotion), rng, speaker=speaker)
            mean[s, emotion] = extract_face_features(path).features.mean(axis=0)
    same_emotion = [np.linalg.norm(mean[0, e] - mean[1, e]) for e in emotions]
    pairs = [(a, b) for i, a in enumerate(emotions) for b in emotions[i + 1 :]]
    other_emotion = [np.linalg.norm(mean[s, a] - mean[s, b]) for s in (0, 1) for a, b in pairs]
    assert max(same_emotion) < min(other_emotion), (same_emotion, other_emotion)
    assert np.mean(other_emotion) > 1.5 * np.mean(same_emotion), (same_emotion, other_emotion)


def bands_and_sides(side_pattern: int) -> np.ndarray:
    """A 96 x 64 frame: horizontal bands in the centre 64 x 64 square, side strips that differ by pattern."""
    frame = np.full((64, 96, 3), 90, np.uint8)  # (H, W, 3)
    frame[16:32, 16:80] = 200
    frame[40:48, 16:80] = 30
    sides = np.zeros((64, 16), np.uint8)
    sides[:, side_pattern % 2 :: 2 + side_pattern] = 255  # vertical stripes, a different set per pattern
    frame[:, :16] = sides[..., None]
    frame[:, 80:] = sides[..., None]
    return frame


def test_no_face_falls_back_to_the_centre_square(tmp_path):
    a = extract_face_features(write_frames(tmp_path / "a.avi", [bands_and_sides(0)] * 10, 25.0))
    b = extract_face_features(write_frames(tmp_path / "b.avi", [bands_and_sides(1)] * 10, 25.0))
    assert a.face_found_ratio == 0.0 and b.face_found_ratio == 0.0
    assert a.features.shape == (10, FACE_FEATURE_DIM)
    # Only the centre square is described: the side strips (MJPG blocks of their own) change nothing.
    np.testing.assert_allclose(a.features, b.features, atol=1e-6)
    whole = cv2.HOGDescriptor((48, 48), (48, 48), (48, 48), (8, 8), 6)
    side_view = whole.compute(cv2.resize(cv2.cvtColor(bands_and_sides(0), cv2.COLOR_BGR2GRAY), (48, 48))).ravel()
    assert np.linalg.norm(a.features[0] - side_view) > 0.1  # the whole frame would have given other numbers


pytestmark = pytest.mark.xdist_group("test_face_features")  # its module fixtures run once, on one worker


@pytest.fixture(scope="module")
def real_face() -> np.ndarray:
    """A real photographed face shipped with matplotlib (Grace Hopper), on a wider grey canvas.  # (300, 400, 3)"""
    cbook = pytest.importorskip("matplotlib.cbook")
    image = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    if image is None:
        pytest.skip("matplotlib sample image grace_hopper.jpg not installed")
    canvas = np.full((300, 400, 3), 128, np.uint8)
    canvas[:, 72:328] = cv2.resize(image, (256, 300), interpolation=cv2.INTER_AREA)
    return canvas


def test_real_face_box_cadence_and_backfill(tmp_path, real_face):
    """7 blank frames, then 13 of a face: detections run at frames 0, 5 (no face), 10, 15 (face)."""
    blank = np.full_like(real_face, 128)
    path = write_frames(tmp_path / "late_face.avi", [blank] * 7 + [real_face] * 13, 25.0)
    result = extract_face_features(path)
    assert result.features.shape == (20, FACE_FEATURE_DIM)
    assert result.face_found_ratio == pytest.approx(10 / 20)  # frames governed by the detections at 10 and 15
    # Frames 7-9 show the face before any detection found it: they get the first box (from frame 10),
    # so they match frames 10-14 (same image, same box) exactly; a centre-square fallback would not.
    for t in (7, 9, 14):
        np.testing.assert_allclose(result.features[t], result.features[10], atol=1e-6)
    face_only = extract_face_features(write_frames(tmp_path / "face.avi", [real_face] * 5, 25.0))
    assert face_only.face_found_ratio == 1.0


def assert_one_line_error(err: pytest.ExceptionInfo, path: Path, reason: str) -> None:
    message = str(err.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert reason in message


def test_bad_inputs_raise_one_line_errors(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(BadInputError) as err:
        extract_face_features(missing)
    assert_one_line_error(err, missing, "not found")

    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(BadInputError) as err:
        extract_face_features(empty)
    assert_one_line_error(err, empty, "empty")

    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(BadInputError) as err:
        extract_face_features(text)
    assert_one_line_error(err, text, "decodable")
    with pytest.raises(BadInputError) as err:
        read_video_frame_count(text)
    assert_one_line_error(err, text, "decodable")


def test_bad_parameters(tmp_path):
    path = write_face_video(tmp_path / "clip.avi", syllables(5), 0, np.random.default_rng(3))
    with pytest.raises(ConfigError, match="face_size"):
        extract_face_features(path, face_size=50)
    with pytest.raises(ConfigError, match="fps"):
        extract_face_features(path, fps=0)
    with pytest.raises(ValueError, match="activity"):
        write_face_video(tmp_path / "bad.avi", np.array([0.5, 1.5]), 0, np.random.default_rng(3))
    with pytest.raises(ValueError, match="suffix"):
        write_face_video(tmp_path / "bad.mkv", syllables(5), 0, np.random.default_rng(3))
