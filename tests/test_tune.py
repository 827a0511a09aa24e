"""`tune`: the Optuna sweep. Fast: settings, search space, bad input, storage errors. Slow: a sweep
through `mlflow run`, pruned trials, resuming a study, and two PostgreSQL workers with one killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest
from mlflow import MlflowClient

from conftest import ROOT, subprocess_env
from emotion import mlproject
from emotion.config import build_config
from emotion.errors import ConfigError, EmotionError
from services import PG_HOST, PG_PORT, PG_USER, postgres_db  # noqa: F401 (fixture)
from emotion.experiment.tune_settings import TUNE_FIELDS, TuneSettings, parse_settings, suggest, validate
from emotion.experiment.tune_storage import open_storage
from emotion.tracking.server import redact

FAST_CONFIG = {"max_actors": "6", "epochs": "3"}  # cnn_pooling: about a second an epoch


# ---------------------------------------------------------------- fast


def test_defaults_live_in_the_dataclass_and_mlproject_uses_them():
    import yaml

    entry = yaml.safe_load((ROOT / "MLproject").read_text())["entry_points"]["tune"]
    defaults = TuneSettings()
    for name in TUNE_FIELDS:
        assert name in entry["parameters"], name
        settings, _ = parse_settings({name: str(entry["parameters"][name]["default"])})
        assert getattr(settings, name) == getattr(defaults, name), name
    assert defaults.storage == "sqlite:///optuna.db" and defaults.metric == "val_accuracy"
    assert "tune" in mlproject.render()


def test_assignments_split_into_settings_and_config_overrides():
    settings, overrides = parse_settings(
        {"n_trials": "7", "lr_max": "0.01", "epochs": "3", "extra_dims": "units,batch_size"}, "cnn_lstm"
    )
    assert (settings.variant, settings.n_trials, settings.lr_max) == ("cnn_lstm", 7, 0.01)
    assert overrides == {"epochs": "3"}
    assert settings.dims() == ["units", "batch_size"]
    assert settings.name() == "tune-cnn_lstm"


@pytest.mark.parametrize("variant", ["no_aug", "cnn_lstm_simplified", "cnn_pooling", "wav2vec_attention"])
def test_search_space_covers_dropout_l2_lr_on_log_scales_and_extra_dims(variant):
    settings = TuneSettings(variant=variant, extra_dims="units,batch_size,focal_gamma")
    flat = build_config(variant, {"loss": "focal"}).flat()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    trial = study.ask()
    params = suggest(trial, settings, flat)
    dists = trial.distributions
    assert dists["l2"].log and dists["learning_rate"].log and not dists["dropout"].log
    assert settings.dropout_min <= params["dropout"] <= settings.dropout_max
    assert settings.l2_min <= params["l2"] <= settings.l2_max
    assert settings.lr_min <= params["learning_rate"] <= settings.lr_max
    assert {"batch_size", "focal_gamma"} <= set(params)
    units = {"no_aug": "audio_units_1", "cnn_pooling": "dense_units"}.get(variant, "lstm_units")
    assert units in params
    build_config(variant, {"loss": "focal", **params})  # every suggestion is a valid config


def test_the_same_seed_gives_the_same_suggestions():
    def first(seed):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        return suggest(study.ask(), TuneSettings(), build_config("no_aug").flat())

    assert first(3) == first(3) != first(4)


@pytest.mark.parametrize(
    "assignments, message",
    [
        ({"l2_min": "1e-2", "l2_max": "1e-4"}, "l2 bounds"),
        ({"lr_min": "0", "lr_max": "1e-3"}, "lr bounds"),
        ({"lr_min": "-1e-3"}, "lr bounds"),
        ({"dropout_min": "0.5", "dropout_max": "0.2"}, "dropout bounds"),
        ({"dropout_max": "1.5"}, "dropout bounds"),
        ({"n_trials": "0"}, "n_trials"),
        ({"pruner": "asha"}, "pruner"),
        ({"pruner": "percentile", "pruner_percentile": "100"}, "pruner_percentile=100: must be in"),
        ({"metric": "test_ua"}, "metric"),
        ({"metric": "val_loss"}, "direction"),  # val_loss with the default maximize
        ({"extra_dims": "depth"}, "extra_dims"),
        ({"extra_dims": "focal_gamma"}, "loss=focal"),  # cnn_pooling trains with cross-entropy
        ({"epochs": "zero"}, "epochs"),
        ({"bogus": "1"}, "unknown parameter"),
    ],
)
def test_bad_settings_are_one_line_config_errors(assignments, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_settings(assignments, "cnn_pooling")
    assert "\n" not in str(info.value)


def test_unknown_variant_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown variant"):
        validate(TuneSettings(variant="resnet"), {})


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql://optuna:s3cret@127.0.0.1:1/optuna", "optuna:***@127.0.0.1:1"),
        ("sqlite:////nonexistent-dir/deeper/optuna.db", "sqlite:////nonexistent-dir"),
        ("optuna.db", "expected a database URL"),
    ],
)
def test_unreachable_storage_is_one_line_without_the_password(url, shown):
    started = time.monotonic()
    with pytest.raises(EmotionError) as info:
        open_storage(TuneSettings(storage=url))
    text = str(info.value)
    assert shown in text and "s3cret" not in text and "\n" not in text
    assert time.monotonic() - started < 15


def test_redact_hides_only_the_password():
    assert redact("postgresql://u:pw@db:5432/optuna") == "postgresql://u:***@db:5432/optuna"
    assert redact("sqlite:///optuna.db") == "sqlite:///optuna.db"


def test_cli_rejects_bad_input_before_any_training(tmp_path, capsys):
    from emotion.cli import main

    assert main(["tune", "resnet"]) == 2
    assert "unknown variant" in capsys.readouterr().err
    assert main(["tune", "cnn_pooling", "lr_min=0.1", "lr_max=0.01"]) == 2
    assert "lr bounds" in capsys.readouterr().err
    assert main(["tune", "cnn_pooling", "storage=postgresql://x:pw@127.0.0.1:1/optuna"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: optuna storage") and err.count("\n") == 1 and "pw" not in err


# ---------------------------------------------------------------- slow


def _children(client, parent):
    runs = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    return sorted(runs, key=lambda r: int(r.data.tags["optuna.trial_number"]))


@pytest.mark.slow
def test_sweep_through_mlflow_run_makes_a_parent_with_a_tagged_child_per_trial(cache_dir, tmp_path):
    uri, storage = f"sqlite:///{tmp_path}/mlflow.db", f"sqlite:///{tmp_path}/optuna.db"
    params = {
        "variant": "cnn_pooling",
        "n_trials": "3",
        "storage": storage,
        "study_name": "sweep",
        "max_actors": "6",
        "extra": "epochs=3",
        "pruner_startup_trials": "1",
        "pruner_warmup_epochs": "0",
    }
    command = ["mlflow", "run", str(ROOT), "-e", "tune", "--env-manager", "local", "--experiment-name", "tune"]
    command += [a for k, v in params.items() for a in ("-P", f"{k}={v}")]
    proc = subprocess.run(
        command, env=subprocess_env(cache_dir, uri), capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("tune").experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    children = _children(client, parent)
    assert [c.data.tags["optuna.trial_number"] for c in children] == ["0", "1", "2"]
    assert [c.info.run_name for c in children] == [f"cnn_pooling-builtin-trial-{i}" for i in range(3)]
    study = optuna.load_study(study_name="sweep", storage=storage)
    for child, trial in zip(children, study.trials):
        assert child.data.tags["optuna.state"] == trial.state.name
        assert child.info.status == {"COMPLETE": "FINISHED", "PRUNED": "KILLED"}[trial.state.name]
        assert {"dropout", "l2", "learning_rate"} <= set(child.data.params)
        assert float(child.data.params["dropout"]) == pytest.approx(trial.params["dropout"])
        history = client.get_metric_history(child.info.run_id, "val_accuracy")
        assert len(history) == len(trial.intermediate_values) >= 1  # pruned: the partial curve
    tags = parent.data.tags
    assert tags["entry_point"] == "tune" and tags["optuna.study_name"] == "sweep" and tags["optuna.storage"] == storage
    assert tags["best_run_id"] == children[study.best_trial.number].info.run_id
    assert parent.data.metrics["best_val_accuracy"] == pytest.approx(study.best_value)
    assert float(parent.data.params["best_learning_rate"]) == pytest.approx(study.best_params["learning_rate"])
    figures = {a.path for a in client.list_artifacts(parent.info.run_id, "figures")}
    assert {
        "figures/optimization_history.png",
        "figures/parallel_coordinate.png",
        "figures/intermediate_values.png",
    } <= figures
    complete = sum(t.state.name == "COMPLETE" for t in study.trials)
    assert ("figures/param_importances.png" in figures) == (complete >= 2)
    assert "dashboard: optuna-dashboard" in proc.stdout + proc.stderr


class PruneOdd(optuna.pruners.BasePruner):
    """Deterministic: odd trials are pruned after their second epoch."""

    def prune(self, study, trial):
        return trial.number % 2 == 1 and len(trial.intermediate_values) >= 2


@pytest.mark.slow
def test_resume_continues_the_study_and_pruned_trials_keep_their_curves(cache_dir, tmp_path):
    import mlflow

    from emotion.experiment.tune import tune

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    settings = TuneSettings(
        variant="cnn_pooling", n_trials=2, storage=f"sqlite:///{tmp_path}/optuna.db", study_name="resume"
    )
    study, first = tune(settings, FAST_CONFIG, cache_dir, pruner=PruneOdd())
    assert [t.state.name for t in study.trials] == ["COMPLETE", "PRUNED"]
    study, second = tune(
        TuneSettings(**{**settings.__dict__, "n_trials": 3, "register": True}),
        FAST_CONFIG,
        cache_dir,
        pruner=PruneOdd(),
    )
    assert [t.number for t in study.trials] == [0, 1, 2] and study.trials[2].state.name == "COMPLETE"
    client = MlflowClient()
    pruned = _children(client, client.get_run(first))[1]
    assert pruned.data.tags["optuna.state"] == "PRUNED" and pruned.info.status == "KILLED"
    assert len(client.get_metric_history(pruned.info.run_id, "val_accuracy")) == 2
    assert pruned.data.metrics["pruned_at_epoch"] == 1
    resumed = _children(client, client.get_run(second))
    assert [c.data.tags["optuna.trial_number"] for c in resumed] == ["2"]
    assert client.get_model_version_by_alias("emotion", "champion").run_id == resumed[0].info.run_id  # register=true
    again, third = tune(TuneSettings(**{**settings.__dict__, "n_trials": 3}), FAST_CONFIG, cache_dir)
    assert len(again.trials) == 3 and not _children(client, client.get_run(third))  # nothing left to do


@pytest.fixture
def optuna_db(postgres_db):
    """A second throwaway database: Optuna's tables never share MLflow's database."""
    import psycopg

    name = f"optuna_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_two_postgres_workers_share_a_study_and_a_killed_workers_trial_is_retried(
    postgres_db, optuna_db, cache_dir, tmp_path
):
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    mlflow_uri = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{postgres_db}"
    MlflowClient(mlflow_uri).search_experiments()  # schema made once, not raced by the two workers
    n_trials = 3
    command = [
        sys.executable,
        "-m",
        "emotion.cli",
        "tune",
        "cnn_pooling",
        f"n_trials={n_trials}",
        f"storage={optuna_db}",
        "study_name=shared",
        "heartbeat_interval=2",
        "max_actors=6",
        "epochs=4",
        "pruner=none",
    ]
    env = subprocess_env(cache_dir, mlflow_uri)
    storage = optuna.storages.RDBStorage(
        optuna_db
    )  # this process's tables first: not a third party to the workers' race
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(2)]
    victim = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=logs[0], stderr=subprocess.STDOUT, start_new_session=True
    )
    survivor = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=logs[1], stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        killed = None
        deadline = time.monotonic() + 120
        while killed is None:
            assert time.monotonic() < deadline, (tmp_path / "worker0.log").read_text()[-3000:]
            assert victim.poll() is None, (tmp_path / "worker0.log").read_text()[-3000:]
            try:
                study = optuna.load_study(study_name="shared", storage=storage)
            except KeyError:  # not created yet
                time.sleep(0.5)
                continue
            for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                if trial.user_attrs.get("worker", "").endswith(f":{victim.pid}") and trial.intermediate_values:
                    os.killpg(victim.pid, signal.SIGKILL)  # mid-trial: after its first epoch report
                    killed = trial.number
                    break
            time.sleep(0.2)
        victim.wait(10)
        assert survivor.wait(150) == 0, (tmp_path / "worker1.log").read_text()[-3000:]
    finally:
        for process in (victim, survivor):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for log in logs:
            log.close()
    trials = optuna.load_study(study_name="shared", storage=optuna_db).trials
    states = {t.number: t.state.name for t in trials}
    assert states[killed] == "FAIL"
    assert sum(s in ("COMPLETE", "PRUNED") for s in states.values()) == n_trials  # none lost, none twice
    retries = [t for t in trials if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert retries[0].params == trials[killed].params
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    client = MlflowClient(mlflow_uri)
    dead_run = client.get_run(trials[killed].user_attrs["mlflow_run_id"])
    assert dead_run.data.tags["optuna.state"] == "FAIL" and dead_run.info.status == "FAILED"


def test_percentile_pruner_keeps_only_the_best_part_of_each_epoch():
    import optuna

    from emotion.experiment.tune_storage import make_pruner

    pruner = make_pruner(
        TuneSettings(pruner="percentile", pruner_percentile=25, pruner_startup_trials=2, pruner_warmup_epochs=1)
    )
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for value in (0.2, 0.4, 0.6, 0.8):  # finished trials' epoch-1 values
        trial = study.ask()
        trial.report(value, 1)
        study.tell(trial, value)
    verdicts = {}
    for value in (0.5, 0.75):  # above the median but below the top quarter / inside it
        trial = study.ask()
        trial.report(value, 1)
        verdicts[value] = trial.should_prune()
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert verdicts == {0.5: True, 0.75: False}
