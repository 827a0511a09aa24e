"""Processes that fill one feature cache at once: wall time against one process alone, in one run.

    python benchmarks/concurrent_features.py [--processes 3] [--variant no_aug] [name=value ...]

What a sweep's workers on one machine, or the test suite's workers, do on a fresh cache: each prepares
the same corpus (the built-in one unless data_dir=...). Each measurement starts from an empty feature
cache (the corpus itself is built once, before any timing): one process alone, then N started together.
Printed: both wall times, their ratio, and how many cache entries the N left. With the work shared
(each clip computed by one process, the others reading it back) the ratio nears 1; with every
process computing every clip it nears N on a machine the one process already fills.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREPARE = """
import sys, time
from emotion.config import build_config, parse_assignments
from emotion.data.dataset import prepare_corpus
config = build_config(sys.argv[1], parse_assignments(sys.argv[3:]))
prepare_corpus(config.data, config.features, sys.argv[2], allow_video=False)
print(time.process_time())
"""


def timed_wave(count: int, variant: str, cache_root: Path, assignments: list[str]) -> tuple[float, float]:
    """Wall seconds for `count` processes preparing the corpus at once, on an empty feature cache, and
    their CPU seconds together."""
    shutil.rmtree(cache_root / "features", ignore_errors=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-c", PREPARE, variant, str(cache_root), *assignments]
    # Output to files, not pipes: a process blocked on a full pipe would wait out the others' work
    logs = [(cache_root / f"wave-{count}-{i}.out", cache_root / f"wave-{count}-{i}.err") for i in range(count)]
    start = time.perf_counter()
    procs = []
    for out, err in logs:
        with open(out, "w") as stdout, open(err, "w") as stderr:  # the child keeps its own copies
            procs.append(subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr))
    cpu = 0.0
    for proc, (out, err) in zip(procs, logs):
        if proc.wait() != 0:
            raise SystemExit(f"a preparing process failed:\n{err.read_text()[-2000:]}")
        cpu += float(out.read_text().split()[-1])  # its CPU seconds, printed last
    return time.perf_counter() - start, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--variant", default="no_aug")
    parser.add_argument("assignments", nargs="*", help="config overrides, name=value (e.g. max_actors=4)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="concurrent-features-") as folder:
        cache_root = Path(folder)
        if not any(a.startswith("data_dir=") for a in args.assignments):
            from emotion.data.synthetic import ensure_builtin_corpus

            ensure_builtin_corpus(cache_root)  # built once, before any timing
        alone, alone_cpu = timed_wave(1, args.variant, cache_root, args.assignments)
        together, together_cpu = timed_wave(args.processes, args.variant, cache_root, args.assignments)
        entries = sum(1 for p in (cache_root / "features").rglob("*") if p.is_file())
        others = sum(1 for p in (cache_root / "features").rglob("*") if p.is_file() and p.suffix != ".npy")
    print("| processes | wall | vs one alone | CPU, all processes | vs one alone |\n|---|---|---|---|---|")
    print(f"| 1 | {alone:.1f} s | 1.00x | {alone_cpu:.1f} s | 1.00x |")
    print(
        f"| {args.processes} at once | {together:.1f} s | {together / alone:.2f}x | {together_cpu:.1f} s "
        f"| {together_cpu / alone_cpu:.2f}x |"
    )
    print(f"cache files left: {entries} ({others} not .npy entries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
