"""Emotion recognition experiment platform: corpora, features, Keras 3 variants, MLflow tracking.

Data flows one way: a package imports only packages to its left (tests/test_layout.py checks it).

  config, errors, metrics  ->  corpus -> features -> data -> models -> serving -> tracking -> experiment  ->  cli, cloud

config, errors and metrics sit below all; cli, cloud, mlproject, quiet_tensorflow and mlflow_model above all.
serving sits below tracking and experiment: a training run logs the very pyfunc that serving loads, and a
sweep registers its best model, so the logged model's definition and the registry sit below the code that
trains and logs (docs/decisions.md, "Layout: data flows one way").

cli.py               the `emotion` command line; user errors are one line
mlproject.py         writes MLproject from config/ (python -m emotion.mlproject > MLproject)
errors.py            user-facing errors: one line naming the file or parameter and the reason
metrics.py           UA (headline), WA, macro-F1, per-class recall, confusion matrix: a pure function of labels
quiet_tensorflow.py  TensorFlow's start-up noise off the terminal (installed below, before any TF import)
mlflow_model.py      the loader name of models logged before the tracking/ layout: forwards to serving/
"""

from emotion import quiet_tensorflow

__version__ = "0.1.0"

quiet_tensorflow.install()  # before any module imports TensorFlow: no GPU-less start-up noise
