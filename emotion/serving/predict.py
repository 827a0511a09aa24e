"""Using a logged or registered model: `predict` files and folders, `evaluate` on a labelled folder."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from emotion.serving import plots
from emotion.corpus.manifest import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS, VIDEO_FEATURE_SUFFIX, build_manifest
from emotion.errors import BadInputError, EmotionError
from emotion.metrics import classification_metrics
from emotion.serving.model_output import prediction_frame


def load_model(uri: str):
    """The pyfunc at `uri` (models:/name@alias, models:/<id>, runs:/..., a folder), or one clear line."""
    try:
        return mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as error:
        reason = " ".join(str(error).split())[:300]
        raise EmotionError(f"model {uri} could not be loaded from {mlflow.get_tracking_uri()}: {reason}") from None


def serve_command(model_uri: str, port: int, workers: int = 1) -> list[str]:
    """`mlflow models serve` for `model_uri` on loopback, in this environment (no conda / virtualenv build)."""
    command = [
        "mlflow",
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    return command + (["--workers", str(workers)] if workers != 1 else [])


def model_inputs(model) -> list[str]:
    return model.metadata.get_input_schema().input_names()


def model_classes(model) -> tuple[str, ...]:
    """The classes a loaded model predicts, in its order: its output schema's p_<label> columns."""
    names = model.metadata.get_output_schema().input_names()
    return tuple(name.removeprefix("p_") for name in names if name.startswith("p_"))


def audio_files(paths: list[str]) -> list[Path]:
    """Files as given, folders expanded to their audio files (sorted). A missing path, or a folder with
    no audio file, stays in the list as itself: it gets an error row with its reason, like a bad file."""
    found = []
    for item in map(Path, paths):
        inside = item.rglob("*") if item.is_dir() else ()
        found += sorted(p for p in inside if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()) or [item]
    return found


def check_output(output: str | None) -> None:
    """Before the first clip: the output's folder exists and takes a file, so no prediction is lost at the end."""
    if output is None:
        return
    target = Path(output)
    folder = target.parent
    if not folder.is_dir():
        raise BadInputError(target, f"the folder {folder} does not exist")
    if target.is_dir():
        raise BadInputError(target, "is a folder; give a file name ending .csv or .json")
    if not os.access(folder, os.W_OK):
        raise BadInputError(target, f"the folder {folder} is not writable")


def video_partner(audio: Path) -> Path | None:
    """The per-frame feature file or video file beside an audio file (same stem), RAVDESS 03 -> 01/02 too."""
    stems = [audio.stem]
    if audio.stem[:3] == "03-":  # RAVDESS: audio-only file; its video is the 01 or 02 file of the same recording
        stems += ["01-" + audio.stem[3:], "02-" + audio.stem[3:]]
    for stem in stems:
        for suffix in (VIDEO_FEATURE_SUFFIX, *VIDEO_EXTENSIONS):
            candidate = audio.with_name(stem + suffix)
            if candidate.is_file():
                return candidate
    return None


def _read(path: Path | None, what: str) -> bytes:
    """A file's bytes, or BadInputError with the real reason (missing partner, permission, ...)."""
    if path is None:
        raise BadInputError(what, "no .video.npy or video file beside this audio file")
    if path.is_dir():
        raise BadInputError(path, f"no audio files in this folder (looked for {' '.join(AUDIO_EXTENSIONS)})")
    if not path.exists():
        raise BadInputError(path, "no such file or folder")
    try:
        return path.read_bytes()
    except OSError as error:
        raise BadInputError(path, error.strerror or type(error).__name__) from None


def predict_files(model, files: list[Path], speakers: list[str] | None = None) -> pd.DataFrame:
    """One row per file: path, label, p_<emotion>, error (a bad file gets its reason, the rest go on).

    Files that cannot even be read (or lack the video an audio-visual model needs) never reach the
    model: MLflow's schema enforcement would reject the whole batch for one missing value.
    """
    wants_video = "video" in model_inputs(model)
    rows, errors = [], {}
    for i, path in enumerate(files):
        try:
            row = {"audio": _read(path, "audio")}
            if speakers is not None:  # models trained with normalisation=speaker group clips by it
                row["speaker"] = str(speakers[i])
            if wants_video:
                row["video"] = _read(video_partner(path), "video")
            rows.append(row)
        except BadInputError as error:
            errors[i] = str(error)
    predicted = iter(model.predict(pd.DataFrame(rows)).to_dict("records")) if rows else iter(())
    out = [{"label": "", "error": errors[i]} if i in errors else next(predicted) for i in range(len(files))]
    predictions = prediction_frame(out, model_classes(model))  # an error row's probabilities: None, null in JSON
    predictions.insert(0, "path", [str(p) for p in files])
    return predictions


def write_predictions(predictions: pd.DataFrame, output: str | None) -> None:
    """CSV on stdout, or the file (.json: records, error rows' probabilities null), written whole or not at all."""
    if output is None:
        print(predictions.to_csv(index=False), end="")
        return
    target = Path(output)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            if output.endswith(".json"):
                predictions.to_json(stream, orient="records", indent=2)
            else:
                predictions.to_csv(stream, index=False)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def evaluation_labels(labels: str, model_classes: tuple[str, ...]) -> tuple[str, ...]:
    """--labels angry,happy,neutral,sad -> those of the model's classes; one line for any other."""
    chosen = tuple(dict.fromkeys(name.strip().lower() for name in labels.split(",") if name.strip()))
    unknown = [name for name in chosen if name not in model_classes]
    if unknown:
        raise EmotionError(
            f"--labels {','.join(unknown)}: not a class of the model (its classes: {', '.join(model_classes)})"
        )
    if len(chosen) < 2:
        raise EmotionError(f"--labels {labels}: needs at least two classes to score")
    return chosen


def _labelled_clips(data: str, corpus: str, label_map: str, labels: tuple[str, ...], speaker_column: str = ""):
    """(manifest of the clips with audio whose label is scored, report with the rest and why)."""
    if Path(data).is_file():  # a manifest file (CSV / JSONL) rather than a corpus folder
        from emotion.corpus.manifest_file import manifest_from_file

        manifest, report = manifest_from_file(data, label_map, speaker_column)
    else:
        manifest, report = build_manifest(data, corpus)
    manifest = manifest[manifest["has_audio"]].reset_index(drop=True)
    other = ~manifest["emotion"].isin(labels)
    for path, label in zip(manifest.loc[other, "audio_path"], manifest.loc[other, "emotion"]):
        report.skipped.append((str(path), f"label {label!r} is not among the evaluated labels ({', '.join(labels)})"))
    if other.all():
        raise EmotionError(f"no clip of {data} has one of the evaluated labels ({', '.join(labels)})")
    return manifest[~other].reset_index(drop=True), report


def evaluate(
    model_uri: str, data_dir: str, corpus: str = "auto", labels: str = "", label_map: str = "", speaker_column: str = ""
) -> dict:
    """Score a model on a labelled folder or manifest file (any supported corpus and sample rate); logs a
    run. labels ("angry,happy,neutral,sad"): only clips of those classes, each predicted as the most
    probable of them (a cross-corpus evaluation over the classes two corpora share)."""
    model = load_model(model_uri)
    trained = model_classes(model)
    classes = evaluation_labels(labels, trained) if labels else trained
    manifest, report = _labelled_clips(data_dir, corpus, label_map, classes, speaker_column)
    started = time.perf_counter()
    predictions = predict_files(model, [Path(p) for p in manifest["audio_path"]], list(manifest["actor"].astype(str)))
    seconds = time.perf_counter() - started
    ok = (predictions["error"] == "").to_numpy()
    if not ok.any():
        raise EmotionError(f"no clip of {data_dir} could be scored; first error: {predictions['error'].iloc[0]}")
    y_true = np.array([classes.index(e) for e in manifest.loc[ok, "emotion"]])
    scores = predictions.loc[ok, [f"p_{e}" for e in classes]].to_numpy(dtype=float)  # (n ok, len(classes))
    y_pred = np.argmax(scores, axis=1)  # arg-max over the evaluated classes only
    metrics = classification_metrics(y_true, y_pred, classes)
    unmatched = [e for e in trained if e not in classes]  # the model's classes with no counterpart here
    with mlflow.start_run(run_name="evaluate") as run:
        mlflow.set_tags({"entry_point": "evaluate", "model_uri": model_uri})
        mlflow.log_params(
            {
                "model_uri": model_uri,
                "eval_data_dir": str(data_dir),
                "n_clips": len(manifest),
                "n_errors": int((~ok).sum()),
                "eval_labels": ",".join(classes),
                "eval_corpora": ",".join(sorted(manifest["corpus"].astype(str).unique())),
                "model_classes_unmatched": ",".join(unmatched) or "none",
            }
        )
        mlflow.log_metrics(
            {
                "eval_ua": metrics["ua"],
                "eval_wa": metrics["wa"],
                "eval_macro_f1": metrics["macro_f1"],
                "eval_seconds_per_clip": seconds / len(manifest),
                **{f"eval_recall_{k}": v for k, v in metrics["recall"].items() if not np.isnan(v)},
            }
        )
        confusion = pd.DataFrame(metrics["confusion"], index=list(classes), columns=list(classes))
        mlflow.log_table(confusion.rename_axis("true").reset_index(), "eval_confusion_matrix.json")
        figure = plots.confusion_figure(metrics["confusion"], classes, f"evaluate: UA {metrics['ua']:.3f}")
        mlflow.log_figure(figure, "figures/eval_confusion_matrix.png")
        plt.close(figure)
        mlflow.log_text(predictions.to_csv(index=False), "predictions.csv")
        mlflow.log_text(report.to_text(), "build_report.txt")
    print(
        f"evaluate {model_uri} on {data_dir}: UA {metrics['ua']:.3f}, WA {metrics['wa']:.3f}, macro-F1 "
        f"{metrics['macro_f1']:.3f} over {int(ok.sum())} clips ({int((~ok).sum())} errors); run {run.info.run_id}"
    )
    if unmatched and labels:
        print(f"model classes with no counterpart in the evaluated labels: {', '.join(unmatched)}")
    return {**metrics, "run_id": run.info.run_id, "n_errors": int((~ok).sum())}
