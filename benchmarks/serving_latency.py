"""Predict time per clip and REST serving latency of a registered model, measured in one run.

    python benchmarks/serving_latency.py [--requests 200] [--variant whisper_lstm] [name=value ...]
    python benchmarks/serving_latency.py --variant whisper_lstm --workers 1,2,4 --concurrency 8 --requests 96 max_actors=6

Trains a small model of --variant (default no_aug; 3 epochs, name=value overrides) on the built-in
corpus, registers it @champion in a temporary store, then:
- `emotion predict`-equivalent batch prediction over 60 built-in clips: ms per clip;
- `mlflow models serve` on 127.0.0.1, 200 sequential single-clip requests (raw WAV bytes, base64; real
  RAVDESS clips where ../shared/data/ravdess16k exists, built-in ones otherwise): median and
  99th-percentile latency, the feature extractor (a Whisper encoder too) inside. Loopback only;
  bounded in count and time.
- with --breakdown: the same single-clip requests through the loaded pyfunc in this process (no HTTP),
  with the time of each part (features, network, clip head, the rest: standardising, blending, pandas and
  MLflow's schema check), so the served p50 minus the in-process p50 is the server's share (JSON, base64, HTTP).
- with --workers N,M,...: the same server at each `--workers` count, loaded by --concurrency clients at
  once (a bounded load generator: --requests in all, each waits for its answer): p50 / p99, requests per
  second and errors per worker count.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--variant", default="no_aug")
    parser.add_argument("--workers", default="1", help="comma-separated `mlflow models serve --workers` counts")
    parser.add_argument("--concurrency", type=int, default=1, help="clients sending at once (1: sequential)")
    parser.add_argument("--breakdown", action="store_true", help="time each part of a request in this process")
    parser.add_argument("assignments", nargs="*", help="config overrides, name=value")
    args = parser.parse_args()

    import mlflow

    from emotion.config import parse_assignments
    from emotion.config import build_config
    from emotion.data.synthetic import ensure_builtin_corpus
    from emotion.features.cache import default_cache_dir
    from emotion.serving.model_registry import register_best
    from emotion.serving.predict import load_model, predict_files
    from emotion.experiment.train import train

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        mlflow.set_tracking_uri(uri)
        train(build_config(args.variant, {"epochs": "3", **parse_assignments(args.assignments)}))
        register_best(model_name="emotion")
        model_uri = "models:/emotion@champion"
        clips = sorted(ensure_builtin_corpus(default_cache_dir()).glob("Actor_0[12]/*.wav"))
        real = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ravdess16k"
        wants_video = "video" in mlflow.pyfunc.load_model(model_uri).metadata.get_input_schema().input_names()
        # the clips every request sends (served and, with --breakdown, in-process): real ones where ravdess16k is
        request_clips = clips if wants_video else (sorted(real.glob("Actor_0[12]/*.wav")) or clips)

        model = load_model(model_uri)
        predict_files(model, clips[:4])  # warm-up: graph tracing
        started = time.perf_counter()
        predict_files(model, clips)
        per_clip_ms = 1000 * (time.perf_counter() - started) / len(clips)

        parts = _in_process_parts(model, request_clips, args.requests) if args.breakdown and not wants_video else None

        def body(i: int) -> bytes:
            clip = request_clips[i % len(request_clips)]
            record = {"audio": base64.b64encode(clip.read_bytes()).decode()}
            if wants_video:
                record["video"] = base64.b64encode(clip.with_suffix(".video.npy").read_bytes()).decode()
            return json.dumps({"dataframe_records": [record]}).encode()

        results = {}
        for workers in [int(w) for w in args.workers.split(",")]:
            results[workers] = _serve_and_load(
                model_uri, uri, workers, args.concurrency, [body(i) for i in range(args.requests)]
            )

    print(f"predict: {per_clip_ms:.1f} ms per clip over {len(clips)} clips (batch, features included)")
    source = "built-in" if request_clips is clips else "real RAVDESS"
    print(f"variant {args.variant} {' '.join(args.assignments)}; requests: {source} clips")
    print(f"cpus: {os.cpu_count()}; {args.concurrency} client(s) at once")
    print("| workers | requests | errors | p50 ms | p99 ms | max ms | requests/s |")
    print("|---|---|---|---|---|---|---|")
    for workers, (lat, errors, seconds) in results.items():
        cells = [
            workers,
            len(lat) + errors,
            errors,
            f"{np.median(lat):.0f}",
            f"{np.percentile(lat, 99):.0f}",
            f"{lat.max():.0f}",
        ]
        print("| " + " | ".join(str(c) for c in cells) + f" | {(len(lat) + errors) / seconds:.2f} |")
    if parts:
        print(f"\nIn this process, no HTTP ({args.requests} single-clip predicts; p50 of each part):")
        print("| part | p50 ms | p99 ms |")
        print("|---|---|---|")
        for name, times in parts.items():
            print(f"| {name} | {np.median(times):.1f} | {np.percentile(times, 99):.1f} |")
        if args.concurrency == 1 and len(results) == 1:  # the same requests, one at a time: comparable
            served = np.median(next(iter(results.values()))[0])
            print(
                f"| server's share (served p50 - in-process p50) | {served - np.median(parts['pyfunc predict']):.1f} | |"
            )


def _in_process_parts(model, clips: list[Path], requests: int) -> dict[str, np.ndarray]:
    """ms per single-clip pyfunc predict and per part, by wrapping the loaded EmotionModel's methods."""
    import pandas as pd

    impl = model._model_impl  # our EmotionModel, behind MLflow's PyFuncModel
    times: dict[str, list[float]] = {"pyfunc predict": []}

    def timed(name: str, method):
        times[name] = []

        def call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                times[name][-1] += 1000 * (time.perf_counter() - started)

        return call

    parts = {"features": "_row_features", "network": "predict_features"}
    for name, attribute in parts.items():
        setattr(impl, attribute, timed(name, getattr(impl, attribute)))
    if impl.clip_svm is not None:
        impl.clip_svm.predict_proba = timed("clip head", impl.clip_svm.predict_proba)
    frames = [pd.DataFrame({"audio": [clip.read_bytes()]}) for clip in clips]
    for i in range(requests + 2):  # the first two: warm-up, not kept
        for series in times.values():
            series.append(0.0)
        started = time.perf_counter()
        model.predict(frames[i % len(frames)])
        times["pyfunc predict"][-1] = 1000 * (time.perf_counter() - started)
    out = {name: np.array(series[2:]) for name, series in times.items()}
    out["the rest (standardising, blending, pandas, schema check)"] = out["pyfunc predict"] - sum(
        out[name] for name in out if name != "pyfunc predict"
    )
    return out


def _serve_and_load(model_uri: str, uri: str, workers: int, concurrency: int, bodies: list[bytes]):
    """`mlflow models serve --workers N` on 127.0.0.1, `bodies` sent by `concurrency` clients:
    (latencies ms of the answered ones, error count, wall seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    from emotion.serving.predict import serve_command

    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    server = subprocess.Popen(
        serve_command(model_uri, port, workers),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def send(body: bytes) -> float | None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", body, {"Content-Type": "application/json"}
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
        except OSError:
            return None  # an error: counted, not timed
        return 1000 * (time.perf_counter() - started)

    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        for body in bodies[: 2 * workers]:  # warm-up: every worker loads its model and traces the graph
            send(body)
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            answers = list(pool.map(send, bodies))
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=60)
    latencies = np.array([a for a in answers if a is not None])
    return latencies, sum(a is None for a in answers), seconds


if __name__ == "__main__":
    main()
