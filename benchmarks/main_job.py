"""The README's main job, timed: `mlflow run . -e no_aug --env-manager local` on the built-in corpus.

    python benchmarks/main_job.py [--repeats 1]

Each repeat runs the real command in a fresh tracking store. The first run also starts from an
empty feature cache (cold: corpus generation + features included); later repeats reuse it (warm).
Reports wall time and the run's test UA / WA / macro-F1 on held-out speakers, read back with MlflowClient.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient

ROOT = Path(__file__).resolve().parents[1]


def run_once(cache: Path, store: Path) -> dict:
    uri = f"sqlite:///{store}/mlflow.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_TRACKING_URI": uri, "EMOTION_CACHE_DIR": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"})
    started = time.perf_counter()
    proc = subprocess.run(
        ["mlflow", "run", str(ROOT), "-e", "no_aug", "--env-manager", "local"], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"error: mlflow run failed:\n{proc.stderr[-3000:]}")
    client = MlflowClient(uri)
    run = client.search_runs([client.get_experiment_by_name("Default").experiment_id])[0]
    m = run.data.metrics
    return {
        "wall_s": wall,
        "ua": m["test_ua"],
        "wa": m["test_wa"],
        "f1": m["test_macro_f1"],
        "epochs": int(m["epochs_run"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        rows = []
        for i in range(args.repeats):
            store = Path(tmp) / f"store{i}"
            store.mkdir()
            rows.append(("cold" if i == 0 else "warm", run_once(cache, store)))
    print(f"{'cache':6s} {'wall s':>7s} {'epochs':>6s} {'test UA':>8s} {'WA':>6s} {'F1':>6s}")
    for kind, r in rows:
        print(f"{kind:6s} {r['wall_s']:7.1f} {r['epochs']:6d} {r['ua']:8.3f} {r['wa']:6.3f} {r['f1']:6.3f}")
    print(f"cpus: {os.cpu_count()}; budget 180 s: {'met' if all(r['wall_s'] < 180 for _, r in rows) else 'NOT met'}")


if __name__ == "__main__":
    main()
