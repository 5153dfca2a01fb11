"""What core offers a third-party plugin (issue 13, point 4), through a plugin written outside core
(tests/ludotheque_plugin.py): requirements decided per child by the plugin, the plugin's own service
label and agents of that service, a field on a core type composed per schema, the SDL exported and
checked with any plugin set, RGPD data filed (and erased) per plugin."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from core import templating
from core.accounts.service import create_staff
from core.config import activate, get_settings
from core.documents.service import document_requirements, missing_documents
from core.errors import ValidationError
from core.home.service import core_alerts
from core.hookspecs import hookimpl
from core.permissions import Actor
from core.plugins import activate_host, get_host, load_plugins
from core.testing import make_family
from schema import build_schema, export_sdl
from tests import ludotheque_plugin

CHILD_LOANS = "{ myHousehold { children { firstName ludothequeLoans } } }"


@pytest.fixture
def ludotheque(host):
    host.register(ludotheque_plugin, "ludotheque")
    try:
        yield ludotheque_plugin.BORROWERS
    finally:
        host.unregister("ludotheque")
        ludotheque_plugin.BORROWERS.clear()


async def test_a_conditional_document_is_required_only_where_its_plugin_says(ludotheque, gql):
    user, household, (kid1, kid2) = await make_family(children=2)
    # Nobody borrows: nothing asked, nowhere (list, home alert, prerequisite check).
    assert await missing_documents(household.id, "ludotheque") == []
    assert not [a for a in await core_alerts(household.id) if "Ludothèque" in a.message]
    ludotheque[kid2.id] = 3
    missing = await missing_documents(household.id, "ludotheque")
    assert [(m.type_code, m.child_id, m.status) for m in missing] == [("caution_ludotheque", kid2.id, "missing")]
    assert await missing_documents(household.id, "ludotheque", kid1.id) == []
    [row] = await document_requirements(Actor(user=user), "ludotheque")
    assert (row["label"], [m.child_id for m in row["missing"]]) == ("Ludothèque intercommunale", [kid2.id])
    client = await gql.as_user(user)
    alerts = (await client.ok("{ home { alerts { message count } } }"))["home"]["alerts"]
    # the plugin's own label, not its code
    assert {"message": "1 document(s) à transmettre pour : Ludothèque intercommunale", "count": 1} in alerts
    # the shipped plugins keep requiring their documents of every child
    assert {m.child_id for m in await missing_documents(household.id, "creche")} >= {kid1.id, kid2.id}


async def test_an_agent_of_a_plugin_service_needs_no_services_entry(ludotheque, host):
    assert get_settings().service("ludotheque") is None
    agent = await create_staff("ludo@example.org", "motdepasse-solide-42", "Lou", "DO", "agent", ["ludotheque"])
    assert agent.services == ["ludotheque"]
    with pytest.raises(ValidationError) as refused:
        await create_staff("x@example.org", "motdepasse-solide-42", "X", "Y", "agent", ["ludotek"])
    assert refused.value.code == "UNKNOWN_SERVICE" and "ludotheque" in refused.value.message


async def test_a_plugin_field_on_a_core_type_lives_in_its_schema_only(ludotheque, host, gql):
    with_plugin = export_sdl(host)
    assert "ludothequeLoans: Int!" in with_plugin
    user, _, (kid1, kid2) = await make_family(children=2)
    ludotheque[kid1.id] = 2
    import httpx

    from core.app import create_app
    from core.testing import GraphQLClient

    transport = httpx.ASGITransport(app=create_app(host, manage_db=False, background=False), client=("127.0.0.1", 40002))
    async with httpx.AsyncClient(transport=transport, base_url="http://portail.test") as http:
        client = await GraphQLClient(http).as_user(user)
        children = (await client.ok(CHILD_LOANS))["myHousehold"]["children"]
    assert sorted((c["firstName"], c["ludothequeLoans"]) for c in children) == [("Enfant1", 2), ("Enfant2", 0)]
    host.unregister("ludotheque")
    # core's class was not changed: a schema built without the plugin has no such field
    assert "ludothequeLoans" not in export_sdl(host)
    assert (await (await gql.as_user(user)).error(CHILD_LOANS))["message"].startswith("Cannot query field")


def test_plugin_field_on_an_unknown_type_or_a_taken_name_fails_the_build(host):
    @hookimpl
    def portail_type_fields():
        return {"Enfant": ludotheque_plugin.ChildLudotheque}

    host.register(SimpleNamespace(portail_type_fields=portail_type_fields), "mauvais")
    try:
        with pytest.raises(TypeError, match="Enfant"):
            build_schema(host)
    finally:
        host.unregister("mauvais")
    host.register(ludotheque_plugin, "ludotheque")
    host.register(SimpleNamespace(portail_type_fields=ludotheque_plugin.portail_type_fields), "ludotheque_bis")
    try:
        with pytest.raises(TypeError, match="ludothequeLoans existe déjà"):
            build_schema(host)
    finally:
        host.unregister("ludotheque")
        host.unregister("ludotheque_bis")


def test_a_plugin_field_must_carry_the_plugin_prefix(host):
    from schema.checks import iter_problems

    host.register(ludotheque_plugin, "jeux")
    try:
        problems = [line for area, line in iter_problems(build_schema(host)) if area == "jeux"]
    finally:
        host.unregister("jeux")
    assert [p for p in problems if p.endswith(".ludothequeLoans: a field jeux adds to a core type starts with jeux")]


@pytest.fixture
def cli_with_ludotheque(monkeypatch, host, settings):
    """The `portail` CLI of a community that installed the ludothèque plugin (its entry point faked)."""
    import core.plugins
    from core.cli import app

    installed = core.plugins.available_plugins()
    monkeypatch.setattr(core.plugins, "available_plugins", lambda: {**installed, "ludotheque": "tests.ludotheque_plugin"})
    yield lambda *args, plugins="creche,ludotheque": CliRunner().invoke(app, list(args), env={
        "PORTAIL_PLUGINS": plugins, "PORTAIL_CONFIG": ""})
    activate(settings)
    activate_host(host)
    templating.configure(host.template_dirs())


def test_schema_export_and_check_with_a_third_party_plugin(cli_with_ludotheque, tmp_path):
    refused = cli_with_ludotheque("schema", "export")
    assert refused.exit_code == 2 and "--output" in refused.output  # core's SDL holds the shipped plugins only
    sdl = tmp_path / "ludotheque.graphql"
    assert cli_with_ludotheque("schema", "export", "--output", str(sdl)).exit_code == 0
    assert "ludothequeLoans" in sdl.read_text() and "type CrecheContract" in sdl.read_text()
    assert cli_with_ludotheque("schema", "check", "--sdl", str(sdl)).exit_code == 0
    # the same file no longer matches a community without crèches
    stale = cli_with_ludotheque("schema", "check", "--sdl", str(sdl), plugins="ludotheque")
    assert stale.exit_code == 1 and "-type CrecheContract" in stale.output
    assert cli_with_ludotheque("schema", "check").exit_code == 2


async def test_rgpd_data_of_two_plugins_using_the_same_keys_is_exported_and_erased_per_plugin(host, gql):
    from core.accounts.models import Role
    from core.testing import make_staff

    user, household, _ = await make_family()
    erased: list[str] = []

    def plugin(name: str) -> SimpleNamespace:
        @hookimpl
        async def portail_rgpd_export(household_id: int) -> dict:
            return {"registrations": [f"{name}-{household_id}"]}

        @hookimpl
        async def portail_rgpd_erase(household_id: int) -> None:
            erased.append(f"{name}-{household_id}")

        return SimpleNamespace(portail_rgpd_export=portail_rgpd_export, portail_rgpd_erase=portail_rgpd_erase)

    host.register(plugin("piscine"), "piscine")
    host.register(plugin("musique"), "musique")
    try:
        export = (await (await gql.as_user(user)).ok("{ personalDataExport }"))["personalDataExport"]
        admin = await make_staff("admin@example.org", role=Role.ADMIN)
        await (await gql.as_user(admin)).ok("mutation($h: ID!) { eraseHousehold(householdId: $h) { ok } }",
                                            h=str(household.id))
    finally:
        host.unregister("piscine")
        host.unregister("musique")
    assert export["piscine"] == {"registrations": [f"piscine-{household.id}"]}
    assert export["musique"] == {"registrations": [f"musique-{household.id}"]}
    assert sorted(erased) == [f"musique-{household.id}", f"piscine-{household.id}"]


def test_shipped_plugins_supply_their_service_labels(settings):
    host = load_plugins(replace(settings, enabled_plugins=("creche", "alsh_paj")))
    assert host.services() == {"creche": "Crèches (petite enfance)", "alsh_paj": "ALSH et Point Accueil Jeunes"}
    activate_host(get_host())


def test_schema_check_names_the_convention_breaks_of_a_third_party_plugin(cli_with_ludotheque, tmp_path, monkeypatch):
    """`portail schema check` runs docs/graphql.md on the community's plugin set: a field without a
    description, or an error code raised but not declared, is one line naming the plugin."""
    import tests.ludotheque_plugin as ludotheque

    sdl = tmp_path / "ludotheque.graphql"
    assert cli_with_ludotheque("schema", "export", "--output", str(sdl)).exit_code == 0
    ok = cli_with_ludotheque("schema", "check", "--sdl", str(sdl))
    assert ok.exit_code == 0 and "Conventions GraphQL respectées" in ok.output

    field = ludotheque.ChildLudotheque.__strawberry_definition__.fields[0]
    monkeypatch.setattr(field, "description", None)
    assert cli_with_ludotheque("schema", "export", "--output", str(sdl)).exit_code == 0
    broken = cli_with_ludotheque("schema", "check", "--sdl", str(sdl))
    assert broken.exit_code == 1
    assert "ludotheque: field Child.ludothequeLoans: no description" in broken.output
