"""Emotion recognition experiment platform: corpora, features, Keras 3 variants, MLflow tracking."""

__version__ = "0.1.0"
