"""The viewer pages, the embed route and their headers, in-process."""

from __future__ import annotations

import os
import re
from dataclasses import replace

import pytest

from tailsse.cli.main import build_parser
from tailsse.config import Config
from tailsse.webapp.app import web_dir
from tests.conftest import TEST_CONFIG


@pytest.fixture
def app_config(log_file, request) -> Config:
    """TEST_CONFIG for app.log, with per-test overrides through indirect parametrization."""
    return replace(TEST_CONFIG, paths=(str(log_file),), **getattr(request, "param", {}))


def csp(response) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: sources}."""
    policy = response.headers.get("Content-Security-Policy", "")
    parts = [p.strip().split(None, 1) for p in policy.split(";") if p.strip()]
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


async def test_embed_page_is_the_viewer_without_chrome(http_server_client):
    response = await http_server_client.fetch("/embed/app.log")
    assert response.code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    body = response.body.decode()
    assert '<html lang="en" data-mode="embed">' in body
    assert '<meta name="tailsse-file" content="app.log">' in body
    assert '<base href="/">' in body
    assert "{{" not in body


@pytest.mark.parametrize("path", ["/", "/view/app.log"])
async def test_full_pages_are_page_mode(http_server_client, path):
    response = await http_server_client.fetch(path)
    assert response.code == 200
    assert 'data-mode="page"' in response.body.decode()


async def test_embed_of_an_unknown_file_is_404(http_server_client):
    response = await http_server_client.fetch("/embed/nope.log", raise_error=False)
    assert response.code == 404
    response = await http_server_client.fetch("/embed/", raise_error=False)
    assert response.code == 404


@pytest.mark.parametrize(
    ("path", "mode", "unknown"),
    [("/view/nope.log", "page", "nope.log"), ("/embed/nope.log", "embed", "nope.log"),
     ("/view?file=app.log&file=nope.log", "page", "nope.log"),
     ("/view/%3Cb%3E.log", "page", "&lt;b&gt;.log")],
)  # fmt: skip
async def test_an_unknown_file_is_a_viewer_page_that_says_so(http_server_client, path, mode, unknown):
    response = await http_server_client.fetch(path, raise_error=False)
    assert response.code == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    body = response.body.decode()
    assert f'data-mode="{mode}"' in body
    assert f'<meta name="tailsse-unknown" content="{unknown}">' in body
    assert '<meta name="tailsse-file" content="">' in body  # no file to stream
    assert "{{" not in body and "<b>" not in body
    assert csp(response)["script-src"] == "'self'"


async def test_a_known_file_names_no_unknown_one(http_server_client):
    body = (await http_server_client.fetch("/view/app.log")).body.decode()
    assert '<meta name="tailsse-unknown" content="">' in body


@pytest.mark.parametrize("path", ["/", "/view/app.log", "/embed/app.log"])
async def test_any_origin_may_frame_by_default(http_server_client, path):
    response = await http_server_client.fetch(path)
    policy = csp(response)
    assert "frame-ancestors" not in policy
    assert "X-Frame-Options" not in response.headers
    # Scripts come only from the server itself: a log line can never run as code.
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'"


@pytest.mark.parametrize(
    "app_config", [{"frame_ancestors": "'self' https://dash.example.com"}], indirect=True
)
@pytest.mark.parametrize("path", ["/", "/view/app.log", "/embed/app.log"])
async def test_frame_ancestors_restricts_every_page(app_config, http_server_client, path):
    response = await http_server_client.fetch(path)
    assert csp(response)["frame-ancestors"] == "'self' https://dash.example.com"


@pytest.mark.parametrize("app_config", [{"frame_ancestors": "'none'"}], indirect=True)
async def test_frame_ancestors_does_not_touch_streams_or_api(app_config, http_server_client):
    response = await http_server_client.fetch("/api/files")
    assert "Content-Security-Policy" not in response.headers


@pytest.mark.parametrize("app_config", [{"base_path": "/logs/"}], indirect=True)
async def test_embed_under_a_base_path(app_config, http_server_client):
    response = await http_server_client.fetch("/logs/embed/app.log")
    assert response.code == 200
    assert '<base href="/logs/">' in response.body.decode()
    response = await http_server_client.fetch("/logs/static/viewer.js")
    assert response.code == 200
    response = await http_server_client.fetch("/embed/app.log", raise_error=False)
    assert response.code == 404


@pytest.mark.parametrize("app_config", [{"base_path": "/logs/"}], indirect=True)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_the_base_path_without_its_slash_redirects(app_config, http_server_client, method):
    response = await http_server_client.fetch(
        "/logs", method=method, follow_redirects=False, raise_error=False
    )
    assert response.code == 301
    assert response.headers["Location"] == "/logs/"


@pytest.mark.parametrize(("name", "kind"), [("viewer.js", "javascript"), ("viewer.css", "text/css")])
async def test_static_files(http_server_client, name, kind):
    response = await http_server_client.fetch("/static/" + name)
    assert response.code == 200
    assert kind in response.headers["Content-Type"]


def test_frame_ancestors_option():
    args = build_parser().parse_args(["serve", "a.log", "--frame-ancestors", "'self' https://x.example"])
    assert args.frame_ancestors == "'self' https://x.example"
    assert Config().frame_ancestors == ""
    for bad in ("'self'; script-src *", "a, b", "a\r\nX-Evil: 1"):
        with pytest.raises(ValueError, match="--frame-ancestors"):
            Config(frame_ancestors=bad)


def read_web(name: str) -> str:
    with open(os.path.join(web_dir(), name), encoding="utf-8") as f:
        return f.read()


def test_page_uses_only_relative_urls_and_no_cdn():
    page = read_web("index.html")
    urls = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert "static/viewer.js" in urls and "static/viewer.css" in urls
    for url in urls:
        if url in ("{{base}}",) or url.startswith("data:"):
            continue
        assert not url.startswith(("/", "http:", "https:", "//")), url
    assert "<script>" not in page  # no inline script (the CSP would block it anyway)


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(web_dir()) if n.endswith(".js")))
def test_log_text_never_goes_through_html_parsing(name):
    script = read_web(name)
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("//"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in code, sink
    assert 'fetch("http' not in code and 'EventSource("http' not in code
