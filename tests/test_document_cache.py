"""The parsed / validated document cache: a repeated document is neither parsed nor validated
again, and the security limits still refuse what they refused, hit or miss."""

from __future__ import annotations

from dataclasses import replace

import graphql
import pytest

from tests.conftest import make_family


@pytest.fixture
def counted(monkeypatch):
    """Counts graphql-core's parse and validate calls made by Strawberry."""
    import strawberry.schema.schema as strawberry_schema

    calls = {"parse": 0, "validate": 0}
    parse, validate = strawberry_schema.parse, strawberry_schema.validate

    def counting_parse(*args, **kwargs):
        calls["parse"] += 1
        return parse(*args, **kwargs)

    def counting_validate(*args, **kwargs):
        calls["validate"] += 1
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "parse", counting_parse)
    monkeypatch.setattr(strawberry_schema, "validate", counting_validate)
    return calls


async def test_second_identical_request_is_not_parsed_again(gql, counted):
    user, _household, _kids = await make_family()
    client = await gql.as_user(user)
    query = "query Home { me { email } home { actionCount } }"
    first = await client.execute(query)
    assert first["data"]["me"]["email"] == user.email
    assert counted == {"parse": 1, "validate": 1}
    second = await client.execute(query)
    assert second == first
    assert counted == {"parse": 1, "validate": 1}  # served from the cache
    # Another document text is a miss: parsed and validated.
    await client.execute("query Home { me { email } }")
    assert counted == {"parse": 2, "validate": 2}


async def test_limits_refuse_on_a_miss_and_on_a_hit(settings, counted):
    from core.plugins import load_plugins
    from schema import build_schema

    shallow = replace(settings, security=replace(settings.security, graphql_max_depth=1,
                                                 graphql_max_tokens=40))
    schema = build_schema(load_plugins(shallow))
    deep = "{ me { household { name } } }"
    for _ in range(2):  # miss, then hit: refused both times
        result = await schema.execute(deep)
        assert result.errors and "exceeds maximum operation depth" in result.errors[0].message
        assert result.data is None
    assert counted["validate"] == 1
    assert (await schema.execute("{ __typename }")).errors is None
    # The token limit is a parse option: a document over it is never cached, refused every time.
    long = "{ " + " ".join(["__typename"] * 60) + " }"
    for _ in range(2):
        result = await schema.execute(long)
        assert result.errors and "token" in result.errors[0].message.lower()
    # A document that does not parse is refused every time (and never cached).
    for _ in range(2):
        result = await schema.execute("{ me { ")
        assert result.errors and isinstance(result.errors[0], graphql.GraphQLError)


async def test_cache_is_bounded(settings):
    from core.plugins import load_plugins
    from schema import build_schema

    schema = build_schema(load_plugins(settings))
    cache = schema.document_cache
    cache.maxsize = 4
    for i in range(10):
        assert (await schema.execute(f"query Q{i} {{ __typename }}")).errors is None
    assert len(cache._items) <= 4
