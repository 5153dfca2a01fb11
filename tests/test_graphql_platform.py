"""Platform behaviour every client relies on: limits, error codes, GraphiQL, health, no 500."""

from __future__ import annotations

from tests.conftest import make_family


async def test_depth_limit(settings):
    from dataclasses import replace

    from core.plugins import load_plugins
    from schema import build_schema

    shallow = replace(settings, security=replace(settings.security, graphql_max_depth=0))
    schema = build_schema(load_plugins(shallow))
    result = await schema.execute("{ me { email } }")
    assert result.errors and "exceeds maximum operation depth" in result.errors[0].message
    assert (await schema.execute("{ __typename }")).errors is None


async def test_alias_limit(gql, settings):
    many = "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(settings.security.graphql_max_aliases + 1)) + " }"
    result = await gql.execute(many)
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_token_limit(gql, settings):
    huge = "{ " + " ".join(["me { email }"] * (settings.security.graphql_max_tokens // 3)) + " }"
    result = await gql.execute(huge)
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_unauthenticated_error_code(gql):
    q = "mutation { changePassword(currentPassword: \"a\", newPassword: \"b\") { ok } }"
    assert await gql.code(q) == "UNAUTHENTICATED"


async def test_unknown_field_is_a_validation_error_not_a_500(http):
    response = await http.post("/graphql", json={"query": "{ nope }"})
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_internal_errors_are_masked(gql, monkeypatch):
    from core.accounts import service

    async def boom(*args, **kwargs):
        raise RuntimeError("secret database detail")

    monkeypatch.setattr(service, "request_password_reset", boom)
    error = await gql.error('mutation { requestPasswordReset(email: "a@b.fr") { ok } }')
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in error["message"]


async def test_graphiql_health_and_plugin_list(http):
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert (await http.get("/health")).json()["status"] == "ready"
    plugins = (await http.get("/-/plugins.json")).json()
    assert set(plugins["enabled"]) == {"creche", "alsh_paj", "prelevement", "messagerie"}


async def test_unknown_download_kind_is_404(http):
    assert (await http.get("/files/nope/1")).status_code == 404


async def test_admin_sees_outbox_family_does_not(gql):
    from tests.conftest import make_staff

    user, _, _ = await make_family()
    assert await (await gql.as_user(user)).code("{ outbox { items { to } } }") == "FORBIDDEN"
    admin = await make_staff("admin@example.org", role="admin")
    await gql.ok('mutation { requestPasswordReset(email: "famille@example.org") { ok } }')
    outbox = (await (await gql.as_user(admin)).ok("{ outbox { items { to subject } } }"))["outbox"]["items"]
    assert outbox[0]["to"] == "famille@example.org"
