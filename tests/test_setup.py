"""How a newcomer sets up: the README's quick start, CI, and every test dependency declared."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def section(markdown: str, title: str) -> str:
    """The text of a `## title` section, up to the next heading of level 1 or 2."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^#{{1,2}} |\Z)", markdown, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def code_lines(markdown: str) -> list[str]:
    """The non-blank lines of the code blocks (indented or fenced) of some markdown."""
    lines: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith("    "):
            if line.strip():
                lines.append(line.strip())
    return lines


def quick_start() -> str:
    return section((ROOT / "README.md").read_text(encoding="utf-8"), "Quick start")


def test_quick_start_shows_exactly_two_commands():
    commands = code_lines(quick_start())
    assert len(commands) == 2, commands
    for command in commands:
        program = command.split()[0]
        assert (ROOT / program).is_file(), f"{program} is not in the repository"
        assert os.access(ROOT / program, os.X_OK), f"{program} is not executable"


def test_quick_start_says_where_the_command_lives():
    assert ".venv/bin/tailsse" in quick_start()


def test_ci_runs_the_second_quick_start_command():
    """.ci/run does what a newcomer does, and nothing else."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [
        line.strip()
        for line in script
        if line.strip()
        and not line.lstrip().startswith("#")
        and not line.startswith(("set ", 'cd "$(dirname "$0")/.."'))
    ]
    assert commands == [code_lines(quick_start())[1]]


def test_the_test_command_runs_every_check():
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    for step in ["-m ruff check .", "-m ruff format --check .", "-m mypy tailsse", '-m pytest "$@"']:
        assert step in script


def imported_distributions() -> dict[str, str]:
    """Third-party top-level modules imported by the tests (also importorskip), by file."""
    found: dict[str, str] = {}
    ours = {"tailsse", "tests", "conftest"}
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "importorskip"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names = [str(node.args[0].value)]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ours:
                    found.setdefault(top, path.name)
    return found


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_module_the_tests_import_is_declared():
    """A test must not pass only because a package happens to be installed on this machine."""
    declared = set()
    for requirement in importlib.metadata.requires("tailsse") or []:
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
        marker = requirement.partition(";")[2].replace("'", '"')
        if not marker.strip() or 'extra == "test"' in marker:
            declared.add(canonical(name))
    # pytest plugins are used by configuration, not import.
    assert "pytest-tornasync" in declared
    providers = importlib.metadata.packages_distributions()
    undeclared = {
        module: (where, providers.get(module))
        for module, where in imported_distributions().items()
        if not declared & {canonical(d) for d in providers.get(module, [])}
    }
    assert not undeclared, f"imported by tests but not in install_requires or the [test] extra: {undeclared}"
