"""Whisper encoder throughput by window, in one run: clips per second on this machine's CPUs.

    python benchmarks/whisper_features.py [--clips 60] [--windows clip,6s,10s,30s] [--layouts 1x1,2x1,1x2]

Real RAVDESS clips (../shared/data/ravdess16k, 3.1-5.3 s) through the bundled tiny.en, decode and
log-mel included, no cache: what `feature_kind=whisper` costs per clip. Each window is timed on the
same clips after one warm-up clip; the ratios to the first row are what to compare (the machine is
shared). A layout is THREADSxREPLICAS: CTranslate2 threads per call x replicas encoding clips side by
side (extract_many's worker threads, as prepare_corpus runs them). Projects the time for the 1080 clips
of ravdess16k from each rate.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.corpus.dev_paths import RAVDESS16K  # noqa: E402 -- after the TF log level

CORPUS_CLIPS = 1080


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--windows", default="clip,6s,10s,30s")
    parser.add_argument("--layouts", default="1x1,2x1,1x2", help="THREADSxREPLICAS to try")
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    args = parser.parse_args()

    from emotion.features.cache import extract_many
    from emotion.features.whisper import WhisperEncoder

    paths = sorted(args.data_dir.glob("Actor_*/*.wav"))[:: max(1, CORPUS_CLIPS // args.clips)][: args.clips]
    if not paths:
        raise SystemExit(f"error: --data-dir {args.data_dir}: no Actor_*/*.wav clips")
    rows, first = [], None
    for layout in args.layouts.split(","):
        threads, _, replicas = layout.partition("x")
        if not (threads.isdigit() and replicas.isdigit() and int(threads) > 0 and int(replicas) > 0):
            raise SystemExit(f"error: --layouts {layout!r}: expected THREADSxREPLICAS, such as 1x2")
        threads, replicas = int(threads), int(replicas)
        for window in args.windows.split(","):
            encoder = WhisperEncoder("tiny.en", window, threads=threads, replicas=replicas)
            encoder(paths[0])  # warm-up
            started = time.perf_counter()
            extract_many(paths, encoder, encoder.params(), None, desc="whisper frames", workers=replicas)
            seconds = time.perf_counter() - started
            rate = len(paths) / seconds
            first = first or rate
            rows.append((window, layout, rate, 1000 / rate, CORPUS_CLIPS / rate, first / rate))
    print(f"{len(paths)} real clips, {os.cpu_count()} CPUs")
    print("| window | threads x replicas | clips/s | ms per clip | 1080 clips | time vs first row |")
    print("|---|---|---|---|---|---|")
    for window, layout, rate, ms, corpus, ratio in rows:
        print(f"| {window} | {layout} | {rate:.1f} | {ms:.0f} | {corpus:.0f} s | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
