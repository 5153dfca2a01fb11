"""Tortoise queries built once and run many times: the SQL of a hot read, compiled on first use.

Building a query's SQL (Tortoise's query set, then pypika) costs more Python time than PostgreSQL
spends answering a small indexed read: on the family home page it was a quarter of the request.
`CompiledQuery(build)` calls `build(*values)` (a plain ORM query: filters, ordering, select_related,
prefetch_related) once per database dialect, keeps its SQL, and then only binds new values:

    INVOICES = CompiledQuery(lambda household_id: Invoice.filter(household_id=household_id)
                             .order_by("-issued_on", "-id"))
    rows = await INVOICES.all(42)
    total = await INVOICES.count(42)
    page = await INVOICES.page(42, limit=50, offset=0)      # rows 0-49, same order

How the values are found in the SQL: `build` is called with stand-ins of the same types (an `int`
that is not any other int, a `str`, a `date`) and each stand-in is located, by identity, in the
query's parameters. It is then called a second time with other stand-ins: if the SQL text or any
other parameter changed, the query depends on the values in a way that cannot be rebound (a value
computed from an argument, a value inlined into the SQL, a shape that depends on a value) and
`CompiledQuery` refuses it with a `TypeError` on first use, instead of ever running stale SQL. That
check sees what two builds produce, not the code: `build` must not branch on its values (`if
household_id > 1000: …`). A query whose shape varies (an optional filter) is one `CompiledQuery` per
shape, chosen by the caller.

The run uses the connection of the current transaction if any. Rows become model instances the
way Tortoise's executor makes them (`Model._init_from_db`: the same attributes, the same value
conversions, select_related objects and annotations included), by a loop laid out once per query
from its columns: on the home page's 180 instances, Tortoise's per-row keyword call was a tenth of
the request. A query with prefetch_related, `.only()` columns or anything the loop does not know
runs through Tortoise's own executor. `values()` and `values_list()` queries give their dicts and
tuples, converted like Tortoise's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from operator import itemgetter
from types import LambdaType
from typing import Any, Generic, TypeVar

from tortoise.exceptions import DoesNotExist, MultipleObjectsReturned
from tortoise.expressions import RawSQL
from tortoise.fields import DatetimeField
from tortoise.queryset import CountQuery, QuerySet, ValuesListQuery, ValuesQuery
from tortoise.timezone import get_default_timezone, get_use_tz

M = TypeVar("M")
_TOTAL = "compiled_page_total"


class _IntSlot(int):
    __slots__ = ()


class _StrSlot(str):
    __slots__ = ()


class _DateSlot(date):
    __slots__ = ()


def _stand_in(value: Any, variant: int) -> Any:
    """A value of `value`'s type, distinct by identity from every other object; `variant` 1 differs
    in value too (the second build, that proves no parameter is derived from it)."""
    if isinstance(value, bool) or value is None or isinstance(value, datetime):
        raise TypeError(f"CompiledQuery : valeur non prise en charge ({type(value).__name__}) ; "
                        "passez un int, un str ou une date")
    if isinstance(value, int):
        return _IntSlot(value + variant)
    if isinstance(value, str):  # same length: a CharField checks its max_length on filter values too
        if variant and value:
            value = value[:-1] + ("b" if value[-1] == "a" else "a")
        return _StrSlot(value or ("~" if variant else ""))
    if isinstance(value, date):
        moved = value - timedelta(days=variant) if value > date.min + timedelta(days=2) else value + timedelta(days=variant)
        return _DateSlot(moved.year, moved.month, moved.day)
    raise TypeError(f"CompiledQuery : valeur non prise en charge ({type(value).__name__})")


class _Plan:
    """The SQL of one query shape on one dialect, with where each value goes in its parameters."""

    __slots__ = ("query", "sql", "params", "slots", "hydrate")

    def __init__(self, query: Any, sql: str, params: list[Any], slots: list[tuple[int, int]]) -> None:
        self.query, self.sql, self.params, self.slots = query, sql, params, slots
        # Rows → instances, laid out from the first result's columns (None: Tortoise's executor).
        self.hydrate: Callable[[list[Any]], list[Any]] | None | bool = False

    def bind(self, values: Sequence[Any]) -> list[Any]:
        params = list(self.params)
        for position, index in self.slots:
            params[position] = values[index]
        return params


def _compile(make: Callable[..., Any], values: Sequence[Any], name: str) -> _Plan:
    builds = []
    for variant in (0, 1):
        stand_ins = [_stand_in(v, variant) for v in values]
        query = make(*stand_ins)
        query._make_query()
        sql, params = query.query.get_parameterized_sql()
        slots = []
        for position, param in enumerate(params):
            index = next((i for i, s in enumerate(stand_ins) if param is s), None)
            if index is not None:
                slots.append((position, index))
        builds.append((query, sql, list(params), slots))
    (query, sql, params, slots), (_, sql2, params2, slots2) = builds
    slotted = {p for p, _ in slots}
    constants_differ = any(a != b for p, (a, b) in enumerate(zip(params, params2, strict=False)) if p not in slotted)
    if sql != sql2 or len(params) != len(params2) or slots != slots2 or constants_differ:
        raise TypeError(f"CompiledQuery {name} : la requête dépend des valeurs autrement que par des paramètres "
                        "(valeur calculée, valeur écrite dans le SQL ou forme variable) ; elle ne peut pas être "
                        "réutilisée")
    if isinstance(query, CountQuery) and (query._limit is not None or query._offset):
        raise TypeError(f"CompiledQuery {name} : un COUNT avec limit/offset n'est pas pris en charge")
    for p in slotted:  # the stand-ins are never kept: a plan holds only constants
        params[p] = None
    return _Plan(query, sql, params, slots)


def _instance_maker(model: Any, columns: Sequence[str], start: int) -> Callable[[Any, tzinfo | None], Any] | None:
    """Row → one instance of `model` from its columns at `start`…: what `model._init_from_db` does
    (the same attributes and conversions: native values as they are, a "default" field's type applied
    to non-null values, a "complex" field's `to_python_value` always), without a keyword call per
    row. None when a field of the model is missing (an `.only()` query: Tortoise's partial path) or
    would be written past a descriptor."""
    meta = model._meta
    position = {name: start + i for i, name in enumerate(columns)}
    direct: list[tuple[int, str]] = []
    typed: list[tuple[int, str, Any]] = []
    converted: list[tuple[int, str, Any]] = []
    moments: list[tuple[int, str, Any]] = []  # DatetimeFields: an aware value is moved to the zone
    for target, kind in ((direct, "native"), (typed, "default"), (converted, "complex")):
        for key, attribute, field in getattr(meta, f"db_{kind}_fields"):
            if key not in position or hasattr(getattr(model, attribute, None), "__set__"):
                return None
            if kind == "native":
                target.append((position[key], attribute))
            elif kind == "default":
                target.append((position[key], attribute, field.field_type))
            elif type(field).to_python_value is DatetimeField.to_python_value:
                moments.append((position[key], attribute, field.to_python_value))
            else:
                target.append((position[key], attribute, field.to_python_value))
    constant = {"_partial": False, "_saved_in_db": True,
                "_custom_generated_pk": meta.db_pk_column not in meta.generated_db_fields}
    new = model.__new__
    names = [attribute for _, attribute in direct]
    pick = itemgetter(*[index for index, _ in direct]) if len(direct) > 1 else None
    single = direct[0][0] if len(direct) == 1 else None

    def make(row: Any, zone: tzinfo | None) -> Any:
        instance = new(model)
        attributes = instance.__dict__
        attributes.update(constant)
        attributes["_await_when_save"] = {}
        if pick is not None:
            attributes.update(zip(names, pick(row), strict=True))
        elif single is not None:
            attributes[names[0]] = row[single]
        for index, attribute, field_type in typed:
            value = row[index]
            attributes[attribute] = value if value is None else field_type(value)
        for index, attribute, to_python in converted:
            attributes[attribute] = to_python(row[index])
        for index, attribute, to_python in moments:  # DatetimeField.to_python_value's aware case, inline
            value = row[index]
            attributes[attribute] = value.astimezone(zone) if zone is not None and type(value) is datetime \
                and value.utcoffset() is not None else to_python(value)
        return instance

    return make


def _zone() -> tzinfo | None:
    """The zone DatetimeField values are read in (Tortoise's configuration), None without use_tz."""
    return get_default_timezone() if get_use_tz() else None


def _hydrator(query: Any, columns: list[str]) -> Callable[[list[Any]], list[Any]] | None:
    """Rows (in `columns` order) → instances like Tortoise's `execute_select`: the model's own
    columns, then each select_related model's (None when all its columns are empty), then the
    annotations. None when the query needs Tortoise's executor (prefetch, a filler object)."""
    if query._prefetch_map or query._prefetch_queries:
        return None
    annotations = [(columns.index(name), name) for name in query._annotations]
    if len(annotations) != len(query._annotations):
        return None
    if not query._select_related_idx:
        main = _instance_maker(query.model, columns, 0)
        if main is None:
            return None
        if not annotations:
            def plain(rows: list[Any]) -> list[Any]:
                zone = _zone()
                return [main(row, zone) for row in rows]

            return plain

        def annotated(rows: list[Any]) -> list[Any]:
            out = []
            zone = _zone()
            for row in rows:
                instance = main(row, zone)
                for index, name in annotations:
                    object.__setattr__(instance, name, row[index])
                out.append(instance)
            return out

        return annotated
    _, count, _, _, path = query._select_related_idx[0]
    main = _instance_maker(query.model, columns[:count], 0)
    if main is None:
        return None
    related: list[tuple[tuple[Any, ...], str, int, int, Callable[[Any, tzinfo | None], Any]]] = []
    start = count
    for model, width, *_, full_path in query._select_related_idx[1:]:
        if width == 0:
            return None
        maker = _instance_maker(model, [c.split(".", 1)[1] for c in columns[start:start + width]], start)
        if maker is None:
            return None
        *parent, attribute = full_path
        related.append((tuple(parent), f"_{attribute}", start, start + width, maker))
        start += width

    def joined(rows: list[Any]) -> list[Any]:
        out = []
        zone = _zone()
        for row in rows:
            instance = main(row, zone)
            instances: dict[tuple[Any, ...], Any] = {path: instance}
            for parent, attribute, first, end, maker in related:
                values = row[first:end]
                obj = maker(row, zone) if any(values) else None
                target = instances.get(parent)
                if target is not None:
                    object.__setattr__(target, attribute, obj)
                if obj is not None:
                    instances[(*parent, attribute[1:])] = obj
            for index, name in annotations:
                object.__setattr__(instance, name, row[index])
            out.append(instance)
        return out

    return joined


def _values(query: Any, rows: list[Any]) -> list[Any]:
    """A values() / values_list() query's rows, converted as Tortoise's `_execute` converts them."""
    if isinstance(query, ValuesListQuery):
        converters = [(key, query.resolve_to_python_value(query.model, name)) for key, name in query.fields.items()]
        if query._flat:
            key, convert = converters[0]
            return [convert(row[key]) for row in rows]
        return [tuple(convert(row[key]) for key, convert in converters) for row in rows]
    converters = [(alias, query.resolve_to_python_value(query.model, name))
                  for alias, name in query._fields_for_select.items()]
    out = []
    for row in rows:
        item = dict(row)
        for alias, convert in converters:
            if not isinstance(convert, LambdaType):  # Tortoise's rule: a plain function means "as is"
                item[alias] = convert(item[alias])
        out.append(item)
    return out


class CompiledQuery(Generic[M]):
    """One ORM read (see the module docstring), compiled per kind (rows, count, page) and dialect."""

    def __init__(self, build: Callable[..., QuerySet[Any]], name: str | None = None) -> None:
        self.build = build
        self.name = name or getattr(build, "__qualname__", "query")
        self._model: Any = None
        self._plans: dict[tuple[str, str], _Plan] = {}

    def _maker(self, kind: str) -> Callable[..., Any]:
        if kind == "count":
            return lambda *v: self.build(*v).count()
        if kind == "page":  # the last two values are limit and offset
            return lambda *v: self.build(*v[:-2]).offset(v[-1]).limit(v[-2])
        if kind == "page_total":  # the same, each row also carrying the count of every row
            return lambda *v: self.build(*v[:-2]).annotate(**{_TOTAL: RawSQL("COUNT(*) OVER ()")}) \
                .offset(v[-1]).limit(v[-2])
        return self.build

    def _plan(self, kind: str, values: Sequence[Any]) -> tuple[_Plan, Any]:
        """The plan and the connection to run it on (the current transaction's when inside one)."""
        if self._model is None:
            self._model = self._maker(kind)(*(_stand_in(v, 0) for v in values)).model
        db = self._model._meta.db
        key = (kind, db.capabilities.dialect)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _compile(self._maker(kind), values, self.name)
        return plan, db

    @staticmethod
    async def _rows(plan: _Plan, db: Any, values: Sequence[Any]) -> list[Any]:
        query = plan.query
        if isinstance(query, ValuesQuery | ValuesListQuery):
            _, rows = await db.execute_query(plan.sql, plan.bind(values))
            return _values(query, rows)
        if plan.hydrate is None:  # Tortoise's executor (prefetch, partial models…)
            executor = db.executor_class(model=query.model, db=db, prefetch_map=query._prefetch_map,
                                         prefetch_queries=query._prefetch_queries,
                                         select_related_idx=query._select_related_idx)
            return await executor.execute_select(plan.sql, plan.bind(values),
                                                 custom_fields=list(query._annotations.keys()))
        _, rows = await db.execute_query(plan.sql, plan.bind(values))
        if not rows:
            return []
        if plan.hydrate is False:
            plan.hydrate = _hydrator(query, list(rows[0].keys()))
            if plan.hydrate is None:  # known from now on: this once, the read runs again through Tortoise
                return await CompiledQuery._rows(plan, db, values)
        return plan.hydrate(rows)  # type: ignore[operator]

    async def all(self, *values: Any) -> Any:
        """Every row as model instances; one instance or None when `build` ends with `.first()`, one
        instance or DoesNotExist with `.get(...)`."""
        plan, db = self._plan("rows", values)
        rows = await self._rows(plan, db, values)
        if not plan.query._single:
            return rows
        if len(rows) > 1 and isinstance(plan.query, ValuesQuery | ValuesListQuery):
            raise MultipleObjectsReturned(plan.query.model)
        if rows:
            return rows[0]
        if plan.query._raise_does_not_exist:
            raise DoesNotExist(plan.query.model)
        return None

    async def count(self, *values: Any) -> int:
        plan, db = self._plan("count", values)
        _, result = await db.execute_query(plan.sql, plan.bind(values))
        return int(next(iter(dict(result[0]).values()))) if result else 0

    async def page(self, *values: Any, limit: int, offset: int) -> list[M]:
        """Rows `offset` to `offset + limit - 1` in `build`'s order."""
        bound = (*values, limit, offset)
        plan, db = self._plan("page", bound)
        return await self._rows(plan, db, bound)

    async def page_and_total(self, *values: Any, limit: int, offset: int) -> tuple[list[M], int]:
        """One page and the number of rows in all pages, in one statement (a window `COUNT(*) OVER ()`);
        a page past the end has no row to carry the count: it is then counted apart. A DISTINCT or
        grouped query (where the window would count rows before they are merged) is counted apart too."""
        bound = (*values, limit, offset)
        rows_plan, _ = self._plan("rows", values)
        if rows_plan.query._distinct or rows_plan.query.query._groupbys:
            return await self.page(*values, limit=limit, offset=offset), await self.count(*values)
        plan, db = self._plan("page_total", bound)
        rows = await self._rows(plan, db, bound)
        if rows:
            return rows, int(getattr(rows[0], _TOTAL))
        return rows, (await self.count(*values) if offset else 0)

    def bind(self, *values: Any) -> BoundQuery[M]:
        """The query with its values, for `core.graphql_support.paginate`."""
        return BoundQuery(self, values)


class BoundQuery(Generic[M]):
    """A `CompiledQuery` with its values: what `paginate` takes in place of a Tortoise query set."""

    __slots__ = ("compiled", "values")

    def __init__(self, compiled: CompiledQuery[M], values: tuple[Any, ...]) -> None:
        self.compiled, self.values = compiled, values

    async def count(self) -> int:
        return await self.compiled.count(*self.values)

    async def page(self, limit: int, offset: int) -> list[M]:
        return await self.compiled.page(*self.values, limit=limit, offset=offset)

    async def page_and_total(self, limit: int, offset: int) -> tuple[list[M], int]:
        return await self.compiled.page_and_total(*self.values, limit=limit, offset=offset)

    async def all(self) -> list[M]:
        return await self.compiled.all(*self.values)
