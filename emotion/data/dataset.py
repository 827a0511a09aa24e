"""Corpus folder -> usable clips with features per modality, and a report of every clip left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from emotion.config import DataConfig, FeatureConfig, feature_kind
from emotion.corpus.labels import EMOTIONS, run_classes
from emotion.corpus.manifest_file import manifest_from_file
from emotion.corpus.manifest import VIDEO_EXTENSIONS, VIDEO_FEATURE_SUFFIX, build_manifest
from emotion.data.synthetic import ensure_builtin_corpus
from emotion.errors import BadInputError, ConfigError
from emotion.features.audio import require_min_duration
from emotion.features.cache import FeatureCache, extract_many
from emotion.features.extractors import audio_extractor, whisper_frame_extractor
from emotion.features.video import VIDEO_FPS, load_video_features


def corpus_label(data_dir: str) -> str:
    """The corpus as runs name it: 'builtin' or the folder's name."""
    # the folder's name as given, links not resolved
    return Path(data_dir).expanduser().absolute().name if data_dir else "builtin"


@dataclass
class PreparedCorpus:
    root: Path
    name: str  # "builtin" or the folder's name
    manifest: pd.DataFrame  # usable clips only, index 0..n-1
    labels: np.ndarray  # (n,) class indices into classes
    features: dict[str, list[np.ndarray]]  # modality -> n arrays (T_i, F)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), manifest + features
    classes: tuple[str, ...] = EMOTIONS  # the run's labels= in class-index order

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.features)

    def report_text(self) -> str:
        lines = [f"usable clips: {len(self.labels)}", f"skipped: {len(self.skipped)}"]
        lines += [f"{path}\t{reason}" for path, reason in self.skipped]
        return "\n".join(lines) + "\n"


def prepare_corpus(
    data: DataConfig, features: FeatureConfig, cache_root: Path, allow_video: bool = True
) -> PreparedCorpus:
    """Manifest, modality choice and cached features; bad clips are skipped with their reason.

    allow_video=False (audio-only variants) never loads video, whatever `data.modalities` says.
    """
    if data.manifest:  # the clips a file lists, wherever they are
        root = Path(data.manifest).expanduser().resolve().parent
        manifest, report = manifest_from_file(data.manifest, data.label_map, data.speaker_column)
    else:
        root = Path(data.data_dir).expanduser() if data.data_dir else ensure_builtin_corpus(cache_root)
        manifest, report = build_manifest(root, data.corpus)
    skipped = list(report.skipped)
    classes = run_classes(data.labels)
    manifest = _leave_out_other_labels(manifest, skipped, classes)
    if data.labels:  # before any feature is made; again below, when failed clips have gone
        _require_every_class(manifest, classes, data.labels, root)
    if data.max_actors > 0:
        keep = sorted(manifest["actor"].unique())[: data.max_actors]
        manifest = manifest[manifest["actor"].isin(keep)]
    if data.video_source == "files":
        manifest = manifest.assign(video_path=manifest["video_path"].map(_sibling_video_file))
        manifest["has_video"] = manifest["video_path"].notna()
    modalities = _choose_modalities(data.modalities, manifest, root) if allow_video else ("audio",)

    usable = manifest["has_audio"].to_numpy(copy=True)
    for path in manifest.loc[~usable, "video_path"]:
        skipped.append((str(path), "no audio file for this clip"))
    if "video" in modalities:
        no_video = usable & ~manifest["has_video"].to_numpy()
        for path in manifest.loc[no_video, "audio_path"]:
            skipped.append((str(path), "no video partner for this clip"))
        usable &= ~no_video
    for i in np.flatnonzero(usable):  # a header read each, outside the cache: a changed floor applies at once
        try:
            require_min_duration(manifest["audio_path"].iloc[i], features.min_clip_seconds)
        except BadInputError as error:
            skipped.append((error.path, error.reason))
            usable[i] = False
    manifest = manifest[usable].reset_index(drop=True)

    cache = FeatureCache(Path(cache_root) / "features")
    if data.feature_dir:
        from emotion.features.folders import match_feature_folder

        arrays, folder_report = match_feature_folder(manifest, data.feature_dir)
        skipped.extend(folder_report.unmatched_files)  # feature files without a clip: listed, not fatal
        extracted = {"audio": (arrays, list(folder_report.failures))}
    else:
        extracted = {"audio": audio_features(manifest["audio_path"], features, cache)}
    if "video" in modalities:
        from emotion.features.face import face_feature_params

        params = {"video": face_feature_params()}  # the key also hashes the file, so .npy and video files never mix
        extracted["video"] = extract_many(manifest["video_path"], video_features, params, cache, desc="video features")

    for modality, (arrays, failures) in extracted.items():
        failures.extend(_drop_odd_widths(arrays, manifest[f"{modality}_path"], modality))
    if "video" in modalities:
        audio, (video, video_failures) = extracted["audio"][0], extracted["video"]
        video_failures.extend(_drop_mismatched_durations(manifest, audio, video, data.max_av_offset_seconds))

    ok = np.ones(len(manifest), dtype=bool)
    for arrays, failures in extracted.values():
        ok &= np.array([a is not None for a in arrays], dtype=bool)
        skipped.extend(failures)
    if not ok.any():
        raise BadInputError(
            root, f"no usable clips: all {len(manifest)} failed feature extraction (see the build report)"
        )
    features_by_modality = {m: [a for a, good in zip(arrays, ok) if good] for m, (arrays, _) in extracted.items()}
    manifest = manifest[ok].reset_index(drop=True)
    if data.labels:  # named classes must each be learnt from (not RAVDESS's 8 by default: CREMA-D has 6)
        _require_every_class(manifest, classes, data.labels, root)
    labels = np.array([classes.index(e) for e in manifest["emotion"]], dtype=np.int64)
    name = Path(data.manifest).stem if data.manifest else corpus_label(data.data_dir)
    return PreparedCorpus(root, name, manifest, labels, features_by_modality, sorted(skipped), classes)


def _leave_out_other_labels(manifest: pd.DataFrame, skipped: list, classes: tuple[str, ...]) -> pd.DataFrame:
    """Clips whose label is not one of the run's classes (EmoDB's `bored` by default) are reported and left out."""
    other = ~manifest["emotion"].isin(classes)
    for row in manifest[other].itertuples():
        path = row.audio_path if isinstance(row.audio_path, str) else row.video_path
        skipped.append((str(path), f"label {row.emotion!r} is not one of the run's labels: {', '.join(classes)}"))
    return manifest[~other].reset_index(drop=True)


def _require_every_class(manifest: pd.DataFrame, classes: tuple[str, ...], labels: str, root: Path) -> None:
    """One line naming a class of labels= that no usable clip has (a typo, or a label the map misses)."""
    missing = [name for name in classes if not (manifest["emotion"] == name).any()]
    if missing:
        found = sorted(manifest["emotion"].unique())
        raise ConfigError(
            f"parameter labels={labels}: no usable clip of {root} is labelled {missing[0]!r} "
            f"(its usable clips' labels: {', '.join(found) or 'none'})"
        )


def audio_features(
    paths, features: FeatureConfig, cache: FeatureCache, unmeasured: tuple[str, ...] = ()
) -> tuple[list, list]:
    """extract_many over the clips; the Whisper encoder runs on all its replicas at once. For
    whisper_segments the frames of the clips whose segments are not cached yet are encoded (and cached)
    in that parallel pass first, then the serial pass adds the prosody columns (Praat is not thread-safe)
    and reads the frames back; a clip whose segments are cached never reads its frames (~1 MB each).
    unmeasured ("hnr", "prosody"; segment kinds): those columns are 0, for a head that never reads them."""
    paths = list(paths)
    kind = feature_kind(features.feature_kind)
    if kind.whisper and not kind.segments:  # the frames are the features
        frames, frame_params, replicas = whisper_frame_extractor(features, many_clips=True)
        return extract_many(paths, frames, frame_params, cache, desc="whisper frames", workers=replicas)
    compute, params = _extractor(features, cache, unmeasured)
    todo = [p for p in paths if not cache.has(p, params)] if kind.whisper else []  # whisper_segments to compute
    if todo:
        frames, frame_params, replicas = whisper_frame_extractor(features, many_clips=True)
        extract_many(todo, frames, frame_params, cache, desc="whisper frames", workers=replicas)
    return extract_many(paths, compute, params, cache, desc="audio features")


def _extractor(features: FeatureConfig, cache: FeatureCache, unmeasured: tuple[str, ...]):
    """audio_extractor's (compute, params), with zeros where Praat's unmeasured columns would be, cached
    under a key of their own."""
    compute, params = audio_extractor(features, cache)
    if unmeasured:
        compute = partial(compute, **{name: False for name in unmeasured})
        params = {**params, "unmeasured": sorted(unmeasured)}
    return compute, params


def voiced_features(
    corpus: PreparedCorpus,
    positions: np.ndarray,
    features: FeatureConfig,
    cache_root: Path,
    unmeasured: tuple[str, ...] = (),
) -> tuple[list[np.ndarray], np.ndarray, list[tuple[str, str]]]:
    """The clips at `positions` in every synthetic voice (emotion/corpus/voices.py): their feature arrays
    (T, F), the corpus position each came from (its label and actor), and the copies left out with their
    reason (a clip Praat cannot re-voice, or whose copy fails feature extraction). unmeasured: as
    audio_features (the voices feed only the global head, which may not read Praat's columns)."""
    from emotion.corpus.voices import voiced_copies

    sources = [str(corpus.manifest["audio_path"][i]) for i in positions]
    copies, skipped = voiced_copies(sources, Path(cache_root) / "voices")
    arrays, origins = [], []
    cache = FeatureCache(Path(cache_root) / "features")
    for paths in copies.values():
        made = [(i, path) for i, path in zip(positions, paths) if path is not None]
        extracted, failures = audio_features([path for _, path in made], features, cache, unmeasured)
        skipped.extend(failures)
        for (i, _), array in zip(made, extracted):
            if array is not None:
                arrays.append(array)
                origins.append(i)
    return arrays, np.array(origins, dtype=np.int64), skipped


def _drop_odd_widths(arrays: list, paths, modality: str) -> list[tuple[str, str]]:
    """Arrays whose feature width differs from the most common one become None (they cannot share a batch)."""
    widths = [a.shape[1] for a in arrays if a is not None]
    if not widths:
        return []
    expected = max(set(widths), key=widths.count)
    failures = []
    for i, (array, path) in enumerate(zip(arrays, paths)):
        if array is not None and array.shape[1] != expected:
            failures.append(
                (str(path), f"{array.shape[1]} {modality} features per frame, the other clips have {expected}")
            )
            arrays[i] = None
    return failures


def _drop_mismatched_durations(
    manifest: pd.DataFrame, audio: list, video: list, max_offset: float
) -> list[tuple[str, str]]:
    """Clips whose audio file and video last very different times become None in `video` (a wrong pair)."""
    import soundfile as sf

    failures = []
    for i, (audio_path, video_path) in enumerate(zip(manifest["audio_path"], manifest["video_path"])):
        if audio[i] is None or video[i] is None:
            continue
        try:
            audio_seconds = sf.info(audio_path).duration  # the header only; the file decoded fine already
        except (sf.SoundFileError, RuntimeError):  # audio inside a video file: no header to read here
            continue
        video_seconds = len(video[i]) / VIDEO_FPS
        if abs(audio_seconds - video_seconds) > max_offset:
            reason = f"audio {audio_seconds:.2f} s and video {video_seconds:.2f} s differ by more than max_av_offset_seconds={max_offset:g}"
            failures.append((str(video_path), reason))
            video[i] = None
    return failures


def video_features(path: str) -> np.ndarray:
    """(T, D) per-frame video features at VIDEO_FPS: a feature file as it is, a video file through face features."""
    if path.endswith(VIDEO_FEATURE_SUFFIX):
        return load_video_features(path)
    from emotion.features.face import extract_face_features

    return extract_face_features(path).features


def _sibling_video_file(path) -> str | None:
    """For video_source=files: the video file beside a per-frame feature file (same stem), if any."""
    if not isinstance(path, str) or not path.endswith(VIDEO_FEATURE_SUFFIX):
        return path
    stem = path[: -len(VIDEO_FEATURE_SUFFIX)]
    return next((stem + ext for ext in VIDEO_EXTENSIONS if Path(stem + ext).is_file()), None)


def _choose_modalities(requested: str, manifest: pd.DataFrame, root: Path) -> tuple[str, ...]:
    """'auto': audio+video when every clip has video (feature file or video file), else audio alone."""
    if requested == "audio":
        return ("audio",)
    if requested == "audio+video":
        if not manifest["has_video"].any():
            raise ConfigError(f"parameter modalities=audio+video: {root} has no video for any clip")
        return ("audio", "video")
    return ("audio", "video") if bool(manifest["has_video"].all()) else ("audio",)
