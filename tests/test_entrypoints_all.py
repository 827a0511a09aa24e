"""Every MLproject entry point through the real `mlflow run` on the built-in corpus (short settings)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from conftest import ROOT, subprocess_env
from emotion.config import VARIANTS
from emotion.corpus.labels import EMOTIONS
from emotion.quiet_tensorflow import NOISE, NVIDIA_DRIVER

pytestmark = pytest.mark.slow

# 6 actors and 1 epoch: wiring, not accuracy (tests/test_entrypoint_no_aug.py checks no_aug in depth)
SHORT = ["-P", "max_actors=6", "-P", "epochs=1"]
SMALL_MULTIMODAL = "audio_units_1=16 audio_units_2=8 video_units_1=16 video_units_2=8"  # CPU time in CI


def _mlflow_run(entry: str, params: list[str], cache_dir, tmp_path) -> tuple[MlflowClient, list]:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    command = ["mlflow", "run", str(ROOT), "-e", entry, "--env-manager", "local", "--experiment-name", entry, *params]
    proc = subprocess.run(
        command, env=subprocess_env(cache_dir, uri), capture_output=True, text=True, timeout=900, cwd=tmp_path
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    if not NVIDIA_DRIVER.exists():  # no TensorFlow start-up lines or CUDA probe errors on a GPU-less machine
        assert not [line for line in proc.stderr.splitlines() if NOISE.search(line)], proc.stderr[-4000:]
    # Keras' two warnings at a fit on a dataset of unknown length (emotion.data.pipeline sizes it)
    assert "ran out of data" not in proc.stderr and "`shuffle=True` was passed" not in proc.stderr, proc.stderr[-4000:]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name(entry).experiment_id])
    return client, runs


# MLproject is rendered from the config (tests/test_packaging.py), so an entry point's wiring is the same
# for every variant. CI runs the two whose runs nothing else covers; the rest are extended: their
# training runs in the comparison, cv, features and kill/resume tests, whisper_lstm's in
# tests/test_whisper_champion.py, sync augmentation in tests/test_kill_resume.py.
CI_VARIANTS = ("aug", "wav2vec_attention")


@pytest.mark.parametrize(
    "variant",
    [v if v in CI_VARIANTS else pytest.param(v, marks=pytest.mark.extended) for v in VARIANTS if v != "no_aug"],
)
def test_variant_entry_point(variant, cache_dir, tmp_path):
    params = list(SHORT)
    if variant in ("aug", "sync_aug"):
        params += ["-P", f"extra={SMALL_MULTIMODAL}"]
    if variant == "whisper_lstm":  # the clip window (the 30-s one costs ~20x the encoder time); no Praat
        # columns (Praat's HNR alone is ~0.1 s a clip; tests/test_prosody.py covers them)
        params += [
            "-P",
            "whisper_window=clip",
            "-P",
            "whisper_model=tiny.en",  # its default tiny.en+base: tests/test_whisper_base.py
            "-P",
            "extra=lstm_units=16 prosody=false segment_deltas=false voice_quality=false",
        ]
    if variant == "wav2vec_attention":  # its defaults (Whisper frames, per speaker, XLA) but the clip window: CI time
        params += ["-P", "whisper_window=clip", "-P", "extra=lstm_units=16"]
    if variant == "cnn_lstm":  # its defaults but Praat's HNR (~0.1 s a clip; tests/test_prosody.py covers it)
        params += ["-P", "extra=voice_quality=false"]
    client, runs = _mlflow_run(variant, params, cache_dir, tmp_path)
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    run = runs[0]
    assert run.data.params["variant"] == variant
    assert 0.0 <= run.data.metrics["test_ua"] <= 1.0
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"normaliser.json", "build_report.txt", "figures"} <= artifacts
    assert len(client.search_logged_models(experiment_ids=[run.info.experiment_id])) == 1
    if variant == "wav2vec_attention":
        assert run.data.params["feature_kind"] == "whisper" and run.data.tags["xla"] == "on"
        assert run.data.tags["lstm_path"] == "generic (recurrent_dropout > 0 rules cuDNN out)"
        _answers_a_raw_clip(client, run, cache_dir, tmp_path)
    if variant in ("aug", "sync_aug"):
        assert run.data.params["augment"] == {"aug": "audio_only", "sync_aug": "sync"}[variant]
        assert "figures/attention_weights.png" in {a.path for a in client.list_artifacts(run.info.run_id, "figures")}


def _answers_a_raw_clip(client, run, cache_dir, tmp_path):
    """The logged pyfunc computes the Whisper frames itself from a clip's WAV bytes."""
    import mlflow
    import pandas as pd

    from emotion.data.synthetic import ensure_builtin_corpus

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")  # models:/<id> resolves on the global URI
    (logged,) = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    clip = sorted((ensure_builtin_corpus(cache_dir) / "Actor_01").glob("*.wav"))[0]
    answer = mlflow.pyfunc.load_model(logged.model_uri).predict(pd.DataFrame({"audio": [clip.read_bytes()]}))
    assert answer.loc[0, "error"] == "" and answer.loc[0, "label"] in EMOTIONS


# The structure (one parent, a child per variant, one split), not the variants: the two cheapest of
# each list (no_aug trains in depth in test_entrypoint_no_aug.py); HNR off (~0.1 s a clip, test_prosody.py)
@pytest.mark.parametrize(
    "entry, variants",
    [
        # the same compare() as cnn_compare
        pytest.param("main", ["cnn_lstm_simplified", "cnn_pooling"], marks=pytest.mark.extended),
        ("cnn_compare", ["cnn_lstm", "cnn_pooling"]),
    ],
)
def test_comparison_entry_points_make_one_parent_with_a_child_per_variant(entry, variants, cache_dir, tmp_path):
    params = ["-P", "max_actors=6", "-P", "extra=epochs=1 voice_quality=false", "-P", f"variants={','.join(variants)}"]
    client, runs = _mlflow_run(entry, params, cache_dir, tmp_path)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    assert sorted(c.data.params["variant"] for c in children) == sorted(variants)
    assert all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    assert len({c.data.params["test_actors"] for c in children}) == 1, "all variants on the same split"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"leaderboard.json", "leaderboard.csv", "leaderboard.md"} <= artifacts
    assert parent.data.tags["best_variant"] in variants
    best = max(children, key=lambda c: c.data.metrics["test_ua"])
    assert parent.data.metrics["best_test_ua"] == pytest.approx(best.data.metrics["test_ua"])


def test_features_entry_point_writes_a_folder_the_cnn_variants_train_on(cache_dir, tmp_path):
    folder = tmp_path / "feats"
    _mlflow_run("features", ["-P", f"output={folder}"], cache_dir, tmp_path)
    files = sorted(folder.glob("*.npy"))
    assert len(files) == 360 and (folder / "features.json").exists()
    # plant two unusable files among the 6 actors the run keeps (actor = the stem's last field)
    first_actors = sorted({f.stem.split("-")[-1] for f in files})[:6]
    kept = [f for f in files if f.stem.split("-")[-1] in first_actors]
    kept[0].write_bytes(b"not an array")
    np.save(kept[1], np.zeros(7, np.float32))  # 1-D: not a (frames, features) sequence
    second = tmp_path / "second"
    second.mkdir()
    client, runs = _mlflow_run("cnn_pooling", [*SHORT, "-P", f"feature_dir={folder}"], cache_dir, second)
    params = runs[0].data.params
    assert params["feature_dir"] == str(folder) and runs[0].info.status == "FINISHED"
    assert int(params["n_clips"]) == len(kept) - 2
    # the two planted files, and every file of the actors left out by max_actors (listed, not fatal)
    assert int(params["n_skipped"]) == 2 + (len(files) - len(kept))
    report = Path(client.download_artifacts(runs[0].info.run_id, "build_report.txt", str(second))).read_text()
    assert f"{kept[0]}\tnot a readable .npy" in report
    assert f"{kept[1]}\texpected a 2-D (frames, features) array, got shape (7,)" in report


def test_no_aug_on_real_video_files_through_face_features(cache_dir, tmp_path):
    """video_source=files: the built-in corpus's .mp4 files go through OpenCV face detection + HOG."""
    from emotion.features.face import FACE_FEATURE_DIM

    client, runs = _mlflow_run(
        "no_aug", [*SHORT, "-P", f"extra=video_source=files {SMALL_MULTIMODAL}"], cache_dir, tmp_path
    )
    params = runs[0].data.params
    assert params["modalities_used"] == "audio+video"
    assert int(params["video_dim"]) == FACE_FEATURE_DIM, "video features must come from the video files"
    assert int(params["n_skipped"]) == 0


def test_cv_entry_point_one_child_per_fold_and_a_summary(cache_dir, tmp_path):
    params = ["-P", "variant=cnn_pooling", "-P", "cv_folds=3", "-P", "max_actors=6", "-P", "extra=epochs=2"]
    client, runs = _mlflow_run("cv", params, cache_dir, tmp_path)
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    folds = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.info.run_name for r in folds) == [
        "cnn_pooling-builtin-fold-0",
        "cnn_pooling-builtin-fold-1",
        "cnn_pooling-builtin-fold-2",
    ]
    tested = [a for r in folds for a in r.data.params["test_actors"].split(",")]
    assert len(tested) == len(set(tested)) == 6, "every actor is tested exactly once"
    uas = [r.data.metrics["test_ua"] for r in folds]
    assert parent.data.metrics["cv_ua_mean"] == pytest.approx(sum(uas) / 3)
    assert parent.data.metrics["cv_ua_std"] == pytest.approx(float(np.std(uas, ddof=1)))  # the folds' sample sd
    # what settings are chosen on: the validation actors' UA, never the test folds'
    assert parent.data.metrics["cv_val_ua_mean"] == pytest.approx(sum(r.data.metrics["val_ua"] for r in folds) / 3)
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"folds.json", "summed_confusion_matrix.json"} <= artifacts
