"""Plain data completed in one pass (`core.graphql_execution.PlainDataExecutionContext`) answers exactly
what graphql-core's general path answers: same data, same errors at the same paths, the same null
propagation through non-null fields, nested objects and lists included."""

from __future__ import annotations

import enum
from datetime import date

import pytest
import strawberry

from core.graphql_support import PortailSchema


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    on: date | None
    count: int

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


class Label(str):
    """A str subclass: String gives it as is, like a str."""


@strawberry.type
class Box:
    items: list[Item]
    required: Item


def _item(name: object = "pomme", note: str | None = None, colour: object = Colour.RED, on: date | None = None,
          count: object = 3) -> Item:
    return Item(name=name, note=note, colour=colour, on=on, count=count)  # type: ignore[arg-type]


@strawberry.type
class Shelf:
    boxes: list[Box | None]
    label: str | None


@strawberry.type
class Query:
    @strawberry.field
    def good(self) -> Box:
        return Box(items=[_item(), _item("poire", "mûre", Colour.BLUE, date(2026, 11, 24), 0)], required=_item())

    @strawberry.field
    def null_in_non_null(self) -> Box | None:
        return Box(items=[_item(), _item(name=None)], required=_item())

    @strawberry.field
    def null_required(self) -> Box | None:
        return Box(items=[], required=_item(name=None))

    @strawberry.field
    def bad_enum(self) -> Item | None:
        return _item(colour="violet")

    @strawberry.field
    def bad_int(self) -> list[Item | None]:
        return [_item(count="beaucoup"), _item()]

    @strawberry.field
    def shelf(self) -> Shelf:
        good = Box(items=[_item()], required=_item("prune"))
        broken = Box(items=[_item(name=None)], required=_item())
        return Shelf(boxes=[good, broken, None, good], label=None)

    @strawberry.field
    def odd_leaves(self) -> list[Item]:  # values the fast path must leave to the type's own coercion
        return [_item(name=True), _item(name=7, colour="red"), _item(name=Label("étiquette")), _item(count=True)]

    @strawberry.field
    def lazy(self) -> Box:  # a generator where a list is expected: read once, by the general path
        return Box(items=(_item(str(n)) for n in range(3)), required=_item())  # type: ignore[arg-type]


QUERIES = [
    "{ good { items { name note colour on count shout } required { name } } }",
    "{ good { items { n: name name ...F } } } fragment F on Item { colour on }",
    "{ nullInNonNull { items { name note } required { name } } good { required { count } } }",
    "{ nullRequired { required { name } } good { items { count } } }",
    "{ badEnum { name colour } }",
    "{ badInt { count name } }",
    "{ good { items { __typename name } } }",
    "{ shelf { label boxes { required { name colour } items { name count } } } }",
    "{ shelf { boxes { ... on Box { required { name } } } } good { required { on } } }",
    "{ lazy { items { name } required { name } } }",
    "{ oddLeaves { name colour count } }",
]


def _answer(result: strawberry.types.ExecutionResult) -> tuple:
    errors = sorted((e.message, tuple(e.path or ()), tuple((loc.line, loc.column) for loc in e.locations or ()))
                    for e in result.errors or [])
    return result.data, errors


def _cached_schema() -> PortailSchema:
    """As served: documents parsed once (schema.DocumentCache), so plans are kept across requests."""
    from schema import DocumentCache, DocumentLRU

    documents = DocumentLRU()
    return PortailSchema(query=Query, extensions=[lambda: DocumentCache(documents)])


@pytest.mark.parametrize("query", QUERIES)
async def test_same_answer_as_the_general_path(query):
    fast, cached = PortailSchema(query=Query), _cached_schema()
    general = strawberry.Schema(query=Query)
    assert general.execution_context_class is not fast.execution_context_class
    expected = _answer(await general.execute(query))
    assert _answer(await fast.execute(query)) == expected
    for _ in range(3):  # the same document again: the plans made by the first request are reused
        assert _answer(await cached.execute(query)) == expected


async def test_plans_are_kept_across_requests_only_when_the_selection_cannot_vary():
    cached, general = _cached_schema(), strawberry.Schema(query=Query)
    plain = "{ good { items { name colour } required { name } } }"
    for _ in range(2):
        assert _answer(await cached.execute(plain)) == _answer(await general.execute(plain))
    assert cached._schema.__dict__["_portail_shared_plans"], "the plans of a cached document are kept"
    query = "query($full: Boolean!) { good { items { name note @include(if: $full) colour @skip(if: $full) } } }"
    for full in (True, False, True):  # same document, other variables: other fields
        got = _answer(await cached.execute(query, variable_values={"full": full}))
        assert got == _answer(await general.execute(query, variable_values={"full": full}))
        assert ("note" in got[0]["good"]["items"][0]) is full and ("colour" in got[0]["good"]["items"][0]) is not full


async def test_errors_of_leaf_fields_are_located():
    result = await PortailSchema(query=Query).execute("{ nullInNonNull { items { name } } badEnum { colour } }")
    data, errors = _answer(result)
    assert data == {"nullInNonNull": None, "badEnum": None}
    assert [(m.split(" ")[0], path) for m, path, _ in errors] == [
        ("Cannot", ("nullInNonNull", "items", 1, "name")), ("Enum", ("badEnum", "colour"))]
