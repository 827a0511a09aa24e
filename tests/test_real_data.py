"""Real RAVDESS audio (../shared/data/ravdess16k): train on one folder of speakers, score others at 48 kHz.

Floor: 3 evaluation actors = 180 clips (12 neutral, 24 per other emotion). A random classifier's UA
has mean 0.125 and sd ~0.025 there (per-class recall sd sqrt(.125 * .875 / 22.5), averaged over 8
classes), so 0.23 is 4 sd above chance: it fails on a broken resampler, label mapping, split or
feature mismatch between training and scoring, not on a merely weak model. What the variants reach
with all 18 actors: docs/results.md.
"""

import mlflow
import pytest

from emotion.config import build_config
from emotion.experiment.train import train

pytestmark = pytest.mark.slow

EVAL_ACTORS = 3
TRAIN_ACTORS = 9  # of the other 15
# cnn_lstm's defaults but 6 epochs (transfer UA 0.516 alone on 2026-12-03, 0.526 at 12 epochs in 1.4x the
# time: far above the floor either way) and no Praat HNR (~0.1 s a clip; tests/test_prosody.py covers it)
OVERRIDES = {"epochs": 6, "voice_quality": "false"}
TRANSFER_UA_FLOOR = 0.23


def test_trained_on_one_folder_scores_other_speakers_recorded_at_48_khz(ravdess16k, cache_dir, tmp_path):
    import soundfile
    from scipy.signal import resample_poly

    from emotion.serving.predict import evaluate

    actors = sorted(p for p in ravdess16k.iterdir() if p.name.startswith("Actor_"))
    train_dir, eval_dir = tmp_path / "train", tmp_path / "eval48k"
    train_dir.mkdir()
    for actor in actors[:TRAIN_ACTORS]:  # file links: the corpus scan does not follow folder links (loops)
        (train_dir / actor.name).mkdir()
        for wav in actor.glob("*.wav"):
            (train_dir / actor.name / wav.name).symlink_to(wav)
    for actor in actors[-EVAL_ACTORS:]:
        (eval_dir / actor.name).mkdir(parents=True)
        for wav in sorted(actor.glob("*.wav")):
            audio, rate = soundfile.read(wav, dtype="float32")
            soundfile.write(eval_dir / actor.name / wav.name, resample_poly(audio, 3, 1), rate * 3, subtype="PCM_16")
    assert soundfile.info(next(eval_dir.rglob("*.wav"))).samplerate == 48000

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    config = build_config("cnn_lstm", {"data_dir": str(train_dir), **OVERRIDES})
    trained = train(config, cache_root=cache_dir)
    params = mlflow.get_run(trained.run_id).data.params
    assert int(params["n_clips"]) == TRAIN_ACTORS * 60 and int(params["n_skipped"]) == 0
    assert not set(params["test_actors"].split(",")) & set(params["train_actors"].split(","))
    model_uri = mlflow.search_logged_models(filter_string=f"source_run_id = '{trained.run_id}'", output_format="list")[
        0
    ].model_uri
    scored = evaluate(model_uri, str(eval_dir))
    assert scored["n_errors"] == 0 and scored["confusion"].sum() == EVAL_ACTORS * 60
    print(f"transfer UA {scored['ua']:.3f} on 48 kHz recordings of {EVAL_ACTORS} unseen speakers")
    assert scored["ua"] > TRANSFER_UA_FLOOR, f"UA {scored['ua']:.3f} on 48 kHz recordings of unseen speakers"
