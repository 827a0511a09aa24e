"""`emotion` command line: train a variant, inspect a corpus. User errors are one line, never a traceback.

emotion train no_aug epochs=5 data_dir=/data/RAVDESS
emotion compare no_aug,cnn_pooling epochs=5
emotion manifest /data/RAVDESS
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from emotion.cloud.cli import add_commands
from emotion.config import CORPORA, parse_assignments
from emotion.errors import EmotionError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter hides the real output


def _require_tracking_server() -> None:
    """A tracking server that is down, or a malformed URI: one line within seconds, before any work
    (MLflow's own client retries for about four minutes, then prints a traceback)."""
    import mlflow

    from emotion.tracking.server import check_tracking_server

    check_tracking_server(mlflow.get_tracking_uri())


def _train(args) -> int:
    from emotion.config import build_config

    config = build_config(args.variant, parse_assignments(args.assignments))  # fail fast, before TensorFlow loads
    _require_tracking_server()
    import mlflow

    from emotion.experiment.train import train

    result = train(config)
    uri = mlflow.get_tracking_uri()
    test = result.test
    print(
        f"\nRun {result.run_id} ({config.variant}): test UA {test['ua']:.3f}, WA {test['wa']:.3f}, "
        f"macro-F1 {test['macro_f1']:.3f} on held-out speakers, {result.epochs_run} epochs, {result.seconds:.0f} s"
    )
    if result.unsynced is not None:  # the server went away: train() printed how to send the run later
        return 0
    run = mlflow.get_run(result.run_id)
    print(f"Logged to {uri} (experiment {run.info.experiment_id})")
    if uri.startswith(("sqlite:", "file:")) or "://" not in uri:
        print(f"Browse: mlflow ui --backend-store-uri {uri}   then open http://127.0.0.1:5000")
    else:
        print(f"Browse: {uri.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/{result.run_id}")
    return 0


def _compare(args) -> int:
    _require_tracking_server()
    from emotion.experiment.compare import compare, parse_variants

    variants = parse_variants(args.variants)
    compare(variants, parse_assignments(args.assignments), name=args.name)
    return 0


def _register(args) -> int:
    import dataclasses

    from emotion.serving.model_registry import RegisterSettings, register_best

    options = parse_assignments(args.assignments)
    known = {f.name for f in dataclasses.fields(RegisterSettings)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise EmotionError(f"unknown parameter(s) {', '.join(unknown)} for register; known: {', '.join(sorted(known))}")
    _require_tracking_server()
    force = options.pop("force", "false").strip("'\"").lower() in ("1", "true", "yes")
    options = {k: v.strip("'\"") or None for k, v in options.items()}  # MLproject quotes empty strings
    result = register_best(force=force, **options)
    print(result.message)
    return 0


REGISTRY_SCHEMES = ("models:", "runs:", "mlflow-artifacts:")  # model URIs resolved by the tracking server


def _predict(args) -> int:
    """Exit 0: every input got a prediction; 1: some rows are errors (each with its reason); 2: nothing ran."""
    import time

    from emotion.serving.predict import audio_files, check_output, load_model, predict_files, write_predictions

    check_output(args.output)  # before the first clip: a bad --output loses no work
    if args.model_uri.startswith(REGISTRY_SCHEMES):
        _require_tracking_server()
    files = audio_files(args.paths)
    model = load_model(args.model_uri)
    started = time.perf_counter()
    predictions = predict_files(model, files)
    seconds = time.perf_counter() - started
    write_predictions(predictions, args.output)
    errors = int((predictions["error"] != "").sum())
    print(f"{len(files)} rows, {errors} errors, {1000 * seconds / len(files):.1f} ms per clip", file=sys.stderr)
    return 1 if errors else 0


def _evaluate(args) -> int:
    from emotion.serving.predict import evaluate

    if not args.data_dir.strip("'\""):
        raise EmotionError("parameter data_dir: give the labelled corpus folder to evaluate on")
    _require_tracking_server()  # the evaluation is logged as a run
    evaluate(args.model_uri, args.data_dir, args.corpus, args.labels, args.label_map, args.speaker_column)
    return 0


def _cv(args) -> int:
    from emotion.config import build_config

    config = build_config(args.variant, parse_assignments(args.assignments))
    _require_tracking_server()
    from emotion.experiment.cv import cross_validate

    cross_validate(config)
    return 0


def _tune(args) -> int:
    from emotion.experiment.tune_settings import parse_settings
    from emotion.experiment.tune_storage import open_storage

    settings, overrides = parse_settings(parse_assignments(args.assignments), args.variant)  # before TensorFlow loads
    open_storage(settings)  # an unreachable storage: one line, before any work
    _require_tracking_server()
    from emotion.experiment.tune import tune

    tune(settings, overrides)
    return 0


def _features(args) -> int:
    """Write a pre-extracted feature folder (one <clip>.npy each) for the variants' feature_dir."""
    from emotion.config import build_config
    from emotion.corpus.manifest import build_manifest
    from emotion.data.synthetic import ensure_builtin_corpus
    from emotion.features.cache import default_cache_dir
    from emotion.features.extractors import audio_extractor
    from emotion.features.folders import require_output_folder, write_feature_folder

    config = build_config("cnn_lstm", parse_assignments(args.assignments))  # any variant: data + features sections
    require_output_folder(args.output)  # before the corpus and the encoder load
    root = config.data.data_dir or ensure_builtin_corpus(default_cache_dir())
    manifest, names = build_manifest(root, config.data.corpus)
    compute, params = audio_extractor(config.features)
    report = write_feature_folder(
        manifest,
        args.output,
        compute,
        desc=config.features.feature_kind,
        kind=config.features.feature_kind,
        params=params,
        overwrite=args.overwrite,
    )
    print(names.summary())
    print(report.summary())
    print(f"wrote {args.output}: train with -P feature_dir={args.output}")
    return 0 if report.n_ok else 2


def _wav2vec_random(args) -> int:
    from emotion.features.wav2vec_random import save_random_wav2vec

    folder = save_random_wav2vec(args.output)
    print(f"wrote a tiny random wav2vec 2.0 to {folder} (plumbing only): use wav2vec_model={folder}")
    return 0


def _manifest(args) -> int:
    from emotion.corpus.manifest import build_manifest

    manifest, report = build_manifest(args.folder, args.corpus)
    print(report.summary())
    by_corpus = manifest.groupby("corpus").agg(clips=("clip_id", "size"), actors=("actor", "nunique"))
    print(by_corpus.to_string())
    if args.output:
        manifest.to_csv(args.output, index=False)
        print(f"wrote {args.output}")
    return 0


def _sync(args) -> int:
    """Send runs that finished locally during a tracking outage to their server runs."""
    from emotion.tracking.offline import sync

    for folder in args.folders:
        print(f"{folder}: synced into run {sync(Path(folder))}")
    return 0


def _tracking_server(args) -> int:
    """Run the team tracking server in place of this process (docs/operations.md#team-tracking-server)."""
    from emotion.tracking.server import BACKEND_STORE_ENV, check_backend_driver, printable_command, server_command

    check_backend_driver(args.backend_store_uri)
    command = server_command(
        args.backend_store_uri,
        args.artifacts_destination,
        host=args.host,
        port=args.port,
        workers=args.workers,
        allowed_hosts=args.allowed_hosts,
        backend_in_env=True,  # the store URI (its password) travels in the environment, not in `ps`
    )
    print(printable_command(command, args.backend_store_uri), flush=True)  # flushed: exec replaces the buffers
    os.execvpe(command[0], command, {**os.environ, BACKEND_STORE_ENV: args.backend_store_uri})
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotion", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _add_training(commands)
    _add_model_use(commands)
    _add_folds_sweeps_features(commands)
    _add_data_tools(commands)
    _add_tracking_server(commands)
    add_commands(commands)  # emotion cloud ...
    return parser


def _add_training(commands) -> None:
    """train, compare: one variant, or several on one split."""
    train = commands.add_parser("train", help="train and evaluate one variant, logged to MLflow")
    train.add_argument("variant")
    train.add_argument("assignments", nargs="*", help="parameter overrides, name=value")
    train.set_defaults(handler=_train)
    comparison = commands.add_parser("compare", help="train several variants on one split, with a leaderboard")
    comparison.add_argument("variants", help="comma-separated, e.g. no_aug,cnn_pooling")
    comparison.add_argument(
        "assignments", nargs="*", help="parameter overrides, name=value (each variant takes those it has)"
    )
    comparison.add_argument("--name", default="main", help="the parent run's name")
    comparison.set_defaults(handler=_compare)


def _add_model_use(commands) -> None:
    """register, predict, evaluate: from runs to a model in use."""
    register = commands.add_parser("register", help="register the best run's model and point @champion at it")
    register.add_argument(
        "assignments", nargs="*", help="experiment=, parent_run_id=, metric=test_ua, model_name=emotion, force=false"
    )
    register.set_defaults(handler=_register)
    predict = commands.add_parser(
        "predict",
        help="predict emotions of audio files or folders (CSV, or JSON by extension)",
        epilog="Every input gets a row (a bad or missing one with its reason). Exit code: 0 every row has a "
        "prediction, 1 some rows are errors, 2 nothing was predicted.",
    )
    predict.add_argument("model_uri", help="e.g. models:/emotion@champion")
    predict.add_argument("paths", nargs="+")
    predict.add_argument("--output", help="file.csv or file.json; default: CSV on stdout")
    predict.set_defaults(handler=_predict)
    evaluate = commands.add_parser("evaluate", help="score a model on a labelled folder or manifest, logged as a run")
    evaluate.add_argument("model_uri")
    evaluate.add_argument("data_dir")
    evaluate.add_argument("--corpus", default="auto", choices=CORPORA)
    evaluate.add_argument("--labels", default="", help="score only these classes, e.g. angry,happy,neutral,sad")
    evaluate.add_argument("--label-map", default="", help="JSON of a manifest's labels -> the model's")
    evaluate.add_argument("--speaker-column", default="", help="a manifest's speaker column of another name")
    evaluate.set_defaults(handler=_evaluate)


def _add_folds_sweeps_features(commands) -> None:
    """cv, tune, features."""
    cv = commands.add_parser("cv", help="k-fold cross-validation by speaker (cv_folds=5), one child run per fold")
    cv.add_argument("variant")
    cv.add_argument("assignments", nargs="*", help="parameter overrides, name=value")
    cv.set_defaults(handler=_cv)
    tune = commands.add_parser(
        "tune", help="Optuna sweep (dropout, l2, learning_rate, ...): a parent run, a child run per trial"
    )
    tune.add_argument("variant")
    tune.add_argument(
        "assignments",
        nargs="*",
        help="sweep settings (n_trials=, storage=, pruner=, lr_min=, ...) and config overrides, name=value",
    )
    tune.set_defaults(handler=_tune)
    features = commands.add_parser("features", help="write a pre-extracted feature folder (one <clip>.npy each)")
    features.add_argument("output")
    features.add_argument(
        "assignments", nargs="*", help="data_dir=..., feature_kind=logmel_stats|cnn|wav2vec|logmel|mfcc, ..."
    )
    features.add_argument("--overwrite", action="store_true", help="recompute files that exist")
    features.set_defaults(handler=_features)


def _add_data_tools(commands) -> None:
    """wav2vec-random, manifest: offline model folders and corpus checks."""
    tiny = commands.add_parser("wav2vec-random", help="write a tiny random wav2vec 2.0 folder (offline smoke runs)")
    tiny.add_argument("output")
    tiny.set_defaults(handler=_wav2vec_random)
    manifest = commands.add_parser("manifest", help="parse a RAVDESS / CREMA-D folder and report bad names")
    manifest.add_argument("folder")
    manifest.add_argument("--corpus", default="auto", choices=CORPORA)
    manifest.add_argument("--output", help="write the manifest as CSV")
    manifest.set_defaults(handler=_manifest)


def _add_tracking_server(commands) -> None:
    """tracking-server, sync: the team server and runs finished during its outage."""
    server = commands.add_parser(
        "tracking-server", help="run the team MLflow server: PostgreSQL store, S3 artifacts proxied"
    )
    server.add_argument(
        "--backend-store-uri", required=True, help="e.g. postgresql://mlflow@db:5432/mlflow (not Optuna's database)"
    )
    server.add_argument(
        "--artifacts-destination",
        required=True,
        help="e.g. s3://team-bucket/mlflow; the server needs the S3 credentials",
    )
    server.add_argument("--host", default="127.0.0.1", help="interface to bind; 0.0.0.0 for the team")
    server.add_argument("--port", type=int, default=5000)
    server.add_argument("--workers", type=int, default=1, help="uvicorn workers (MLflow's default 4 is slow to start)")
    server.add_argument(
        "--allowed-hosts", help="Host names clients use, e.g. mlflow.team.lan (MLflow 3 answers others 403)"
    )
    server.set_defaults(handler=_tracking_server)
    syncing = commands.add_parser("sync", help="send runs that finished locally while the tracking server was down")
    syncing.add_argument("folders", nargs="+", help="the folders training printed (<cache>/unsynced/<run id>)")
    syncing.set_defaults(handler=_sync)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except EmotionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
