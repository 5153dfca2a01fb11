"""Structured logs: one line per event with time, level, logger, request id, GraphQL operation,
duration and outcome; `[logging] format = "text" | "json"` and `level`.

What a line may hold: identifiers and measures, never a query document, variables, an email, an
IBAN, a token or a medical text (callers log ids; this module adds only the request context).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The mutable record of the request being served (the GraphQL extension fills operation/outcome).
REQUEST: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("portail_request", default=None)

_CONTEXT_FIELDS = ("request_id", "operation", "outcome")
_EXTRA_FIELDS = ("duration_ms", "status", "outcome", "done")
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextFilter(logging.Filter):
    """Copy the current request's id and operation onto every record logged while serving it."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = REQUEST.get() or {}
        for name in _CONTEXT_FIELDS:
            if not hasattr(record, name) and current.get(name) is not None:
                setattr(record, name, current[name])
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = [f"{k}={record.__dict__[k]}" for k in ("request_id", "operation", *_EXTRA_FIELDS)
                  if record.__dict__.get(k) is not None]
        return base + (" " + " ".join(extras) if extras else "")


_HANDLER_NAME = "portail"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at emit time (test capture and daemon tools swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Install (or replace) our stderr handler on the root logger; idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Query values include IBANs and medical answers: never log them, whatever the root level says.
    logging.getLogger("tortoise").setLevel(max(logging.INFO, root.level))
    for noisy in ("aiosqlite", "asyncio", "multipart", "httpx", "httpcore", "mail.log"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # uvicorn's access log would duplicate ours (and log query strings): ours has the request id.
    logging.getLogger("uvicorn.access").disabled = True


def configure_from_settings(settings: Any) -> None:
    section = settings.logging if hasattr(settings, "logging") else None
    configure_logging(getattr(section, "format", "text"), getattr(section, "level", "INFO"))


def traceback_without_values(exc: BaseException) -> str:
    """Where it failed (files, lines, exception types), never the exception messages: those echo the
    values that caused them (`invalid literal for int(): 'FR76…'`, a driver's failing SQL parameters)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append("".join(traceback.format_tb(current.__traceback__))
                     + f"{type(current).__module__}.{type(current).__qualname__}")
        current = current.__cause__ or current.__context__
    return "\n-- caused by --\n".join(parts)


class RequestContextMiddleware:
    """Pure ASGI: a request id (the caller's `X-Request-ID` when well-formed, else a new one) in a
    contextvar and the response header; one access line and the HTTP metrics per request. An
    unexpected error outside GraphQL (a download, a health check) is logged here without its message
    (`traceback_without_values`) and answered `INTERNAL_SERVER_ERROR` as JSON: it never reaches the
    server's own handler, which would log the message and the values it echoes."""

    def __init__(self, app: ASGIApp, metrics_path: str | None = None) -> None:
        self.app = app
        self.metrics_path = metrics_path
        self.log = logging.getLogger("portail.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        current: dict[str, Any] = {"request_id": request_id, "status": 500}
        token = REQUEST.set(current)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                current["status"] = message["status"]
                current["started"] = True
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if scope["type"] != "http":
                raise
            logging.getLogger("portail.errors").error(
                "%s %s: internal error\n%s", scope.get("method", ""), _route_label(scope.get("path", "")),
                traceback_without_values(exc))
            current["status"] = 500
            if not current.get("started"):  # else the client sees the connection end early
                from core.http_security import _json_error

                await _json_error(send_with_id, 500, "INTERNAL_SERVER_ERROR",
                                  "Erreur interne du serveur. Réessayez plus tard.")
        finally:
            self._record(scope, current, time.perf_counter() - started)
            REQUEST.reset(token)

    def _record(self, scope: Scope, current: dict[str, Any], seconds: float) -> None:
        from core.ops import metrics

        path = scope.get("path", "")
        route = _route_label(path)
        if path == self.metrics_path or scope["type"] != "http":
            return
        status = int(current.get("status") or 500)
        metrics.HTTP_REQUESTS.labels(route, f"{status // 100}xx").inc()
        metrics.HTTP_LATENCY.labels(route).observe(seconds)
        level = logging.INFO if not route.startswith("/health") else logging.DEBUG
        self.log.log(level, "%s %s %s", scope.get("method", ""), route, status,
                     extra={"method": scope.get("method", ""), "route": route, "status": status,
                            "duration_ms": round(seconds * 1000, 1)})


def _route_label(path: str) -> str:
    """The route template, not the path: ids in /files/<kind>/<id> are not logged nor labels."""
    if path.startswith("/files/"):
        kind = path.split("/")[2] if path.count("/") >= 2 else ""
        return f"/files/{kind}/{{id}}" if re.match(r"^[a-z_]{1,40}$", kind) else "/files/{kind}/{id}"
    if path.startswith("/graphiql/static/"):
        return "/graphiql/static/{file}"
    if path in ("/graphql", "/health", "/health/live", "/health/ready", "/payfip/notification",
                "/-/plugins.json"):
        return path
    return "other"

