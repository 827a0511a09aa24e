"""`cv refit=true` for a variant with a clip head: the refit network and head learn from every actor,
and the model logged on the cv parent answers raw audio in a new process. (The registry side and a
variant without a head: tests/test_published_folds.py.)"""

from __future__ import annotations

import json
import subprocess
import sys

import mlflow
import pytest

from conftest import subprocess_env
from emotion.corpus.labels import EMOTIONS


@pytest.mark.slow
def test_a_refit_with_a_clip_head_logs_one_model_that_answers_raw_audio(cache_dir, tmp_path):
    from emotion.config import build_config
    from emotion.data.synthetic import ensure_builtin_corpus
    from emotion.experiment.cv import cross_validate

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    # one model a fold (cnn_lstm's default is a 5-seed ensemble, 15 networks here): the refit is under test
    overrides = {"max_actors": "6", "cv_folds": "3", "epochs": "2", "refit": "true", "cv_seeds": "1"}
    config = build_config("cnn_lstm", overrides)
    assert config.model.svm_weight > 0, "precondition: the variant blends a clip head"
    result = cross_validate(config, cache_dir)
    run = mlflow.MlflowClient().get_run(result.run_id)
    assert run.data.params["refit_actors"].count(",") == 5 and "refit_svm_c" in run.data.params
    clip = sorted((ensure_builtin_corpus(cache_dir) / "Actor_03").glob("*.wav"))[0]
    script = (
        "import sys, mlflow, pandas as pd; "
        f"m = mlflow.pyfunc.load_model('runs:/{result.run_id}/model'); "
        f"print(m.predict(pd.DataFrame({{'audio': [open('{clip}', 'rb').read()]}})).to_json(orient='records'))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=subprocess_env(cache_dir, uri)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (answer,) = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer["label"] in EMOTIONS and not answer["error"]
    assert sum(answer[f"p_{e}"] for e in EMOTIONS) == pytest.approx(1.0, abs=1e-4)
