"""Tracking: what runs log to MLflow, what they are called, outages, the team server.

Sits above serving, below experiment (the order: emotion/__init__.py): a run logs serving's pyfunc;
experiment drives runs.

run_logging.py   what a training run logs: parameters, data, class weights, curves, metrics, figures, model
run_notes.py     run names (`<variant>-<corpus>-fold-N`) and the description shown on the run page
interpret.py     attention weights over time for a few test clips
offline.py       a tracking-server outage: metrics buffered, the run finished locally, `emotion sync`
server.py        the team server: `mlflow server` on PostgreSQL with S3 artifacts, health checks, URL redaction
mlflow_model.py  the loader name of models logged before the serving/ layout: forwards to serving/
"""
