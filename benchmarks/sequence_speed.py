"""Epoch time of the sequence variants on 2 CPUs beside a lower bound from their FLOPs.

    python benchmarks/sequence_speed.py [--clips 720] [--epochs 3] [--json out.json] \
        [--configs "wav2vec_attention:frame_pool=1" "wav2vec_attention:frame_pool=4" ...]

Input: synthetic clips shaped like a RAVDESS fold's training set on Whisper tiny.en frames (720
clips, 3.0-4.5 s at 50 frames/s, 384 features; log-mel configs name their own `dim=40 rate=100`),
batched by the real pipeline (emotion.data.pipeline.make_dataset) and fit by the real models
(emotion.models.registry.build_model) with the variant's compile settings, XLA as train() decides.
The first epoch (tracing, XLA compilation) is reported apart from the steady ones.

The lower bound: the model's floating-point operations for one epoch (forward, x3 for forward +
backward: the usual estimate for dense and recurrent layers), counted analytically per layer from
the batches' real padded shapes (LSTM: 2 * 4h * (in + h) per step and direction; dense: 2 * in * out
per row; dot-product self-attention: 4 * T^2 * d per clip), divided by this machine's measured float32
matmul throughput (a 1024^3 product: the best case), and again at the LSTM's own step shape (batch x
(in + h) @ (in + h) x 4h: what a recurrent step can reach). Ratios, one run: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import emotion  # noqa: F401 -- before TensorFlow: its GPU-less start-up lines are filtered

DEFAULT_CONFIGS = (
    "wav2vec_attention:frame_pool=1 jit_compile=off",
    "wav2vec_attention:frame_pool=4 jit_compile=off",
    "wav2vec_attention:frame_pool=4",
    "no_aug:frame_pool=1 length_mode=bucket jit_compile=off",
    "no_aug:frame_pool=4 length_mode=bucket jit_compile=off",
    "no_aug:frame_pool=4 length_mode=bucket jit_compile=on",
    "no_aug",  # its defaults: frame_pool=4 at one length (98th percentile), XLA
)


def matmul_gflops(m: int, k: int, n: int, seconds: float = 2.0) -> float:
    """Measured float32 GFLOP/s of (m, k) @ (k, n) in TensorFlow, repeated for ~`seconds`."""
    import tensorflow as tf

    a, b = tf.random.normal((m, k)), tf.random.normal((k, n))
    step = tf.function(lambda: tf.matmul(a, b))
    step()  # trace
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        step().numpy()
        count += 1
    return 2.0 * m * k * n * count / (time.perf_counter() - started) / 1e9


def _input_shape(layer) -> tuple:
    """A layer's input shape; Keras records [inputs, mask] for layers called with a mask."""
    source = layer.input[0] if isinstance(layer.input, (list, tuple)) else layer.input
    return tuple(source.shape)


def forward_flops(model, batch_shapes: list[tuple[int, int]]) -> float:
    """Forward FLOPs over batches of (B, T) input frames, from the layers' configs (module docstring)."""
    import keras

    from emotion.models.layers import MaskedAttention, MaskedFramePooling

    total = 0.0
    for batch, steps in batch_shapes:
        t = steps
        for layer in model.layers:
            if isinstance(layer, MaskedFramePooling):
                t = -(-t // layer.pool)
            elif isinstance(layer, keras.layers.Bidirectional):
                h = layer.forward_layer.units
                width = _input_shape(layer)[-1]
                total += 2 * batch * t * 2 * 4 * h * (width + h)
            elif isinstance(layer, keras.layers.Attention):
                d = _input_shape(layer)[-1]
                total += batch * 4 * t * t * d
            elif isinstance(layer, MaskedAttention):
                total += batch * t * 2 * _input_shape(layer)[-1] * layer.units
            elif isinstance(layer, keras.layers.Dense):
                rows = batch * (t if len(_input_shape(layer)) == 3 else 1)
                total += rows * 2 * _input_shape(layer)[-1] * layer.units
    return total


def lstm_step_shape(model, batch: int) -> tuple[int, int, int]:
    """(batch, in + h, 4h) of the model's widest LSTM step."""
    import keras

    shapes = [
        (batch, _input_shape(layer)[-1] + layer.forward_layer.units, 4 * layer.forward_layer.units)
        for layer in model.layers
        if isinstance(layer, keras.layers.Bidirectional)
    ]
    return max(shapes, key=lambda s: s[1] * s[2])


def measure(spec: str, clips: int, epochs: int) -> dict:
    import keras

    from emotion.config import parse_assignments
    from emotion.config import build_config
    from emotion.models.registry import build_model
    from emotion.data.pipeline import make_dataset
    from emotion.experiment.train import make_loss, use_xla

    variant, _, assignments = spec.partition(":")
    overrides = parse_assignments(assignments.split())
    dim, rate = int(overrides.pop("dim", 384)), float(overrides.pop("rate", 50))
    config = build_config(variant, {"modalities": "audio", **overrides})
    rng = np.random.default_rng(0)
    lengths = (rng.uniform(3.0, 4.5, clips) * rate).astype(int)
    sequences = {"audio": [rng.normal(size=(n, dim)).astype(np.float32) for n in lengths]}
    labels = rng.integers(0, 8, clips)
    dataset = make_dataset(sequences, labels, 8, config.pipeline, train_lengths=lengths, shuffle=True, seed=0)
    batch_shapes = [tuple(x["audio"].shape[:2]) for x, _ in dataset]  # (B, T) as the pipeline pads them
    model = build_model(config, 8, {"audio": dim})
    xla = use_xla(config, ["audio"])  # audio alone, as in the cv benchmarks
    model.compile(optimizer=keras.optimizers.Adam(config.train.learning_rate), loss=make_loss(config), jit_compile=xla)
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.fit(dataset, epochs=1, verbose=0)
        seconds.append(time.perf_counter() - started)
    train_flops = 3 * forward_flops(model, batch_shapes)
    return {
        "config": spec,
        "xla": xla,
        "first_epoch_s": seconds[0],
        "epoch_s": float(np.median(seconds[1:])),
        "train_gflop": train_flops / 1e9,
        "lstm_step": lstm_step_shape(model, config.pipeline.batch_size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=list(DEFAULT_CONFIGS), help="variant:name=value ...")
    parser.add_argument("--clips", type=int, default=720)
    parser.add_argument("--epochs", type=int, default=3, help="the first is reported apart (tracing, compilation)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.epochs < 2:
        raise SystemExit("error: --epochs must be >= 2 (the first epoch traces and compiles)")

    peak = matmul_gflops(1024, 1024, 1024)
    rows = [measure(spec, args.clips, args.epochs) for spec in args.configs]
    print(f"float32 matmul, 1024^3: {peak:.1f} GFLOP/s")
    print(
        "| config | XLA | first epoch s | epoch s | train GFLOP | bound at peak, s | LSTM step GFLOP/s | bound at step rate, s | epoch / step bound |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        step_rate = matmul_gflops(*row["lstm_step"], seconds=1.0)
        row.update(
            peak_gflops=peak,
            step_gflops=step_rate,
            bound_peak_s=row["train_gflop"] / peak,
            bound_step_s=row["train_gflop"] / step_rate,
        )
        print(
            f"| {row['config']} | {'on' if row['xla'] else 'off'} | {row['first_epoch_s']:.1f} | {row['epoch_s']:.1f} | {row['train_gflop']:.1f} | "
            f"{row['bound_peak_s']:.2f} | {step_rate:.1f} | {row['bound_step_s']:.2f} | {row['epoch_s'] / row['bound_step_s']:.1f}x |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
