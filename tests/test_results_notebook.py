"""emotion.serving.results on hand-logged runs (fast), and notebooks/results.ipynb executed top to bottom on real runs (slow)."""

import io

import mlflow
import nbformat
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from mlflow import MlflowClient

from conftest import ROOT, subprocess_env
from emotion.serving import results
from emotion.corpus.labels import EMOTIONS
from emotion.errors import EmotionError

NOTEBOOK = ROOT / "notebooks" / "results.ipynb"


class Constant(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[str]) -> list[str]:
        return ["neutral"] * len(model_input)


def fake_training_run(experiment_id: str, variant: str, ua: float, epochs: int = 3, status: str = "FINISHED") -> str:
    """What emotion.tracking.run_logging logs, in miniature: the metrics, per-epoch curves and the confusion table."""
    with mlflow.start_run(experiment_id=experiment_id, run_name=variant, nested=mlflow.active_run() is not None) as run:
        mlflow.set_tag("variant", variant)
        mlflow.log_param("variant", variant)
        mlflow.log_metrics({"test_ua": ua, "test_wa": ua + 0.05, "test_macro_f1": ua - 0.05, "val_ua": ua + 0.1})
        mlflow.log_metric("epochs_run", epochs)
        for epoch in range(epochs):
            mlflow.log_metrics({"loss": 2.0 - 0.5 * epoch, "accuracy": 0.2 + 0.1 * epoch}, step=epoch)
            mlflow.log_metrics({"val_loss": 2.1 - 0.4 * epoch, "val_accuracy": 0.15 + 0.1 * epoch}, step=epoch)
        confusion = pd.DataFrame(np.diag(np.arange(1, len(EMOTIONS) + 1)), index=list(EMOTIONS), columns=list(EMOTIONS))
        confusion.iloc[0, 1] = 4
        mlflow.log_table(confusion.rename_axis("true").reset_index(), "test_confusion_matrix.json")
        if status != "FINISHED":
            mlflow.end_run(status)
        return run.info.run_id


pytestmark = pytest.mark.xdist_group("test_results_notebook")  # its module fixtures run once, on one worker


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A SQLite store (made once: a new store costs seconds of migrations) whose experiment `exp` has a
    `main`-style parent (no test_ua) with two children, a lone run, a failed run and a run without
    metrics. Experiments are passed by id: mlflow.set_experiment would leak into later tests' stores."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('results')}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("exp")
    with mlflow.start_run(experiment_id=exp, run_name="main") as parent:
        mlflow.log_metric("best_test_ua", 0.6)
        ids = {
            "sync_aug": fake_training_run(exp, "sync_aug", 0.6, epochs=4),
            "no_aug": fake_training_run(exp, "no_aug", 0.4),
        }
    ids["cnn_pooling"] = fake_training_run(exp, "cnn_pooling", 0.5, epochs=2)
    ids["failed"] = fake_training_run(exp, "aug", 0.9, status="FAILED")
    with mlflow.start_run(experiment_id=exp, run_name="empty"):
        pass
    return {"uri": uri, "experiment_id": exp, "ids": ids, "parent": parent.info.run_id, "client": MlflowClient(uri)}


@pytest.fixture
def store(logged):
    mlflow.set_tracking_uri(logged["uri"])  # the global store mlflow.load_table reads
    return logged


def test_experiment_runs_lists_finished_training_runs_best_first(store):
    runs = results.experiment_runs("exp", store["uri"])
    ids = store["ids"]
    assert list(runs["run_id"]) == [ids["sync_aug"], ids["cnn_pooling"], ids["no_aug"]]
    assert list(runs.columns) == [
        "run_id",
        "run_name",
        "variant",
        "parent_run_id",
        "n_classes",
        "test_ua",
        "test_wa",
        "test_macro_f1",
        "val_ua",
        "epochs_run",
        "start_time",
    ]
    assert list(runs["variant"]) == ["sync_aug", "cnn_pooling", "no_aug"]
    assert list(runs["parent_run_id"]) == [store["parent"], None, store["parent"]]
    assert list(runs["epochs_run"]) == [4, 2, 3]
    assert list(runs["n_classes"]) == [len(EMOTIONS)] * 3  # these runs log no n_classes: RAVDESS's 8
    assert runs["test_wa"].iloc[0] == pytest.approx(0.65) and runs["val_ua"].iloc[0] == pytest.approx(0.7)
    assert str(runs["start_time"].dt.tz) == "UTC"


def test_missing_experiment_store_or_training_runs_is_a_clear_error(store, tmp_path):
    with pytest.raises(EmotionError, match="experiment 'nope' not found .*'exp'"):
        results.experiment_runs("nope", store["uri"])
    with mlflow.start_run(experiment_id=mlflow.create_experiment("untrained")):
        mlflow.log_metric("best_test_ua", 0.5)
    with pytest.raises(EmotionError, match="experiment 'untrained' .* has no finished training runs"):
        results.experiment_runs("untrained", store["uri"])
    missing = tmp_path / "elsewhere" / "mlflow.db"
    with pytest.raises(EmotionError, match="no such file"):
        results.experiment_runs("exp", f"sqlite:///{missing}")
    assert not missing.exists()  # no empty second store left behind


def test_learning_curves_come_from_metric_histories(store):
    ids = store["ids"]
    curves = results.learning_curves([ids["sync_aug"], ids["cnn_pooling"]], store["client"])
    assert list(curves) == [ids["sync_aug"], ids["cnn_pooling"]]
    frame = curves[ids["sync_aug"]]
    assert list(frame.columns) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert list(frame["epoch"]) == [1, 2, 3, 4]
    assert list(frame["loss"]) == [2.0, 1.5, 1.0, 0.5]
    assert frame["val_accuracy"].to_numpy() == pytest.approx([0.15, 0.25, 0.35, 0.45])
    assert len(curves[ids["cnn_pooling"]]) == 2


def test_champion_is_the_alias_run_else_the_best_by_ua(store):
    client, ids, experiment_id = store["client"], store["ids"], store["experiment_id"]

    best = results.champion(client, experiment_id)  # no registered model at all
    assert best.run_id == ids["sync_aug"] and best.source == "best_test_ua"
    assert "no emotion@champion alias" in best.note and ids["sync_aug"] in best.note

    with mlflow.start_run(run_id=ids["no_aug"]):  # the worst run becomes the registered champion
        info = mlflow.pyfunc.log_model(name="model", python_model=Constant(), pip_requirements=["mlflow"])
    version = mlflow.register_model(info.model_uri, "emotion")
    assert results.champion(client, experiment_id).source == "best_test_ua"  # a model, but no alias yet
    client.set_registered_model_alias("emotion", "champion", version.version)
    chosen = results.champion(client, experiment_id)
    assert chosen.run_id == ids["no_aug"] and chosen.source == "alias"
    assert f"emotion@champion = version {version.version}" in chosen.note and "not this one" not in chosen.note

    other = client.create_experiment("other")
    assert "'exp', not this one" in results.champion(client, other).note
    assert results.champion(client, experiment_id, model_name="unregistered").source == "best_test_ua"


def test_confusion_matrix_and_figures(store):
    ids = store["ids"]
    confusion = results.confusion_matrix_of(ids["sync_aug"])  # "exp" is not the active experiment
    assert list(confusion.index) == list(EMOTIONS) and list(confusion.columns) == list(EMOTIONS)
    assert confusion.loc["neutral", "calm"] == 4 and confusion.loc["surprised", "surprised"] == len(EMOTIONS)
    with pytest.raises(EmotionError, match="no test_confusion_matrix.json"):
        results.confusion_matrix_of(store["parent"])

    runs = results.experiment_runs("exp", store["uri"])
    curves = results.learning_curves(runs["run_id"], store["client"])
    figures = [
        results.leaderboard_figure(runs),
        results.leaderboard_figure(runs, top=2),
        results.learning_curves_figure(curves, results.run_labels(runs)),
        results.confusion_figure(confusion, "test"),
    ]
    assert figures[0].axes[0].get_title() == "Leaderboard (3 runs, by test UA)"
    assert [t.get_text() for t in figures[1].axes[0].get_xticklabels()] == ["sync_aug", "cnn_pooling"]
    assert len(figures[2].axes) == 4 and len(figures[2].axes[0].get_lines()) == 3
    for figure in figures:
        assert isinstance(figure, Figure)
        png = io.BytesIO()
        figure.savefig(png, format="png")  # headless: no display, no pyplot window
        assert png.getvalue().startswith(b"\x89PNG")
    assert results.run_labels(pd.DataFrame({"run_id": ["a" * 32, "b" * 32, "c" * 32], "variant": ["x", "x", "y"]})) == {
        "a" * 32: "x (aaaaaaa)",
        "b" * 32: "x (bbbbbbb)",
        "c" * 32: "y",
    }


def _output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts += [data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(parts)


@pytest.mark.slow
def test_notebook_runs_top_to_bottom_on_real_runs(cache_dir, tmp_path):
    from nbclient import NotebookClient

    from emotion.experiment.compare import compare

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    board = compare(
        ["cnn_pooling", "cnn_lstm_simplified"], {"max_actors": "6", "epochs": "2"}, cache_root=cache_dir, name="nb"
    )
    # The leaderboard's last run is the registered champion: the notebook must follow the alias.
    champion_run = board.iloc[-1]["run_id"]
    version = mlflow.register_model(f"runs:/{champion_run}/model", "emotion")
    MlflowClient(uri).set_registered_model_alias("emotion", "champion", version.version)

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    parameters.source = f'TRACKING_URI = {uri!r}\nEXPERIMENT = "Default"\nMODEL_NAME = "emotion"\n'
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        startup_timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=subprocess_env(cache_dir, uri))  # raises CellExecutionError with the failing cell's traceback

    code = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "\n".join(_output_text(c) for c in code)
    for row in board.itertuples():
        assert row.run_id in text and row.variant in text
    assert f"emotion@champion = version {version.version}, run {champion_run}" in text
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3  # leaderboard, learning curves, confusion matrix: each once
