"""Shared GraphQL plumbing: the view (context, error codes), helpers resolvers use, common types."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.asgi import GraphQL
from strawberry.types import ExecutionResult, Info

from core.accounts.service import actor_from_session
from core.context import Context, client_ip
from core.errors import PortailError, ValidationError
from core.permissions import Actor
from core.plugins import PluginHost

log = logging.getLogger("portail.graphql")
SESSION_COOKIE = "portail_session"


def ctx(info: Info) -> Context:
    return info.context


def actor(info: Info) -> Actor:
    return info.context.actor


@strawberry.type
class OkResult:
    ok: bool = True
    message: str = ""


def parse_id(value: Any, field: str = "id") -> int:
    """GraphQL IDs travel as strings: a malformed one is bad input naming its argument."""
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise ValidationError("Identifiant invalide.", code="INVALID_ID", field=field) from None


def parse_optional_id(value: Any, field: str = "id") -> int | None:
    return None if value is None else parse_id(value, field)


def session_token_from(request: Any) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


def format_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    formatted = error.formatted
    if isinstance(original, PortailError):
        formatted["message"] = original.message
        formatted["extensions"] = original.extensions
    elif original is None or not error.path:
        # Parse / validation errors, variable coercion (bad Date, Int…), depth / alias / token limits.
        formatted["extensions"] = {"code": "GRAPHQL_VALIDATION_FAILED", **(formatted.get("extensions") or {})}
    else:
        log.error("internal error", exc_info=original)
        formatted["message"] = "Erreur interne. L'incident a été enregistré."
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return formatted


class PortailGraphQL(GraphQL):
    """Strawberry's ASGI view with our context and error format."""

    def __init__(self, schema: strawberry.Schema, host: PluginHost, **kwargs: Any) -> None:
        super().__init__(schema, multipart_uploads_enabled=True, **kwargs)
        self.host = host

    async def get_context(self, request: Any, response: Any) -> Context:
        ip = client_ip(request)
        token = session_token_from(request)
        actor_ = await actor_from_session(token, ip)
        return Context(request=request, response=response, actor=actor_, host=self.host)

    async def on_ws_connect(self, context: Context) -> Any:
        """WebSocket clients that cannot set headers send `{"authorization": "Bearer <token>"}`."""
        params = context.connection_params or {}
        raw = str(params.get("authorization") or params.get("Authorization") or params.get("token") or "")
        token = raw[7:].strip() if raw.lower().startswith("bearer ") else raw.strip()
        if token and not context.actor.is_authenticated:
            context.actor = await actor_from_session(token, context.actor.ip)
        return await super().on_ws_connect(context)

    async def process_result(self, request: Any, result: ExecutionResult) -> dict[str, Any]:
        data: dict[str, Any] = {"data": result.data}
        if result.errors:
            data["errors"] = [format_error(e) for e in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        return data
