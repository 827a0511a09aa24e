"""`main` and `cnn_compare`: several variants on the same data and split, as child runs of one parent.

The parent logs a leaderboard (UA, WA, macro-F1, train-validation gap, epochs, wall time) as a table,
CSV and markdown, a comparison figure, and tags the winning variant and run.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd

from emotion.config import VARIANTS, build_config
from emotion.errors import ConfigError, EmotionError
from emotion.data.dataset import corpus_label
from emotion.tracking.run_notes import NOTE_TAG, leaderboard_note, run_name


def split_overrides(variants: list[str], overrides: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each variant gets the overrides its config has; a name no variant knows is an error."""
    per_variant = {}
    used = set()
    for variant in variants:
        known = set(build_config(variant).flat())
        per_variant[variant] = {k: v for k, v in overrides.items() if k in known}
        used |= set(per_variant[variant])
    unknown = sorted(set(overrides) - used)
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for variants {', '.join(variants)}")
    return per_variant


def parse_variants(text: str) -> list[str]:
    variants = [v.strip() for v in text.replace(" ", ",").split(",") if v.strip()]
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants:
        raise ConfigError(f"parameter variants={text!r}: expected a comma-separated list of {', '.join(VARIANTS)}")
    return variants


def leaderboard_figure(board: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(board)), 4))
    x = np.arange(len(board))
    for i, metric in enumerate(("test_ua", "test_wa", "test_macro_f1")):
        ax.bar(x + (i - 1) * 0.27, board[metric], width=0.27, label=metric.removeprefix("test_"))
    ax.set_xticks(x, board["variant"], rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("held-out speakers")
    ax.legend()
    fig.tight_layout()
    return fig


def compare(
    variants: list[str], overrides: dict[str, str], cache_root: Path | None = None, name: str = "main"
) -> pd.DataFrame:
    """Train each variant as a child run of a new (or the active) parent run; returns the leaderboard."""
    from emotion.tracking.run_logging import log_params_once
    from emotion.experiment.train import train  # TensorFlow loads only once the arguments are known to be good

    configs = {v: build_config(v, o) for v, o in split_overrides(variants, overrides).items()}
    rows, failed = [], {}
    corpus = corpus_label(next(iter(configs.values())).data.data_dir)  # one split, one corpus for every variant
    with mlflow.start_run(run_name=run_name(name, corpus)) as parent:
        log_params_once({"variants": ",".join(variants), **overrides})
        mlflow.set_tag("entry_point", name)
        for variant, config in configs.items():
            try:
                result = train(config, cache_root)
            except EmotionError as error:  # one variant's bad data must not discard the others' hours
                failed[variant] = str(error)
                mlflow.set_tag(f"failed_{variant}", str(error)[:5000])
                print(f"{variant} failed: {error}")
                continue
            child = mlflow.get_run(result.run_id)
            rows.append(
                {
                    "variant": variant,
                    "run_id": result.run_id,
                    "test_ua": result.test["ua"],
                    "test_wa": result.test["wa"],
                    "test_macro_f1": result.test["macro_f1"],
                    "train_val_gap": result.train_val_gap,
                    "epochs": result.epochs_run,
                    "seconds": round(result.seconds, 1),
                    "test_actors": child.data.params.get("test_actors", ""),
                }
            )
        if not rows:
            raise EmotionError(f"{name}: every variant failed: " + "; ".join(f"{v}: {r}" for v, r in failed.items()))
        board = pd.DataFrame(rows).sort_values("test_ua", ascending=False, kind="stable").reset_index(drop=True)
        if board["test_actors"].nunique() != 1:
            raise RuntimeError(f"variants were tested on different speakers: {board['test_actors'].unique()}")
        mlflow.log_table(board, "leaderboard.json")
        mlflow.log_text(board.to_csv(index=False), "leaderboard.csv")
        mlflow.log_text(
            board.drop(columns=["run_id", "test_actors"]).to_markdown(index=False, floatfmt=".3f"), "leaderboard.md"
        )
        fig = leaderboard_figure(board)
        mlflow.log_figure(fig, "figures/leaderboard.png")
        plt.close(fig)
        best = board.iloc[0]
        margin = float(best["test_ua"] - board.iloc[1]["test_ua"]) if len(board) > 1 else 0.0
        mlflow.set_tags(
            {"best_variant": best["variant"], "best_run_id": best["run_id"], NOTE_TAG: leaderboard_note(name, board)}
        )
        mlflow.log_metrics({"best_test_ua": float(best["test_ua"]), "best_margin_ua": margin})
        print(f"\n{name}: parent run {parent.info.run_id}")
        print(board.drop(columns=["run_id", "test_actors"]).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(f"winner: {best['variant']} by {margin:.3f} UA")
    if failed:
        raise EmotionError(
            f"{name}: {len(failed)} variant(s) failed: " + "; ".join(f"{v}: {r}" for v, r in failed.items())
        )
    return board
