"""The command line: bad variants, parameters and folders are one-line errors with a non-zero exit."""

import subprocess
import sys

import pytest

from conftest import subprocess_env


@pytest.mark.parametrize(
    "args, expected",
    [
        (["train", "nope"], "error: unknown variant 'nope'"),
        (["train", "no_aug", "epochz=3"], "error: unknown parameter(s) epochz"),
        (["train", "no_aug", "epochs"], "error: argument 'epochs': expected name=value"),
        (
            ["train", "no_aug", "data_dir=/definitely/not/here"],
            "error: /definitely/not/here: corpus folder does not exist",
        ),
        (["manifest", "/definitely/not/here"], "error: /definitely/not/here: corpus folder does not exist"),
        (["train", "no_aug", "min_clip_seconds=-1"], "error: parameter min_clip_seconds=-1.0: must be >= 0"),
        # an output that cannot be written: refused before the corpus, the encoder or the model loads
        (["features", "{tmp}/a-file"], "error: {tmp}/a-file: is a file; the features output must be a folder"),
        (
            ["predict", "models:/emotion@champion", "{tmp}", "--output", "{tmp}/no/such/x.csv"],
            "error: {tmp}/no/such/x.csv: the folder {tmp}/no/such does not exist",
        ),
    ],
)
def test_user_errors_are_one_line(args, expected, tmp_path):
    (tmp_path / "a-file").write_text("in the way")
    args, expected = [a.format(tmp=tmp_path) for a in args], expected.format(tmp=tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "emotion.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=subprocess_env(tmp_path, f"sqlite:///{tmp_path}/mlflow.db"),
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert lines and lines[0].startswith(expected), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_manifest_command_summarises_a_folder(tmp_path, cache_dir):
    from emotion.data.synthetic import ensure_builtin_corpus

    root = ensure_builtin_corpus(cache_dir)
    out = tmp_path / "manifest.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "emotion.cli", "manifest", str(root), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ravdess" in proc.stdout and out.exists()
    assert len(out.read_text().splitlines()) == 1 + 360
