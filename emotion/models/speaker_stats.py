"""How a speaker's clip functionals are standardised on the per-speaker path (`speaker_stats`).

A speaker's statistics come from the clips a request sends together. RAVDESS actors cover every emotion
evenly, so their mean is their voice; a real speaker's clips may be mostly one emotion, and then the
plain mean is pulled toward it (docs/evaluation.md#when-each-path-applies). The methods:
- `speaker`: the request's mean and std per column;
- `centre`: the request's mean, the training speakers' typical std (a few skewed clips cannot rescale);
- `shrink`: mean and variance shrunk toward the training population's, as if `prior_clips` clips of an
  average speaker were in the request;
- `balanced`: the speaker's offset from the population, read against each clip's predicted emotion
  (clip minus that emotion's training centroid, averaged), so a skew in emotions does not move it; the
  training speakers' typical std.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion.config.sections import SPEAKER_STATS as METHODS
from emotion.features.normalise import MIN_STD

PRIOR_CLIPS = 20  # `shrink`: an average speaker's weight, in clips (RAVDESS actors send 60)


@dataclass
class SpeakerStats:
    method: str
    population_mean: np.ndarray  # (F,) over the training clips
    within_var: np.ndarray  # (F,) the training speakers' mean within-speaker variance
    centroids: np.ndarray  # (classes, F) per-emotion means of the training clips after their speaker's offset
    prior_clips: int = PRIOR_CLIPS

    @classmethod
    def fit(cls, x: np.ndarray, labels: np.ndarray, speakers, method: str = "speaker") -> "SpeakerStats":
        """From training functionals (n, F), their emotion indices and speakers."""
        if method not in METHODS:
            raise ValueError(f"speaker_stats={method!r}: one of {', '.join(METHODS)}")
        speakers = np.asarray(speakers)
        names = np.unique(speakers)
        means = {s: x[speakers == s].mean(axis=0) for s in names}
        within_var = np.mean([x[speakers == s].var(axis=0) for s in names], axis=0)
        population = x.mean(axis=0)
        offsets = np.stack([means[s] - population for s in speakers])  # (n, F): each clip's speaker offset
        n_classes = int(labels.max()) + 1
        centroids = np.stack(
            [(x - offsets)[labels == c].mean(axis=0) if (labels == c).any() else population for c in range(n_classes)]
        )
        return cls(method, population, within_var, centroids)

    def transform(self, x: np.ndarray, speakers, predicted: np.ndarray | None = None) -> np.ndarray:
        """(n, F) standardised per speaker. predicted: (n,) emotion indices (`balanced` reads offsets
        against them; at training, the true labels)."""
        speakers = np.asarray(speakers)
        out = np.empty_like(x, dtype=np.float64)
        typical_std = np.sqrt(np.maximum(self.within_var, MIN_STD**2))
        for speaker in np.unique(speakers):
            rows = speakers == speaker
            clips, n = x[rows], int(rows.sum())
            mean, std = clips.mean(axis=0), typical_std
            if self.method == "speaker":
                std = np.maximum(clips.std(axis=0), MIN_STD)
            elif self.method == "shrink":
                k = self.prior_clips
                mean = (n * mean + k * self.population_mean) / (n + k)
                std = np.sqrt(np.maximum((n * clips.var(axis=0) + k * self.within_var) / (n + k), MIN_STD**2))
            elif self.method == "balanced":
                if predicted is None:
                    raise ValueError("speaker_stats=balanced needs each clip's predicted emotion")
                # (clip - its emotion's centroid) is the speaker's offset whatever the emotions' mix
                mean = self.population_mean + (clips - self.centroids[predicted[rows]]).mean(axis=0)
            out[rows] = (clips - mean) / std
        return out
