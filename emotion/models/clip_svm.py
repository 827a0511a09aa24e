"""A kernel head on clip functionals, blended with the network's probabilities (`svm_weight`).

Per clip, the mean and std over time of every feature column, (T, F) -> (2F,); with
normalisation=speaker these clip vectors are z-normalised per speaker (how this clip differs from the
speaker's usual clip, spread included, which per-frame normalisation and mean pooling cannot say);
then a standardised RBF SVM with Platt-scaled probabilities. C is chosen by cross-validation grouped
by actor on the training clips only (balanced accuracy), never on validation or test speakers' scores.
It errs on other clips than the network does: on RAVDESS k-fold the equal blend beat both (README).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from emotion.features.normalise import per_speaker

C_GRID = (1.0, 3.0, 10.0, 30.0)  # ~400 standardised functionals, ~900 clips: from smooth to nearly interpolating
INNER_FOLDS = 5  # folds of the training actors for choosing C (fewer when there are fewer actors)
# Per-speaker functionals need the speaker's usual clip: a speaker with fewer clips than this in one
# request (a single clip normalises to all zeros) gets no SVM part there, the network answers alone.
MIN_SPEAKER_CLIPS = 8


def clip_functionals(sequences: list[np.ndarray]) -> np.ndarray:
    """Mean then std over time of every column.  # n x (T_i, F) -> (n, 2F)"""
    return np.stack([np.concatenate([s.mean(axis=0), s.std(axis=0)]) for s in sequences]).astype(np.float64)


@dataclass
class ClipSVM:
    pipeline: object  # StandardScaler -> SVC(probability=True), fitted
    per_speaker: bool  # z-normalise clip functionals per speaker first (normalisation=speaker)
    n_classes: int

    @property
    def c(self) -> float:
        return float(self.pipeline[-1].C)

    def _inputs(self, sequences: list[np.ndarray], speakers) -> np.ndarray:
        functionals = clip_functionals(sequences)  # (n, 2F)
        if not self.per_speaker:
            return functionals
        return np.concatenate(per_speaker([row[None] for row in functionals], speakers))  # rows as 1-frame clips

    @classmethod
    def fit(cls, sequences, labels: np.ndarray, speakers, *, per_speaker: bool, n_classes: int, seed: int) -> "ClipSVM":
        """Raw (un-normalised) training clips -> fitted head; C by grouped CV over `speakers`."""
        speakers = np.asarray(speakers)
        head = cls(None, per_speaker, n_classes)
        x = head._inputs(sequences, speakers)
        folds = min(INNER_FOLDS, len(np.unique(speakers)))
        if folds >= 2:  # probability=False while searching: Platt scaling's own CV only for the final fit
            search = GridSearchCV(make_pipeline(StandardScaler(), SVC()), {"svc__C": list(C_GRID)},
                                  scoring="balanced_accuracy", cv=GroupKFold(folds))  # fmt: skip
            best_c = search.fit(x, labels, groups=speakers).best_params_["svc__C"]
        else:
            best_c = C_GRID[len(C_GRID) // 2]  # one actor: nothing to cross-validate on
        svc = SVC(C=best_c, probability=True, random_state=seed)  # libsvm's Platt scaling, seeded
        with warnings.catch_warnings():  # deprecated in scikit-learn 1.9, removed in 1.11 (pinned below that)
            warnings.filterwarnings("ignore", message=".*probability.*", category=FutureWarning)
            head.pipeline = make_pipeline(StandardScaler(), svc).fit(x, labels)
        return head

    def predict_proba(self, sequences: list[np.ndarray], speakers) -> np.ndarray:
        """Raw clips -> (n, n_classes) probabilities; classes absent from training get 0; NaN rows for
        the clips of speakers with fewer than MIN_SPEAKER_CLIPS clips here (per-speaker heads only)."""
        speakers = np.asarray(speakers)
        proba = self.pipeline.predict_proba(self._inputs(sequences, speakers))  # (n, classes seen)
        out = np.zeros((len(proba), self.n_classes))
        out[:, self.pipeline.classes_] = proba
        if self.per_speaker:
            names, counts = np.unique(speakers, return_counts=True)
            out[np.isin(speakers, names[counts < MIN_SPEAKER_CLIPS])] = np.nan
        return out

    def save(self, path) -> None:
        joblib.dump(self, path)

    @staticmethod
    def load(path) -> "ClipSVM":
        return joblib.load(path)


def blend(network: np.ndarray, svm: np.ndarray, weight: float) -> np.ndarray:
    """(n, classes) probabilities: (1 - weight) network + weight SVM; the network alone on NaN SVM rows."""
    mixed = (1.0 - weight) * network + weight * svm
    return np.where(np.isnan(svm).any(axis=1, keepdims=True), network, mixed)
