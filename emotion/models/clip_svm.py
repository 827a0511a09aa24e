"""A head on clip functionals, blended with the network's probabilities (`svm_weight`).

Per clip, the mean and std over time of every feature column, (T, F) -> (2F,) (or, with
clip_functionals=frames, the mean and std over the clip's frames behind mean/std segment features); with
normalisation=speaker these clip vectors are z-normalised per speaker (how this clip differs from the
speaker's usual clip, spread included, which per-frame normalisation and mean pooling cannot say);
then a standardised RBF SVM with Platt-scaled probabilities (`clip_head=svm`) or a multinomial
logistic regression (`clip_head=logistic`: the linear probe of frozen-encoder studies). C is chosen
by cross-validation grouped by actor on the training clips only (balanced accuracy), never on
validation or test speakers' scores. It errs on other clips than the network does: on RAVDESS
k-fold the equal blend beat both (docs/decisions.md#cnn_lstm-recipe).

Global path (`global_head=true`): a second head of the same kind on the raw functionals (one
standardisation for everyone) answers the clips of speakers with too few clips in a request for
speaker statistics; a single clip from an unknown speaker still gets a prediction.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from emotion.features.normalise import per_speaker
from emotion.models.speaker_stats import SpeakerStats

# ~400-1700 standardised functionals, ~900 clips: from smooth to nearly interpolating (SVM), and from
# strong to light shrinkage (logistic; 0.03 was best on validation actors for Whisper functionals)
C_GRIDS = {"svm": (1.0, 3.0, 10.0, 30.0), "logistic": (0.01, 0.03, 0.1, 0.3)}
C_GRID = C_GRIDS["svm"]
INNER_FOLDS = 5  # folds of the training actors for choosing C (fewer when there are fewer actors)
# Per-speaker functionals need the speaker's usual clip: a speaker with fewer clips than this in one
# request (a single clip normalises to all zeros) gets no SVM part there, the network answers alone.
MIN_SPEAKER_CLIPS = 8


def clip_functionals(sequences: list[np.ndarray]) -> np.ndarray:
    """Mean then std over time of every column.  # n x (T_i, F) -> (n, 2F)"""
    return np.stack([np.concatenate([s.mean(axis=0), s.std(axis=0)]) for s in sequences]).astype(np.float64)


def pooled_functionals(sequences: list[np.ndarray], width: int) -> np.ndarray:
    """For segments laid out [mean (width) | std (width) | extras], as logmel_stats and whisper_segments
    give them: the mean and std over the clip's frames (from its segments' by the law of total variance:
    exact for equal-length segments, segments weighted alike otherwise), then the extras' mean and std over
    segments.  # n x (S, 2w + e) -> (n, 2w + 2e)"""
    rows = []
    for s in sequences:
        mean, std, extras = s[:, :width], s[:, width : 2 * width], s[:, 2 * width :]  # (S, w), (S, w), (S, e)
        frame_std = np.sqrt((std.astype(np.float64) ** 2).mean(axis=0) + mean.var(axis=0))  # within + between segments
        rows.append(np.concatenate([mean.mean(axis=0), frame_std, extras.mean(axis=0), extras.std(axis=0)]))
    return np.stack(rows).astype(np.float64)


def pooled_columns(width: int, extra_groups, keep, with_std: bool) -> np.ndarray:
    """Indices into pooled_functionals' [mean w | std w | extras mean e | extras std e]: the frames' block
    and the kept extra groups' means (and their std with_std). extra_groups: (name, width) in layout order."""
    n_extras = sum(w for _, w in extra_groups)
    starts = np.cumsum([0, *(w for _, w in extra_groups)])
    kept = [i for (name, w), a in zip(extra_groups, starts) if name in keep for i in range(a, a + w)]
    blocks = [np.arange(2 * width), 2 * width + np.array(kept, dtype=int)]
    if with_std:
        blocks.append(2 * width + n_extras + np.array(kept, dtype=int))
    return np.concatenate(blocks)


def _estimator(kind: str, c: float, seed: int, probability: bool):
    if kind == "logistic":
        return LogisticRegression(C=c, max_iter=5000)  # lbfgs, multinomial: deterministic
    # libsvm's Platt scaling, seeded; `probability` passed only when wanted (scikit-learn 1.9 warns on any use)
    return SVC(C=c, random_state=seed, **({"probability": True} if probability else {}))


def _fit_head(x: np.ndarray, labels, speakers, kind: str, seed: int, c: float | None = None):
    """StandardScaler -> estimator, its C by grouped CV over the training speakers (or `c` as given)."""
    grid = C_GRIDS[kind]
    folds = min(INNER_FOLDS, len(np.unique(speakers)))
    if c is not None:
        best_c = c
    elif folds >= 2:  # probability=False while searching: Platt scaling's own CV only for the final fit
        search = GridSearchCV(
            make_pipeline(StandardScaler(), _estimator(kind, 1.0, seed, False)),
            {f"{'logisticregression' if kind == 'logistic' else 'svc'}__C": list(grid)},
            scoring="balanced_accuracy",
            cv=GroupKFold(folds),
            n_jobs=-1,  # the C values x folds fits side by side: the same C, on every core
        )
        best_c = next(iter(search.fit(x, labels, groups=speakers).best_params_.values()))
    else:
        best_c = grid[len(grid) // 2]  # one actor: nothing to cross-validate on
    with (
        warnings.catch_warnings()
    ):  # SVC probability: deprecated in scikit-learn 1.9, removed in 1.11 (pinned below that)
        warnings.filterwarnings("ignore", message=".*probability.*", category=FutureWarning)
        return make_pipeline(StandardScaler(), _estimator(kind, best_c, seed, True)).fit(x, labels)


@dataclass
class ClipSVM:
    pipeline: object  # StandardScaler -> SVC(probability=True) or LogisticRegression, fitted
    per_speaker: bool  # z-normalise clip functionals per speaker first (normalisation=speaker)
    n_classes: int
    kind: str = "svm"  # "svm" | "logistic"
    global_pipeline: object = None  # the same head on raw functionals, for speakers with few clips (global_head)
    pooled_width: int = 0  # > 0 (clip_functionals=frames): pooled_functionals with this width; 0: clip_functionals
    # the functionals the global head reads: an index array, 0 for all (an int n: the first n, models
    # logged before the index arrays)
    global_columns: np.ndarray | int = 0
    global_hnr: bool = True  # False: the global head does not read the HNR, so its clips need none (served)
    global_prosody: bool = True  # False: nor the prosody columns: its clips need no Praat at all
    speaker_columns: np.ndarray | None = None  # the functionals the per-speaker head reads; None: all
    # how a speaker's clips are standardised (emotion/models/speaker_stats.py); None: their mean and std
    speaker_stats: SpeakerStats | None = None

    def functionals(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Raw clips -> (n, features) before any normalisation."""
        return pooled_functionals(sequences, self.pooled_width) if self.pooled_width else clip_functionals(sequences)

    def global_functionals(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Raw clips -> (n, features) of the global head."""
        return self._global_part(self.functionals(sequences))

    def _global_part(self, functionals: np.ndarray) -> np.ndarray:
        if isinstance(self.global_columns, int):
            return functionals[:, : self.global_columns] if self.global_columns else functionals
        return functionals[:, self.global_columns]

    def _speaker_part(self, functionals: np.ndarray) -> np.ndarray:
        columns = getattr(self, "speaker_columns", None)
        return functionals if columns is None else functionals[:, columns]

    @property
    def c(self) -> float:
        return float(self.pipeline[-1].C)

    def _inputs(self, sequences: list[np.ndarray], speakers, labels: np.ndarray | None = None) -> np.ndarray:
        """The per-speaker head's input; labels (training): what speaker_stats=balanced reads offsets
        against, else the global head's predictions."""
        functionals = self._speaker_part(self.functionals(sequences))  # (n, features)
        if not self.per_speaker:
            return functionals
        stats = getattr(self, "speaker_stats", None)  # models logged before speaker_stats: the plain statistics
        if stats is not None:
            if stats.method == "balanced" and labels is None:
                labels = self.global_pipeline.predict(self.global_functionals(sequences))
            return stats.transform(functionals, speakers, labels)
        return np.concatenate(per_speaker([row[None] for row in functionals], speakers))  # rows as 1-frame clips

    @classmethod
    def fit(
        cls,
        sequences,
        labels: np.ndarray,
        speakers,
        *,
        per_speaker: bool,
        n_classes: int,
        seed: int,
        kind: str = "svm",
        global_head: bool = False,
        like: "ClipSVM | None" = None,
        pooled_width: int = 0,
        global_extras_std: bool = True,
        global_hnr: bool = True,
        global_prosody: bool = True,
        speaker_hnr: bool = True,
        extra_groups: tuple[tuple[str, int], ...] = (),
        speaker_stats: str = "speaker",
        global_extra: tuple[list[np.ndarray], np.ndarray, np.ndarray] | None = None,
    ) -> "ClipSVM":
        """Raw (un-normalised) training clips -> fitted head; C by grouped CV over `speakers`, or
        `like`'s C (a refit on more speakers keeps the C chosen before). global_extras_std=False (pooled
        layout only): the global head leaves out the extras' std, the last block of pooled_functionals.
        global_hnr=False (with global_extras_std=False): it also leaves out the HNR's mean; global_prosody=False
        the prosody means; speaker_hnr=False: the per-speaker head leaves out the HNR's mean and std.
        extra_groups: the extras' (name, width) in layout order (EXTRA_OPTIONS names); by default every
        extra is one group but the last, the HNR (voice_quality, last in EXTRA_OPTIONS order).
        speaker_stats: how the per-speaker head standardises a speaker's clips (speaker_stats.METHODS).
        global_extra: more (clips, labels, speakers) for the global head alone (synthetic voices of the
        training clips, under their actor's name so grouped CV keeps them on their actor's side)."""
        speakers = np.asarray(speakers)
        head = cls(None, per_speaker, n_classes, kind, pooled_width=pooled_width, global_hnr=global_hnr)
        head.global_prosody = global_prosody
        if pooled_width:
            n_extras = sequences[0].shape[1] - 2 * pooled_width
            groups = extra_groups or ((("extras", n_extras - 1), ("voice_quality", 1)) if n_extras else ())
            names = {name for name, _ in groups}
            if not speaker_hnr:
                head.speaker_columns = pooled_columns(pooled_width, groups, names - {"voice_quality"}, True)
            if not global_extras_std:  # [frame mean | frame std | extras' mean], some groups left out when asked
                dropped = {"voice_quality"} if not global_hnr else set()
                dropped |= {"prosody"} if not global_prosody else set()
                head.global_columns = pooled_columns(pooled_width, groups, names - dropped, False)
        if not (pooled_width and not global_extras_std) and not (global_hnr and global_prosody):
            raise ValueError(
                "global_hnr=False or global_prosody=False: only with pooled_width and global_extras_std=False"
            )
        functionals = head.functionals(sequences)  # (n, all functionals): computed once for both heads
        x = head._speaker_part(functionals)
        if per_speaker:
            head.speaker_stats = SpeakerStats.fit(x, labels, speakers, speaker_stats)
            x = head.speaker_stats.transform(x, speakers, labels)
        head.pipeline = _fit_head(x, labels, speakers, kind, seed, like.c if like else None)
        if global_head and per_speaker:
            global_c = float(like.global_pipeline[-1].C) if like and like.global_pipeline is not None else None
            x, y, who = head._global_part(functionals), labels, speakers  # (n, features)
            if global_extra is not None and len(global_extra[0]):
                x = np.concatenate([x, head.global_functionals(global_extra[0])])
                y, who = np.concatenate([y, global_extra[1]]), np.concatenate([who, global_extra[2]])
            head.global_pipeline = _fit_head(x, y, who, kind, seed, global_c)
        return head

    def global_rows(self, speakers) -> np.ndarray:
        """(n,) True where a clip's speaker has too few clips here for speaker statistics."""
        speakers = np.asarray(speakers)
        if not self.per_speaker:
            return np.zeros(len(speakers), dtype=bool)
        names, counts = np.unique(speakers, return_counts=True)
        return np.isin(speakers, names[counts < MIN_SPEAKER_CLIPS])

    def _proba(self, pipeline, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), self.n_classes))  # classes absent from training get 0
        out[:, pipeline.classes_] = pipeline.predict_proba(x)
        return out

    def predict_proba(self, sequences: list[np.ndarray], speakers) -> np.ndarray:
        """Raw clips -> (n, n_classes) probabilities. The clips of speakers with fewer than
        MIN_SPEAKER_CLIPS clips here get the global head's answer, or NaN rows without one."""
        speakers = np.asarray(speakers)
        out = self._proba(self.pipeline, self._inputs(sequences, speakers))  # (n, classes)
        few = self.global_rows(speakers)
        if few.any():
            out[few] = np.nan
            if self.global_pipeline is not None:
                out[few] = self._proba(
                    self.global_pipeline, self.global_functionals([s for s, f in zip(sequences, few) if f])
                )
        return out

    def predict_global(self, sequences: list[np.ndarray]) -> np.ndarray:
        """(n, n_classes) from the global head alone: every clip as if it came alone."""
        return self._proba(self.global_pipeline, self.global_functionals(sequences))

    def save(self, path) -> None:
        joblib.dump(self, path)

    @staticmethod
    def load(path) -> "ClipSVM":
        return joblib.load(path)


def blend(network: np.ndarray, svm: np.ndarray, weight: float) -> np.ndarray:
    """(n, classes) probabilities: (1 - weight) network + weight SVM; the network alone on NaN SVM rows."""
    mixed = (1.0 - weight) * network + weight * svm
    return np.where(np.isnan(svm).any(axis=1, keepdims=True), network, mixed)
