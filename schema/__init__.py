"""Composes the Strawberry schema from core and the enabled plugins; exports / checks the SDL."""

from __future__ import annotations

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


def _merge(name: str, parts: list[type]) -> type | None:
    if not parts:
        return None
    return merge_types(name, tuple(parts))


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
    types = [t for c in contributions for t in c.types]
    return PortailSchema(query=query, mutation=mutation, subscription=subscription, types=types,
                             extensions=extensions)


def export_sdl(host: PluginHost) -> str:
    return build_schema(host).as_str().rstrip() + "\n"
