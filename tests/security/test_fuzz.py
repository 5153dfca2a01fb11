"""A bounded schemathesis run (GraphQL mode) over every query and mutation, as a family and as an agent:
whatever the arguments, the answer is data or a coded error, never INTERNAL_SERVER_ERROR nor a 500.

Bounded and reproducible: a few derandomized examples per operation (`MAX_EXAMPLES`), generated once
and sent through the real app over HTTP with a fresh session per request (a generated `logout` must
not end the run as anonymous). Ids are drawn mostly from the ones that exist, so resolvers run past
their lookups."""

from __future__ import annotations

import functools

import graphql
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.config import get_settings
from core.plugins import get_host
from schema import export_sdl
from tests.conftest import make_family, make_staff, session_token

MAX_EXAMPLES = 3


@functools.cache
def generated_cases() -> tuple[tuple[str, str], ...]:
    """(operation label, query) pairs for every query and mutation of the schema being served."""
    import schemathesis
    from schemathesis.graphql import nodes

    ids = st.one_of(st.integers(1, 6).map(str), st.sampled_from(["", "0", "-1", "x", str(2**64)]))
    schemathesis.graphql.scalar("ID", ids.map(nodes.String))
    schemathesis.graphql.scalar("Decimal", st.decimals(-10**6, 10**6, places=2, allow_nan=False).map(str).map(nodes.String))
    text = st.text(max_size=20)
    schemathesis.graphql.scalar("JSON", st.dictionaries(st.sampled_from(["a", "date", "motif", "nouvelleAdresse"]),
                                                        text, max_size=3).map(
        lambda d: nodes.Object([_field(k, nodes.String(v)) for k, v in d.items()])))
    schemathesis.graphql.scalar("Upload", st.just(nodes.Null))
    schemathesis.graphql.scalar("YearMonth", st.one_of(
        st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(1900, 2100), st.integers(1, 12)),
        st.sampled_from(["", "2026-13", "2026-9", "x"])).map(nodes.String))
    schema = schemathesis.graphql.from_file(export_sdl(get_host()))
    cases: list[tuple[str, str]] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label.startswith("Subscription."):
            continue

        @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def collect(case) -> None:
            cases.append((case.operation.label, case.body if isinstance(case.body, str) else case.body["query"]))

        collect()
    return tuple(cases)


def _field(name: str, value):
    import graphql

    return graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value)


async def run_all(http, user) -> tuple[int, list[str]]:
    answered, failures = 0, []
    for label, query in generated_cases():
        token = await session_token(user)
        response = await http.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
        if response.status_code >= 500:
            failures.append(f"{label}: HTTP {response.status_code}\n{query}")
            continue
        body = response.json()
        codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
        if "INTERNAL_SERVER_ERROR" in codes:
            failures.append(f"{label}: INTERNAL_SERVER_ERROR\n{query}")
        elif set(codes) <= {"INVALID_PAGE"}:  # a random limit / offset refused by the resolver's page check
            answered += 1
    return answered, failures


async def populated() -> tuple:
    family, household, _ = await make_family()
    await make_family("autre@example.org", name="MARTIN")
    agent = await make_staff(services=[s.code for s in get_settings().services])
    return family, agent


async def test_fuzz_as_a_family(http):
    family, _ = await populated()
    answered, failures = await run_all(http, family)
    assert not failures, "\n\n".join(failures[:10]) + f"\n\n({len(failures)} in all)"
    assert answered > 60  # the run reached the resolvers, not only validation


async def test_fuzz_as_an_agent(http):
    _, agent = await populated()
    answered, failures = await run_all(http, agent)
    assert not failures, "\n\n".join(failures[:10]) + f"\n\n({len(failures)} in all)"
    assert answered > 60


def test_every_operation_is_generated():
    labels = {label for label, _ in generated_cases()}
    schema = graphql.build_schema(export_sdl(get_host()))
    expected = {f"{root.name}.{name}" for root in (schema.query_type, schema.mutation_type) for name in root.fields}
    assert labels == expected, expected - labels
