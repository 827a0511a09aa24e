"""The clip head (emotion/models/clip_svm.py) fit beside a trained network and blended into its
validation and test probabilities, with each part's score logged (`svm_weight` > 0)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
from sklearn.metrics import balanced_accuracy_score

from emotion.config import RunConfig
from emotion.data.dataset import PreparedCorpus, voiced_features
from emotion.features.cnn import extra_groups, extra_width
from emotion.models.clip_svm import ClipSVM, blend

BLEND_WEIGHTS = (0.0, 0.3, 0.5, 0.7, 1.0)  # svm_weight values scored on validation speakers in every blended run


def fit_val_test_heads(
    config: RunConfig, corpus: PreparedCorpus, raw_audio: list[np.ndarray], split: dict, cache_root: Path
) -> tuple[ClipSVM, np.ndarray, np.ndarray]:
    """(head, validation probabilities, test probabilities), split order, each (n, classes): the head fit
    on the training clips scores validation; with clip_head_refit the test rows and the returned head come
    from a refit (same C) on training + validation. Logs its C and the global head's test UA.
    global_voices: the global head also learns from the synthetic voices of the clips it is fit on."""
    actors = corpus.manifest["actor"].to_numpy(dtype=str)
    clips = {name: [raw_audio[i] for i in split[name]] for name in ("train", "val", "test")}
    voices = _voiced_clips(config, corpus, split, cache_root) if config.model.global_voices else None

    def fit_head(positions: np.ndarray, like: ClipSVM | None = None) -> ClipSVM:
        return fit_clip_head(config, corpus, raw_audio, positions, voices, like)

    head = fit_head(split["train"])
    val = head.predict_proba(clips["val"], actors[split["val"]])  # validation never seen
    if config.model.clip_head_refit:  # the test metrics and the logged model: the same C, every non-test speaker
        head = fit_head(np.concatenate([split["train"], split["val"]]), like=head)
    test = head.predict_proba(clips["test"], actors[split["test"]])
    mlflow.log_param("svm_c", head.c)
    if head.global_pipeline is not None:  # every test clip alone: what a single-clip request gets
        mlflow.log_metric("test_ua_global", _ua(corpus.labels[split["test"]], head.predict_global(clips["test"])))
    return head, val, test


def _ua(truth: np.ndarray, proba: np.ndarray) -> float:
    return float(balanced_accuracy_score(truth, np.argmax(proba, axis=1)))


def blend_clip_head(
    config: RunConfig,
    corpus: PreparedCorpus,
    raw_audio: list[np.ndarray],
    split: dict,
    cache_root: Path,
    val_proba,
    test_proba,
):
    """Fit the clip heads (fit_val_test_heads) and blend them into the network's validation and test
    probabilities (split order); logs each part's UA beside the blend's and the validation UA of other
    blend weights (to choose the weight on validation speakers)."""
    head, svm_val, svm_test = fit_val_test_heads(config, corpus, raw_audio, split, cache_root)
    truth = {name: corpus.labels[split[name]] for name in ("val", "test")}
    scores = {"test_ua_network": _ua(truth["test"], test_proba)}
    if np.isfinite(svm_test).all():  # else some test speaker has too few clips for the SVM to answer
        scores["test_ua_svm"] = _ua(truth["test"], svm_test)
    for weight in BLEND_WEIGHTS:
        scores[f"val_ua_blend_{weight:g}"] = _ua(truth["val"], blend(val_proba, svm_val, weight))
    mlflow.log_metrics(scores)
    weight = config.model.svm_weight
    return head, blend(val_proba, svm_val, weight), blend(test_proba, svm_test, weight)


def fit_clip_head(
    config: RunConfig,
    corpus: PreparedCorpus,
    raw_audio: list[np.ndarray],
    positions: np.ndarray,
    voices: tuple[list[np.ndarray], np.ndarray] | None,
    like: ClipSVM | None = None,
) -> ClipSVM:
    """The clip head on the clips at `positions` (C by grouped CV over their actors, or `like`'s C);
    `voices` (_voiced_clips): the global head also learns from the synthetic voices of those clips only."""
    actors = corpus.manifest["actor"].to_numpy(dtype=str)
    m = config.model
    pooled_width = 0  # clip_functionals=frames: the width of the segments' mean block (n_mels or d_model)
    if m.clip_functionals == "frames":
        pooled_width = (raw_audio[0].shape[1] - extra_width(config.features)) // 2
    extra = None
    if voices is not None:  # the voices of these clips only: validation stays unheard in any voice
        arrays, origins = voices
        keep = np.flatnonzero(np.isin(origins, positions))
        extra = ([arrays[k] for k in keep], corpus.labels[origins[keep]], actors[origins[keep]])
    return ClipSVM.fit(
        [raw_audio[i] for i in positions],
        corpus.labels[positions],
        actors[positions],
        per_speaker=config.features.normalisation == "speaker",
        n_classes=len(corpus.classes),
        seed=config.train.seed,
        kind=m.clip_head,
        global_head=m.global_head,
        like=like,
        pooled_width=pooled_width,
        global_extras_std=m.global_extras_std,
        global_hnr=m.global_hnr or not config.features.voice_quality,  # no HNR column: nothing left out
        global_prosody=m.global_prosody or not config.features.prosody,
        speaker_hnr=m.speaker_hnr,
        speaker_stats=m.speaker_stats,
        extra_groups=extra_groups(config.features),
        global_extra=extra,
    )


def refit_clip_head(
    config: RunConfig, corpus: PreparedCorpus, raw_audio: list[np.ndarray], cache_root: Path
) -> ClipSVM:
    """The clip head on every clip of the corpus (a cv refit), C chosen by grouped CV over every actor."""
    everyone = np.arange(len(corpus.labels))
    split = {"train": everyone, "val": everyone[:0], "test": everyone[:0]}
    voices = _voiced_clips(config, corpus, split, cache_root) if config.model.global_voices else None
    head = fit_clip_head(config, corpus, raw_audio, everyone, voices)
    mlflow.log_param("refit_svm_c", head.c)
    return head


def _voiced_clips(
    config: RunConfig, corpus: PreparedCorpus, split: dict, cache_root: Path
) -> tuple[list[np.ndarray], np.ndarray]:
    """The synthetic voices of every non-test clip (raw features, and the corpus position of each);
    logs how many, and the copies left out with their reason (voices_skipped.txt)."""
    non_test = np.concatenate([split["train"], split["val"]])
    m = config.model  # the voices feed only the global head: Praat's columns it does not read stay unmeasured
    unmeasured = tuple(name for name, read in (("hnr", m.global_hnr), ("prosody", m.global_prosody)) if not read)
    arrays, origins, skipped = voiced_features(corpus, non_test, config.features, cache_root, unmeasured)
    mlflow.log_metric("global_voice_clips", len(arrays))
    if skipped:
        print(f"global_voices: {len(skipped)} synthetic voice copies left out (voices_skipped.txt)")
        mlflow.log_text("".join(f"{path}\t{reason}\n" for path, reason in skipped), "voices_skipped.txt")
    return arrays, origins
