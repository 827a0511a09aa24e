"""The pooled linear head on frozen Whisper frames (the frozen-encoder probe), under published folds.

    python benchmarks/whisper_probe.py [--windows clip,30s] [--folds ../shared/data/emobox/ravdess]

Per clip, the mean and std over the encoder's frames (768 numbers for tiny.en); standardised per
speaker (each speaker's clips by that speaker's statistics, no labels) or globally (one
standardisation from the training clips); then a multinomial logistic regression. Per fold, C is chosen
from C_GRID on the fold's validation actors (carved from its training actors), then the head is refit
on training + validation actors and scored on the test actors. Features come from the project's cache
(`feature_kind=whisper`), computed on first use. UA / WA / macro-F1, mean and sd over the folds.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.corpus.dev_paths import EMOBOX_RAVDESS as EMOBOX, RAVDESS16K  # noqa: E402 -- after the TF log level

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", default="clip,30s")
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    parser.add_argument("--folds", type=Path, default=EMOBOX)
    args = parser.parse_args()

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from emotion.config import build_config
    from emotion.corpus.labels import EMOTIONS
    from emotion.corpus.splits import published_kfold
    from emotion.data.dataset import prepare_corpus
    from emotion.features.cache import default_cache_dir
    from emotion.features.normalise import per_speaker
    from emotion.metrics import classification_metrics
    from emotion.models.clip_svm import clip_functionals

    def head(c: float):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))

    print("| window | normalisation | UA mean ± sd | WA mean ± sd | macro-F1 mean ± sd | per-fold UA | C chosen |")
    print("|---|---|---|---|---|---|---|")
    for window in args.windows.split(","):
        config = build_config(
            "wav2vec_attention", {"data_dir": str(args.data_dir), "feature_kind": "whisper", "whisper_window": window}
        )
        corpus = prepare_corpus(config.data, config.features, default_cache_dir(), allow_video=False)
        speakers = corpus.manifest["actor"].to_numpy(dtype=str)
        folds, _, report = published_kfold(corpus.manifest, args.folds)
        raw = clip_functionals(corpus.features["audio"])  # (n, 2 d_model)
        by_speaker = np.concatenate(per_speaker([row[None] for row in raw], speakers))
        for name, x in (("speaker", by_speaker), ("global", raw)):
            scores, chosen = [], []
            for split in folds:
                y = corpus.labels
                val_ua = [
                    classification_metrics(
                        y[split["val"]],
                        head(c).fit(x[split["train"]], y[split["train"]]).predict(x[split["val"]]),
                        EMOTIONS,
                    )["ua"]
                    for c in C_GRID
                ]
                c = C_GRID[int(np.argmax(val_ua))]
                fit = np.concatenate([split["train"], split["val"]])
                scores.append(
                    classification_metrics(
                        y[split["test"]], head(c).fit(x[fit], y[fit]).predict(x[split["test"]]), EMOTIONS
                    )
                )
                chosen.append(c)
            cell = {
                m: f"{np.mean([s[m] for s in scores]):.3f} ± {np.std([s[m] for s in scores], ddof=1):.3f}"
                for m in ("ua", "wa", "macro_f1")
            }
            per_fold = " ".join(f"{s['ua']:.3f}" for s in scores)
            print(
                f"| {window} | {name} | {cell['ua']} | {cell['wa']} | {cell['macro_f1']} | {per_fold} | {' '.join(f'{c:g}' for c in chosen)} |",
                flush=True,
            )
    print(f"\n{len(folds)} folds ({'; '.join(report.lines()[1:])})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
