"""`emotion` command line: train a variant, inspect a corpus. User errors are one line, never a traceback.

    emotion train no_aug epochs=5 data_dir=/data/RAVDESS
    emotion compare no_aug,cnn_pooling epochs=5
    emotion manifest /data/RAVDESS
"""

from __future__ import annotations

import argparse
import os
import sys

from emotion.errors import EmotionError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter hides the real output


def parse_assignments(items: list[str]) -> dict[str, str]:
    """["epochs=5", "data_dir="] -> {"epochs": "5", "data_dir": ""}; a bare word is an error."""
    out = {}
    for item in items:
        for token in item.split():  # MLproject passes `extra` as one space-separated string
            name, sep, value = token.partition("=")
            if not sep or not name:
                raise EmotionError(f"argument {token!r}: expected name=value")
            out[name] = value
    return out


def _train(args) -> int:
    from emotion.config import build_config

    config = build_config(args.variant, parse_assignments(args.assignments))  # fail fast, before TensorFlow loads
    import mlflow

    from emotion.train import train

    result = train(config)
    run = mlflow.get_run(result.run_id)
    uri = mlflow.get_tracking_uri()
    test = result.test
    print(
        f"\nRun {result.run_id} ({config.variant}): test UA {test['ua']:.3f}, WA {test['wa']:.3f}, "
        f"macro-F1 {test['macro_f1']:.3f} on held-out speakers, {result.epochs_run} epochs, {result.seconds:.0f} s"
    )
    print(f"Logged to {uri} (experiment {run.info.experiment_id})")
    if uri.startswith(("sqlite:", "file:")) or "://" not in uri:
        print(f"Browse: mlflow ui --backend-store-uri {uri}   then open http://127.0.0.1:5000")
    else:
        print(f"Browse: {uri.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/{result.run_id}")
    return 0


def _compare(args) -> int:
    from emotion.compare import compare, parse_variants

    variants = parse_variants(args.variants)
    compare(variants, parse_assignments(args.assignments), name=args.name)
    return 0


def _features(args) -> int:
    """Write a pre-extracted feature folder (one <clip>.npy each) for the variants' feature_dir."""
    from emotion.config import build_config
    from emotion.data.manifest import build_manifest
    from emotion.data.synthetic import ensure_builtin_corpus
    from emotion.features.cache import default_cache_dir
    from emotion.features.extractors import audio_extractor
    from emotion.features.folders import write_feature_folder

    config = build_config("cnn_lstm", parse_assignments(args.assignments))  # any variant: data + features sections
    root = config.data.data_dir or ensure_builtin_corpus(default_cache_dir())
    manifest, names = build_manifest(root, config.data.corpus)
    compute, params = audio_extractor(config.features)
    report = write_feature_folder(
        manifest, args.output, compute, desc=config.features.feature_kind,
        kind=config.features.feature_kind, params=params, overwrite=args.overwrite,
    )  # fmt: skip
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
    from emotion.data.manifest import build_manifest

    manifest, report = build_manifest(args.folder, args.corpus)
    print(report.summary())
    by_corpus = manifest.groupby("corpus").agg(clips=("clip_id", "size"), actors=("actor", "nunique"))
    print(by_corpus.to_string())
    if args.output:
        manifest.to_csv(args.output, index=False)
        print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotion", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train and evaluate one variant, logged to MLflow")
    train.add_argument("variant")
    train.add_argument("assignments", nargs="*", help="parameter overrides, name=value")
    train.set_defaults(handler=_train)
    comparison = commands.add_parser("compare", help="train several variants on one split, with a leaderboard")
    comparison.add_argument("variants", help="comma-separated, e.g. no_aug,cnn_pooling")
    comparison.add_argument("assignments", nargs="*", help="parameter overrides, name=value (each variant takes those it has)")
    comparison.add_argument("--name", default="main", help="the parent run's name")
    comparison.set_defaults(handler=_compare)
    features = commands.add_parser("features", help="write a pre-extracted feature folder (one <clip>.npy each)")
    features.add_argument("output")
    features.add_argument("assignments", nargs="*", help="data_dir=..., feature_kind=logmel_stats|cnn|wav2vec|logmel|mfcc, ...")
    features.add_argument("--overwrite", action="store_true", help="recompute files that exist")
    features.set_defaults(handler=_features)
    tiny = commands.add_parser("wav2vec-random", help="write a tiny random wav2vec 2.0 folder (offline smoke runs)")
    tiny.add_argument("output")
    tiny.set_defaults(handler=_wav2vec_random)
    manifest = commands.add_parser("manifest", help="parse a RAVDESS / CREMA-D folder and report bad names")
    manifest.add_argument("folder")
    manifest.add_argument("--corpus", default="auto", choices=("auto", "ravdess", "cremad"))
    manifest.add_argument("--output", help="write the manifest as CSV")
    manifest.set_defaults(handler=_manifest)
    return parser


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
