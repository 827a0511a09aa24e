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
    config = build_config("no_aug", {"epochs": "5.0", "learning_rate": "3e-4", "class_weighting": "false", "data_dir": "''"})
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
