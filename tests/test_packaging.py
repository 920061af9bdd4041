"""Built and installed the way users and releases do it, tailsse carries its viewer and works.

These tests build with PEP 517 build isolation (pip fetches the [build-system] requirements
into a fresh build environment) and install into fresh virtual environments, so they need
the package index, as installing tailsse does.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIP_QUIET = ["-q", "--disable-pip-version-check"]


def copy_checkout(destination: Path) -> Path:
    """The checkout without its artefacts, so nothing from this one (.venv, build/) is reused."""
    shutil.copytree(
        ROOT,
        destination,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".mypy_cache", "node_modules"
        ),
    )
    return destination


def clean_env() -> dict[str, str]:
    """This environment minus what would let the checkout or this venv leak into a child."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), **kwargs)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = copy_checkout(tmp_path_factory.mktemp("src") / "tailsse")
    # Build isolation on (pip's default): only [build-system] requires is available.
    run([sys.executable, "-m", "pip", "wheel", *PIP_QUIET, "--no-deps", "-w", str(out), str(src)])
    (found,) = out.glob("tailsse-*.whl")
    return found


def test_wheel_contains_the_viewer(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for asset in ["tailsse/web/index.html", "tailsse/web/viewer.js", "tailsse/web/viewer.css"]:
        assert asset in names
    assert not any(n.startswith(("tests/", "scripts/", "bench/")) for n in names)


class Started:
    """A command that ends up serving: installs first maybe, then prints tailsse's URL."""

    def __init__(self, cmd: list[str], log: Path, cwd: Path) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            # Its own process group: stop() reaches pip too, if it is still installing.
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        seen = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if not line:
                break
            seen.append(line)
            if match := re.search(r"https?://\S+", line):
                return match.group(0)
        self.stop()
        pytest.fail(f"no URL printed within {timeout} s: {seen!r}\n{Path(self.log.name).read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.reader.join(5)
        self.proc.stdout.close()
        self.log.close()


def check_serves(url: str, log_file: Path) -> None:
    """The viewer, its script, /healthz and a live line, over HTTP."""
    page = urllib.request.urlopen(url, timeout=5).read()
    assert b"static/viewer.js" in page
    js = urllib.request.urlopen(url + "static/viewer.js", timeout=5).read()
    assert b"start(window)" in js
    assert urllib.request.urlopen(url + "healthz", timeout=5).status == 200
    with urllib.request.urlopen(url + f"events/{log_file.name}?lines=0", timeout=10) as stream:
        assert stream.readline().startswith(b"retry:")
        with open(log_file, "ab") as f:
            f.write(b"hello from the installed wheel\n")
        while not (line := stream.readline()).startswith(b"data:"):
            assert line, "the stream ended"
        assert line == b"data: hello from the installed wheel\n"


def test_quick_start_installs_a_wheel_that_serves_the_viewer(tmp_path, log_file):
    """The README's first command, scripts/try, in a fresh copy of the checkout.

    It makes a new .venv, where `pip install .` builds a wheel (PEP 517, build isolation)
    and installs it with its dependencies from the index; then the installed tailsse serves
    the viewer and a live stream, from the venv and not from the source.
    """
    src = copy_checkout(tmp_path / "checkout")
    server = Started(
        [str(src / "scripts" / "try"), str(log_file), "--port", "0"], tmp_path / "stderr", tmp_path
    )
    try:
        check_serves(server.url(300), log_file)
        venv = src / ".venv"
        python = str(venv / "bin" / "python")
        installed = run(
            [python, "-c", "import importlib.metadata as m; print(*m.files('tailsse'), sep='\\n')"],
            cwd=tmp_path,
        ).stdout.split()
        assert {"tailsse/web/index.html", "tailsse/web/viewer.js", "tailsse/web/viewer.css"} <= set(installed)
        assert not any(name.endswith(".pth") for name in installed), "an editable install, not a wheel"
        where = run([python, "-c", "import tailsse; print(tailsse.__file__)"], cwd=tmp_path).stdout
        assert where.startswith(str(venv)), where
        # Where the README says the command is afterwards.
        assert run([str(venv / "bin" / "tailsse"), "--version"]).stdout.startswith("tailsse ")
        assert not (src / "build").exists()
    finally:
        server.stop()


def test_warnings_from_tailsse_fail_the_tests():
    """setup.cfg turns warnings raised in tailsse's own modules into errors, only those."""
    with pytest.raises(UserWarning):
        warnings.warn_explicit(
            "from tailsse", UserWarning, "tailsse/sources/fanout.py", 1, module="tailsse.sources.fanout"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit("from elsewhere", UserWarning, "other.py", 1, module="other")
    assert len(caught) == 1
