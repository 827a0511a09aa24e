"""Does the champion's network earn its place beside its clip head? Chosen by nested grouped CV.

    python benchmarks/champion_network.py [--encoder tiny.en+base] [--folds ../shared/data/emobox/ravdess]

whisper_lstm blends a network (BiLSTM + attention over Whisper segment features, per-speaker
standardised) with a logistic clip head at svm_weight 0.7, on the per-speaker path (a speaker's clips
sent together; a clip sent alone is answered by the global head, which has no network part). This
benchmark scores, on the non-test actors of each of EmoBox's folds, the head alone, the network alone and
their blend, without a test fold choosing anything.

Nested predictions: EmoBox's 6 folds are 6 actor groups. For every pair {j, k} of folds (15 pairs) a
network and a head learn from the other 4 folds (the network's validation actors carved from those, as
`cv` carves them) and predict folds j and k. The inner figure for outer fold k is the UA over its non-test
clips (the 5 folds j != k), each predicted by the pair {j, k}'s models: no model saw fold k's or fold j's
actors. The test-fold figure (models on all 5 other folds) is `ravdess_cv.py`'s, reported there.

Decision rule, written before the run:
- the network stays only if the blend at svm_weight 0.7 (the variant's default, chosen on validation
  actors before) beats the head alone by at least 0.5 UA point (0.005) of the mean nested UA over the 6
  outer folds; otherwise the champion is the clip heads alone (the simpler model, no network to train);
- the blend's other weights (0.3, 0.5) and the network alone are printed for information, not chosen on.
Settings tried: 1 (the blend at 0.7 against the head alone).
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.corpus.dev_paths import EMOBOX_RAVDESS as EMOBOX, RAVDESS16K  # noqa: E402 -- after the TF log level

WEIGHT = 0.7  # whisper_lstm's svm_weight
INFO_WEIGHTS = (0.3, 0.5)


def _weighted(network, head, weight: float):
    from emotion.models.clip_svm import blend

    return blend(network, head, weight)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="tiny.en+base", help="whisper_model of the features")
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    parser.add_argument("--folds", type=Path, default=EMOBOX)
    parser.add_argument(
        "--saved", type=Path, default=Path("benchmarks/.champion_network"), help="per-pair probabilities"
    )
    args = parser.parse_args()

    import mlflow
    import numpy as np

    from emotion.config import build_config
    from emotion.data.dataset import prepare_corpus
    from emotion.corpus.labels import EMOTIONS
    from emotion.corpus.splits import _carve_val, published_kfold
    from emotion.experiment.clip_head import fit_clip_head
    from emotion.metrics import classification_metrics
    from emotion.experiment.train import train
    from emotion.features.cache import default_cache_dir
    from emotion.models.clip_svm import blend

    overrides = {
        "data_dir": str(args.data_dir),
        "whisper_model": args.encoder,
        "global_head": False,
        "global_voices": False,
        "global_hnr": True,
    }
    config = build_config("whisper_lstm", {**overrides, "svm_weight": 0.0})  # svm_weight 0: the network alone
    head_config = build_config("whisper_lstm", overrides)
    cache = default_cache_dir()
    started = time.time()
    corpus = prepare_corpus(config.data, config.features, cache, allow_video=False)
    print(f"features ready in {time.time() - started:.0f} s", flush=True)
    y, actors = corpus.labels, corpus.manifest["actor"].to_numpy(dtype=str)
    folds, _, _ = published_kfold(corpus.manifest, args.folds)
    tests = [f["test"] for f in folds]
    args.saved.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(f"sqlite:///{tempfile.mkdtemp(prefix='champion-network-')}/mlflow.db")

    pairs = {}  # (j, k) -> (held positions, network proba, head proba)
    for j, k in itertools.combinations(range(len(folds)), 2):
        saved = args.saved / f"{args.encoder}-pair-{j}-{k}.npz"
        held = np.concatenate([tests[j], tests[k]])
        if saved.exists():
            stored = np.load(saved)
            pairs[j, k] = (stored["held"], stored["network"], stored["head"])
            continue
        rest = np.setdiff1d(np.arange(len(y)), held)
        train_rows, val_rows = _carve_val(rest, y, actors, 1.0 / (len(folds) - 1), 42, f"pair {j},{k}")
        split = {"train": np.sort(train_rows), "val": np.sort(val_rows), "test": held}
        t0 = time.time()
        result = train(config, cache, corpus=corpus, split=split, run_part=f"pair-{j}-{k}")
        head = fit_clip_head(head_config, corpus, corpus.features["audio"], rest, None)
        head_proba = head.predict_proba([corpus.features["audio"][i] for i in held], actors[held])
        np.savez(saved, held=held, network=result.test_proba, head=head_proba)
        pairs[j, k] = (held, result.test_proba, head_proba)
        print(f"pair {j},{k}: {result.epochs_run} epochs, {time.time() - t0:.0f} s", flush=True)

    def nested_ua(outer: int, proba_of) -> float:
        truth, predicted = [], []
        for j in range(len(folds)):
            if j == outer:
                continue
            held, network, head = pairs[min(j, outer), max(j, outer)]
            rows = np.isin(held, tests[j])
            truth.append(y[held[rows]])
            predicted.append(np.argmax(proba_of(network[rows], head[rows]), axis=1))
        return classification_metrics(np.concatenate(truth), np.concatenate(predicted), EMOTIONS)["ua"]

    candidates = {
        "head alone": lambda n, h: h,
        f"blend {WEIGHT}": lambda n, h: blend(n, h, WEIGHT),
        **{f"blend {w} (information)": partial(_weighted, weight=w) for w in INFO_WEIGHTS},
        "network alone (information)": lambda n, h: n,
    }
    print(f"\n{len(y)} clips, {len(folds)} folds, encoder {args.encoder}; per-speaker path")
    print("| model | nested grouped-CV UA (per fold) |\n|---|---|")
    means = {}
    for name, proba_of in candidates.items():
        per_fold = [nested_ua(k, proba_of) for k in range(len(folds))]
        means[name] = float(np.mean(per_fold))
        print(f"| {name} | {means[name]:.3f} ({' '.join(f'{v:.3f}' for v in per_fold)}) |")
    gain = means[f"blend {WEIGHT}"] - means["head alone"]
    verdict = "the network stays" if gain >= 0.005 else "the network goes: the clip heads alone"
    print(f"\nblend - head alone = {gain:+.4f} -> {verdict}; {time.time() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
