"""Tracking and serving: what runs log to MLflow, the logged model, the registry, using a model.

run_logging.py   what a training run logs: parameters, data, class weights, curves, metrics, figures, model
run_notes.py     run names (`<variant>-<corpus>-fold-N`) and the description shown on the run page
plots.py         learning curves and confusion matrices
interpret.py     attention weights over time for a few test clips
offline.py       a tracking-server outage: metrics buffered, the run finished locally, `emotion sync`
server.py        the team server: `mlflow server` on PostgreSQL with S3 artifacts, health checks
mlflow_model.py  the logged model: Keras flavour plus a pyfunc that takes raw audio / video
model_output.py  its output rows (an error row's probabilities null in JSON) and the 400 for a bad request
model_registry.py  `register`: the best run's model under the alias `champion`
predict.py       `predict` files and folders, `evaluate` a labelled folder
results.py       what notebooks/results.ipynb shows: runs, leaderboard, curves, the champion's confusion
"""
