"""The viewer's modules: Node's own test runner over tests/js, and every module served."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tailsse.webapp.app import web_dir

ROOT = Path(__file__).resolve().parent.parent
JS_TESTS = sorted(str(p) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
MODULES = sorted(name for name in os.listdir(web_dir()) if name.endswith(".js"))
ENTRY = "viewer.js"  # the one script index.html loads
IMPORT = re.compile(r'^import [^;]*? from "\./([^"/]+\.js)";$', re.M)


def node() -> str:
    """The node binary; the tests fail (not skip) without it."""
    found = shutil.which("node") or shutil.which("nodejs")
    if found is None:
        pytest.fail("node is not installed (scripts/install-system-deps installs it)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout
    if int(version.lstrip("v").split(".")[0]) < 18:
        pytest.fail(f"node {version.strip()} is too old for node --test: 18 or later is needed")
    return found


def test_node_unit_tests():
    assert JS_TESTS, "no tests/js/*.test.mjs"
    result = subprocess.run(
        [node(), "--test", *JS_TESTS], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_page_loads_one_module_that_imports_all_the_others():
    with open(os.path.join(web_dir(), "index.html"), encoding="utf-8") as f:
        page = f.read()
    assert re.findall(r"<script[^>]*>", page) == [f'<script type="module" src="static/{ENTRY}">']
    seen, todo = set(), [ENTRY]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            with open(os.path.join(web_dir(), name), encoding="utf-8") as f:
                todo += IMPORT.findall(f.read())
    assert sorted(seen) == MODULES


@pytest.mark.parametrize("name", MODULES)
async def test_every_module_is_served_as_javascript(http_server_client, name):
    response = await http_server_client.fetch("/static/" + name)
    assert response.code == 200
    assert "javascript" in response.headers["Content-Type"]
    # Revalidated on every load: an upgrade never mixes old and new modules.
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Etag"]
