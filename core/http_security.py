"""HTTP-level protections that no resolver can forget: request size limits enforced while the body
is read, cross-site request forgery on cookie-authenticated requests, CORS for a front end on its own
origin, the client address behind trusted proxies, and the session cookie's `Secure` flag.

All settings are in `[security]` (see the README's "Security" section)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "portail_session"
# A header a cross-site form or <img> cannot send without a CORS preflight (which only allowed
# origins pass): Apollo's convention for uploads, and the classic one of XHR libraries.
CSRF_HEADERS = ("apollo-require-preflight", "x-requested-with")
_SIMPLE_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain", "")


def _setting(settings: Any, name: str, default: Any) -> Any:
    return getattr(settings.security, name, default)


def _origins(settings: Any) -> tuple[str, ...]:
    raw = _setting(settings, "cors_origins", ())
    items = raw.split(",") if isinstance(raw, str) else raw
    return tuple(o.strip().rstrip("/") for o in items if o and o.strip())


def cookie_secure(settings: Any) -> bool:
    """`Secure` whenever the portal is public over https (or forced by `[security] cookie_secure`)."""
    return bool(_setting(settings, "cookie_secure", False)) or \
        str(settings.community.public_url).lower().startswith("https://")


# ---- client address --------------------------------------------------------------------------------
def _networks(raw: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    items = raw.split(",") if isinstance(raw, str) else (raw or ())
    nets = []
    for item in items:
        item = str(item).strip()
        if item:
            nets.append(ipaddress.ip_network(item, strict=False))
    return tuple(nets)


def _in(address: str, networks: Iterable[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def resolve_client_ip(peer: str, forwarded_for: str, trusted_proxies: Any) -> str:
    """The client's address: the TCP peer, unless the peer is one of `[security] trusted_proxies`;
    then the right-most X-Forwarded-For entry that is not itself a trusted proxy (entries further left
    are written by the client and prove nothing). Default: no proxy trusted, the header is ignored, so
    a client cannot pick a new address for each login attempt."""
    networks = _networks(trusted_proxies)
    if not networks or not _in(peer, networks):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _in(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage written by the proxy chain: keep the peer
    return peer


# ---- ASGI middleware ---------------------------------------------------------------------------------
def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


async def _json_error(send: Send, status: int, code: str, message: str,
                      extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]},
                      ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close"), *(extra_headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    """Read the rest of a request body before answering it early. A server that closes a connection
    with unread bytes makes the kernel reset it, and the client then sees a network error instead of
    the answer. Bounded: the body limit middleware wraps `receive`."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class ClientAddressMiddleware:
    """Rewrites `scope["client"]` with `resolve_client_ip`, so every reader (login throttle, audit,
    logs) sees the same address whatever server runs the app."""

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
        self.trusted = _networks(_setting(settings, "trusted_proxies", ()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted and scope.get("client"):
            peer, port = scope["client"]
            ip = resolve_client_ip(peer, _header(scope, b"x-forwarded-for"), self.trusted)
            if ip != peer:
                scope = {**scope, "client": (ip, port)}
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses request bodies over the limit WHILE reading them (413), so memory stays flat:
    a declared Content-Length over the limit is refused before reading anything; a chunked or lying
    body is cut as soon as the bytes received pass the limit. JSON: `[security] max_body_bytes`;
    multipart uploads: `max_upload_files` × `[storage] max_upload_bytes` + `max_body_bytes`."""

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
        self.json_limit = int(_setting(settings, "max_body_bytes", 1024 * 1024))
        files = int(_setting(settings, "max_upload_files", 5))
        self.multipart_limit = files * int(settings.max_upload_bytes) + self.json_limit

    def limit_for(self, scope: Scope) -> int:
        content_type = _header(scope, b"content-type").lower()
        return self.multipart_limit if content_type.startswith("multipart/") else self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        message = f"La requête dépasse la taille maximale acceptée ({limit // 1024} Ko)."
        declared = _header(scope, b"content-length")
        if declared.strip().isdigit() and int(declared) > limit:
            await _json_error(send, 413, "REQUEST_TOO_LARGE", message)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge()
            return incoming

        async def guarded_send(outgoing: Message) -> None:
            nonlocal started
            if exceeded:  # whatever the app answers once the body was cut, the client gets the 413
                return
            started = started or outgoing["type"] == "http.response.start"
            await send(outgoing)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _json_error(send, 413, "REQUEST_TOO_LARGE", message)


class CsrfMiddleware:
    """A cookie-authenticated POST must be one a foreign page cannot forge.

    Browsers send the session cookie with cross-site form posts (multipart, urlencoded, text/plain:
    the "simple" requests that need no CORS preflight). Such a request is refused (403 CSRF_REJECTED)
    unless it carries `Apollo-Require-Preflight` or `X-Requested-With` (any value), which a page can
    only add after a preflight that only the allowed origins pass. In any case a cookie-authenticated
    POST whose `Origin` is neither this site nor one of `[security] cors_origins` is refused. Requests
    authenticated with `Authorization: Bearer` carry no ambient credential and are not affected."""

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
        self.allowed = set(_origins(settings))
        public = urlsplit(str(settings.community.public_url))
        if public.scheme and public.netloc:
            self.allowed.add(f"{public.scheme}://{public.netloc}".lower())

    def _same_site(self, scope: Scope, origin: str) -> bool:
        origin = origin.rstrip("/").lower()
        if origin in {o.lower() for o in self.allowed}:
            return True
        host = _header(scope, b"host").lower()
        parts = urlsplit(origin)
        return bool(host) and parts.netloc == host and parts.scheme == scope.get("scheme", "http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS") \
                and self._cookie_authenticated(scope):
            origin = _header(scope, b"origin")
            content_type = _header(scope, b"content-type").split(";")[0].strip().lower()
            custom = any(_header(scope, h.encode()) for h in CSRF_HEADERS)
            if origin == "null" or (origin and not self._same_site(scope, origin)):
                await _drain(receive)
                await _json_error(send, 403, "CSRF_REJECTED", "Origine de la requête non autorisée.")
                return
            if content_type in _SIMPLE_CONTENT_TYPES and not custom:
                await _drain(receive)
                await _json_error(send, 403, "CSRF_REJECTED",
                                  "Requête refusée : l'en-tête Apollo-Require-Preflight ou X-Requested-With "
                                  "est requis pour une requête authentifiée par cookie.")
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _cookie_authenticated(scope: Scope) -> bool:
        if _header(scope, b"authorization").lower().startswith("bearer "):
            return False
        return f"{SESSION_COOKIE}=" in _header(scope, b"cookie")
