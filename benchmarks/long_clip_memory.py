"""Peak memory and time of one prediction for clips far longer than training's (up to 60 s).

    python benchmarks/long_clip_memory.py [--seconds 4 15 30 60] [--configs "wav2vec_attention:frame_pool=4" ...]

The served model's own batching (emotion.serving.mlflow_model.EmotionModel.predict_features: one clip, zero
padding, Keras' compiled predict step) on Whisper-shaped frames (50 a second, 384 features; a
log-mel config names `dim=40 rate=100`) for an untrained model at each config: memory depends on
shapes, not weights. Each clip length runs in a fresh process, and its peak resident memory
(ru_maxrss) is reported beside the same process's peak before the prediction (TensorFlow and the
model loaded), so the difference is what the clip itself costs. The encoder's part is bounded
separately: it encodes one Whisper window at a time (emotion/features/whisper.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_CONFIGS = (
    "wav2vec_attention:feature_kind=whisper frame_pool=4",
    "no_aug:feature_kind=whisper frame_pool=4",
    "wav2vec_attention:frame_pool=1 dim=40 rate=100",
    "no_aug:frame_pool=1 dim=40 rate=100",
)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def one(spec: str, seconds: float) -> dict:
    """In this process: build the model, predict one clip of `seconds`, report peaks."""
    import numpy as np

    from emotion.config import parse_assignments
    from emotion.config import build_config
    from emotion.serving.mlflow_model import EmotionModel
    from emotion.models.registry import build_model

    variant, _, assignments = spec.partition(":")
    overrides = parse_assignments(assignments.split())
    dim, rate = int(overrides.pop("dim", 384)), float(overrides.pop("rate", 50))
    config = build_config(variant, {"modalities": "audio", **overrides})
    model = build_model(config, 8, {"audio": dim})
    served = EmotionModel.__new__(EmotionModel)  # only its batching: no normaliser or extractor needed
    served.keras_model, served.modalities = model, ["audio"]
    warm = np.random.default_rng(0).normal(size=(int(2 * rate), dim)).astype(np.float32)
    served.predict_features([{"audio": warm}])  # traces the predict step on a short clip
    before = peak_mb()
    clip = np.random.default_rng(1).normal(size=(int(seconds * rate), dim)).astype(np.float32)  # (T, F)
    started = time.perf_counter()
    proba = served.predict_features([{"audio": clip}])
    elapsed = time.perf_counter() - started
    assert np.isfinite(proba).all() and abs(proba.sum() - 1) < 1e-4
    return {
        "config": spec,
        "seconds": seconds,
        "frames": len(clip),
        "peak_before_mb": before,
        "peak_mb": peak_mb(),
        "predict_s": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--seconds", nargs="*", type=float, default=[4, 15, 30, 60])
    parser.add_argument("--one", nargs=2, metavar=("CONFIG", "SECONDS"), help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--json", type=os.path.abspath)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], float(args.one[1]))))
        return
    rows = []
    for spec in args.configs:
        for seconds in args.seconds:
            out = subprocess.run(
                [sys.executable, __file__, "--one", spec, str(seconds)], capture_output=True, text=True, check=True
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("| config | clip s | frames | peak before MB | peak after MB | clip's own MB | predict s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['config']} | {r['seconds']:g} | {r['frames']} | {r['peak_before_mb']:.0f} | {r['peak_mb']:.0f} | "
            f"{r['peak_mb'] - r['peak_before_mb']:.0f} | {r['predict_s']:.2f} |"
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
