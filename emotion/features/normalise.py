"""Per-feature standardisation, fitted on the training split only, saved with the run and the model."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_STD = 1e-5  # a constant feature (silent band) must not blow up into inf


def per_speaker(sequences: list[np.ndarray], speakers) -> list[np.ndarray]:
    """Each speaker's (T, F) sequences standardised by the mean/std over all of that speaker's frames.

    Unsupervised (labels unused), so it is also applied to validation and test speakers: the model sees
    how a clip differs from the speaker's usual voice, not the voice itself.
    """
    speakers = np.asarray(speakers)
    out = list(sequences)
    for speaker in np.unique(speakers):
        positions = np.flatnonzero(speakers == speaker)
        frames = np.concatenate([sequences[i] for i in positions], axis=0).astype(np.float64)  # (sum T, F)
        mean, std = frames.mean(axis=0), np.maximum(frames.std(axis=0), MIN_STD)
        for i in positions:
            out[i] = ((sequences[i] - mean) / std).astype(np.float32)
    return out


@dataclass
class Normaliser:
    """mean/std per modality: {"audio": (F,), "video": (F,)}."""

    mean: dict[str, np.ndarray]
    std: dict[str, np.ndarray]

    @classmethod
    def fit(cls, sequences: dict[str, list[np.ndarray]]) -> "Normaliser":
        """Statistics over every frame of the given (training) sequences, per modality."""
        mean, std = {}, {}
        for modality, arrays in sequences.items():
            frames = np.concatenate(arrays, axis=0).astype(np.float64)  # (sum T, F)
            mean[modality] = frames.mean(axis=0).astype(np.float32)
            std[modality] = np.maximum(frames.std(axis=0), MIN_STD).astype(np.float32)
        return cls(mean, std)

    @classmethod
    def identity(cls, sequences: dict[str, list[np.ndarray]]) -> "Normaliser":
        """mean 0, std 1 for every column (normalisation=none): transform leaves the features as they are."""
        widths = {m: arrays[0].shape[1] for m, arrays in sequences.items()}
        return cls(
            {m: np.zeros(w, np.float32) for m, w in widths.items()},
            {m: np.ones(w, np.float32) for m, w in widths.items()},
        )

    def check(self, modality: str, sequence: np.ndarray) -> None:
        """A (T, F) sequence this normaliser can take, or a ValueError naming the modality."""
        if sequence.ndim != 2 or sequence.shape[1] != self.mean[modality].shape[0]:
            raise ValueError(
                f"{modality} features have shape {sequence.shape}; the normaliser expects (T, {self.mean[modality].shape[0]})"
            )

    def transform(self, modality: str, sequence: np.ndarray) -> np.ndarray:
        """(T, F) -> (T, F) standardised; shape mismatch names the modality."""
        self.check(modality, sequence)
        return ((sequence - self.mean[modality]) / self.std[modality]).astype(np.float32)

    def to_dict(self) -> dict:
        return {m: {"mean": self.mean[m].tolist(), "std": self.std[m].tolist()} for m in self.mean}

    @classmethod
    def from_dict(cls, data: dict) -> "Normaliser":
        mean = {m: np.asarray(v["mean"], dtype=np.float32) for m, v in data.items()}
        std = {m: np.asarray(v["std"], dtype=np.float32) for m, v in data.items()}
        return cls(mean, std)

    def save(self, path: Path) -> None:
        """Atomic write: a reader never sees half a normaliser."""
        path = Path(path)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w") as f:
                json.dump(self.to_dict(), f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> "Normaliser":
        return cls.from_dict(json.loads(Path(path).read_text()))
