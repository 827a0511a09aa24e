"""Models logged before the tracking/ layout name `emotion.mlflow_model` as their pyfunc loader; in a
process that has already imported this package (`emotion predict`, `evaluate`, a notebook) their own
code copy is not used, so the name must still resolve. It forwards to emotion/serving/mlflow_model.py."""

from emotion.serving.mlflow_model import _load_pyfunc  # noqa: F401 -- MLflow calls it by this module name
