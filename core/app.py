"""The ASGI application: Strawberry on Starlette, file downloads, health, metrics, plugin list."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from core import templating
from core.accounts.service import actor_from_session
from core.config import Settings, activate, get_settings
from core.context import client_ip
from core.db import close_db, init_db, tortoise_config
from core.errors import NotFound, PortailError
from core.files.service import content_disposition
from core.graphql_support import DB_ID_MAX, GRAPHIQL_STATIC, PortailGraphQL, session_token_from
from core.http_security import (
    CSRF_HEADERS,
    BodyLimitMiddleware,
    ClientAddressMiddleware,
    CsrfMiddleware,
)
from core.ops.logs import RequestContextMiddleware, configure_from_settings
from core.permissions import require_user
from core.plugins import PluginHost, activate_host, load_plugins

log = logging.getLogger("portail")


def bootstrap(settings: Settings | None = None, extra_plugins: dict[str, object] | None = None) -> PluginHost:
    """Settings, plugins and templates for this process (app, CLI and tests share this)."""
    settings = activate(settings or get_settings())
    configure_from_settings(settings)
    host = activate_host(load_plugins(settings, extra=extra_plugins))
    templating.configure(host.template_dirs())
    return host


async def _background_worker(host: PluginHost, stop: asyncio.Event) -> None:
    """Deliver the outbox every `poll_seconds`; run the plugins' maintenance when due, once across
    every process and host sharing the database (a lease row, see `core.ops.service`)."""
    from core.mail.service import send_pending
    from core.ops.service import run_maintenance
    from core.timeutil import today

    background = host.settings.background
    every = timedelta(minutes=background.maintenance_minutes)
    while not stop.is_set():
        try:
            if host.settings.smtp.host:
                await send_pending()
            await run_maintenance(host, today(), every=every)
        except Exception:  # the worker must survive a broken row or a DB hiccup
            log.exception("background work failed")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=background.poll_seconds)


# A server allocates a few thousand objects per request (the home page: about 30,000), almost all
# freed by reference counting. With CPython's default threshold (a young collection every 700
# allocations) 20 concurrent home pages spent 3.7 ms of CPU per request in the cycle collector,
# a sixth of the request, mostly walking objects that live as long as the process (modules, the
# schema, the plugins). Measured with 20 clients on PostgreSQL: 0.55 ms with these settings.
GC_THRESHOLDS = (20_000, 20, 20)


def settle_garbage_collector() -> None:
    """For a server process, once started: what exists now (code, schema, configuration) lives as
    long as the process, so the collector stops walking it (`gc.freeze`), and young collections
    run every 20,000 allocations instead of 700. Cycles are still collected, a little later."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(host: PluginHost | None = None, *, manage_db: bool = True, background: bool = True) -> Starlette:
    from schema import build_schema

    host = host or bootstrap()
    settings = host.settings
    graphiql = settings.security.graphiql and settings.security.introspection
    graphql_app = PortailGraphQL(build_schema(host), host, graphql_ide="graphiql" if graphiql else None)
    db_config = tortoise_config(host)
    downloads = host.downloads()

    async def download(request: Request) -> Response:
        kind, object_id = request.path_params["kind"], request.path_params["object_id"]
        handler = downloads.get(kind)
        if handler is None:
            return JSONResponse({"error": {"code": "NOT_FOUND", "message": "Fichier introuvable."}}, status_code=404)
        actor = await actor_from_session(session_token_from(request), client_ip(request))
        try:
            # Download ids are database ids, or ids joined by "-" (attestation: household-year): anything
            # else, or beyond the database's integer range, is a missing file, not a driver error.
            if not all(p.isascii() and p.isdigit() and len(p) <= 10 and int(p) <= DB_ID_MAX
                       for p in object_id.split("-")):
                require_user(actor)
                raise NotFound("fichier")
            file = await handler(actor, object_id)
        except PortailError as exc:
            status = 401 if exc.code == "UNAUTHENTICATED" else 404 if exc.code in ("NOT_FOUND", "FORBIDDEN") else 400
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=status)
        disposition = "inline" if file.inline or request.query_params.get("inline") else "attachment"
        headers = {
            "Content-Disposition": content_disposition(disposition, file.filename, file.content_type),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            **file.extra_headers,
        }
        return Response(file.content, media_type=file.content_type, headers=headers)

    async def live(_: Request) -> Response:
        """Liveness: the process answers (restart it when this fails); no dependency checked."""
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        """Readiness: the database answers within 2 s and no shipped migration is pending."""
        from core.ops.service import readiness

        ok, checks = await readiness(db_config)
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                            status_code=200 if ok else 503)

    async def metrics_endpoint(request: Request) -> Response:
        from core.ops.metrics import render

        expected = settings.metrics.token
        if expected:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
                return JSONResponse({"errors": [{"message": "Jeton des métriques absent ou invalide.",
                                                 "extensions": {"code": "UNAUTHENTICATED"}}]},
                                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        body, content_type = await render()
        return Response(body, media_type=content_type)

    async def plugins_json(_: Request) -> Response:
        return JSONResponse({"enabled": list(host.enabled), "registered": host.plugin_names()})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if manage_db:  # a server process (tests share theirs: they leave the collector alone)
            await init_db(host)
            settle_garbage_collector()
        stop = asyncio.Event()
        worker = asyncio.create_task(_background_worker(host, stop)) if background else None
        try:
            yield
        finally:
            stop.set()
            if worker:
                await worker
            if manage_db:
                await close_db()

    from core.billing.payfip import payfip_notification

    routes: list[Any] = [
        Route("/payfip/notification", payfip_notification, methods=["POST"]),
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        Route("/files/{kind}/{object_id}", download, methods=["GET"]),
        Route("/health", ready),
        Route("/health/live", live),
        Route("/health/ready", ready),
        Route("/-/plugins.json", plugins_json),
    ]
    if settings.metrics.enabled:
        routes.append(Route(settings.metrics.path, metrics_endpoint))
    if graphiql:
        routes.append(Mount("/graphiql/static", StaticFiles(directory=GRAPHIQL_STATIC), name="graphiql"))
    metrics_path = settings.metrics.path if settings.metrics.enabled else None
    # Outermost: every answer (a 413 from the body limit too) gets its request id, log line and metrics.
    middleware = [Middleware(RequestContextMiddleware, metrics_path=metrics_path),
                  Middleware(ClientAddressMiddleware, settings=settings)]
    if settings.security.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(settings.security.cors_origins), allow_credentials=True,
            allow_methods=["GET", "POST"], max_age=600,
            allow_headers=["Authorization", "Content-Type", *CSRF_HEADERS]))
    # The body limit wraps the CSRF check: a refused request is drained (bounded) before its 403.
    middleware += [Middleware(BodyLimitMiddleware, settings=settings), Middleware(CsrfMiddleware, settings=settings)]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.host = host
    return app
