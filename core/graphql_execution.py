"""GraphQL execution with plain data completed in one pass.

Most of a big answer is plain data: attributes of the objects a resolver returned (an invoice's
number, the 30 days of a planning with their 8 fields), read by Strawberry's default resolver, with
no argument. graphql-core completes each of them like any field (a resolve-info object, a path, the
awaitable checks, the recursion through `complete_value`): on the home page, 2,500 fields made a
third of the request. `PlainDataExecutionContext` completes a selection made only of plain fields
(scalars, enums, `__typename`, objects and lists of them, nested) in one loop over precomputed steps.

The answer is the same: as soon as a value does not fit (null where the type forbids it, a value the
scalar refuses, something else than a list where a list is expected), the whole object is completed
again by graphql-core's general path, which reports the error exactly as usual: only plain
attribute reads happened, so nothing runs twice that matters. Fields with a resolver, arguments,
an `is_type_of` check, field middleware or `@defer` always take the general path.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_PLAIN = "_portail_plain"
_SHARED = "_portail_shared_plans"  # on the GraphQLSchema: PlainDataExecutionContext._shared_plans
_SHARED_MAX = 20_000
_OUTPUTS = "_portail_known_outputs"  # on the GraphQLSchema: {leaf type name: _known_outputs}

# Step kinds.
_LEAF, _TYPENAME, _OBJECT, _LIST = range(4)


class _Misfit(Exception):
    """A value that the general path must complete (and report)."""


def mark_plain_fields(schema: GraphQLSchema) -> None:
    """Marks, once when the schema is built, each field that Strawberry resolves by reading an
    attribute (no resolver, no argument, no exception handler): (read, attribute name)."""
    for type_ in schema.type_map.values():
        if type_.name.startswith("__") or not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for field in type_.fields.values():
            definition = (field.extensions or {}).get("strawberry-definition")
            if (definition is not None and not field.args and getattr(field.resolve, "_is_default", False)
                    and definition.is_basic_field):
                setattr(field, _PLAIN, (definition.default_resolver, definition.python_name))


def _has_middleware(manager: Any) -> bool:
    """Strawberry always passes a manager; it wraps resolvers only when an extension has a `resolve`."""
    return manager is not None and getattr(manager, "_middleware_resolvers", True) is not None


def _known_outputs(leaf: Any) -> dict[type, Any]:
    """What a leaf type gives, for the values that make most of an answer, without calling it:
    {Python type: None (the value as is) or {value: output}}. Strings for String and ID, booleans
    for Boolean (what their coercion returns unchanged); for an enum, each member's name as the
    type's own coercion gives it. Any other value is coerced by the type."""
    if leaf in (GraphQLString, GraphQLID):
        return {str: None}
    if leaf is GraphQLBoolean:
        return {bool: None}
    wrapped = getattr(leaf, "wrapped_cls", None)
    if isinstance(leaf, GraphQLEnumType) and isinstance(wrapped, type) and issubclass(wrapped, Enum):
        names = {}
        for member in wrapped:
            try:
                names[member] = leaf.coerce_output_value(member)
            except Exception:  # noqa: BLE001 - a member the type refuses stays with the type
                continue
        return {wrapped: names}
    return {}


def _selections_vary(selection_sets: list[Any]) -> bool:
    """Whether a selection may change from one request to the next of the same document: a
    directive (@skip / @include read variables, @defer splits the answer) or a fragment argument."""
    stack = [s for s in selection_sets if s is not None]
    while stack:
        for selection in stack.pop().selections:
            if selection.directives or getattr(selection, "arguments", None) and selection.kind == "fragment_spread":
                return True
            if getattr(selection, "selection_set", None) is not None:
                stack.append(selection.selection_set)
    return False


def _known_outputs_of(schema: GraphQLSchema, leaf: Any) -> dict[type, Any]:
    outputs = schema.__dict__.setdefault(_OUTPUTS, {})
    known = outputs.get(leaf.name)
    if known is None:
        known = outputs[leaf.name] = _known_outputs(leaf)
    return known


def _unwrap(type_: Any) -> tuple[Any, bool]:
    if isinstance(type_, GraphQLNonNull):
        return type_.of_type, True
    return type_, False


class PlainDataExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution with plain selections completed in one pass (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast = not _has_middleware(self.middleware_manager)
        # {(type name, id(grouped field set)): (grouped field set, steps or None)}: the set is kept
        # so that its id stays its own for the request.
        self._plans: dict[tuple[str, int], tuple[Any, list[tuple[Any, ...]] | None]] = {}
        self._shared = self._shared_plans()

    def _shared_plans(self) -> dict[Any, Any] | None:
        """The plans kept across requests, on the schema: documents are parsed once and cached
        (schema.DocumentLRU), so the same field nodes come back with the same selections, unless
        they vary with the request (`_selections_vary`): then None, and plans last one request.
        Entries hold their nodes and are used only for those very objects (an id can be reused
        once a document leaves the cache); the whole dict is dropped past _SHARED_MAX entries."""
        shared = self.schema.__dict__.get(_SHARED)
        if shared is None or len(shared) > _SHARED_MAX:
            shared = self.schema.__dict__[_SHARED] = {}
        if not self._fast:
            return None
        key = ("operation", id(self.operation))
        known = shared.get(key)
        if known is None or known[0] is not self.operation:
            varies = _selections_vary([self.operation.selection_set,
                                       *(f.selection_set for f in self.fragment_definitions.values())])
            known = shared[key] = (self.operation, varies)
        return None if known[1] else shared

    # ---- planning (once per selection and request) ---------------------------------------------
    def _steps(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[tuple[Any, ...]] | None:
        key = (parent_type.name, id(grouped_field_set))
        known = self._plans.get(key)
        if known is not None:
            return known[1]
        self._plans[key] = (grouped_field_set, None)  # a selection that contains itself stays general
        steps: list[tuple[Any, ...]] | None = [] if self._fast else None
        for response_name, field_details_list in grouped_field_set.items():
            if steps is None:
                break
            step = self._step(parent_type, response_name, field_details_list)
            if step is None:
                steps = None
            else:
                steps.append(step)
        self._plans[key] = (grouped_field_set, steps)
        return steps

    def _step(self, parent_type: GraphQLObjectType, response_name: str, field_details_list: Any) -> tuple[Any, ...] | None:
        node = field_details_list[0].node
        if any(d.defer_usage is not None or d.fragment_variable_values for d in field_details_list):
            return None
        if node.name.value == "__typename":
            return (_TYPENAME, response_name, parent_type.name)
        field_def = self.schema.get_field(parent_type, node.name.value)
        plain = getattr(field_def, _PLAIN, None) if field_def is not None else None
        if plain is None or node.arguments:
            return None
        read, attribute = plain
        completion = self._completion(field_def.type, field_details_list)  # type: ignore[union-attr]
        return None if completion is None else (response_name, read, attribute, completion)

    def _completion(self, type_: Any, field_details_list: Any) -> tuple[Any, ...] | None:
        """How to complete a value of `type_`: (kind, non null, detail), None when not plain."""
        inner, non_null = _unwrap(type_)
        if is_leaf_type(inner):
            return (_LEAF, non_null, inner, _known_outputs_of(self.schema, inner))
        if isinstance(inner, GraphQLList):
            item = self._completion(inner.of_type, field_details_list)
            return None if item is None else (_LIST, non_null, item)
        if isinstance(inner, GraphQLObjectType) and not inner.is_type_of:
            steps = self._object_steps(inner, field_details_list)
            return None if steps is None else (_OBJECT, non_null, steps)
        return None  # interfaces and unions: the general path resolves the runtime type

    def _object_steps(self, object_type: GraphQLObjectType, field_details_list: Any) -> list[tuple[Any, ...]] | None:
        """The steps of an object's selection: from the shared plans when its nodes were planned
        before (same nodes, same objects), else collected and planned now."""
        shared = self._shared
        nodes = tuple(d.node for d in field_details_list)
        key = (object_type.name, *map(id, nodes))
        if shared is not None:
            known = shared.get(key)
            if known is not None and known[0] is object_type and len(known[1]) == len(nodes) \
                    and all(a is b for a, b in zip(known[1], nodes, strict=True)):
                return known[2]
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        steps = None if new_defer_usages else self._steps(object_type, grouped_field_set)
        if shared is not None:
            shared[key] = (object_type, nodes, steps)
        return steps

    # ---- completion ------------------------------------------------------------------------------
    def _complete(self, completion: tuple[Any, ...], value: Any) -> Any:
        kind, non_null, detail = completion[:3]
        if value is None or value is Undefined:
            if non_null:
                raise _Misfit
            return None
        if isinstance(value, Exception):
            raise _Misfit
        if kind == _LEAF:
            try:
                coerced = detail.coerce_output_value(value)
            except Exception:
                raise _Misfit from None
            if coerced is None or coerced is Undefined:
                raise _Misfit
            return coerced
        if kind == _LIST:
            if not isinstance(value, list | tuple):  # anything else (a generator…) is read once, by the general path
                raise _Misfit
            return [self._complete(detail, item) for item in value]
        return self._object(detail, value)

    def _object(self, steps: list[tuple[Any, ...]], source: Any) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for step in steps:
            if step[0] == _TYPENAME:
                results[step[1]] = step[2]
                continue
            response_name, read, attribute, completion = step
            try:
                value = read(source, attribute)
                if completion[0] == _LEAF and value is not None and value is not Undefined \
                        and not isinstance(value, Exception):  # the common case, inline
                    known = completion[3].get(type(value), completion)
                    if known is None:  # a str for String, a bool for Boolean
                        results[response_name] = value
                        continue
                    if known is not completion and value in known:  # an enum member
                        results[response_name] = known[value]
                        continue
                    coerced = completion[2].coerce_output_value(value)
                    if coerced is None or coerced is Undefined:
                        raise _Misfit
                    results[response_name] = coerced
                    continue
            except _Misfit:
                raise
            except Exception:
                raise _Misfit from None
            results[response_name] = self._complete(completion, value)
        return results

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any, path: Any, grouped_field_set: Any,
                       position_context: Any) -> Any:
        steps = self._steps(parent_type, grouped_field_set)
        if steps is not None:
            try:
                return self._object(steps, source_value)
            except _Misfit:
                pass
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)

    def complete_value(self, return_type: Any, field_details_list: Any, info: Any, path: Any, result: Any,
                       position_context: Any) -> Any:
        """A resolver's value made of plain data (the list of a month's plannings, a page of
        invoices): completed in one pass too, instead of item by item through the general path."""
        if self._fast and result is not None and not isinstance(result, Exception):
            key = ("value", id(return_type), id(field_details_list))
            known = self._plans.get(key)
            if known is None:
                known = self._plans[key] = (field_details_list, self._completion(return_type,  # type: ignore[assignment]
                                                                                  field_details_list))
            completion = known[1]
            if completion is not None:
                try:
                    return self._complete(completion, result)  # type: ignore[arg-type]
                except _Misfit:
                    pass
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def execute_field(self, parent_type: GraphQLObjectType, source: Any, field_details_list: Any, path: Any,
                      position_context: Any) -> Any:
        """A plain field of an object that has other fields too: completed in one pass when it fits."""
        if self._fast:
            step = self._field_step(parent_type, field_details_list)
            if step is not None:
                try:
                    return self._complete(step[3], step[1](source, step[2]))
                except _Misfit:
                    pass
                except Exception:  # the read itself failed: the general path reports it
                    pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _field_step(self, parent_type: GraphQLObjectType, field_details_list: Any) -> tuple[Any, ...] | None:
        key = (parent_type.name, id(field_details_list))
        known = self._plans.get(key)
        if known is None:
            step = self._step(parent_type, "", field_details_list)
            known = self._plans[key] = (field_details_list, step if step is None or step[0] != _TYPENAME else None)
        return known[1]  # type: ignore[return-value]
