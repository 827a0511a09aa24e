"""Every kind of bad input in one corpus folder: each has one defined outcome, checked here.

Processed kinds give features close to their good source clip; skipped kinds appear in the build report
with their reason; no good clip is dropped; the same folder through the real command line trains with
no traceback and leaves no half-written cache file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest

from bad_inputs import Kind, write_catalogue
from conftest import half_written, subprocess_env
from emotion.config import DataConfig, FeatureConfig
from emotion.data.synthetic import ensure_builtin_corpus
from emotion.data.dataset import prepare_corpus
from emotion.features.audio import extract_audio_features

N_GOOD = 360  # the built-in corpus: 12 actors x 30 clips


pytestmark = pytest.mark.xdist_group("test_bad_input_catalogue")  # its module fixtures run once, on one worker


@pytest.fixture(scope="module")
def catalogue(cache_dir, tmp_path_factory) -> tuple[Path, list[Kind]]:
    root = tmp_path_factory.mktemp("catalogue")
    return root, write_catalogue(ensure_builtin_corpus(cache_dir), root)


def _close(features: np.ndarray, reference: np.ndarray) -> float:
    """Correlation of two clips' log-mels over their common frames."""
    n = min(len(features), len(reference))
    return float(np.corrcoef(features[:n].ravel(), reference[:n].ravel())[0, 1])


def test_the_catalogue_has_at_least_20_kinds(catalogue):
    _, kinds = catalogue
    assert len({k.name for k in kinds}) >= 20
    assert {k.outcome for k in kinds} == {"processed", "skipped"}


def test_every_kind_has_its_defined_outcome_and_no_good_clip_is_lost(catalogue, cache_dir, tmp_path):
    root, kinds = catalogue
    can_read_locked = os.access(next(k.path for k in kinds if k.name == "unreadable file"), os.R_OK)  # root can
    corpus = prepare_corpus(DataConfig(data_dir=str(root), modalities="audio+video"), FeatureConfig(), cache_dir)
    used = {str(p) for p in corpus.manifest["audio_path"]} | {str(p) for p in corpus.manifest["video_path"]}
    reasons = dict(corpus.skipped)
    position = {p: i for i, p in enumerate(corpus.manifest["audio_path"])}

    for kind in kinds:
        if kind.name == "unreadable file" and can_read_locked:
            continue  # checked without root's read-anything capability in the command-line test below
        if kind.outcome == "skipped":
            assert str(kind.path) not in used, kind.name
            assert kind.reason in reasons.get(str(kind.path), ""), f"{kind.name}: {reasons.get(str(kind.path))!r}"
            assert "\n" not in reasons[str(kind.path)]
        else:
            assert str(kind.path) in position, f"{kind.name} was not used: {reasons.get(str(kind.path))}"
            features = corpus.features["audio"][position[str(kind.path)]]
            reference = extract_audio_features(kind.source, FeatureConfig())
            assert np.isfinite(features).all() and abs(len(features) - len(reference)) <= 1, kind.name
            if kind.name in ("8 kHz", "8-bit PCM", "clipped"):
                # Lossy kinds (no content above 4 kHz, quantisation noise, distortion): closer to their own
                # source than to any other clip of the same actor, over the bands they keep.
                bands = slice(0, 20) if kind.name == "8 kHz" else slice(None)
                others = [
                    extract_audio_features(p, FeatureConfig())
                    for p in sorted(kind.source.parent.glob("*.wav"))[:8]
                    if p != kind.source
                ]
                own = _close(features[:, bands], reference[:, bands])
                assert all(own > _close(features[:, bands], o[:, bands]) for o in others), kind.name
            else:
                assert _close(features, reference) > 0.99, kind.name

    exact = {"32-bit float", "stereo", "6 channels", "header claims more data than the file holds"}
    for kind in (k for k in kinds if k.name in exact):  # the same samples decoded: the same numbers
        np.testing.assert_allclose(
            corpus.features["audio"][position[str(kind.path)]],
            extract_audio_features(kind.source, FeatureConfig()),
            atol=1e-5,
        )

    good = [p for p in root.rglob("*.wav") if p.is_symlink() and p.exists() and "Actor_" in str(p.parent)]
    assert len(good) == N_GOOD and all(str(p) in position for p in good)  # no good clip dropped
    processed = sum(k.outcome == "processed" for k in kinds)
    assert len(corpus.labels) == N_GOOD + processed + can_read_locked  # root reads the locked clip: one more
    assert not half_written(cache_dir, os.getpid())  # every cache entry written whole


def _without_root_read_override(command: list[str]) -> list[str]:
    """As root, drop the capabilities that read any file, so a mode-000 file is unreadable as for a user."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


@pytest.mark.slow
def test_the_command_line_trains_on_the_catalogue_without_a_traceback(catalogue, cache_dir, tmp_path):
    root, kinds = catalogue
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    command = [
        sys.executable,
        "-m",
        "emotion.cli",
        "train",
        "no_aug",
        f"data_dir={root}",
        "modalities=audio+video",
        "epochs=1",
        "audio_units_1=16",
        "audio_units_2=8",
        "video_units_1=16",
        "video_units_2=8",
    ]
    # Popen, not run: the half-written check below needs the child's pid (setpriv execs, keeping it)
    proc = subprocess.Popen(
        _without_root_read_override(command),
        env=subprocess_env(cache_dir, uri),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr + stdout

    mlflow.set_tracking_uri(uri)
    (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    report = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/build_report.txt")
    reported = dict(line.split("\t", 1) for line in report.splitlines()[2:])
    for kind in (k for k in kinds if k.outcome == "skipped"):
        reason = kind.reason
        assert reason in reported.get(str(kind.path), ""), f"{kind.name}: {reported.get(str(kind.path))!r}"
    assert int(run.data.params["n_clips"]) == N_GOOD + sum(k.outcome == "processed" for k in kinds)
    assert not half_written(cache_dir, proc.pid)
