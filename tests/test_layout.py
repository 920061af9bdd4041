"""The package's shape: one-way imports, modules that stand alone, layers that keep to themselves."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "tailsse"


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The tailsse modules a module imports, anywhere in it (lazy imports count too)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name) for name in MODULES}


def test_the_import_graph_has_no_cycle():
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        path.append(name)
        for dep in sorted(GRAPH[name]):
            visit(dep)
        path.pop()
        done.add(name)

    for name in MODULES:
        visit(name)


def test_every_module_imports_on_its_own():
    names = [n for n in MODULES if n != "tailsse.__main__"]
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('tailsse')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _members(layer: str) -> list[str]:
    return [n for n in MODULES if n == layer or n.startswith(layer + ".")]


@pytest.mark.parametrize("layer", ["tailsse.sse", "tailsse.config"])
def test_the_bottom_layers_import_nothing_of_tailsse(layer):
    for name in _members(layer):
        assert all(dep.startswith(layer) for dep in GRAPH[name]), f"{name} imports {sorted(GRAPH[name])}"


BACKENDS = ("tailsse.sources.files", "tailsse.redis_streams", "tailsse.following")


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        # Following knows nothing of viewers, HTTP or Redis.
        ("tailsse.following", ("tailsse.sources", "tailsse.webapp", "tailsse.redis_streams", "tailsse.cli")),
        # The fan-out works over the Source interface, not a backend.
        ("tailsse.sources.fanout", BACKENDS),
        ("tailsse.sources.base", BACKENDS),
        ("tailsse.sources.catalog", BACKENDS),
        # Handlers know a catalog and its channels, never which backend.
        ("tailsse.webapp.handlers", BACKENDS),
        ("tailsse.webapp.base", BACKENDS),
        ("tailsse.webapp.transport", BACKENDS),
        # Nothing below the command line reaches up into it.
        ("tailsse.sources", ("tailsse.cli", "tailsse.webapp")),
        ("tailsse.redis_streams", ("tailsse.cli", "tailsse.webapp")),
        ("tailsse.webapp", ("tailsse.cli",)),
    ],
)
def test_layers_import_only_downwards(layer, forbidden):
    for name in _members(layer):
        bad = sorted(dep for dep in GRAPH[name] if dep.startswith(forbidden))
        assert not bad, f"{name} imports {bad}"


def test_modules_and_classes_are_readable_in_one_sitting():
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") <= 400, f"{name} has {text.count(chr(10))} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                assert size <= 200, f"{name}.{node.name} has {size} lines"
