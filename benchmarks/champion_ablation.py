"""Which parts of the champion's clip heads earn their place, chosen by nested grouped CV.

    python benchmarks/champion_ablation.py [--windows clip,10s,30s] [--encoder tiny.en+base] [--skip-columns]
        [--folds ../shared/data/emobox/ravdess]

whisper_lstm's two clip heads (a logistic head on clip functionals, C by grouped CV as `ClipSVM`
chooses it), each without one column group at a time:
- per speaker (a speaker's clips sent together): every column standardised by the speaker's statistics;
  as built: the Whisper frames' mean and std + the mean and std over segments of the extras: prosody
  (pitch, energy: 5 columns), spectral change (64), HNR (1);
- single clip (the global head): raw columns, as built the frames' mean and std + the extras' means
  without the HNR; here without the synthetic voices, which were chosen by this rule before (nested
  grouped-CV UA 0.719 vs 0.707; the voices need two more Praat passes).
- the encoder window (frames' mean and std only, from `feature_kind=whisper` at each window): whisper_lstm
  pads every clip to 10 s; `clip` encodes the clip alone, `30s` is Whisper's own window.
The network and its blend are not ablated here: that needs a network trained per inner fold.

Decision rule, written before the run:
- the figure that chooses is the nested grouped-CV UA: a fold's non-test actors (EmoBox's folds) in 5
  actor groups, each predicted by a head fit on the other four (C chosen inside those four), UA over all
  the fold's non-test clips, then the mean over the folds;
- a column group stays only if dropping it costs at least 0.5 UA point (0.005) of that figure on its
  path; each group is judged alone against the as-built head, and the head without every group that
  failed is printed too (kept only if within 0.005 of as built, else the groups come back, costliest
  first, until it is);
- window: the cheapest window within 0.005 of the best one wins (clip < 10s < 30s in encoder time);
  with `--c` every head of the run has that C (the same for every setting) instead of C by grouped CV:
  tiny.en+base's 1,792 frame columns make the C search 20x the fits;
- the test folds' UA (head refit on all non-test actors, C by grouped CV over them) is reported only.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.corpus.dev_paths import EMOBOX_RAVDESS as EMOBOX, RAVDESS16K  # noqa: E402 -- after the TF log level


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", default="clip,10s,30s", help="encoder windows to compare ('' for none)")
    parser.add_argument("--encoder", default="", help="whisper_model of the window rows (default: whisper_lstm's)")
    parser.add_argument("--skip-columns", action="store_true", help="only the window rows")
    parser.add_argument("--c", type=float, default=None, help="every head at this C (default: C by grouped CV)")
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    parser.add_argument("--folds", type=Path, default=EMOBOX)
    args = parser.parse_args()

    import numpy as np

    from emotion.config import build_config
    from emotion.data.dataset import prepare_corpus
    from emotion.corpus.splits import published_kfold
    from emotion.experiment.selection import nested_grouped_ua_per_fold, reported_test_metrics
    from emotion.features.cache import default_cache_dir
    from emotion.features.cnn import extra_width
    from emotion.features.normalise import per_speaker
    from emotion.features.prosody import N_PROSODY
    from emotion.models.clip_svm import clip_functionals, pooled_functionals

    config = build_config("whisper_lstm", {"data_dir": str(args.data_dir)})
    corpus = prepare_corpus(config.data, config.features, default_cache_dir(), allow_video=False)
    y, actors = corpus.labels, corpus.manifest["actor"].to_numpy(dtype=str)
    e = extra_width(config.features)
    w = (corpus.features["audio"][0].shape[1] - e) // 2  # d_model: the frames' block
    pooled = pooled_functionals(corpus.features["audio"], w)  # (n, [mean w | std w | extras mean e | extras std e])
    groups = {"prosody": range(0, N_PROSODY), "spectral change": range(N_PROSODY, e - 1), "HNR": range(e - 1, e)}
    assert e == N_PROSODY + config.features.n_mels + 1, "the extras' layout this benchmark slices"

    def columns(path: str, without: tuple[str, ...]) -> np.ndarray:
        dropped = {i for g in without for i in groups[g]}
        extras_mean = [2 * w + i for i in range(e) if i not in dropped]
        if path == "single clip":  # as built: no extras' std, no HNR mean (global_extras_std / global_hnr)
            return np.array([*range(2 * w), *(c for c in extras_mean if c != 2 * w + e - 1)])
        return np.array([*range(2 * w), *extras_mean, *(c + e for c in extras_mean)])

    folds, _, _ = published_kfold(corpus.manifest, args.folds)

    def row(label: str, path: str, x: np.ndarray) -> float:
        nested = nested_grouped_ua_per_fold(x, y, actors, folds, c=args.c)
        tests = [m["ua"] for m in reported_test_metrics(x, y, actors, folds, c=args.c)]
        print(
            f"| {label} | {path} | {x.shape[1]} | {np.mean(nested):.3f} ({' '.join(f'{v:.3f}' for v in nested)}) "
            f"| {np.mean(tests):.3f} ± {np.std(tests, ddof=1):.3f} |",
            flush=True,
        )
        return float(np.mean(nested))

    def standardised(x: np.ndarray, path: str) -> np.ndarray:
        return np.concatenate(per_speaker([r[None] for r in x], actors)) if path == "per speaker" else x

    print(f"{len(y)} clips of {args.data_dir.name}, {len(folds)} folds; whisper_lstm's features (10-s window)")
    print("| head | path | columns | nested grouped-CV UA (per fold) | test UA mean ± sd |")
    print("|---|---|---|---|---|")
    for path in () if args.skip_columns else ("per speaker", "single clip"):
        scores = {(): row("as built", path, standardised(pooled[:, columns(path, ())], path))}
        for group in groups if path == "per speaker" else ("prosody", "spectral change"):
            scores[(group,)] = row(f"- {group}", path, standardised(pooled[:, columns(path, (group,))], path))
        failed = tuple(g for (g,) in [k for k in scores if k] if scores[()] - scores[(g,)] < 0.005)
        if len(failed) > 1:
            row(f"- {' - '.join(failed)}", path, standardised(pooled[:, columns(path, failed)], path))
        print(f"{path}: groups that do not earn 0.005 alone: {', '.join(failed) or 'none'}", flush=True)

    for window in filter(None, args.windows.split(",")):
        frames_config = build_config(
            "wav2vec_attention",
            {
                "data_dir": str(args.data_dir),
                "feature_kind": "whisper",
                "whisper_window": window,
                "whisper_model": args.encoder or config.features.whisper_model,
            },
        )
        frames = prepare_corpus(frames_config.data, frames_config.features, default_cache_dir(), allow_video=False)
        assert list(frames.manifest["clip_id"]) == list(corpus.manifest["clip_id"]), "the same clips in one order"
        raw = clip_functionals(frames.features["audio"])  # (n, 2 d_model)
        for path in ("per speaker", "single clip"):
            row(f"frames only, window {window}", path, standardised(raw, path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
