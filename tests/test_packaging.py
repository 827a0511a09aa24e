"""Packaging: conda.yaml and pyproject.toml name the same dependencies; MLproject matches config."""

import tomllib
from pathlib import Path

import pytest
import yaml

from emotion import mlproject
from emotion.config import parse_assignments
from emotion.config import VARIANTS, build_config

ROOT = Path(__file__).resolve().parents[1]


def test_conda_and_pyproject_name_the_same_dependencies():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    conda = yaml.safe_load((ROOT / "conda.yaml").read_text())
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict) and "pip" in d)
    strip = lambda reqs: sorted(r.split("#")[0].strip() for r in reqs)  # noqa: E731
    assert strip(pip_section) == strip(pyproject)


def _entry_points():
    return yaml.safe_load((ROOT / "MLproject").read_text())["entry_points"]


def test_mlproject_is_generated_from_config():
    assert (ROOT / "MLproject").read_text() == mlproject.render(), "run: python -m emotion.mlproject > MLproject"


@pytest.mark.parametrize("name", sorted(_entry_points()))
def test_mlproject_defaults_equal_config_defaults_and_all_parameters_are_used(name):
    entry = _entry_points()[name]
    variant = name if name in VARIANTS else {"features": "cnn_lstm"}.get(name, VARIANTS[0])
    defaults = build_config(variant).flat()
    for parameter, spec in entry["parameters"].items():
        assert "{" + parameter + "}" in entry["command"], f"{name}: parameter {parameter} is declared but unused"
        if name in ("register", "evaluate") or parameter in (
            "extra",
            "variants",
            "output",
            "variant",
            *mlproject_tune_fields(),
        ):
            continue
        from_mlproject = build_config(variant, {parameter: str(spec["default"])}).flat()[parameter]
        assert from_mlproject == defaults[parameter], (
            f"{name}: MLproject default of {parameter} differs from emotion/config/"
        )


def test_register_and_evaluate_defaults_are_the_registry_defaults():
    import dataclasses

    from emotion.config import DataConfig
    from emotion.serving.model_registry import CHAMPION_URI, RegisterSettings

    entries = _entry_points()
    register = {name: spec["default"] for name, spec in entries["register"]["parameters"].items() if name != "extra"}
    expected = dataclasses.asdict(RegisterSettings())
    assert set(register) == set(expected), "MLproject's register parameters are RegisterSettings' fields"
    for name, value in expected.items():  # YAML reads false as a bool and "" as a string
        assert str(register[name]).lower() == str(value).lower(), f"register: MLproject default of {name} differs"
    evaluate = {name: spec["default"] for name, spec in entries["evaluate"]["parameters"].items()}
    assert evaluate["model_uri"] == CHAMPION_URI == "models:/emotion@champion"
    assert evaluate["corpus"] == DataConfig.corpus


def mlproject_tune_fields():
    from emotion.experiment.tune_settings import TUNE_FIELDS  # sweep settings, checked in tests/test_tune.py

    return TUNE_FIELDS


def test_every_variant_is_an_entry_point():
    assert set(VARIANTS) | {"main", "cnn_compare", "features", "cv", "register", "evaluate"} <= set(_entry_points())


def test_extra_assignments_parse():
    assert parse_assignments(["a=1", "b= c=x=y", ""]) == {"a": "1", "b": "", "c": "x=y"}
