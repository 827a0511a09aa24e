"""Emotion recognition experiment platform: corpora, features, Keras 3 variants, MLflow tracking."""

from emotion import quiet_tensorflow

__version__ = "0.1.0"

quiet_tensorflow.install()  # before any module imports TensorFlow: no GPU-less start-up noise
