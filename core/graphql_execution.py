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

import keyword
from collections.abc import Callable
from enum import Enum
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
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
    def _steps(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Callable[[Any], dict[str, Any]] | None:
        """The completer of a plain selection (`_compile`), None when a field is not plain."""
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
        completer = None if steps is None else _compile(parent_type.name, steps)
        self._plans[key] = (grouped_field_set, completer)
        return completer

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

    def _object_steps(self, object_type: GraphQLObjectType, field_details_list: Any
                      ) -> Callable[[Any], dict[str, Any]] | None:
        """The completer of an object's selection: from the shared plans when its nodes were planned
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

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any, path: Any, grouped_field_set: Any,
                       position_context: Any) -> Any:
        steps = self._steps(parent_type, grouped_field_set)
        if steps is not None:
            try:
                return steps(source_value)
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
                    return _complete(completion, result)  # type: ignore[arg-type]
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
                    return _complete(step[3], step[1](source, step[2]))
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


# ---- completion ----------------------------------------------------------------------------------
def _complete(completion: tuple[Any, ...], value: Any) -> Any:
    """A value of a plain field completed as graphql-core would, or _Misfit."""
    kind, non_null, detail = completion[:3]
    if value is None or value is Undefined:
        if non_null:
            raise _Misfit
        return None
    if isinstance(value, Exception):
        raise _Misfit
    if kind == _LEAF:
        return _leaf(completion, value)
    if kind == _LIST:
        if not isinstance(value, list | tuple):  # anything else (a generator…) is read once, by the general path
            raise _Misfit
        return [_complete(detail, item) for item in value]
    return detail(value)


def _leaf(completion: tuple[Any, ...], value: Any) -> Any:
    """A leaf value: its known output (`_known_outputs`), else the type's coercion."""
    if value is None or value is Undefined:
        if completion[1]:  # null where the type forbids it: the general path reports it
            raise _Misfit
        return None
    if isinstance(value, Exception):
        raise _Misfit
    known = completion[3].get(type(value), completion)
    if known is None:  # a str for String, a bool for Boolean
        return value
    if known is not completion and value in known:  # an enum member
        return known[value]
    try:
        coerced = completion[2].coerce_output_value(value)
    except Exception:
        raise _Misfit from None
    if coerced is None or coerced is Undefined:
        raise _Misfit
    return coerced


_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # GraphQL's Int (graphql.type.scalars.serialize_int)


def _compile(type_name: str, steps: list[tuple[Any, ...]]) -> Callable[[Any], dict[str, Any]]:
    """The completer of one plain selection: a function written for it, that reads each field and
    gives the answer's dict, the common cases inline (a str for String and ID, a bool for Boolean,
    an enum member, an int within Int's range, null where allowed), the rest through `_leaf` and
    `_complete`. Anything unexpected raises _Misfit, as the general loop would."""
    env: dict[str, Any] = {"_Misfit": _Misfit, "_leaf": _leaf, "_complete": _complete, "_INT_MIN": _INT_MIN,
                           "_INT_MAX": _INT_MAX}
    body = []
    for i, step in enumerate(steps):
        if step[0] == _TYPENAME:
            env[f"n{i}"] = step[1]
            env[f"t{i}"] = step[2]
            body.append(f"r[n{i}] = t{i}")
            continue
        response_name, read, attribute, completion = step
        env[f"n{i}"], env[f"c{i}"] = response_name, completion
        if read is getattr and attribute.isidentifier() and not keyword.iskeyword(attribute):
            body.append(f"v = source.{attribute}")
        else:
            env[f"read{i}"], env[f"a{i}"] = read, attribute
            body.append(f"v = read{i}(source, a{i})")
        kind, non_null = completion[0], completion[1]
        if kind != _LEAF:
            body.append(f"r[n{i}] = _complete(c{i}, v)")
            continue
        branches = []
        for j, (python_type, output) in enumerate(completion[3].items()):
            env[f"k{i}_{j}"] = python_type
            if output is None:
                branches.append((f"type(v) is k{i}_{j}", "v"))
            else:
                env[f"o{i}_{j}"] = output
                branches.append((f"type(v) is k{i}_{j} and v in o{i}_{j}", f"o{i}_{j}[v]"))
        if completion[2] is GraphQLInt:
            branches.append(("type(v) is int and _INT_MIN <= v <= _INT_MAX", "v"))
        if not non_null:
            branches.append(("v is None", "None"))
        for j, (test, output) in enumerate(branches):
            body.append(f"{'if' if j == 0 else 'elif'} {test}:")
            body.append(f"    r[n{i}] = {output}")
        if branches:
            body.append("else:")
        body.append(f"{'    ' if branches else ''}r[n{i}] = _leaf(c{i}, v)")
    source = "\n".join([
        "def complete(source):",
        "    try:",
        "        r = {}",
        *("        " + line for line in body),
        "        return r",
        "    except _Misfit:",
        "        raise",
        "    except Exception:",
        "        raise _Misfit from None",
    ])
    exec(compile(source, f"<plain completion of {type_name}>", "exec"), env)  # noqa: S102 - code written above
    return env["complete"]
