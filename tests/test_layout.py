"""The tree, the packages' one-line-per-module indexes, the README's layout section and the import
graph agree: every module is listed where it lives, and no two modules import each other (module-level
or late imports alike)."""

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


@pytest.mark.parametrize("package", SUBPACKAGES, ids=lambda p: p.name)
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
