"""make_app(config) -> tornado.web.Application; the only route table."""

from __future__ import annotations

import os
import re
from typing import Any

from tornado.httputil import HTTPMessageDelegate, HTTPServerRequest
from tornado.web import Application, RedirectHandler, StaticFileHandler

from tailsse import handlers
from tailsse.config import Config
from tailsse.files import expand, name_files
from tailsse.hub import Hub
from tailsse.proxy import TrustedProxies


def web_dir() -> str:
    """Where the viewer's files are: inside the installed package, or the source tree."""
    try:
        import tailsse.web as web

        for entry in web.__path__:
            if os.path.isfile(os.path.join(entry, "index.html")):
                return entry
    except ImportError:
        pass
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web")


class TailApp(Application):
    """The Application, holding the hub so the server (or a test) can close it."""

    hub: Hub
    proxies: TrustedProxies

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate:
        """Route a request, first believing what a trusted proxy says about its client."""
        self.proxies.apply(request)
        return super().find_handler(request, **kwargs)


def make_app(config: Config, files: dict[str, str] | None = None) -> TailApp:
    """Build the application for the files in ``config.paths`` (or an explicit table)."""
    if files is None:
        files = name_files(expand(config.paths))
    hub = Hub(config, files)
    base = config.base_path
    prefix = re.escape(base)
    deps = {"hub": hub, "config": config}
    web = web_dir()
    page = {**deps, "template": os.path.join(web, "index.html")}
    routes = [
        (prefix, handlers.PageHandler, page),
        (prefix + r"view/([^/]+)", handlers.PageHandler, page),
        (prefix + r"embed/([^/]+)", handlers.PageHandler, {**page, "embed": True}),
        (prefix + r"events/([^/]+)", handlers.EventsHandler, deps),
        (prefix + r"api/files", handlers.FilesHandler, deps),
        (prefix + r"healthz", handlers.HealthHandler, deps),
        (prefix + r"static/(.*)", StaticFileHandler, {"path": web}),
    ]
    if base != "/":
        routes.append((re.escape(base.rstrip("/")), RedirectHandler, {"url": base}))
    app = TailApp(
        routes,
        default_handler_class=handlers.NotFoundHandler,
        default_handler_args=deps,
        compress_response=False,
        xsrf_cookies=False,
    )
    app.hub = hub
    app.proxies = TrustedProxies(config.trusted_proxy)
    return app
