"""make_app(config) -> tornado.web.Application; the only route table."""

from __future__ import annotations

import os
import re
from typing import Any

from tornado.httputil import HTTPMessageDelegate, HTTPServerRequest
from tornado.web import Application, ErrorHandler, RedirectHandler

from tailsse import handlers
from tailsse.auth import Authenticator
from tailsse.config import Config
from tailsse.files import expand, name_files
from tailsse.hub import Hub
from tailsse.proxy import TrustedProxies
from tailsse.security import StaticHandler, header_bytes, log_request


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
    authenticator: Authenticator
    max_header_bytes: int = 65536

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate:
        """Route a request, first believing what a trusted proxy says about its client."""
        self.proxies.apply(request)
        if header_bytes(request) > self.max_header_bytes:
            return self.get_handler_delegate(request, ErrorHandler, {"status_code": 431})
        return super().find_handler(request, **kwargs)


def make_app(config: Config, files: dict[str, str] | None = None) -> TailApp:
    """Build the application for the files in ``config.paths`` (or an explicit table)."""
    if config.redis:
        # Only here is the redis package needed: serving local files works without it.
        from tailsse import redis_handlers

        hub: Any = redis_handlers.make_hub(config)
    else:
        if files is None:
            files = name_files(expand(config.paths))
        hub = Hub(config, files)
    base = config.base_path
    prefix = re.escape(base)
    deps = {"hub": hub, "config": config}
    web = web_dir()
    with open(os.path.join(web, "index.html"), encoding="utf-8") as f:
        page = {**deps, "template": f.read()}
    routes = [
        (prefix, handlers.PageHandler, page),
        (prefix + r"view/([^/]+)", handlers.PageHandler, page),
        (prefix + r"embed/([^/]+)", handlers.PageHandler, {**page, "embed": True}),
        (prefix + r"events/([^/]+)", handlers.EventsHandler, {**deps, "cors": True}),
        (prefix + r"api/files", handlers.FilesHandler, deps),
        # Open even with auth, for load balancers and monitors: it names no file.
        (prefix + r"healthz", handlers.HealthHandler, {**deps, "public": True}),
        # The viewer's own code and styles, public like any web page's scripts.
        (prefix + r"static/([^/]+)", StaticHandler, {"path": web}),
    ]
    if config.redis:
        routes[:0] = redis_handlers.routes(prefix, routes)
    if base != "/":
        routes.append((re.escape(base.rstrip("/")), RedirectHandler, {"url": base}))
    app = TailApp(
        routes,
        default_handler_class=handlers.NotFoundHandler,
        default_handler_args=deps,
        compress_response=False,
        xsrf_cookies=False,
        log_function=log_request,
    )
    app.hub = hub
    app.authenticator = Authenticator(config.token, config.users)
    app.max_header_bytes = config.max_header_bytes
    app.proxies = TrustedProxies(config.trusted_proxy)
    return app
