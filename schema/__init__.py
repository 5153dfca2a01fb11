"""Composes the Strawberry schema from core and the enabled plugins; exports / checks the SDL."""

from __future__ import annotations

import enum
from pathlib import Path

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.tools import merge_types

from core.graphql_support import InputGuard, PortailSchema
from core.ops.extension import OperationObserver
from core.plugins import PluginHost

SDL_PATH = Path(__file__).with_name("schema.graphql")


ROOT_DESCRIPTIONS = {
    "Query": "Reads. Every root field is nullable: one failing field leaves the others' data in the answer, "
             "its error in `errors` with `extensions.code` (see `ErrorCode`).",
    "Mutation": "Changes. Each returns the object it changed (or a payload holding it); a refusal is an "
                "error with `extensions.code` (see `ErrorCode`) and a French `message` to show.",
    "Subscription": "Live events over WebSocket (graphql-transport-ws), authenticated like HTTP requests.",
}


def _merge(name: str, parts: list[type]) -> type | None:
    if not parts:
        return None
    merged = merge_types(name, tuple(parts))
    merged.__strawberry_definition__.description = ROOT_DESCRIPTIONS[name]  # type: ignore[attr-defined]
    return merged


def error_code_enum(host: PluginHost) -> type[enum.Enum]:
    """`ErrorCode`: every code of core and the enabled plugins, each with its meaning."""
    codes = host.error_codes()
    members = {code: strawberry.enum_value(code, description=meaning) for code, meaning in sorted(codes.items())}
    cls = enum.Enum("ErrorCode", members)  # type: ignore[misc]
    return strawberry.enum(cls, description=(
        "Every value `errors[].extensions.code` can take, with its meaning. Errors also carry a French "
        "`message` to show and, when an argument is at fault, `extensions.field`."))


def build_schema(host: PluginHost) -> strawberry.Schema:
    contributions = host.graphql_contributions()
    query = _merge("Query", [c.query for c in contributions if c.query])
    mutation = _merge("Mutation", [c.mutation for c in contributions if c.mutation])
    subscription = _merge("Subscription", [c.subscription for c in contributions if c.subscription])
    sec = host.settings.security
    extensions: list = [
        OperationObserver,  # operation name, outcome, latency: logs and metrics, never the document
        InputGuard,
        QueryDepthLimiter(max_depth=sec.graphql_max_depth),
        MaxAliasesLimiter(max_alias_count=sec.graphql_max_aliases),
        MaxTokensLimiter(max_token_count=sec.graphql_max_tokens),
    ]
    if not sec.introspection:
        extensions.append(DisableIntrospection())
    types = [t for c in contributions for t in c.types] + [error_code_enum(host)]
    return PortailSchema(query=query, mutation=mutation, subscription=subscription, types=types,
                             extensions=extensions)


def export_sdl(host: PluginHost) -> str:
    return build_schema(host).as_str().rstrip() + "\n"
