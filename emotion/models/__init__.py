"""Keras models of every variant. Importing the package registers the custom layers, so a saved model
(`mlflow.keras.load_model`, `keras.saving.load_model`) loads in any process that imports it."""

from emotion.models import layers  # noqa: F401 -- registers the custom layers with Keras
