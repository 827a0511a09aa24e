"""Which frozen Whisper encoder: tiny.en, base, or both side by side, chosen by nested grouped CV.

    python benchmarks/encoder_choice.py [--encoders tiny.en,base,tiny.en+base] [--folds ../shared/data/emobox/ravdess]

The probe of each encoder (per clip: mean and std of the encoder's frames, the clip head's core input;
a logistic head, C by grouped CV as `ClipSVM` chooses it) on the two request paths:
- per speaker: every clip standardised by its speaker's statistics (a speaker's clips sent together);
- single clip: the raw functionals, one standardisation from the training clips (a clip sent alone).
`tiny.en+base` is both models' frames concatenated per time step, as `whisper_model=tiny.en+base` makes
them (tests/test_whisper_base.py checks that equality); here built from each model's cached frames.

Decision rule, written before the run (6 settings: 3 encoders x 2 paths; chosen per path):
- the figure that chooses is the nested grouped-CV UA: a fold's non-test actors (EmoBox's folds over
  the corpus; 15 or so per fold) in 5 actor groups, each predicted by a head fit on the other four (C
  chosen inside those four), UA over all the fold's non-test clips, then the mean over the folds;
- a larger encoder replaces tiny.en (the default) only if it adds at least 0.5 UA point (0.005);
  between two that both pass, the higher wins unless within 0.005, then the cheaper (encoder seconds
  per clip, measured in the same run);
- the test folds' UA (head refit on all non-test actors, C by grouped CV over them) is printed for
  reporting only.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.corpus.dev_paths import EMOBOX_RAVDESS as EMOBOX, RAVDESS16K  # noqa: E402 -- after the TF log level

TIMED_CLIPS = 40  # clips encoded afresh per model for its seconds per clip (one thread, the clip's own window)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="tiny.en,base,tiny.en+base")
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    parser.add_argument("--folds", type=Path, default=EMOBOX)
    args = parser.parse_args()

    import numpy as np

    from emotion.config import build_config
    from emotion.data.dataset import prepare_corpus
    from emotion.corpus.splits import published_kfold
    from emotion.experiment.selection import nested_grouped_ua_per_fold, reported_test_metrics
    from emotion.features.cache import default_cache_dir
    from emotion.features.normalise import per_speaker
    from emotion.features.whisper import WhisperEncoder
    from emotion.models.clip_svm import clip_functionals

    frames, corpus = {}, None
    for model in sorted({m for e in args.encoders.split(",") for m in e.split("+")}):
        config = build_config(
            "wav2vec_attention", {"data_dir": str(args.data_dir), "feature_kind": "whisper", "whisper_model": model}
        )
        corpus = prepare_corpus(config.data, config.features, default_cache_dir(), allow_video=False)
        frames[model] = corpus.features["audio"]
    paths = list(corpus.manifest["audio_path"])
    seconds = {}
    for model in frames:  # encoder cost per clip, measured here and now (the corpus pass may have been cached)
        encoder = WhisperEncoder(model, "clip", threads=1)
        started = time.perf_counter()
        for path in paths[:TIMED_CLIPS]:
            encoder(path)
        seconds[model] = (time.perf_counter() - started) / TIMED_CLIPS

    y, actors = corpus.labels, corpus.manifest["actor"].to_numpy(dtype=str)
    folds, _, _ = published_kfold(corpus.manifest, args.folds)

    print(f"{len(paths)} clips of {args.data_dir.name}, {len(folds)} folds ({args.folds})")
    print(
        "| encoder | path | nested grouped-CV UA (per fold) | test UA mean ± sd | test WA | test macro-F1 | encoder ms / clip |"
    )
    print("|---|---|---|---|---|---|---|")
    for encoder in args.encoders.split(","):
        parts = encoder.split("+")
        sequences = [np.concatenate([frames[m][i] for m in parts], axis=1) for i in range(len(paths))]  # (T, sum d)
        raw = clip_functionals(sequences)  # (n, 2 d)
        for path, x in (
            ("per speaker", np.concatenate(per_speaker([r[None] for r in raw], actors))),
            ("single clip", raw),
        ):
            nested = nested_grouped_ua_per_fold(x, y, actors, folds)
            tests = reported_test_metrics(x, y, actors, folds)
            test_ua = [t["ua"] for t in tests]
            cost = 1000 * sum(seconds[m] for m in parts)
            print(
                f"| {encoder} | {path} | {np.mean(nested):.3f} ({' '.join(f'{v:.3f}' for v in nested)}) "
                f"| {np.mean(test_ua):.3f} ± {np.std(test_ua, ddof=1):.3f} | {np.mean([t['wa'] for t in tests]):.3f} "
                f"| {np.mean([t['macro_f1'] for t in tests]):.3f} | {cost:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
