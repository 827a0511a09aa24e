"""A clip's frames cut into a fixed number of contiguous segments: shared by the segment features
(emotion/features/cnn.py) and the prosody / voice-quality columns beside them (prosody.py)."""

from __future__ import annotations


def segment_bounds(n_frames: int, n_segments: int) -> list[tuple[int, int]]:
    """(start, stop) frame ranges of `n_segments` contiguous, near-equal segments covering all frames.

    With fewer frames than segments each range still holds one frame, so frames repeat across segments.
    """
    if n_frames < 1 or n_segments < 1:
        raise ValueError(f"need at least one frame and one segment, got {n_frames} frames, {n_segments} segments")
    # Integer arithmetic, not linspace: exact edges, so equal-length clips always split the same way.
    starts = [i * n_frames // n_segments for i in range(n_segments + 1)]  # (n_segments + 1,) frame edges
    return [(a, max(b, a + 1)) for a, b in zip(starts[:-1], starts[1:])]  # a <= n_frames - 1 always
