"""Whisper encoder throughput by window, in one run: clips per second on this machine's CPUs.

    python benchmarks/whisper_features.py [--clips 60] [--windows clip,6s,10s,30s] [--threads 1,2]

Real RAVDESS clips (../shared/data/ravdess16k, 3.1-5.3 s) through the bundled tiny.en, decode and
log-mel included, no cache: what `feature_kind=whisper` costs per clip. Each window is timed on the
same clips after one warm-up clip; the ratios to the first window are what to compare (the machine is
shared). Projects the time for the 1080 clips of ravdess16k from each rate.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.data.dev_paths import RAVDESS16K  # noqa: E402 -- after the TF log level

CORPUS_CLIPS = 1080


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--windows", default="clip,6s,10s,30s")
    parser.add_argument("--threads", default="1,2", help="CTranslate2 intra-op threads to try")
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    args = parser.parse_args()

    from emotion.features.whisper import WhisperEncoder

    paths = sorted(args.data_dir.glob("Actor_*/*.wav"))[:: max(1, CORPUS_CLIPS // args.clips)][: args.clips]
    if not paths:
        raise SystemExit(f"error: --data-dir {args.data_dir}: no Actor_*/*.wav clips")
    rows, first = [], None
    for threads in [int(t) for t in args.threads.split(",")]:
        for window in args.windows.split(","):
            encoder = WhisperEncoder("tiny.en", window, threads=threads)
            encoder(paths[0])  # warm-up
            started = time.perf_counter()
            for path in paths:
                encoder(path)
            seconds = time.perf_counter() - started
            rate = len(paths) / seconds
            first = first or rate
            rows.append((window, threads, rate, 1000 / rate, CORPUS_CLIPS / rate, first / rate))
    print(f"{len(paths)} real clips, {os.cpu_count()} CPUs")
    print("| window | threads | clips/s | ms per clip | 1080 clips | time vs first row |")
    print("|---|---|---|---|---|---|")
    for window, threads, rate, ms, corpus, ratio in rows:
        print(f"| {window} | {threads} | {rate:.1f} | {ms:.0f} | {corpus:.0f} s | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
