"""Running experiments: one training, k folds, several variants, a sweep.

Last package in the order (emotion/__init__.py), under only cli and cloud: it trains, logs through tracking/
the pyfunc that serving/ defines, and registers a sweep's best model through serving/.

train.py        one variant inside one MLflow run: split, normalise, fit, evaluate, log
train_heads.py  the same run for a variant without a network (whisper_heads): the clip heads alone
train_result.py what one training returns
clip_head.py    the clip head beside the network: fit, blend, each part's score logged
cv.py           k-fold cross-validation by speaker (own folds or EmoBox's published ones)
refit.py        `cv refit=true`: one model on every actor with the folds' recipe, on the cv parent
selection.py    the figure choices are made on: nested grouped CV over a fold's non-test actors
compare.py      `main` / `cnn_compare`: several variants on one split, a leaderboard
tune.py         the Optuna sweep: study, objective, pruning, nested trial runs
tune_settings.py  the sweep's defaults and search space, validated before a trial starts
tune_storage.py   the study's storage (heartbeats, re-queued trials of dead workers) and pruner
tune_report.py    the finished sweep on its parent run: best trial, trial table, figures
checkpoint.py   the whole training state after every epoch, so a killed run resumes
epoch_seeds.py  dropout seeds and the data order's epoch keyed by (seed, epoch): resumes are exact
schedules.py    learning-rate schedules as epoch callbacks (exponential, warm-up / plateau / cosine)
"""
