"""Which Whisper layers feed the champion, and whether int8 costs anything, chosen by nested grouped CV.

    python benchmarks/layer_choice.py [--stage layers|int8] [--layers 2+3] [--c 1.0]
        [--folds ../shared/data/emobox/ravdess]

The probe is encoder_choice.py's (per clip: the mean and std of the chosen layers' frames, the clip
heads' core input; a logistic head) on the two request paths: per speaker (each clip standardised by
its speaker's statistics) and single clip (raw, one standardisation from the training clips). Layer k
is block k's output through the final LayerNorm (emotion/features/whisper_keras.py), at the champion's
10-s window; every layer comes from one Keras pass per model (whisper_layers=all), cached.

Decision rule for the layers, written before the run (stage `layers`):
- the figure that chooses is the nested grouped-CV UA (a fold's non-test actors of EmoBox's folds in 5
  actor groups, each predicted by a head fit on the other four; UA over the fold's non-test clips, mean
  over the folds), every head at C = 0.03 (`--c 0.03`, as the window table ran tiny.en+base's 1,792
  columns: up to 9,216 columns here, and the C search is 20x the fits);
- stage 1, each model alone (tiny.en: layers 1-4 and all; base: 1-6 and all, 12 settings): a choice
  replaces `last` only if it adds >= 0.005 on at least one path and loses < 0.005 on the other; among
  those that pass, the highest mean of the two paths wins, unless another passing choice is within 0.005
  of it and runs fewer blocks (a single layer k runs k blocks; `all` runs every block and Keras), then
  that one;
- stage 2, tiny.en+base (the champion's encoder): the stage-1 winners side by side against last+last,
  by the same rule (1 more setting);
- the test folds' UA (head refit on all non-test actors) is printed for reporting only.

Decision rule for int8 (stage `int8`, for the layers stage 2 chose, on CTranslate2): int8 stays the
default only if it loses < 0.005 nested grouped-CV UA on both paths against float32 (2 settings).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.corpus.dev_paths import EMOBOX_RAVDESS as EMOBOX, RAVDESS16K  # noqa: E402 -- after the TF log level

WINDOW = "10s"  # the champion's
TIMED_CLIPS = 30  # clips encoded afresh per setting for its encoder ms / clip (the served single-clip layout)
TOLERANCE = 0.005  # the rule's half point


def corpus_frames(data_dir: Path, model: str, layers: str, compute: str = "float32"):
    """(prepared corpus, frames per clip) for one model's layers, through the real cached feature path."""
    from emotion.config import build_config
    from emotion.data.dataset import prepare_corpus
    from emotion.features.cache import default_cache_dir

    overrides = {"feature_kind": "whisper", "whisper_window": WINDOW, "whisper_model": model}
    config = build_config(
        "wav2vec_attention",
        {"data_dir": str(data_dir), **overrides, "whisper_layers": layers, "whisper_compute": compute},
    )
    corpus = prepare_corpus(config.data, config.features, default_cache_dir(), allow_video=False)
    return corpus, corpus.features["audio"]


def encoder_ms(paths, model: str, layers: str, compute: str = "float32") -> float:
    from emotion.features.whisper import load_encoder

    encoder = load_encoder(model, WINDOW, layers=layers, compute=compute)
    encoder(paths[0])  # warm-up (Keras traces its graph once)
    started = time.perf_counter()
    for path in paths[1 : TIMED_CLIPS + 1]:
        encoder(path)
    return 1000 * (time.perf_counter() - started) / TIMED_CLIPS


def score(functionals, y, actors, folds, c):
    """{path: (nested per fold, test metrics per fold)} for one setting's (n, F) clip functionals."""
    import numpy as np

    from emotion.experiment.selection import nested_grouped_ua_per_fold, reported_test_metrics
    from emotion.features.normalise import per_speaker

    out = {}
    for path, x in (
        ("per speaker", np.concatenate(per_speaker([r[None] for r in functionals], actors))),
        ("single clip", functionals),
    ):
        out[path] = (
            nested_grouped_ua_per_fold(x, y, actors, folds, c=c),
            reported_test_metrics(x, y, actors, folds, c=c),
        )
    return out


def row(name: str, scores: dict, ms: float, blocks: int) -> dict:
    import numpy as np

    nested = {p: float(np.mean(s[0])) for p, s in scores.items()}
    for path, (per_fold, tests) in scores.items():
        test_ua = [t["ua"] for t in tests]
        print(
            f"| {name} | {path} | {nested[path]:.3f} ({' '.join(f'{v:.3f}' for v in per_fold)}) "
            f"| {np.mean(test_ua):.3f} ± {np.std(test_ua, ddof=1):.3f} | {np.mean([t['wa'] for t in tests]):.3f} "
            f"| {np.mean([t['macro_f1'] for t in tests]):.3f} | {ms:.0f} |",
            flush=True,
        )
    return {"name": name, "nested": nested, "blocks": blocks}


def choose(baseline: dict, candidates: list[dict]) -> dict:
    """The layers rule of the docstring."""
    passing = []
    for c in candidates:
        gains = [c["nested"][p] - baseline["nested"][p] for p in baseline["nested"]]
        if max(gains) >= TOLERANCE and min(gains) > -TOLERANCE:
            passing.append(c)
    if not passing:
        return baseline
    mean = {c["name"]: sum(c["nested"].values()) / 2 for c in passing}
    best = max(passing, key=lambda c: mean[c["name"]])
    close = [c for c in passing if mean[best["name"]] - mean[c["name"]] < TOLERANCE]
    return min(close, key=lambda c: (c["blocks"], -mean[c["name"]]))


HEADER = (
    "| layers | path | nested grouped-CV UA (per fold) | test UA mean ± sd | test WA | test macro-F1 | encoder ms / clip |\n"
    "|---|---|---|---|---|---|---|"
)


def layers_stage(args) -> int:
    import numpy as np

    from emotion.corpus.splits import published_kfold
    from emotion.models.clip_svm import clip_functionals

    per_model, corpus = {}, None
    for model, n_layers in (("tiny.en", 4), ("base", 6)):
        corpus, frames = corpus_frames(args.data_dir, model, "all")
        width = frames[0].shape[1] // n_layers
        per_model[model] = (n_layers, width, frames)
    paths = list(corpus.manifest["audio_path"])
    y, actors = corpus.labels, corpus.manifest["actor"].to_numpy(dtype=str)
    folds, _, _ = published_kfold(corpus.manifest, args.folds)
    print(f"{len(paths)} clips of {args.data_dir.name}, {len(folds)} folds ({args.folds}), window {WINDOW}, C {args.c}")

    def functionals(model: str, layers: tuple[int, ...]) -> np.ndarray:
        n_layers, width, frames = per_model[model]
        columns = np.concatenate([np.arange((k - 1) * width, k * width) for k in layers])
        return clip_functionals([f[:, columns] for f in frames])  # (n, 2 d x layers)

    winners = {}
    for model, (n_layers, _, _) in per_model.items():
        print(f"\nStage 1, {model} alone\n{HEADER}")
        settings = [(str(k), (k,)) for k in range(1, n_layers + 1)] + [("all", tuple(range(1, n_layers + 1)))]
        rows = []
        for name, layers in settings:
            ms = encoder_ms(paths, model, name)
            rows.append(
                row(f"{model} {name}", score(functionals(model, layers), y, actors, folds, args.c), ms, max(layers))
            )
            rows[-1]["layers"] = name
        baseline = rows[n_layers - 1]  # "last" is layer n_layers
        winners[model] = choose(baseline, [r for r in rows if r is not baseline])["layers"]
        print(f"stage 1 winner for {model}: {winners[model]}")

    print(f"\nStage 2, tiny.en+base\n{HEADER}")
    pair = {}
    for name in ("4+6", f"{winners['tiny.en']}+{winners['base']}"):
        if name in pair:
            continue
        parts = name.split("+")
        x = np.concatenate(
            [
                functionals(model, tuple(range(1, n + 1)) if part == "all" else tuple(map(int, part.split(","))))
                for (model, (n, _, _)), part in zip(per_model.items(), parts)
            ],
            axis=1,
        )
        ms = encoder_ms(paths, "tiny.en", parts[0]) + encoder_ms(paths, "base", parts[1])
        pair[name] = row(f"tiny.en+base {name}", score(x, y, actors, folds, args.c), ms, 0)
    chosen = choose(pair["4+6"], [r for n, r in pair.items() if n != "4+6"])
    print(f"stage 2: whisper_layers={chosen['name'].split()[-1]} ('4+6' is last+last)")
    return 0


def int8_stage(args) -> int:

    from emotion.corpus.splits import published_kfold
    from emotion.models.clip_svm import clip_functionals

    print(HEADER)
    rows = {}
    for compute in ("float32", "int8"):
        corpus, frames = corpus_frames(args.data_dir, "tiny.en+base", args.layers, compute)
        paths = list(corpus.manifest["audio_path"])
        y, actors = corpus.labels, corpus.manifest["actor"].to_numpy(dtype=str)
        folds, _, _ = published_kfold(corpus.manifest, args.folds)
        ms = encoder_ms(paths, "tiny.en+base", args.layers, compute)
        rows[compute] = row(
            f"{args.layers} {compute}", score(clip_functionals(frames), y, actors, folds, args.c), ms, 0
        )
    losses = {p: rows["float32"]["nested"][p] - rows["int8"]["nested"][p] for p in rows["int8"]["nested"]}
    keep = all(loss < TOLERANCE for loss in losses.values())
    print(
        f"int8 loses {', '.join(f'{p} {v:+.3f}' for p, v in losses.items())}: default {'int8' if keep else 'float32'}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("layers", "int8"), default="layers")
    parser.add_argument("--layers", default="last", help="stage int8: the whisper_layers stage 2 chose")
    parser.add_argument("--c", type=float, default=0.03, help="every head at this C (the rule's 0.03)")
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    parser.add_argument("--folds", type=Path, default=EMOBOX)
    args = parser.parse_args()
    return layers_stage(args) if args.stage == "layers" else int8_stage(args)


if __name__ == "__main__":
    raise SystemExit(main())
