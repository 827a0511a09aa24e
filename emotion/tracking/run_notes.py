"""What a run is called and says in the MLflow UI: `<variant>-<corpus>[-fold-N | -trial-N]` and a
description (the `mlflow.note.content` tag the UI shows on the run page) with the data, the split's
actors and the headline metrics, instead of MLflow's random names (`traveling-calf-604`)."""

from __future__ import annotations

NOTE_TAG = "mlflow.note.content"  # MLflow's run description


def run_name(variant: str, corpus: str, part: str | None = None) -> str:
    """'whisper_lstm-ravdess16k-fold-2'; `part` names the fold, trial or member, when there is one."""
    return "-".join(p for p in (variant, corpus, part) if p)


def _metrics_line(metrics: dict[str, float]) -> str:
    names = (("ua", "UA"), ("wa", "WA"), ("macro_f1", "macro-F1"))
    return " · ".join(f"{label} {metrics[key]:.3f}" for key, label in names if key in metrics)


def training_note(variant: str, corpus, split_summary: dict, test: dict[str, float]) -> str:
    """Markdown for one training run: data, actors per set, test UA / WA / macro-F1."""
    lines = [
        f"**{variant}** on `{corpus.name}` ({corpus.root}): {len(corpus.labels)} clips, {len(corpus.skipped)} skipped (build_report.txt).",
        "",
        *(f"- {name}: {s['n_clips']} clips, actors {', '.join(s['actors'])}" for name, s in split_summary.items()),
        "",
        f"Test {_metrics_line(test)}",
    ]
    return "\n".join(lines)


def cv_note(variant: str, corpus, n_folds: int, summary: dict[str, float], refit=None) -> str:
    """Markdown for a cv parent: data, folds, mean ± sd of the folds' test metrics, and the refit model
    (experiment/refit.py RefitResult) when there is one."""
    parts = [
        f"{label} {summary[f'cv_{key}_mean']:.3f} ± {summary[f'cv_{key}_std']:.3f}"
        for key, label in (("ua", "UA"), ("wa", "WA"), ("macro_f1", "macro-F1"))
        if f"cv_{key}_mean" in summary
    ]
    note = (
        f"**{variant}**, {n_folds}-fold cross-validation by actor on `{corpus.name}` ({corpus.root}): "
        f"{len(corpus.labels)} clips.\n\nTest, mean ± sd over folds: {' · '.join(parts)} (folds.md)."
    )
    if refit is not None:
        note += (
            f"\n\n**Refit**: this run's model learned from all {len(refit.actors)} actors ({refit.n_clips} clips, "
            f"{refit.epochs} epochs, the folds' median best epoch). No actor was held out, so it has no test "
            f"figure of its own: its figure is the folds' UA {summary['cv_ua_mean']:.3f} above."
        )
    return note


def leaderboard_note(entry: str, leaderboard) -> str:
    """Markdown for a comparison parent: each variant's test metrics, best first."""
    rows = [
        f"- **{r['variant']}**: UA {r['test_ua']:.3f} · WA {r['test_wa']:.3f} · macro-F1 {r['test_macro_f1']:.3f}"
        for r in leaderboard.to_dict("records")
    ]
    return f"`{entry}`: {len(rows)} variants on one split (leaderboard.md).\n\n" + "\n".join(rows)
