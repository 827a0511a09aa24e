"""What a finished sweep leaves on its parent run: best trial, trial table, Optuna's figures, a summary line."""

from __future__ import annotations

import warnings

from emotion.experiment.tune_settings import TuneSettings
from emotion.experiment.tune_storage import trial_counts
from emotion.tracking.server import redact
from emotion.tracking.run_notes import NOTE_TAG


def summarise(study, settings: TuneSettings, parent_run_id: str, client) -> None:
    """Best params/value, best run id, trial table and Optuna's figures on the (active) parent run."""
    import matplotlib.pyplot as plt
    import mlflow
    import optuna
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as ovm

    trials = study.get_trials(deepcopy=False)
    counts = trial_counts(study)
    mlflow.log_metrics({f"n_{k.lower()}": v for k, v in counts.items()})
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    notes = []
    if complete:
        best = study.best_trial
        mlflow.log_metric(f"best_{settings.metric}", best.value)
        mlflow.log_params({f"best_{k}": v for k, v in best.params.items()})
        mlflow.log_dict({"number": best.number, "value": best.value, "params": best.params}, "best_trial.json")
        mlflow.set_tags(
            {
                "best_trial_number": best.number,
                "best_run_id": best.user_attrs.get("mlflow_run_id", ""),
                NOTE_TAG: (
                    f"Optuna sweep of **{settings.variant}** (study `{study.study_name}`): {counts}. Best "
                    f"{settings.metric} {best.value:.3f} at trial {best.number}, {best.params}."
                ),
            }
        )
    frame = study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs", "duration"))
    mlflow.log_table(frame.astype(str), "trials.json")
    figures = {
        "optimization_history": lambda: ovm.plot_optimization_history(study),
        "intermediate_values": lambda: ovm.plot_intermediate_values(study),
        "parallel_coordinate": lambda: ovm.plot_parallel_coordinate(study),
    }
    if len(complete) >= 2:
        figures["param_importances"] = lambda: ovm.plot_param_importances(study)
    else:
        notes.append(f"param_importances skipped: needs >= 2 completed trials, the study has {len(complete)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning from every matplotlib plot
        for name, plot in figures.items():
            try:
                ax = plot()
                figure = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
                figure.tight_layout()
                mlflow.log_figure(figure, f"figures/{name}.png")
                plt.close(figure)
            except (ValueError, RuntimeError, optuna.exceptions.OptunaError) as error:
                notes.append(f"{name} skipped: {error}")
    if notes:
        mlflow.log_text("\n".join(notes) + "\n", "figures/NOTES.txt")
    best_text = (
        f"best {settings.metric} {study.best_value:.4f} (trial {study.best_trial.number}) {study.best_params}"
        if complete
        else "no completed trial"
    )
    print(
        f"\ntune {settings.variant}: study {study.study_name} at {redact(settings.storage)}, parent run {parent_run_id}"
    )
    print(f"trials: {counts}; {best_text}")
    print(f"dashboard: optuna-dashboard {redact(settings.storage)}")
