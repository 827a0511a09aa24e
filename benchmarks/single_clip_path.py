"""What a served per-speaker sequence model scores on clips sent alone, beside its run's test UA.

    MLFLOW_TRACKING_URI=sqlite:///cv.db python benchmarks/single_clip_path.py --cv-run-id ID [--data-dir DIR]

A model trained with `normalisation=speaker` standardises the clips of one request per `speaker`
column value. Sent with its actor, a test clip is standardised by that actor's clips, as in training;
sent alone (a client with one clip and no speaker), it is standardised against itself. For every fold
of a finished `cv` run this loads the fold's logged pyfunc and predicts the fold's test clips from
their raw WAV bytes both ways (speaker = actor; speaker = the clip's own id, which is exactly a
one-clip request each), then prints UA / WA / macro-F1 per path, mean ± sd over folds.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from emotion.corpus.dev_paths import RAVDESS16K  # noqa: E402 -- after the TF log level

PATHS = ("speaker", "alone")  # the request's speaker column: the actor, or the clip's own id


def fold_scores(client, fold_run, manifest, emotions) -> dict[str, dict[str, float]]:
    import mlflow
    import numpy as np
    import pandas as pd

    from emotion.metrics import classification_metrics

    test_actors = fold_run.data.params["test_actors"].split(",")
    clips = manifest[manifest["actor"].isin(test_actors)]
    (logged,) = client.search_logged_models(
        experiment_ids=[fold_run.info.experiment_id], filter_string=f"source_run_id = '{fold_run.info.run_id}'"
    )
    model = mlflow.pyfunc.load_model(f"models:/{logged.model_id}")
    audio = [Path(path).read_bytes() for path in clips["audio_path"]]
    truth = np.array([emotions.index(e) for e in clips["emotion"]])
    scores = {}
    for path in PATHS:
        speakers = clips["actor"] if path == "speaker" else clips["clip_id"]
        out = model.predict(pd.DataFrame({"audio": audio, "speaker": speakers.astype(str).to_list()}))
        predicted = np.array([emotions.index(label) for label in out["label"]])
        metrics = classification_metrics(truth, predicted, emotions)
        scores[path] = {k: metrics[k] for k in ("ua", "wa", "macro_f1")}
    scores["run_test_ua"] = {"ua": fold_run.data.metrics["test_ua"]}
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-run-id", required=True)
    parser.add_argument("--data-dir", default=str(RAVDESS16K))
    args = parser.parse_args()

    import mlflow
    import numpy as np

    from emotion.corpus.labels import EMOTIONS
    from emotion.corpus.manifest import build_manifest

    mlflow.set_tracking_uri(mlflow.get_tracking_uri())  # models:/ resolves through the global URI
    client = mlflow.MlflowClient()
    parent = client.get_run(args.cv_run_id)
    folds = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{args.cv_run_id}'", order_by=["attributes.start_time"]
    )
    manifest, _ = build_manifest(args.data_dir)
    rows = [fold_scores(client, run, manifest, list(EMOTIONS)) for run in folds]
    print(f"cv run {args.cv_run_id} ({parent.data.params.get('variant')}), {len(rows)} folds, {args.data_dir}")
    print("| request | UA mean ± sd | WA mean ± sd | macro-F1 mean ± sd | per-fold UA |")
    print("|---|---|---|---|---|")
    for path in (*PATHS, "run_test_ua"):
        cells = []
        for metric in ("ua", "wa", "macro_f1"):
            values = np.array([row[path][metric] for row in rows if metric in row[path]])
            cells.append(f"{values.mean():.3f} ± {values.std(ddof=1):.3f}" if len(values) else "")
        per_fold = " ".join(f"{row[path]['ua']:.3f}".lstrip("0") for row in rows)
        print(f"| {path} | {' | '.join(cells)} | {per_fold} |")


if __name__ == "__main__":
    main()
