"""The built wheel carries the viewer and works outside the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
import warnings
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src") / "tailsse"
    # Build from a copy so no build artefacts land in the checkout.
    shutil.copytree(
        ROOT, src, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__", ".venv")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("tailsse-*.whl")
    return found


def test_wheel_contains_the_viewer(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for asset in ["tailsse/web/index.html", "tailsse/web/viewer.js", "tailsse/web/viewer.css"]:
        assert asset in names
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_serves_the_viewer(wheel, tmp_path, log_file):
    venv = tmp_path / "venv"
    # System site-packages provide tornado and watchdog without a download.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import tailsse.webapp.app as a; print(a.__file__); print(a.web_dir())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(str(venv) in w for w in where), where
    proc = subprocess.Popen(
        [str(venv / "bin" / "tailsse"), "serve", str(log_file), "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().split()[-1]
        page = urllib.request.urlopen(url, timeout=5).read()
        assert b"static/viewer.js" in page
        js = urllib.request.urlopen(url + "static/viewer.js", timeout=5).read()
        assert b"EventSource" in js
    finally:
        proc.terminate()
        proc.wait(5)
        proc.stdout.close()
        proc.stderr.close()


def test_warnings_from_tailsse_fail_the_tests():
    """setup.cfg turns warnings raised in tailsse's own modules into errors, only those."""
    with pytest.raises(UserWarning):
        warnings.warn_explicit(
            "from tailsse", UserWarning, "tailsse/sources/fanout.py", 1, module="tailsse.sources.fanout"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit("from elsewhere", UserWarning, "other.py", 1, module="other")
    assert len(caught) == 1
