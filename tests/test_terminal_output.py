"""What a user's terminal shows: no TensorFlow start-up noise without a GPU, progress off a TTY."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from emotion.features.progress import QUIET_SECONDS, progress
from emotion.quiet_tensorflow import NVIDIA_DRIVER, real_lines

STARTUP_NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796193702.795650    8422 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.\n"  # noqa: E501 -- verbatim
    "E0000 00:00:1796193714.880296    8422 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"  # noqa: E501 -- verbatim
)
REAL_WARNING = (
    "W0000 00:00:1796193714.880296    8422 op_level_cost_estimator.cc:699] Error in PredictCost() for the op\n"
)


def test_the_filter_drops_the_start_up_lines_and_keeps_a_real_warning():
    assert real_lines(STARTUP_NOISE + REAL_WARNING + "UserWarning: something the user must see\n") == (
        REAL_WARNING + "UserWarning: something the user must see\n"
    )


@pytest.mark.skipif(NVIDIA_DRIVER.exists(), reason="an NVIDIA driver is present: CUDA lines there are real and kept")
def test_importing_tensorflow_through_emotion_prints_nothing_without_a_gpu():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # what a user's shell has
    code = "import emotion.experiment.train, tensorflow as tf; tf.constant(1.0) + 1; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "ok\n"
    assert proc.stderr == "", proc.stderr[-2000:]


def test_the_user_s_log_level_is_kept():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    code = "import os, emotion; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.stdout == "0\n"


class _Clock:
    """A clock the test moves: each clip below takes a second."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(n_clips: int, desc: str, stream) -> list[int]:
    clock, seen = _Clock(), []
    for clip in progress(range(n_clips), desc, stream=stream, clock=clock):
        clock.now += 1.0  # the work on this clip
        seen.append(clip)
    return seen


def test_off_a_terminal_a_long_pass_prints_a_line_every_tenth():
    stream = io.StringIO()  # not a TTY, as in CI or an EC2 log
    assert _run(200, "whisper features", stream) == list(range(200))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0] == "whisper features: 20/200 clips (10%), 1.0 clips/s, 3 min 00 s left"
    assert lines[-1] == "whisper features: 200/200 clips (100%), 1.0 clips/s, 0 s left"


def test_a_lazy_pass_with_its_total_reports_before_the_iterator_is_drained():
    stream, clock, pulled = io.StringIO(), _Clock(), []

    def arriving():  # results coming back from worker threads, one a second
        for clip in range(100):
            pulled.append(clip)
            clock.now += 1.0
            yield clip

    for clip in progress(arriving(), "whisper frames", stream=stream, clock=clock, total=100):
        if clip == 10:  # the 10% line is written once the tenth clip is done
            assert len(pulled) == 11  # not drained up front
            assert stream.getvalue() == "whisper frames: 10/100 clips (10%), 1.0 clips/s, 1 min 30 s left\n"


def test_a_pass_shorter_than_the_quiet_time_prints_nothing():
    stream = io.StringIO()
    clips = int(QUIET_SECONDS) - 2  # done before QUIET_SECONDS have passed
    assert _run(clips, "features", stream) == list(range(clips))
    assert stream.getvalue() == ""


def test_on_a_terminal_it_is_a_bar():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    assert list(progress(range(30), "features", stream=stream)) == list(range(30))
    assert "\r" in stream.getvalue() and "30/30" in stream.getvalue()
