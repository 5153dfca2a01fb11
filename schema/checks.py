"""The schema conventions of docs/graphql.md, as checks on the built schema.

Each check returns problems as `(area, line)`: the area is "core" or the plugin that declares the type or
root field, so that a plugin author sees only theirs. Used by `portail schema check` and the test suite.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)

Problem = tuple[str, str]

BUILTIN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}
ROOTS = ("Query", "Mutation", "Subscription")
# Fields and arguments holding one of a closed set of values: an enum, never a String.
CLOSED_SET_NAMES = re.compile(r"^(status|state|kind|role|severity|scope|method|decision|action|sequenceType|"
                              r"format|nature|source|direction|channel)$|(Status|State|Kind|Role|Severity)$")
# Names that leak the Python side (a class suffix) rather than name a domain noun.
LEAKED_SUFFIXES = ("Type", "Info", "Item", "Obj", "Model", "Result")
DOMAIN_NOUNS_ENDING_LIKE_SUFFIXES = {"DocumentType", "DemarcheType", "OkResult"}
UNPAGINATED_MARK = "Not paginated:"


def pascal(plugin: str) -> str:
    """The GraphQL prefix of a plugin: its name in PascalCase (`alsh_paj` → `AlshPaj`)."""
    return "".join(part.capitalize() for part in plugin.split("_"))


def _plugin_packages() -> dict[str, str]:
    """`{package: plugin name}` of the installed plugins (`plugins.creche` → creche, `cantine` → cantine)."""
    from core.plugins import available_plugins

    return {path.rsplit(".", 1)[0] if "." in path else path: name for name, path in available_plugins().items()}


def _area_of_module(module: str, packages: dict[str, str] | None = None) -> str:
    """The plugin whose package holds `module` (shipped or third-party), else "core"."""
    for package, name in sorted((packages or _plugin_packages()).items(), key=lambda item: -len(item[0])):
        if module == package or module.startswith(package + "."):
            return name
    parts = module.split(".")
    return parts[1] if parts[0] == "plugins" and len(parts) > 1 else "core"


def _origin_module(definition: object) -> str:
    origin = getattr(definition, "origin", None) or getattr(definition, "wrapped_cls", None)
    return getattr(origin, "__module__", "") or ""


def type_areas(schema: strawberry.Schema) -> dict[str, str]:
    """`{GraphQL type name: area}` from the Python module that declares each type."""
    areas: dict[str, str] = {}
    packages = _plugin_packages()
    for name in schema._schema.type_map:
        if name.startswith("__") or name in BUILTIN_SCALARS or name in ROOTS:
            continue
        definition = schema.get_type_by_name(name)
        module = _origin_module(definition) if definition is not None else ""
        if definition is not None and getattr(definition, "is_graphql_generic", False) is False \
                and name.endswith("Page") and module == "core.graphql_support":
            # Page[T] specialised: the area of T
            module = _origin_module(schema.get_type_by_name(name[: -len("Page")])) or module
        areas[name] = _area_of_module(module, packages) if module else "core"
    return areas


def root_field_areas(schema: strawberry.Schema) -> dict[tuple[str, str], str]:
    """`{(root, GraphQL field name): area}` from the class each root field was declared on."""
    out: dict[tuple[str, str], str] = {}
    packages = _plugin_packages()
    for root in ROOTS:
        definition = schema.get_type_by_name(root)
        if definition is None:
            continue
        for field in definition.fields:  # type: ignore[union-attr]
            name = schema.config.name_converter.get_graphql_name(field)
            module = getattr(field.origin, "__module__", "") if field.origin else ""
            out[(root, name)] = _area_of_module(module, packages)
    return out


def _is_list(type_: object) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _fields_of(type_: GraphQLNamedType) -> dict:
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
        return type_.fields
    return {}


def iter_problems(schema: strawberry.Schema) -> Iterator[Problem]:
    gql = schema._schema
    areas = type_areas(schema)
    roots = root_field_areas(schema)

    plugin_fields: dict[tuple[str, str], str] = getattr(schema, "plugin_fields", {})

    def area(type_name: str, field_name: str | None = None) -> str:
        if type_name in ROOTS and field_name is not None:
            return roots.get((type_name, field_name), "core")
        if field_name is not None and (type_name, field_name) in plugin_fields:
            return plugin_fields[(type_name, field_name)]
        return areas.get(type_name, "core")

    # 3c. a field a plugin adds to a core type (portail_type_fields) carries the plugin's prefix
    for (type_name, field_name), plugin in sorted(plugin_fields.items()):
        prefix = pascal(plugin)
        if not field_name.startswith(prefix[0].lower() + prefix[1:]):
            yield plugin, f"field {type_name}.{field_name}: a field {plugin} adds to a core type starts with " \
                          f"{prefix[0].lower() + prefix[1:]}"

    for name, type_ in gql.type_map.items():
        if name.startswith("__") or name in BUILTIN_SCALARS:
            continue
        where = area(name)
        # 1. descriptions everywhere
        if name not in ROOTS and not (type_.description or "").strip():
            yield where, f"type {name}: no description"
        if isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                if not (value.description or "").strip():
                    yield where, f"enum value {name}.{value_name}: no description"
        for field_name, field in _fields_of(type_).items():
            field_area = area(name, field_name)
            label = f"{name}.{field_name}"
            if not (field.description or "").strip():
                yield field_area, f"field {label}: no description"
            for arg_name, arg in getattr(field, "args", {}).items():
                if not (arg.description or "").strip():
                    yield field_area, f"argument {label}({arg_name}): no description"
                if CLOSED_SET_NAMES.search(arg_name) and get_named_type(arg.type).name == "String":
                    yield field_area, f"argument {label}({arg_name}): a closed set typed String (use an enum)"
            named = get_named_type(field.type)
            # 2. closed sets are enums; one month format; ISO weekdays said
            if CLOSED_SET_NAMES.search(field_name) and named.name == "String":
                yield field_area, f"field {label}: a closed set typed String (use an enum, and `{field_name}Label`)"
            if re.search(r"(^m|M)onth$", field_name) and named.name != "YearMonth":
                yield field_area, f"field {label}: a month must be a YearMonth"
            if re.search(r"(^w|W)eekdays?$", field_name) and "ISO" not in (field.description or ""):
                yield field_area, f"field {label}: say the weekday numbering is ISO 8601 (1 = Monday)"
        # 3. naming
        if name not in ROOTS and where != "core" and not name.startswith(pascal(where)):
            yield where, f"type {name}: a {where} type starts with {pascal(where)}"
        if name.endswith(LEAKED_SUFFIXES) and name not in DOMAIN_NOUNS_ENDING_LIKE_SUFFIXES \
                and not isinstance(type_, GraphQLScalarType):
            yield where, f"type {name}: a Python suffix in a GraphQL name ({', '.join(LEAKED_SUFFIXES)})"
    for (root, field_name), where in roots.items():
        root_type = gql.get_type(root)
        field = root_type.fields[field_name]  # type: ignore[union-attr]
        label = f"{root}.{field_name}"
        # 5. partial answers: every root field nullable
        if isinstance(field.type, GraphQLNonNull):
            yield where, f"field {label}: root fields are nullable (a failing field keeps the others' data)"
        if where != "core":
            prefix = pascal(where)
            expected = prefix[0].lower() + prefix[1:]
            if root == "Mutation" and not re.match(rf"^[a-z]+{prefix}", field_name):
                yield where, f"field {label}: a {where} mutation is <verb>{prefix}<Noun>"
            if root != "Mutation" and not field_name.startswith(expected):
                yield where, f"field {label}: a {where} root field starts with {expected}"
        # 3b. mutations return an object
        if root == "Mutation" and isinstance(get_named_type(field.type), GraphQLScalarType | GraphQLEnumType):
            yield where, f"field {label}: a mutation returns the object it changed or a payload, not a scalar"
        # 6. lists that grow are pages; bounded ones say why
        if root == "Query" and _is_list(field.type) and UNPAGINATED_MARK not in (field.description or ""):
            yield where, (f"field {label}: a list at the root is a Page, or its description says "
                          f"« {UNPAGINATED_MARK} <why it stays small> »")


# ---- error codes ------------------------------------------------------------------------------------

_CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
NOT_ERROR_CALLS = {"Alert", "create"}  # `code=` there names an alert or a stored record (`Unit.create(code=…)`), not an error


def raised_codes(root: Path) -> dict[str, set[str]]:
    """`{CODE: {files}}` of every error code written in the Python code under `root`: `code="…"` keyword
    arguments (but alerts'), `code = "…"` class attributes, `{"code": "…"}` literals, `_json_error(…)`."""
    found: dict[str, set[str]] = {}

    def add(value: object, path: Path) -> None:
        if isinstance(value, str) and _CODE.match(value):
            found.setdefault(value, set()).add(str(path))

    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if func in NOT_ERROR_CALLS:
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        add(keyword.value.value, path)
                if func == "_json_error" and len(node.args) >= 3 and isinstance(node.args[2], ast.Constant):
                    add(node.args[2].value, path)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "code" \
                    and isinstance(node.value, ast.Constant):
                add(node.value.value, path)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "code" and isinstance(value, ast.Constant):
                        add(value.value, path)
    return found
