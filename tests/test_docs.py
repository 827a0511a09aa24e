"""The manual stays true: every relative link in README.md and docs/ resolves (file and heading), and
every `emotion ...` or `mlflow run . -e ...` line the README shows in a code block parses."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page) -> set[str]:
    return {slug(line.lstrip("#")) for line in page.read_text().splitlines() if line.startswith("#")}


def test_the_slug_matches_githubs():
    assert slug("Accuracy on EmoBox's folds") == "accuracy-on-emoboxs-folds"
    assert slug("Sweeps: pruning") == "sweeps-pruning" and slug("`cnn_lstm` recipe") == "cnn_lstm-recipe"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    links = [target for target in LINK.findall(page.read_text()) if "://" not in target]
    assert links or page.name == "decisions.md", f"{page.name}: no links found (is the pattern broken?)"
    for target in links:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.is_file(), f"{page.name}: link {target} -> {resolved} does not exist"
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: no heading #{anchor} in {resolved.name}"


def readme_command_lines() -> list[str]:
    """Every shell line of the README's bash blocks, continuations joined, comments dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def entry_points() -> dict[str, set[str]]:
    project = yaml.safe_load((ROOT / "MLproject").read_text())
    return {name: set(entry.get("parameters", {})) for name, entry in project["entry_points"].items()}


def test_the_readme_shows_commands_of_both_kinds():
    lines = readme_command_lines()
    assert sum(line.startswith("emotion ") for line in lines) >= 6
    assert sum(line.startswith("mlflow run . -e ") for line in lines) >= 5


@pytest.mark.parametrize("line", [x for x in readme_command_lines() if x.startswith("emotion ")])
def test_every_emotion_command_in_the_readme_parses(line):
    from emotion.cli import build_parser
    from emotion.config import build_config, parse_assignments

    argv = shlex.split(line)[1:]
    args = build_parser().parse_args(argv)  # exits (SystemExit) on an unknown command or option
    if args.command in ("train", "cv"):
        build_config(args.variant, parse_assignments(args.assignments))  # the parameters exist and cast


@pytest.mark.parametrize("line", [x for x in readme_command_lines() if x.startswith("mlflow run . -e ")])
def test_every_mlflow_run_in_the_readme_names_an_entry_point_and_its_parameters(line):
    words = shlex.split(line)
    entry = words[words.index("-e") + 1]
    known = entry_points()
    assert entry in known, f"{line}: no entry point {entry!r} in MLproject"
    given = [words[i + 1].split("=", 1)[0] for i, word in enumerate(words) if word == "-P"]
    assert set(given) <= known[entry], f"{line}: {sorted(set(given) - known[entry])} not declared for {entry}"
