"""What a client of a logged model receives, without serving one: strict JSON for error rows, clear
400 messages, no one's voice in the input example, and a floor on clip length. The served and
`emotion predict` ends of the same contract are in tests/test_model_use.py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from emotion.config import FeatureConfig
from emotion.data.example_clip import example_media, typical_clip
from emotion.corpus.labels import EMOTIONS
from emotion.errors import BadInputError
from emotion.features.audio import require_min_duration
from emotion.serving.model_output import RequestError, prediction_frame
from emotion.serving.predict import write_predictions


def strict_json(text: str):
    """json.loads as a browser's JSON.parse: NaN, Infinity and -Infinity are errors, not numbers."""

    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def _rows() -> list[dict]:
    good = {"label": "angry", **{f"p_{e}": 1 / len(EMOTIONS) for e in EMOTIONS}, "error": ""}
    return [good, {"label": "", "error": "audio: not decodable as audio"}]


def test_an_error_row_is_strict_json_as_the_scoring_server_writes_it():
    from mlflow.pyfunc.scoring_server import predictions_to_json

    out = io.StringIO()
    predictions_to_json(prediction_frame(_rows(), EMOTIONS), out)  # what `mlflow models serve` sends back
    good, bad = strict_json(out.getvalue())["predictions"]
    assert good["p_angry"] == pytest.approx(1 / len(EMOTIONS)) and good["label"] == "angry"
    assert all(bad[f"p_{e}"] is None for e in EMOTIONS) and bad["error"]
    assert prediction_frame(_rows()[:1], EMOTIONS)["p_angry"].dtype == np.float64, "rows without errors stay numbers"


def test_predict_output_files_are_strict_json_and_csv(tmp_path):
    frame = prediction_frame(_rows(), EMOTIONS)
    frame.insert(0, "path", ["a.wav", "b.wav"])
    write_predictions(frame, str(tmp_path / "x.json"))
    assert strict_json((tmp_path / "x.json").read_text())[1]["p_sad"] is None
    write_predictions(frame, str(tmp_path / "x.csv"))
    back = pd.read_csv(tmp_path / "x.csv", keep_default_na=False)
    assert list(back["path"]) == ["a.wav", "b.wav"] and back["p_sad"][1] == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv", "x.json"], "no temporary file left behind"


def test_a_request_error_answers_its_own_message_not_the_payload():
    error = RequestError('the request has no record with an "audio" field')
    error.message = f"Failed to predict data '{'A' * 5000}'. \nError: {error.message}"  # what the server does
    body = json.loads(error.serialize_as_json())
    assert body == {"error_code": "BAD_REQUEST", "message": 'the request has no record with an "audio" field'}
    assert error.get_http_status_code() == 400


def test_the_input_example_is_a_synthetic_clip_of_the_requested_length_and_rate():
    media = example_media(2.5, 48_000, ".video.npy", video_dim=5)
    assert media == example_media(2.5, 48_000, ".video.npy", video_dim=5), "the same bytes at every run"
    info = sf.info(io.BytesIO(media["audio"]))
    assert info.samplerate == 48_000 and info.duration == pytest.approx(2.5, abs=0.01)
    video = np.load(io.BytesIO(media["video"]), allow_pickle=False)
    assert video.shape == (int(2.5 * 25), 5)  # 25 fps, the corpus's feature width
    assert example_media(1.0, 16_000, ".mp4")["video"][4:8] == b"ftyp", "a video file for video-file corpora"


def test_the_typical_clip_is_the_median_length_and_the_commonest_rate(tmp_path):
    paths = []
    for i, (seconds, rate) in enumerate([(1.0, 16_000), (2.0, 16_000), (4.0, 48_000)]):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], np.full(int(seconds * rate), 0.1, np.float32), rate)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    assert typical_clip([*paths, tmp_path / "bad.wav"]) == (pytest.approx(2.0), 16_000)


def test_a_clip_under_the_floor_is_refused_with_the_reason(tmp_path):
    short, long_enough, garbage = tmp_path / "short.wav", tmp_path / "ok.wav", tmp_path / "garbage.wav"
    sf.write(short, np.full(800, 0.1, np.float32), 16_000)  # 50 ms
    sf.write(long_enough, np.full(8000, 0.1, np.float32), 16_000)  # 0.5 s
    garbage.write_bytes(b"not audio at all")
    floor = FeatureConfig().min_clip_seconds
    with pytest.raises(BadInputError) as caught:
        require_min_duration(short, floor)
    assert str(caught.value) == f"{short}: 0.05 s long, under min_clip_seconds=0.3 (too short to carry an emotion)"
    require_min_duration(long_enough, floor)
    require_min_duration(garbage, floor)  # left to the decoder, which names the real problem


def test_training_skips_a_clip_under_the_floor_into_the_build_report(tmp_path, cache_dir):
    from emotion.config import build_config
    from emotion.data.dataset import prepare_corpus
    from emotion.data.synthetic import ensure_builtin_corpus

    source = sorted((ensure_builtin_corpus(cache_dir) / "Actor_01").glob("*.wav"))[:3]
    folder = tmp_path / "corpus" / "Actor_01"
    folder.mkdir(parents=True)
    for clip in source:
        (folder / clip.name).write_bytes(clip.read_bytes())
    signal, rate = sf.read(source[0])
    short = folder / source[0].name
    sf.write(short, signal[: rate // 20], rate)  # the same clip cut to 50 ms
    config = build_config("cnn_pooling", {"data_dir": str(tmp_path / "corpus"), "feature_kind": "logmel_stats"})
    corpus = prepare_corpus(config.data, config.features, cache_dir, allow_video=False)
    assert len(corpus.labels) == 2 and str(short) not in set(corpus.manifest["audio_path"])
    assert (str(short), "0.05 s long, under min_clip_seconds=0.3 (too short to carry an emotion)") in corpus.skipped


def test_a_logged_model_carries_the_whole_package():
    """MLflow puts a model's code/ first on sys.path, so code/emotion must be the emotion package itself,
    not the folder the pyfunc module sits in: a process without the project installed imports it all from there."""
    import emotion
    from emotion.serving.mlflow_model import PACKAGE_DIR

    assert PACKAGE_DIR == Path(emotion.__file__).resolve().parent
