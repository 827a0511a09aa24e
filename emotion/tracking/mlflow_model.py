"""The loader name (`emotion.tracking.mlflow_model`) of models logged before the serving/ layout."""

from emotion.serving.mlflow_model import _load_pyfunc  # noqa: F401 -- MLflow calls it by this module name
