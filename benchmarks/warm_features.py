"""A warm feature cache read by whisper_heads' features (whisper_segments), the two ways, in one run:

    python benchmarks/warm_features.py [--data ../shared/data/ravdess16k] [--labels angry,happy,neutral,sad] [--repeats 3]
        [--drop-page-cache]

- "frames, then segments": every clip's Whisper frames (~1 MB each at tiny.en+base, 10-s window) are
  read from the cache, then its segment features (what the heads read) are: what `audio_features` did
  until it learned to skip the frames of clips whose segments are cached.
- "segments only": `emotion.data.dataset.audio_features` now.
- "each synthetic voice's copies, segments only": the same for the copies the global head also reads
  (emotion/corpus/voices.py), featurised without Praat, as every cv fold reads them.

Run it on a warm cache (any whisper_heads run over the same clips fills it); the clips are read from
the shared data, never copied. Prints seconds per pass (median of the repeats) and their ratio. Both
passes read the same arrays; nothing here chooses a setting. --drop-page-cache (Linux, as root) empties
the kernel's page cache before each pass, as after a reboot or on a machine whose memory the cache's
files do not fit: the arrays are then read from disk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from emotion.corpus.dev_paths import RAVDESS16K  # noqa: E402 -- after the TF log level


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=RAVDESS16K)
    parser.add_argument("--labels", default="angry,happy,neutral,sad", help="the clips of these classes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--drop-page-cache", action="store_true", help="read from disk: needs root on Linux")
    args = parser.parse_args()

    from emotion.config import build_config
    from emotion.corpus.voices import voiced_copies
    from emotion.corpus.manifest import build_manifest
    from emotion.data.dataset import _extractor, audio_features
    from emotion.features.cache import FeatureCache, default_cache_dir, extract_many
    from emotion.features.extractors import whisper_frame_extractor

    features = build_config("whisper_heads").features
    manifest, _ = build_manifest(args.data, "auto")
    paths = list(manifest.loc[manifest["emotion"].isin(args.labels.split(",")), "audio_path"])
    cache = FeatureCache(default_cache_dir() / "features")
    compute, params = _extractor(features, cache, ())
    cold = sum(not cache.has(p, params) for p in paths)
    if cold:
        raise SystemExit(
            f"{cold} of {len(paths)} clips have no cached segment features: run whisper_heads on them first"
        )
    frames, frame_params, replicas = whisper_frame_extractor(features, many_clips=True)
    unread = ("hnr", "prosody")  # whisper_heads' global head reads neither: its voices skip Praat
    voice_params = _extractor(features, cache, unread)[1]
    copies, _ = voiced_copies(paths, default_cache_dir() / "voices")  # made here (Praat) if never made
    voice_paths = [c for copy in copies.values() for c in copy if c is not None]
    if not voice_paths or not all(cache.has(c, voice_params) for c in voice_paths):
        raise SystemExit(
            "the voices' copies have no cached features: run whisper_heads (global_voices) on these clips first"
        )

    def frames_then_segments():
        extract_many(paths, frames, frame_params, cache, desc="whisper frames", workers=replicas)
        return extract_many(paths, compute, params, cache, desc="audio features")

    def segments_only():
        return audio_features(paths, features, cache)

    def voices_segments_only():
        return audio_features(voice_paths, features, cache, unread)

    seconds = {}
    passes = (
        ("frames, then segments", frames_then_segments),
        ("segments only", segments_only),
        (f"each synthetic voice's copies ({len(copies)} voices), segments only", voices_segments_only),
    )
    for name, read in passes:
        times = []
        for _ in range(args.repeats):
            if args.drop_page_cache:
                os.sync()
                Path("/proc/sys/vm/drop_caches").write_text("1\n")
            started = time.perf_counter()
            arrays, failures = read()
            times.append(time.perf_counter() - started)
        assert not failures and all(a is not None for a in arrays)
        seconds[name] = statistics.median(times)
    where = "from disk (page cache dropped)" if args.drop_page_cache else "page cache warm"
    print(
        f"\n{len(paths)} clips of {args.data.name} ({args.labels}), warm feature cache {where}, median of {args.repeats}:"
    )
    print("| pass | seconds |\n|---|---|")
    for name, value in seconds.items():
        print(f"| {name} | {value:.1f} |")
    print(f"ratio: {seconds['frames, then segments'] / seconds['segments only']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
