"""Speaker-independent k-fold cross-validation on real RAVDESS for named variants: the accuracy benchmark.

    python benchmarks/ravdess_cv.py --variants cnn_lstm,no_aug [--folds 6] [--output benchmarks/results] [name=value ...]
    python benchmarks/ravdess_cv.py --variants whisper_lstm folds=../shared/data/emobox/ravdess   # EmoBox's folds

Protocol: folds by actor (6 folds of 3 actors on ../shared/data/ravdess16k, genders mixed by the
stratified grouping), validation actors carved from each fold's training actors, test actors in no
other fold's test set. Headline UA, with WA and macro-F1; mean and standard deviation over folds.
Every run is tracked in MLflow under one parent ("ravdess_cv"), a cv parent per variant and a child
per fold. Writes ravdess_cv.md and ravdess_cv.json (per-fold and mean metrics, wall time per variant)
and one summed confusion-matrix figure per variant to --output. name=value overrides apply to every
variant (each takes those it has). With `folds=PATH` (EmoBox's published fold files) the folds are
EmoBox's, restricted to the actors present, and the table ends with EmoBox's frozen-encoder results.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
from emotion.corpus.dev_paths import RAVDESS16K  # noqa: E402 -- after the TF log level


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="cnn_lstm")
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("assignments", nargs="*", help="config overrides for every variant, name=value")
    args = parser.parse_args()

    import matplotlib.pyplot as plt
    import mlflow

    from emotion.serving import plots
    from emotion.config import parse_assignments
    from emotion.config import VARIANTS, build_config, uses_video
    from emotion.experiment.cv import cross_validate
    from emotion.corpus.labels import EMOTIONS

    if not args.data_dir.is_dir():
        raise SystemExit(f"error: --data-dir {args.data_dir}: not a folder")
    overrides = parse_assignments(args.assignments)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    configs = {}
    known_somewhere = set().union(*(build_config(v).flat() for v in variants if v in VARIANTS))
    unknown = sorted(set(overrides) - known_somewhere)
    if unknown:  # a typo, or a parameter of another code version: never drop it silently
        raise SystemExit(f"error: unknown parameter(s) {', '.join(unknown)} for {', '.join(variants)}")
    for variant in variants:  # every config checked before the first fold trains
        if variant not in VARIANTS:
            raise SystemExit(f"error: unknown variant {variant!r}")
        known = build_config(variant).flat()
        own = {k: v for k, v in overrides.items() if k in known}
        configs[variant] = build_config(
            variant,
            {
                **own,
                "data_dir": str(args.data_dir),
                "cv_folds": str(args.folds),
                **({"modalities": "audio"} if uses_video(variant) else {}),
            },
        )
    args.output.mkdir(parents=True, exist_ok=True)
    results = {}
    with mlflow.start_run(run_name="ravdess_cv") as parent:
        mlflow.set_tags({"entry_point": "ravdess_cv", "variants": ",".join(variants)})
        mlflow.log_params(
            {"data_dir": str(args.data_dir), "folds": args.folds, **{f"override_{k}": v for k, v in overrides.items()}}
        )
        for variant, config in configs.items():
            started = time.perf_counter()
            cv = cross_validate(config)
            seconds = time.perf_counter() - started
            results[variant] = {
                "summary": cv.summary,
                "folds": cv.folds.to_dict(orient="records"),
                "seconds": round(seconds, 1),
                "cv_run_id": cv.run_id,
            }
            mlflow.log_metrics({f"{variant}_ua_mean": cv.summary["cv_ua_mean"], f"{variant}_seconds": seconds})
            figure = plots.confusion_figure(
                cv.confusion, EMOTIONS, f"{variant}: {args.folds} folds summed, UA {cv.summary['cv_ua_mean']:.3f}"
            )
            figure.savefig(args.output / f"ravdess_cv_{variant}_confusion.png", dpi=110)
            mlflow.log_figure(figure, f"figures/{variant}_confusion.png")
            plt.close(figure)
        table = markdown(results, published=bool(overrides.get("folds")))
        mlflow.log_text(table, "ravdess_cv.md")
        mlflow.log_dict(results, "ravdess_cv.json")
        print(f"\nparent run {parent.info.run_id}\n{table}")
    (args.output / "ravdess_cv.md").write_text(table + "\n")
    (args.output / "ravdess_cv.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    return 0


# EmoBox (Ma et al., Interspeech 2024) intra-corpus RAVDESS, its 6 folds over all 24 actors, frozen
# encoders mean-pooled with a small head: UA / WA (../shared/data/emobox/README.md).
EMOBOX_RAVDESS = {
    "wav2vec2-base": (54.3, 55.4),
    "WavLM-base": (61.6, 62.1),
    "data2vec2-base": (64.7, 64.8),
    "HuBERT-base": (65.4, 66.2),
    "HuBERT-large": (70.0, 70.3),
    "data2vec2-large": (71.2, 71.6),
    "WavLM-large": (72.0, 72.2),
    "Whisper-large-v3": (75.3, 75.9),
}


def emobox_rows() -> list[str]:
    """EmoBox's table as rows of ours (their 24 actors, not only those present here: said so)."""
    return [
        f"| EmoBox: {name}, frozen (24 actors) | {ua / 100:.3f} | {wa / 100:.3f} | | | |"
        for name, (ua, wa) in EMOBOX_RAVDESS.items()
    ]


def markdown(results: dict, published: bool = False) -> str:
    lines = [
        "| variant | UA mean ± sd | WA mean ± sd | macro-F1 mean ± sd | per-fold UA | wall time |",
        "|---|---|---|---|---|---|",
    ]
    for variant, r in sorted(results.items(), key=lambda item: -item[1]["summary"]["cv_ua_mean"]):
        s = r["summary"]
        folds = " ".join(f"{f['test_ua']:.3f}" for f in r["folds"])
        lines.append(
            f"| {variant} | {s['cv_ua_mean']:.3f} ± {s['cv_ua_std']:.3f} | {s['cv_wa_mean']:.3f} ± {s['cv_wa_std']:.3f} | "
            f"{s['cv_macro_f1_mean']:.3f} ± {s['cv_macro_f1_std']:.3f} | {folds} | {r['seconds'] / 60:.1f} min |"
        )
        for part, label in (
            ("ua_network", "network alone"),
            ("ua_svm", "clip head alone"),
            ("ua_global", "global head, clips alone"),
        ):
            if f"cv_{part}_mean" in s:
                per_fold = " ".join(f"{f[f'test_{part}']:.3f}" for f in r["folds"])
                lines.append(
                    f"| {variant}: {label} | {s[f'cv_{part}_mean']:.3f} ± {s[f'cv_{part}_std']:.3f} | | | {per_fold} | |"
                )
    return "\n".join(lines + (emobox_rows() if published else []))


if __name__ == "__main__":
    raise SystemExit(main())
