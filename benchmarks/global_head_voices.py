"""The global head trained with synthetic voices of its training actors, under EmoBox's folds.

    python benchmarks/global_head_voices.py [--folds ../shared/data/emobox/ravdess] [--voices-dir DIR]
        [--settings as_built,voices,voices_no_hnr]

A single clip comes without speaker statistics, so the global head must answer for a voice it never
heard, after training on 12-15 actors. Here every clip is re-voiced twice as `global_voices` does
(emotion/corpus/voices.py: Praat's Change gender, one voice up and one down), and the global head
(whisper_lstm's features, the frame mean / std + the extras' mean, as `global_extras_std=false`)
learns from a fold's training actors in their own and both synthetic voices. The voices are written once under --voices-dir (default: the
feature cache's folder) and their features cached like any corpus's.

Settings (SETTINGS): the head without voices; + the two voices (whisper_lstm's default since
2026-12-03); + the two voices without the clip's HNR mean (`global_hnr=false`): the HNR, Praat's
cross-correlation, is the slowest feature of a served single clip after the encoder, and a global head
that does not read it lets a single clip skip it. Decision rule for that one, written before its run:
it is adopted if its nested mean is within 0.005 of the default's or above (the simpler head, as below).

Per setting, printed:
- nested grouped-CV UA, the selection rule for head-level choices since 2026-12-03 (docs/evaluation.md,
  "How settings are chosen"): a fold's non-test actors (training + validation, 12-15) in 5 actor groups;
  each group is predicted by a head fit on the other four, C chosen inside them by grouped CV as
  `ClipSVM` does, so nothing scored chooses anything; UA over all of the fold's non-test clips (real
  clips only), then the mean over folds. The setting with the higher mean wins; within 0.005 the
  simpler one (as built) stays.
- validation UA: fit on the training actors, C by grouped CV over them, scored on the validation
  actors' own clips (2-3 actors a fold: the rule before 2026-12-03).
- test UA: refit on training + validation actors with that C, scored on the test actors' own clips.
"""

from __future__ import annotations

import argparse
import os
from functools import partial
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.corpus.dev_paths import EMOBOX_RAVDESS as EMOBOX, RAVDESS16K  # noqa: E402 -- after the TF log level


# name: (row label, learn from the two voices too, read the HNR mean)
SETTINGS = {
    "as_built": ("without voices", False, True),
    "voices": ("+ 2 synthetic voices (the default)", True, True),
    "voices_no_hnr": ("+ 2 synthetic voices, without the HNR mean", True, False),
}


def make_voices(data_dir: Path, voices_dir: Path) -> None:
    """Every clip of data_dir in every voice, under voices_dir/<voice>/ with the corpus's own layout (so
    the copies are a corpus with the same names and actors)."""
    from multiprocessing import Pool

    from emotion.corpus.voices import VOICES, revoice

    sources = sorted(data_dir.glob("Actor_*/*.wav"))
    jobs = [(str(s), str(voices_dir / v / s.relative_to(data_dir)), v) for v in VOICES for s in sources]
    with Pool(os.cpu_count()) as pool:  # Praat holds Python's lock: processes, not threads
        failed = [r for r in pool.starmap(revoice, [j for j in jobs if not os.path.exists(j[1])], chunksize=8) if r]
    if failed:
        raise SystemExit(f"{len(failed)} clips could not be re-voiced, e.g. {failed[0]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=RAVDESS16K)
    parser.add_argument("--folds", type=Path, default=EMOBOX)
    parser.add_argument("--voices-dir", type=Path, default=None)
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated names from SETTINGS")
    args = parser.parse_args()
    unknown = [name for name in args.settings.split(",") if name not in SETTINGS]
    if unknown:
        parser.error(f"--settings: unknown {', '.join(unknown)} (known: {', '.join(SETTINGS)})")

    import numpy as np

    from emotion.config import build_config
    from emotion.data.dataset import prepare_corpus
    from emotion.corpus.labels import EMOTIONS
    from emotion.corpus.splits import published_kfold
    from emotion.metrics import classification_metrics
    from emotion.features.cache import default_cache_dir
    from emotion.corpus.voices import VOICES
    from emotion.features.cnn import extra_width
    from emotion.experiment.selection import nested_grouped_ua_per_fold
    from emotion.models.clip_svm import _fit_head, pooled_functionals

    voices_dir = args.voices_dir or default_cache_dir() / "voices" / args.data_dir.name
    make_voices(args.data_dir, voices_dir)

    def global_inputs(data_dir: Path):
        """(n, frame mean | frame std | extras' mean), labels, actors, file names."""
        config = build_config("whisper_lstm", {"data_dir": str(data_dir)})
        if not config.features.voice_quality:
            raise SystemExit("whisper_lstm has no HNR column (voice_quality=false): nothing for voices_no_hnr to drop")
        corpus = prepare_corpus(config.data, config.features, default_cache_dir(), allow_video=False)
        segments, n_extras = corpus.features["audio"], extra_width(config.features)
        width = (segments[0].shape[1] - n_extras) // 2
        x = pooled_functionals(segments, width)[:, : 2 * width + n_extras]
        names = [Path(p).name for p in corpus.manifest["audio_path"]]
        return x, corpus.labels, corpus.manifest["actor"].to_numpy(dtype=str), names, corpus.manifest

    x0, y0, actors0, names0, manifest = global_inputs(args.data_dir)
    voiced = [global_inputs(voices_dir / v)[:4] for v in VOICES]
    folds, _, _ = published_kfold(manifest, args.folds)

    # voice_quality is the last extra (EXTRA_OPTIONS order): the HNR mean is the last global column
    all_columns, without_hnr = slice(None), slice(0, x0.shape[1] - 1)

    def training_rows(rows: np.ndarray, with_voices: bool, columns: slice):
        """The clips `rows` (of the real corpus), and their synthetic voices when asked; actors unchanged,
        so grouped CV keeps every voice of an actor on one side."""
        parts = [(x0[rows][:, columns], y0[rows], actors0[rows])]
        if with_voices:
            keep = {names0[i] for i in rows}
            for x, y, actors, names in voiced:
                chosen = np.array([i for i, name in enumerate(names) if name in keep])
                parts.append((x[chosen][:, columns], y[chosen], actors[chosen]))
        return tuple(np.concatenate(column) for column in zip(*parts))

    def ua(truth, predicted) -> float:
        return classification_metrics(truth, predicted, EMOTIONS)["ua"]

    print("| global head | nested grouped-CV UA (per fold) | validation UA | test UA mean ± sd | per-fold test UA |")
    print("|---|---|---|---|---|")
    for key in args.settings.split(","):
        name, with_voices, with_hnr = SETTINGS[key]
        columns = all_columns if with_hnr else without_hnr
        val, test = [], []
        for split in folds:
            head = _fit_head(*training_rows(split["train"], with_voices, columns), "logistic", seed=0)
            val.append(ua(y0[split["val"]], head.predict(x0[split["val"]][:, columns])))
            non_test = np.concatenate([split["train"], split["val"]])
            c = float(head[-1].C)
            refit = _fit_head(*training_rows(non_test, with_voices, columns), "logistic", seed=0, c=c)
            test.append(ua(y0[split["test"]], refit.predict(x0[split["test"]][:, columns])))
        # each inner head also learns from its fit rows' voices; real clips scored only
        grouped = nested_grouped_ua_per_fold(
            x0[:, columns],
            y0,
            actors0,
            folds,
            training=partial(training_rows, with_voices=with_voices, columns=columns),
        )
        print(
            f"| {name} | {np.mean(grouped):.3f} ({' '.join(f'{g:.3f}' for g in grouped)}) | {np.mean(val):.3f} "
            f"| {np.mean(test):.3f} ± {np.std(test, ddof=1):.3f} | {' '.join(f'{t:.3f}' for t in test)} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
