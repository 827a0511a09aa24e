"""Serving: the logged model (the pyfunc a training run logs and a server loads), the registry, using a model.

Sits above models, below tracking and experiment (the order: emotion/__init__.py): a training run logs
the very pyfunc that serving loads, and a sweep registers its best model, so the logged model's
definition and the registry sit below the code that trains and logs (docs/decisions.md#layout-data-flows-one-way).

mlflow_model.py    the logged model: Keras flavour plus a pyfunc that takes raw audio / video
model_environment.py  what a logged model needs installed (pinned requirements, MLflow's env files)
model_output.py    its output rows (an error row's probabilities null in JSON) and the 400 for a bad request
model_registry.py  `register`: the best run's model under the alias `champion`
predict.py         `predict` files and folders, `evaluate` a labelled folder
results.py         what notebooks/results.ipynb shows: runs, leaderboard, curves, the champion's confusion
plots.py           learning curves and confusion matrices (matplotlib figures, no MLflow)
"""
