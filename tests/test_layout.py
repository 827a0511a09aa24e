"""The tree, the packages' one-line-per-module indexes, the README's layout section and the import
graph agree: every module is listed where it lives, no two modules import each other, and no module
imports from a package later in the order (module-level or late imports alike)."""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "emotion"
SUBPACKAGES = sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the emotion modules it imports anywhere in its body."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle (its modules, the first repeated at the end), or [] when there is none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return error.args[1]
    return []


def test_no_import_cycle_in_the_package():
    assert cycle(import_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    found = cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert set(found) == {"a", "b", "c"} and found[0] == found[-1]
    assert cycle({"a": {"b"}, "b": set(), "d": {"a", "b"}}) == []


# Data flows one way: a package imports only packages to its left (emotion/__init__.py says why).
LAYERS = ["corpus", "features", "data", "models", "serving", "tracking", "experiment"]
BELOW_ALL = {"config", "errors", "metrics"}
ABOVE_ALL = {"", "cli", "cloud", "mlproject", "quiet_tensorflow", "mlflow_model"}  # "": emotion/__init__.py


def layer(module: str) -> int:
    """A module's rank in the order; a package missing from the order fails here until it is placed."""
    part = module.split(".")[1] if "." in module else ""
    if part in BELOW_ALL:
        return -1
    if part in ABOVE_ALL:
        return len(LAYERS)
    return LAYERS.index(part)


def upward_imports(module: str, source: str) -> list[str]:
    """The emotion modules `source` (the text of `module`) imports from a package later in the order,
    at module level or inside a function: `import emotion.x`, `from emotion.x import y`, `from emotion import x`."""
    targets = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "emotion":
            targets += [f"emotion.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            targets.append(node.module)
    return [t for t in targets if t.startswith("emotion.") and layer(t) > layer(module)]


def test_no_module_imports_from_a_later_package():
    upward = {
        name: found
        for path in sorted(PACKAGE.rglob("*.py"))
        if (found := upward_imports(name := _module_name(path), path.read_text()))
    }
    assert upward == {}


def test_the_order_check_finds_an_import_running_back_up():
    assert upward_imports("emotion.corpus.names", "from emotion.experiment.train import train") == [
        "emotion.experiment.train"
    ]
    late = "def f():\n    import emotion.tracking.server\n    from emotion import serving\n"
    assert upward_imports("emotion.data.dataset", late) == ["emotion.tracking.server", "emotion.serving"]
    assert upward_imports("emotion.serving.predict", "from emotion.corpus.labels import EMOTIONS\nimport numpy") == []
    assert upward_imports("emotion.cli", "from emotion.experiment.train import train") == []


@pytest.mark.parametrize("package", [PACKAGE, *SUBPACKAGES], ids=lambda p: p.name)
def test_every_module_is_listed_in_its_package_index(package):
    index = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    listed = set(re.findall(r"^\s*(\w+\.(?:py|sh))\s", index, flags=re.MULTILINE))
    present = {p.name for p in package.iterdir() if p.suffix in (".py", ".sh") and p.name != "__init__.py"}
    assert present - listed == set(), f"{package.name}/__init__.py does not list them"
    assert listed - present == set(), f"{package.name}/__init__.py lists modules that do not exist"


def test_the_readme_layout_names_every_module():
    layout = (ROOT / "README.md").read_text().split("## Layout", 1)[1].split("```")[1]
    words = set(re.findall(r"\w+", layout))
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py":
            assert path.stem in words, f"README's layout section does not mention {path.relative_to(ROOT)}"
    for package in SUBPACKAGES:
        assert f"{package.name}/" in layout, f"README's layout section has no {package.name}/"


def test_no_module_is_longer_than_350_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 350}
    assert long == {}


FEATURE_KIND_TEST = re.compile(r"feature_kind\s*(==|!=|in\b|not in\b)")


def test_feature_kinds_are_read_from_their_table_not_tested_by_name():
    """Each kind's facts live in emotion/config/feature_kinds.py; a module that compares the kind's name
    has a second copy of a fact that drifts (the pattern below finds `feature_kind == "whisper"`)."""
    assert FEATURE_KIND_TEST.search('if config.features.feature_kind in ("wav2vec", "whisper"):')
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "feature_kinds.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if FEATURE_KIND_TEST.search(line.split("#")[0])
    ]
    assert not offenders, offenders
