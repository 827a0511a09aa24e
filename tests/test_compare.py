"""`compare`: a failing variant is recorded and the others still land on the leaderboard."""

import mlflow
import pytest

from emotion.experiment.compare import compare, parse_variants, split_overrides
from emotion.errors import ConfigError, EmotionError


def test_overrides_go_to_the_variants_that_have_them():
    per = split_overrides(["no_aug", "cnn_pooling"], {"epochs": "2", "video_units_1": "8"})
    assert per["no_aug"] == {"epochs": "2", "video_units_1": "8"} and per["cnn_pooling"] == {"epochs": "2"}
    with pytest.raises(ConfigError, match="nonsense"):
        split_overrides(["no_aug"], {"nonsense": "1"})
    with pytest.raises(ConfigError, match="variants='no_aug,bogus'"):
        parse_variants("no_aug,bogus")


@pytest.mark.slow
def test_failed_variant_is_recorded_and_the_rest_kept(cache_dir, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    overrides = {"max_actors": "6", "epochs": "1", "whisper_model": str(tmp_path / "no-such-model")}
    with pytest.raises(EmotionError, match="wav2vec_attention"):
        compare(["cnn_pooling", "wav2vec_attention"], overrides, cache_root=cache_dir, name="partial")
    parent = mlflow.search_runs(filter_string="tags.mlflow.runName = 'partial-builtin'", output_format="list")[0]
    assert "failed_wav2vec_attention" in parent.data.tags
    assert parent.data.tags["best_variant"] == "cnn_pooling"
    board = mlflow.load_table("leaderboard.json", run_ids=[parent.info.run_id])
    assert list(board["variant"]) == ["cnn_pooling"]
