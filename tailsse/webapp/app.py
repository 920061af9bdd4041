"""make_app(config) -> tornado.web.Application; the only route table."""

from __future__ import annotations

import importlib.util
import os
import re
from typing import TYPE_CHECKING, Any

from tornado.httputil import HTTPServerRequest
from tornado.routing import Rule
from tornado.web import Application, ErrorHandler, url

from tailsse.config import Config
from tailsse.following.paths import expand, name_files
from tailsse.sources.catalog import Catalog
from tailsse.sources.local import FileCatalog
from tailsse.webapp import handlers
from tailsse.webapp.auth import Authenticator
from tailsse.webapp.base import Services
from tailsse.webapp.proxy import TrustedProxies
from tailsse.webapp.security import HostCheck, StaticHandler, header_bytes, log_request

if TYPE_CHECKING:
    from tornado.web import _HandlerDelegate  # find_handler's declared return type


def web_dir() -> str:
    """Where the viewer's files are: inside the installed package, or the source tree."""
    spec = importlib.util.find_spec("tailsse.web")
    for entry in (spec.submodule_search_locations or []) if spec is not None else []:
        if os.path.isfile(os.path.join(entry, "index.html")):
            return entry
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(os.path.dirname(os.path.dirname(here)), "web")


class TailApp(Application):
    """The Application, holding the catalog so the server (or a test) can start and close it."""

    def __init__(
        self,
        catalog: Catalog,
        proxies: TrustedProxies,
        hosts: HostCheck,
        max_header_bytes: int,
        routes: list[Rule],
        **settings: Any,
    ) -> None:
        super().__init__(routes, **settings)
        self.catalog = catalog
        self.proxies = proxies
        self.hosts = hosts
        self.max_header_bytes = max_header_bytes

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> _HandlerDelegate:
        """Route a request, first believing what a trusted proxy says about its client.

        Requests with oversized headers are answered 431, and requests for a host name that
        is not this server's 403, before any handler sees them.
        """
        self.proxies.apply(request)
        if header_bytes(request) > self.max_header_bytes:
            return self.get_handler_delegate(request, ErrorHandler, {"status_code": 431})
        if not self.hosts.allows(request.host_name):
            return self.get_handler_delegate(request, handlers.UnknownHostHandler)
        return super().find_handler(request, **kwargs)


def make_catalog(config: Config, files: dict[str, str] | None = None) -> Catalog:
    """The logs to serve: the files of ``config.paths`` (or an explicit table), or Redis."""
    if config.redis:
        # Only here is the redis package needed: serving local files works without it.
        from tailsse.redis_streams.catalog import RedisCatalog

        return RedisCatalog(config)
    return FileCatalog(config, files if files is not None else name_files(expand(config.paths)))


def make_app(config: Config, files: dict[str, str] | None = None, catalog: Catalog | None = None) -> TailApp:
    """Build the application for the files in ``config.paths`` (or an explicit table, or a catalog)."""
    if catalog is None:
        catalog = make_catalog(config, files)
    base = config.base_path
    prefix = re.escape(base)
    name = catalog.name_pattern
    authenticator = Authenticator(config.token, config.users)
    deps = {"services": Services(catalog, config, authenticator)}
    web = web_dir()
    with open(os.path.join(web, "index.html"), encoding="utf-8") as f:
        page = {**deps, "template": f.read()}
    routes: list[Rule] = [
        url(prefix, handlers.PageHandler, page, name="home"),
        url(prefix + r"view/" + name, handlers.PageHandler, page, name="view"),
        url(prefix + r"embed/" + name, handlers.PageHandler, {**page, "embed": True}, name="embed"),
        url(prefix + r"view", handlers.PageHandler, page, name="merged-view"),
        url(prefix + r"embed", handlers.PageHandler, {**page, "embed": True}, name="merged-embed"),
        url(prefix + r"events/" + name, handlers.EventsHandler, {**deps, "cors": True}, name="events"),
        url(prefix + r"events", handlers.EventsHandler, {**deps, "cors": True}, name="merged"),
        url(prefix + r"api/files", handlers.FilesHandler, deps, name="files"),
        url(prefix + r"api/lines/" + name, handlers.LinesHandler, deps, name="lines"),
        url(prefix + r"api/search/" + name, handlers.SearchHandler, deps, name="search"),
        url(prefix + r"api/time/" + name, handlers.TimeHandler, deps, name="time"),
        # Open even with auth, for load balancers and monitors: it names no file.
        url(prefix + r"healthz", handlers.HealthHandler, {**deps, "public": True}, name="health"),
        # The viewer's own code and styles, public like any web page's scripts.
        url(prefix + r"static/([^/]+)", StaticHandler, {"path": web}, name="static"),
    ]
    if base != "/":
        routes.append(url(re.escape(base.rstrip("/")), handlers.BaseRedirectHandler, {"url": base}))
    return TailApp(
        catalog,
        TrustedProxies(config.trusted_proxy),
        HostCheck(config.host, config.allowed_host),
        config.max_header_bytes,
        routes,
        default_handler_class=handlers.NotFoundHandler,
        default_handler_args=deps,
        compress_response=False,
        xsrf_cookies=False,
        log_function=log_request,
    )
