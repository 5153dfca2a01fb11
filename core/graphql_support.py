"""Shared GraphQL plumbing: the view (context, error codes), helpers resolvers use, common types."""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Generic, NewType, TypeVar

import orjson
import strawberry
from cross_web import HTTPException
from graphql import (
    GraphQLError,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    default_field_resolver,
    get_nullable_type,
    is_input_object_type,
    is_list_type,
)
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from strawberry.asgi import GraphQL
from strawberry.types import ExecutionContext, ExecutionResult, Info
from strawberry.types.unset import UNSET

from core.accounts.service import actor_from_session
from core.compiled_query import BoundQuery
from core.context import Context, client_ip
from core.errors import PortailError, ValidationError
from core.graphql_execution import PlainDataExecutionContext, mark_plain_fields
from core.http_security import SESSION_COOKIE  # noqa: F401  (re-exported: resolvers set it)
from core.ops.logs import traceback_without_values
from core.permissions import Actor
from core.plugins import PluginHost

log = logging.getLogger("portail.graphql")
GRAPHIQL_STATIC = Path(__file__).parent / "static" / "graphiql"


def ctx(info: Info) -> Context:
    return info.context


def actor(info: Info) -> Actor:
    return info.context.actor


@strawberry.type(description=(
    "The answer of a mutation that changes no object a client could show (log out, ask for a reset link): "
    "`ok` is always true when there is no error; `message` is a French sentence to show."))
class OkResult:
    ok: bool = strawberry.field(default=True, description="Always true: failures are GraphQL errors.")
    message: str = strawberry.field(default="", description="A French confirmation to show, may be empty.")


# ---- conventions shared by every GraphQL module (docs/graphql.md) --------------------------------------

class LabelledEnum(enum.Enum):
    """A closed set of values: `NAME = (stored value, French label, description for developers)`.

    GraphQL shows the member NAME (UPPER_SNAKE_CASE, English); the database keeps the stored value; a
    screen shows `label` (the type holding the enum exposes it as `<field>Label`). Declare the GraphQL
    type with `graphql_enum(MyEnum, description=...)`, convert a stored value with `MyEnum(value)`.
    """

    label: str
    description: str

    def __new__(cls, value: str, label: str, description: str) -> LabelledEnum:
        member = object.__new__(cls)
        member._value_ = value
        member.label = label
        member.description = description
        return member


E = TypeVar("E", bound=type[LabelledEnum])


def graphql_enum(cls: E, *, description: str, name: str | None = None) -> E:
    """`strawberry.enum` with each member's description (shown in GraphiQL and the SDL)."""
    strawberry.enum(cls, name=name, description=description)
    for value in cls.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = cls[value.name].description
    return cls


T = TypeVar("T")

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

Limit = Annotated[int, strawberry.argument(description=(
    f"Page size: how many items to return, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}); "
    "INVALID_PAGE otherwise."))]
Offset = Annotated[int, strawberry.argument(description=(
    "How many items to skip (0 for the first page; next page: offset + limit while `hasMore`); "
    "INVALID_PAGE when negative."))]


@strawberry.type(description=(
    "One page of a list that grows with the community. Ask with `limit` / `offset`; `total` counts every "
    "item matching the filters, whatever the page."))
class Page(Generic[T]):
    items: list[T] = strawberry.field(description="The items of this page, in the list's documented order.")
    total: int = strawberry.field(description="How many items match the filters in all pages.")
    limit: int = strawberry.field(description="The page size asked for.")
    offset: int = strawberry.field(description="How many items were skipped before this page.")

    @strawberry.field(description="True when items remain after this page (ask again with offset + limit).")
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def check_page(limit: int, offset: int, max_limit: int = MAX_PAGE_SIZE) -> None:
    """THE page-window check: every paginated field calls it (or `paginate`) before reading."""
    if not 1 <= limit <= max_limit:
        raise ValidationError(f"La taille de page doit être comprise entre 1 et {max_limit}.",
                              code="INVALID_PAGE", field="limit")
    if offset < 0:
        raise ValidationError("Le décalage de page ne peut pas être négatif.", code="INVALID_PAGE", field="offset")


async def paginate(queryset: Any, limit: int, offset: int, convert: Callable[[Any], T] | None = None,
                   max_limit: int = MAX_PAGE_SIZE) -> Page[T]:
    """A Tortoise queryset (already filtered and ordered) as one `Page`: one COUNT and one SELECT; a
    `core.compiled_query.BoundQuery`: one SELECT that also counts."""
    check_page(limit, offset, max_limit)
    if isinstance(queryset, BoundQuery):  # the page and the total in one statement
        rows, total = await queryset.page_and_total(limit, offset)
    else:
        total = await queryset.count()
        rows = await queryset.offset(offset).limit(limit) if offset < total else []
    return Page(items=[convert(r) for r in rows] if convert else list(rows), total=total, limit=limit,
                offset=offset)


def page_of(items: Sequence[T], limit: int, offset: int, max_limit: int = MAX_PAGE_SIZE) -> Page[T]:
    """A list already computed in memory (filtered, ordered) as one `Page`."""
    check_page(limit, offset, max_limit)
    return Page(items=list(items[offset:offset + limit]), total=len(items), limit=limit, offset=offset)


def _parse_year_month(value: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(value))
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError("Mois attendu au format AAAA-MM (ex. 2026-09).")
    return date(int(match.group(1)), int(match.group(2)), 1)


YearMonth = strawberry.scalar(
    NewType("YearMonth", date),
    serialize=lambda d: f"{d.year:04d}-{d.month:02d}",
    parse_value=_parse_year_month,
    description="A calendar month, ISO 8601 `YYYY-MM` (e.g. `2026-09`). The one month format of the API.",
)


# Every primary key is a Tortoise IntField: PostgreSQL `integer`. A larger id cannot exist, and sending
# it to the database would be a driver error (a 500), not a missing object.
DB_ID_MAX = 2**31 - 1


def parse_id(value: Any, field: str = "id") -> int:
    """THE id parser: GraphQL IDs travel as strings; anything but a decimal in the database's integer
    range (empty, garbage, `-1`, 2**64, `١٢`) is bad input naming its argument, never a 500."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not 0 < int(text) <= DB_ID_MAX:
        raise ValidationError("Identifiant invalide.", code="INVALID_ID", field=field)
    return int(text)


def parse_optional_id(value: Any, field: str = "id") -> int | None:
    return None if value is None else parse_id(value, field)


# C0 controls except tab / newline / carriage return, DEL, and lone surrogates (valid JSON, not UTF-8):
# PostgreSQL refuses NUL in text, and none of them belongs in a name, an address or a message.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def check_text(value: Any, field: str) -> None:
    """Every string of an input value (also inside JSON arguments), refused with INVALID_TEXT."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise ValidationError("Ce champ contient des caractères non autorisés (caractères de contrôle).",
                                  code="INVALID_TEXT", field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, field)
            check_text(item, field)
    elif isinstance(value, list | tuple):
        for item in value:
            check_text(item, field)


def check_input(value: Any, type_: GraphQLInputType, field: str) -> None:
    """Walk an argument with its GraphQL type: ids through `parse_id`, all text through `check_text`."""
    if value is None:
        return
    type_ = get_nullable_type(type_)  # type: ignore[arg-type]
    if is_list_type(type_):
        for item in value if isinstance(value, list | tuple) else [value]:
            check_input(item, type_.of_type, field)
    elif is_input_object_type(type_):
        for name, item in value.items():
            if name in type_.fields:
                check_input(item, type_.fields[name].type, name)
    elif getattr(type_, "name", "") == "ID":
        parse_id(value, field)
    else:
        check_text(value, field)


def _guarded(resolve: Callable[..., Any], definitions: dict[str, Any]) -> Callable[..., Any]:
    def guarded_resolve(root: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            if name in definitions:
                check_input(value, definitions[name].type, name)
        return resolve(root, info, **kwargs)
    guarded_resolve.__wrapped__ = resolve  # type: ignore[attr-defined]
    return guarded_resolve


def guard_inputs(schema: GraphQLSchema) -> None:
    """Checks every argument of every field before its resolver runs, so that no resolver can forget:
    ids bounded (INVALID_ID), no control characters in any text (INVALID_TEXT), both naming the field.

    Only the resolvers of fields that take arguments are wrapped, once, when the schema is built: the
    thousands of argument-less field resolutions of a page cost nothing (a `SchemaExtension.resolve`
    would wrap every one of them in Strawberry's middleware). Same outcome as checking in the
    resolver: the error sits at that field's path, the rest of the answer is still computed.
    Introspection types (`__Type`…) take no ids nor text worth guarding and are left alone.
    """
    for type_ in schema.type_map.values():
        if type_.name.startswith("__") or not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for field in type_.fields.values():
            if field.args and not hasattr(field.resolve, "__wrapped__"):
                field.resolve = _guarded(field.resolve or default_field_resolver, field.args)


# Strawberry's reasons for refusing a request before GraphQL runs, in French.
_REFUSALS = {
    "Unable to parse request body as JSON": "Le corps de la requête n'est pas du JSON valide.",
    "No GraphQL query found in the request": "La requête ne contient pas de document GraphQL (champ « query »).",
    "No valid query was provided for the request": "La requête ne contient pas de document GraphQL (champ « query »).",
    "Unsupported content type": "Type de contenu non pris en charge : envoyez du JSON (application/json) "
                                "ou un formulaire multipart pour les fichiers.",
    "Unsupported Media Type": "Type de contenu non pris en charge : envoyez du JSON (application/json) "
                              "ou un formulaire multipart pour les fichiers.",
    "Unable to parse the multipart body": "Le formulaire multipart est illisible.",
    "File(s) missing in form data": "Des fichiers annoncés manquent dans le formulaire.",
    "mutations are not allowed when using GET": "Les mutations s'envoient en POST.",
    "subscriptions are not allowed when using": "Les abonnements passent par le WebSocket de /graphql.",
    "queries are not allowed when using": "Cette méthode HTTP n'accepte pas de requête GraphQL.",
    "GraphQL only supports GET and POST requests.": "GraphQL n'accepte que GET et POST.",
    "Can't get GraphQL operation type": "Le document contient plusieurs opérations : indiquez « operationName ».",
    "Unknown operation named": "« operationName » ne nomme aucune opération du document.",
    "The GraphQL operation's `query` must be a string": "Le champ « query » doit être une chaîne.",
    "The GraphQL operation's `variables` must be an object": "Le champ « variables » doit être un objet JSON.",
    "The GraphQL operation's `extensions` must be an object": "Le champ « extensions » doit être un objet JSON.",
    "Batching is not enabled": "Les lots de requêtes ne sont pas acceptés : une opération par requête.",
}


def http_refusal(status: int, reason: str) -> tuple[str, str]:
    """(code, French message) for a request refused before GraphQL runs."""
    if status == 413:
        return "REQUEST_TOO_LARGE", reason  # our own French message (parse_http_body)
    message = next((french for english, french in _REFUSALS.items() if reason.strip().startswith(english)), None)
    if status == 404:
        return "NOT_FOUND", message or "Adresse inconnue."
    return "BAD_REQUEST", message or "La requête GraphQL ne peut pas être traitée telle quelle."


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
        formatted["message"] = "Erreur interne. L'incident a été enregistré."
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return formatted


def _operation_name(execution_context: ExecutionContext | None) -> str:
    try:
        name = execution_context.operation_name if execution_context else None
    except Exception:  # an unparsable document has no operation
        name = None
    return (name or "anonymous")[:100]


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """What the log keeps of failed operations: the operation name, the field and the error code.

    Never the document, its literals, its variables nor an error message (GraphQL parse and
    validation messages quote the literals: an IBAN, a password, an allergy). Expected errors
    (PortailError, bad input) are one INFO line; unexpected ones an ERROR with a value-free traceback.
    """
    operation = _operation_name(execution_context)
    for error in errors:
        original = error.original_error
        field = ".".join(str(p) for p in error.path or ())[:200] or "-"
        if isinstance(original, PortailError):
            log.info("graphql %s: %s at %s", operation, original.code, field)
        elif original is None or not error.path:
            log.info("graphql %s: GRAPHQL_VALIDATION_FAILED", operation)
        else:
            log.error("graphql %s: internal error at %s\n%s", operation, field, traceback_without_values(original))


class PortailSchema(strawberry.Schema):
    """Strawberry's schema whose error logging cannot leak the request (its default logs each error
    with its message and traceback, which carry the literals of the query)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, execution_context_class=PlainDataExecutionContext, **kwargs)
        guard_inputs(self._schema)
        mark_plain_fields(self._schema)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors, execution_context)


class PortailGraphQL(GraphQL):
    """Strawberry's ASGI view with our context and error format."""

    def __init__(self, schema: strawberry.Schema, host: PluginHost, **kwargs: Any) -> None:
        # Browsers send the session cookie with a cross-site WebSocket handshake too: Strawberry refuses
        # foreign origins, except the front ends of `[security] cors_origins` and the public URL.
        origins = [*host.settings.security.cors_origins, host.settings.community.public_url]
        super().__init__(schema, multipart_uploads_enabled=True, allowed_origins=origins, **kwargs)
        self.host = host

    def encode_json(self, data: object) -> str:
        """Answers encoded by orjson (a home page's 55 KB: 0.1 ms instead of 0.7 with `json`), accents
        as UTF-8; anything orjson refuses (an integer past 64 bits) by Strawberry's `json`. A str, not
        bytes: WebSocket messages must stay text frames."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return super().encode_json(data)  # type: ignore[return-value]

    @property
    def graphql_ide_html(self) -> str:
        """Strawberry's GraphiQL page with its assets served by us (`/graphiql/static/`), no CDN."""
        return (GRAPHIQL_STATIC / "index.html").read_text(encoding="utf-8")

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

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Strawberry answers a request it cannot take (body not JSON, no query, wrong method or
        content type, document too long) in English plain text; a GraphQL client expects JSON. The
        same refusal, same status, as `{"errors": [{"message": <French>, "extensions": {"code": …}}]}`."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as exc:
            if not isinstance(request, StarletteRequest):  # WebSocket: Strawberry's own protocol errors
                raise
            code, message = http_refusal(exc.status_code, exc.reason)
            return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                                status_code=exc.status_code)

    async def parse_http_body(self, request: Any) -> Any:
        """The document's own size limit (`[security] max_query_chars`), before any parsing: the
        body limit alone would let a 1 MB run of whitespace or one huge string literal through."""
        data = await super().parse_http_body(request)
        limit = self.host.settings.security.max_query_chars
        for item in data if isinstance(data, list) else [data]:
            if len(item.query or "") > limit:
                raise HTTPException(413, f"La requête GraphQL dépasse {limit} caractères.")
        return data

    async def process_result(self, request: Any, result: ExecutionResult) -> dict[str, Any]:
        data: dict[str, Any] = {"data": result.data}
        if result.errors:
            data["errors"] = [format_error(e) for e in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        return data
