"""Composes the Strawberry schema from core and the enabled plugins; exports / checks the SDL."""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.tools import merge_types

from core.graphql_support import PortailSchema
from core.ops.extension import OperationObserver
from core.plugins import PluginHost
from core.request_memo import RequestMemo

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


class DocumentLRU:
    """A bounded LRU of what parsing and validating a query document produced, keyed by the
    document's text (and the parse options / validation rules in force): a front end sends the
    same few documents again and again, and parsing + validating a 70 KB answer's query cost more
    than resolving it. Bounded, so unique documents cannot grow memory."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: Any) -> Any:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Any, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)


class DocumentCache(SchemaExtension):
    """Reuses the parsed document and its validation result for a document text already seen.

    A miss goes through Strawberry's own parse and validation (every rule: depth, aliases,
    introspection; the token limit is a parse option), then stores the outcome; a document that
    does not parse is never stored. A hit reuses the same outcome: a document refused once is
    refused again with the same errors, a valid one skips both steps."""

    def __init__(self, cache: DocumentLRU) -> None:
        self.cache = cache

    def _parse_key(self) -> Any:
        ctx = self.execution_context
        return (ctx.query, tuple(sorted(ctx.parse_options.items())))

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            key = ("parse", self._parse_key())
            document = self.cache.get(key)
            if document is not None:
                ctx.graphql_document = document
                yield
                return
            yield
            if ctx.graphql_document is not None:
                self.cache.put(key, ctx.graphql_document)
            return
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if not ctx.query or ctx.pre_execution_errors is not None:
            yield
            return
        key = ("validate", self._parse_key(), tuple(ctx.validation_rules))
        errors = self.cache.get(key)
        if errors is not None:
            ctx.pre_execution_errors = list(errors)
            yield
            return
        yield
        if ctx.pre_execution_errors is not None:
            self.cache.put(key, tuple(ctx.pre_execution_errors))


def error_code_enum(host: PluginHost) -> type[enum.Enum]:
    """`ErrorCode`: every code of core and the enabled plugins, each with its meaning."""
    codes = host.error_codes()
    members = {code: strawberry.enum_value(code, description=meaning) for code, meaning in sorted(codes.items())}
    cls = enum.Enum("ErrorCode", members)  # type: ignore[misc]
    return strawberry.enum(cls, description=(
        "Every value `errors[].extensions.code` can take, with its meaning. Errors also carry a French "
        "`message` to show and, when an argument is at fault, `extensions.field`."))


class ExtendedSchema(PortailSchema):
    """The schema with the fields plugins add to core types (portail_type_fields): Strawberry asks
    `get_fields` for each type's fields while it converts them, so the additions live in this schema
    only; core's classes are never changed (two schemas built with different plugins stay apart)."""

    def __init__(self, *args: Any, type_fields: dict[str, list[tuple[str, Any]]], **kwargs: Any) -> None:
        self.type_fields = type_fields
        # {(type name, GraphQL field name): plugin}, for `schema.checks` (the field is the plugin's).
        self.plugin_fields: dict[tuple[str, str], str] = {}
        self._extended: set[str] = set()
        super().__init__(*args, **kwargs)
        missing = sorted(set(type_fields) - self._extended)
        if missing:
            raise TypeError(f"portail_type_fields : type(s) inconnu(s) dans le schéma : {', '.join(missing)} "
                            f"(plugins : {', '.join(sorted({p for n in missing for p, _ in type_fields[n]}))})")

    def get_fields(self, type_definition: Any) -> list[Any]:
        fields = super().get_fields(type_definition)
        extra = self.type_fields.get(type_definition.name)
        if not extra or type_definition.is_input:
            return fields
        self._extended.add(type_definition.name)
        convert = self.config.name_converter.get_graphql_name
        taken = {convert(f): "core" for f in fields}
        for plugin, field in extra:
            name = convert(field)
            if name in taken:
                raise TypeError(f"plugin « {plugin} » : le champ {type_definition.name}.{name} existe déjà "
                                f"({taken[name]})")
            taken[name] = plugin
            self.plugin_fields[(type_definition.name, name)] = plugin
        return [*fields, *(f for _, f in extra)]


def build_schema(host: PluginHost) -> strawberry.Schema:
    contributions = host.graphql_contributions()
    query = _merge("Query", [c.query for c in contributions if c.query])
    mutation = _merge("Mutation", [c.mutation for c in contributions if c.mutation])
    subscription = _merge("Subscription", [c.subscription for c in contributions if c.subscription])
    sec = host.settings.security
    documents = DocumentLRU()
    extensions: list = [
        lambda: DocumentCache(documents),  # first: a hit skips parsing and validation
        OperationObserver,  # operation name, outcome, latency: logs and metrics, never the document
        RequestMemo,  # one household bundle per query operation, shared by its resolvers
        QueryDepthLimiter(max_depth=sec.graphql_max_depth),
        MaxAliasesLimiter(max_alias_count=sec.graphql_max_aliases),
        MaxTokensLimiter(max_token_count=sec.graphql_max_tokens),
    ]
    if not sec.introspection:
        extensions.append(DisableIntrospection())
    types = [t for c in contributions for t in c.types] + [error_code_enum(host)]
    schema = ExtendedSchema(query=query, mutation=mutation, subscription=subscription, types=types,
                            extensions=extensions, type_fields=host.type_fields())
    schema.document_cache = documents  # type: ignore[attr-defined]  # read by tests and benches
    return schema


def export_sdl(host: PluginHost) -> str:
    return build_schema(host).as_str().rstrip() + "\n"
