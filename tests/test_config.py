"""Config: one default per parameter, overrides cast and validated, clear one-line errors."""

import pytest

from emotion.config import VARIANTS, build_config
from emotion.errors import ConfigError


def test_defaults_and_flat_names_are_unique():
    config = build_config("no_aug")
    flat = config.flat()
    n_fields = sum(len(vars(section)) for section in config.sections().values())
    assert len(flat) == n_fields + 1, "a parameter name appears in two sections"
    assert flat["variant"] == "no_aug" and flat["split"] == "speaker"


def test_overrides_are_cast_from_strings_and_mlproject_quoting():
    config = build_config(
        "no_aug", {"epochs": "5.0", "learning_rate": "3e-4", "class_weighting": "false", "data_dir": "''"}
    )
    assert config.train.epochs == 5 and isinstance(config.train.epochs, int)
    assert config.train.learning_rate == pytest.approx(3e-4)
    assert config.train.class_weighting is False
    assert config.data.data_dir == ""


@pytest.mark.parametrize(
    "variant, overrides, message",
    [
        ("nope", {}, "unknown variant 'nope'"),
        ("no_aug", {"epoch": "3"}, "unknown parameter(s) epoch"),
        ("no_aug", {"epochs": "2.5"}, "epochs='2.5': expected int"),
        ("no_aug", {"dropout": "1.5"}, "dropout"),
        ("no_aug", {"split": "random"}, "split='random': expected one of speaker, random_leaky"),
        ("no_aug", {"length_mode": "fixed"}, "fixed_length"),
        ("no_aug", {"fmax": "9000"}, "Nyquist"),
        ("no_aug", {"batch_size": "0"}, "batch_size"),
        ("cnn_pooling", {"pooling": "max"}, "pooling='max': expected one of mean, mean_std"),
        ("no_aug", {"pooling": "mean_std"}, "unknown parameter(s) pooling"),
        ("no_aug", {"frame_pool": "0"}, "frame_pool=0: must be >= 1"),
        ("no_aug", {"jit_compile": "yes"}, "jit_compile='yes': expected one of auto, on, off"),
        (
            "wav2vec_attention",
            {"lstm_kernel": "cudnn"},
            "lstm_kernel=cudnn: cuDNN has no recurrent dropout; set recurrent_dropout=0",
        ),
        ("cnn_lstm", {"lstm_kernel": "cudnn"}, "unknown parameter(s) lstm_kernel"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_parameter(variant, overrides, message):
    with pytest.raises(ConfigError) as error:
        build_config(variant, overrides)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_every_variant_builds():
    for variant in VARIANTS:
        assert build_config(variant).variant == variant


def test_xla_only_where_every_batch_has_one_length():
    from emotion.experiment.train import use_xla

    audio = ["audio"]
    assert use_xla(build_config("wav2vec_attention"), audio)  # its default "auto" at length_mode=percentile
    assert not use_xla(
        build_config("wav2vec_attention", {"length_mode": "bucket"}), audio
    )  # a compilation per batch shape
    assert not use_xla(build_config("cnn_lstm_simplified"), audio)  # one length, but "off" is the shared default
    assert use_xla(build_config("cnn_lstm_simplified", {"jit_compile": "auto"}), audio)
    assert use_xla(build_config("no_aug", {"jit_compile": "on"}), ["audio", "video"])
    assert not use_xla(build_config("wav2vec_attention", {"jit_compile": "off"}), audio)
    # video is padded per batch even at one audio length: "auto" leaves audio-visual runs uncompiled
    assert not use_xla(build_config("no_aug", {"length_mode": "percentile", "jit_compile": "auto"}), ["audio", "video"])
    assert use_xla(build_config("no_aug", {"length_mode": "percentile", "jit_compile": "auto"}), audio)


def test_kernel_tags_say_which_lstm_path_runs_and_cudnn_without_a_gpu_fails_early():
    import tensorflow as tf

    from emotion.experiment.train import kernel_tags

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this checks the CPU-only paths")
    audio = ["audio"]
    assert kernel_tags(build_config("wav2vec_attention"), audio) == {
        "xla": "on",
        "lstm_path": "generic (recurrent_dropout > 0 rules cuDNN out)",
    }
    assert kernel_tags(build_config("no_aug", {"jit_compile": "off"}), audio) == {
        "xla": "off",
        "lstm_path": "generic (no GPU)",
    }
    assert kernel_tags(build_config("cnn_pooling"), audio) == {"xla": "off"}  # no switch, no LSTM tag
    with pytest.raises(ConfigError, match="lstm_kernel=cudnn: the cuDNN kernel cannot run here: generic .no GPU."):
        kernel_tags(build_config("no_aug", {"lstm_kernel": "cudnn"}), audio)
