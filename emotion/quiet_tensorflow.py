"""TensorFlow's start-up noise off the terminal on machines without a GPU; real warnings kept.

Importing TensorFlow 2.21 on a CPU machine prints C++ lines from before absl's logging starts (so
TF_CPP_MIN_LOG_LEVEL cannot hide them) and, at the first device probe, `failed call to cuInit ...
UNKNOWN ERROR (303)`: on every `emotion` command, entry point and model server. `install()` (called by
`import emotion`, before any TensorFlow import) sets TF_CPP_MIN_LOG_LEVEL=1 unless the user set it
(INFO off, warnings on) and wraps the first `import tensorflow`: the import and the GPU probe run with
file descriptor 2 captured, and every captured line except the known start-up lines is written back.
With an NVIDIA driver present nothing is filtered: a CUDA error there is real.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from pathlib import Path

LOG_LEVEL_DEFAULT = "1"  # TF_CPP_MIN_LOG_LEVEL: 1 hides INFO, keeps WARNING and ERROR
NVIDIA_DRIVER = Path("/proc/driver/nvidia/version")
# The start-up lines of a GPU-less machine: the pre-absl banner, the CUDA stub's notice, the driver probe.
NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|cudart_stub\.cc.*Could not find cuda drivers"
    r"|failed call to cuInit"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation_placer\.cc.*already registered"
    r"|oneDNN custom operations are on"
    r"|TF-TRT Warning: Could not find TensorRT"
)


def real_lines(text: str) -> str:
    """Captured stderr -> the lines that are not TensorFlow's GPU-less start-up noise."""
    return "".join(line for line in text.splitlines(keepends=True) if not NOISE.search(line))


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of `tensorflow` with fd 2 captured, then the GPU probe, then filters."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile(mode="w+b") as captured:
            os.dup2(captured.fileno(), 2)
            try:
                self.loader.exec_module(module)
                module.config.list_physical_devices("GPU")  # the cuInit probe, while fd 2 is captured
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                sys.stderr.write(real_lines(captured.read().decode("utf-8", "replace")))
                sys.stderr.flush()


class _TensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, through the path finder, and hands back its spec with _QuietLoader.
    It stays in sys.meta_path (removing itself mid-lookup would make the import loop skip a finder)."""

    done = False

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self.done:
            return None  # None: the next finders answer as if this one were not there
        self.done = True  # once: later imports (a reload) are untouched
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Before TensorFlow is imported: the log-level default and, without an NVIDIA driver, the filter."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", LOG_LEVEL_DEFAULT)
    if "tensorflow" in sys.modules or NVIDIA_DRIVER.exists():
        return
    if not any(isinstance(finder, _TensorFlowFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TensorFlowFinder())
