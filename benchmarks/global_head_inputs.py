"""The global head's input, chosen on validation actors under EmoBox's folds (whisper_lstm's features).

    python benchmarks/global_head_inputs.py [--folds ../shared/data/emobox/ravdess] [name=value ...]
    python benchmarks/global_head_inputs.py whisper_window=10s     # another window's features

The global head answers single clips, with no speaker statistics. Per fold, for each input (the frame
mean / std + the extras' mean and std, as `global_extras_std=true`; the same without the extras' std,
`global_extras_std=false`; the frame mean / std alone) and each head kind (logistic, RBF SVM), C is
chosen by grouped CV on the fold's training actors, as `ClipSVM` does. Printed: the validation UA (fit
on training actors, scored on the fold's validation actors; what a setting is chosen by), and the test
UA of a refit on training + validation actors with that C. The mean over folds for both.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.corpus.dev_paths import EMOBOX_RAVDESS as EMOBOX, RAVDESS16K  # noqa: E402 -- after the TF log level


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    parser.add_argument("--folds", type=Path, default=EMOBOX)
    parser.add_argument("assignments", nargs="*", help="whisper_lstm config overrides, name=value")
    args = parser.parse_args()

    import numpy as np

    from emotion.config import build_config, parse_assignments
    from emotion.corpus.labels import EMOTIONS
    from emotion.corpus.splits import published_kfold
    from emotion.data.dataset import prepare_corpus
    from emotion.features.cache import default_cache_dir
    from emotion.features.cnn import extra_width
    from emotion.metrics import classification_metrics
    from emotion.models.clip_svm import _fit_head, pooled_functionals

    config = build_config("whisper_lstm", {**parse_assignments(args.assignments), "data_dir": str(args.data_dir)})
    corpus = prepare_corpus(config.data, config.features, default_cache_dir(), allow_video=False)
    segments = corpus.features["audio"]
    n_extras = extra_width(config.features)
    width = (segments[0].shape[1] - n_extras) // 2
    functionals = pooled_functionals(segments, width)  # (n, [frame mean | frame std | extras' mean | extras' std])
    inputs = {
        "frames + extras' mean and std (global_extras_std=true)": functionals,
        "frames + extras' mean (global_extras_std=false)": functionals[:, : 2 * width + n_extras],
        "frames alone": functionals[:, : 2 * width],
    }
    y, speakers = corpus.labels, corpus.manifest["actor"].to_numpy(dtype=str)
    folds, _, _ = published_kfold(corpus.manifest, args.folds)

    def ua(truth, predicted) -> float:
        return classification_metrics(truth, predicted, EMOTIONS)["ua"]

    print("| input | head | validation UA | test UA |")
    print("|---|---|---|---|")
    for name, x in inputs.items():
        for kind in ("logistic", "svm"):
            val, test = [], []
            for split in folds:
                train, held = split["train"], split["val"]
                head = _fit_head(x[train], y[train], speakers[train], kind, seed=0)
                val.append(ua(y[held], head.predict(x[held])))
                both = np.concatenate([train, held])
                refit = _fit_head(x[both], y[both], speakers[both], kind, seed=0, c=float(head[-1].C))
                test.append(ua(y[split["test"]], refit.predict(x[split["test"]])))
            print(f"| {name} | {kind} | {np.mean(val):.3f} | {np.mean(test):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
