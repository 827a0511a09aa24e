"""The shared emotion label set and each corpus's mapping onto it."""

from emotion.config import label_names

# Order fixes the class index in every model and confusion matrix: RAVDESS code order.
EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")

RAVDESS_EMOTIONS = {f"{i + 1:02d}": name for i, name in enumerate(EMOTIONS)}
CREMAD_EMOTIONS = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}


def run_classes(labels: str) -> tuple[str, ...]:
    """A run's classes in class-index order: its labels= parameter, or RAVDESS's 8 when that is empty."""
    return label_names(labels) if labels else EMOTIONS


def emotion_index(name: str) -> int:
    """Class index of a shared label (raises ValueError naming the label)."""
    try:
        return EMOTIONS.index(name)
    except ValueError:
        raise ValueError(f"unknown emotion label {name!r}; expected one of {', '.join(EMOTIONS)}") from None
