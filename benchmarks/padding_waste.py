"""Padding waste (padded steps / all steps over one epoch's batches) on real RAVDESS clip lengths.

    python benchmarks/padding_waste.py [--data ../shared/data/ravdess16k] [--batch-size 32]

Frame counts come from each file's length (soundfile.info, no decoding) with the default feature
framing; the batches come from the real pipeline (emotion.data.pipeline.make_dataset), shuffled as in
training. Compares length bucketing, pad-to-batch-max in random order, and pad/truncate to the 98th
percentile (which also cuts the longest clips: reported as truncated steps).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import soundfile as sf

from emotion.config import FeatureConfig, PipelineConfig
from emotion.corpus.dev_paths import RAVDESS16K
from emotion.data.pipeline import make_dataset, padding_waste, target_length

DEFAULT_DATA = RAVDESS16K


def frame_counts(folder: Path, features: FeatureConfig) -> np.ndarray:
    window = int(round(features.sample_rate * features.win_ms / 1000))
    hop = int(round(features.sample_rate * features.hop_ms / 1000))
    counts = []
    for path in sorted(folder.rglob("*.wav")):
        info = sf.info(path)
        samples = int(info.frames * features.sample_rate / info.samplerate)  # after resampling
        counts.append(1 + (samples - window) // hop)
    return np.array(counts)


def measure(lengths: np.ndarray, config: PipelineConfig, seed: int = 0) -> float:
    sequences = {"audio": [np.ones((n, 1), np.float32) for n in lengths]}  # one feature: waste only needs lengths
    labels = np.zeros(len(lengths), dtype=np.int64)
    ds = make_dataset(sequences, labels, 1, config, train_lengths=lengths, shuffle=True, seed=seed)
    return padding_waste(ds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--batch-size", type=int, default=PipelineConfig().batch_size)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"error: {args.data}: folder not found (the real RAVDESS data lives in ../shared/data)")

    lengths = frame_counts(args.data, FeatureConfig())
    base = PipelineConfig(batch_size=args.batch_size)
    modes = {
        "bucket": base,
        "batch_max (random order)": PipelineConfig(batch_size=args.batch_size, length_mode="batch_max"),
        "percentile 98": PipelineConfig(batch_size=args.batch_size, length_mode="percentile", length_percentile=98.0),
    }
    p98 = target_length(modes["percentile 98"], lengths)
    truncated = float(np.clip(lengths - p98, 0, None).sum() / lengths.sum())
    results = {name: measure(lengths, config) for name, config in modes.items()}
    print(
        f"{len(lengths)} clips, {lengths.min()}-{lengths.max()} frames (mean {lengths.mean():.0f}), batch {args.batch_size}"
    )
    print(f"{'mode':28s} {'padding waste':>14s} {'vs bucket':>10s}")
    for name, waste in results.items():
        print(f"{name:28s} {waste:13.2%} {waste / results['bucket']:9.1f}x")
    print(f"percentile 98 pads/truncates to {p98} frames and also cuts {truncated:.2%} of all real steps")
    if args.json:
        args.json.write_text(json.dumps({"waste": results, "p98_frames": p98, "p98_truncated": truncated}, indent=2))


if __name__ == "__main__":
    main()
