"""The plugin system: a plugin written elsewhere adds a type, a query and a mutation without any change
in core; a misspelt hook fails at start-up; a plugin that is off leaves no trace in the schema."""


from dataclasses import replace
from types import SimpleNamespace

import httpx
import pytest
import strawberry
from strawberry.types import Info

from core.app import create_app
from core.contributions import DocumentType, GraphQLContribution
from core.errors import ValidationError
from core.graphql_support import actor
from core.hookspecs import hookimpl
from core.households.models import Child
from core.permissions import own_household_id, require_confirmed
from core.plugins import PluginConfigError, PluginHookError, load_plugins
from schema import build_schema, export_sdl
from tests.conftest import make_family
from tests.helpers import GraphQLClient


def make_library_plugin() -> SimpleNamespace:
    """A médiathèque plugin as a third party would write it: its own types, query, mutation."""
    loans: dict[int, list[str]] = {}

    @strawberry.type
    class LibraryCard:
        child_first_name: str
        card_number: str
        loans: list[str]

    async def _own_child(info: Info, child_id: strawberry.ID) -> Child:
        household_id = own_household_id(actor(info))
        child = await Child.get_or_none(id=int(child_id), household_id=household_id)
        if child is None:
            from core.errors import NotFound

            raise NotFound("enfant")
        return child

    @strawberry.type
    class LibraryQuery:
        @strawberry.field
        async def library_cards(self, info: Info) -> list[LibraryCard]:
            household_id = own_household_id(actor(info))
            children = await Child.filter(household_id=household_id).order_by("id")
            return [LibraryCard(child_first_name=c.first_name, card_number=f"MED-{c.id:06d}",
                                loans=loans.get(c.id, [])) for c in children]

    @strawberry.type
    class LibraryMutation:
        @strawberry.mutation
        async def borrow_book(self, info: Info, child_id: strawberry.ID, title: str) -> LibraryCard:
            require_confirmed(actor(info))
            if not title.strip():
                raise ValidationError("Titre obligatoire.", code="REQUIRED", field="title")
            child = await _own_child(info, child_id)
            loans.setdefault(child.id, []).append(title.strip())
            return LibraryCard(child_first_name=child.first_name, card_number=f"MED-{child.id:06d}",
                               loans=loans[child.id])

    @hookimpl
    def portail_graphql() -> GraphQLContribution:
        return GraphQLContribution(query=LibraryQuery, mutation=LibraryMutation)

    @hookimpl
    def portail_document_types(settings) -> list[DocumentType]:
        return [DocumentType(code="carte_mediatheque", label="Autorisation médiathèque", scope="child",
                             required_by=("mediatheque",))]

    return SimpleNamespace(portail_graphql=portail_graphql, portail_document_types=portail_document_types)


@pytest.fixture
async def library_client(host):
    host.register(make_library_plugin(), "mediatheque")
    try:
        app = create_app(host, manage_db=False, background=False)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
        async with httpx.AsyncClient(transport=transport, base_url="http://portail.test") as http:
            yield GraphQLClient(http)
    finally:
        host.unregister("mediatheque")


async def test_third_party_plugin_adds_type_query_and_mutation(library_client, host):
    user, _, children = await make_family(children=2)
    client = await library_client.as_user(user)
    data = await client.ok("{ libraryCards { childFirstName cardNumber loans } }")
    assert [c["childFirstName"] for c in data["libraryCards"]] == ["Enfant1", "Enfant2"]
    q = "mutation($c: ID!, $t: String!) { borrowBook(childId: $c, title: $t) { loans } }"
    assert (await client.ok(q, c=str(children[0].id), t="Le Petit Prince"))["borrowBook"]["loans"] == ["Le Petit Prince"]
    # the plugin's errors get the same treatment as core's
    assert (await client.error(q, c=str(children[0].id), t="  "))["extensions"] == {"code": "REQUIRED", "field": "title"}
    other, _, other_children = await make_family("autre@example.org")
    assert await client.code(q, c=str(other_children[0].id), t="X") == "NOT_FOUND"
    # and its document type reaches core
    assert "carte_mediatheque" in {t.code for t in host.document_types()}


async def test_unregistered_plugin_leaves_no_trace(host):
    assert "libraryCards" not in export_sdl(host)
    assert "carte_mediatheque" not in {t.code for t in host.document_types()}


def test_misspelt_hook_fails_at_start_up(host):
    class Broken:
        @hookimpl
        def portail_modls(self):  # typo: not a hook
            return {}

    with pytest.raises(PluginHookError) as refused:
        host.register(Broken(), "broken")
    assert refused.value.lines == ["plugin « broken » : le hook « portail_modls » n'existe pas (voulez-vous dire "
                                   "« portail_models » ?) ; liste des hooks : core/hookspecs.py"]
    assert "broken" not in host.plugin_names()


def test_enabled_plugin_with_a_misspelt_hook_stops_the_start_up(settings):
    """At start-up (bootstrap, every command, the server), in one French line per mistake."""

    class Cantine:
        @hookimpl
        def portail_alert(self, actor, household_id):  # typo: portail_alerts
            return []

        @hookimpl
        def portail_invoice_lines(self, period, households):  # the hook passes household_ids
            return []

        def portail_household_services(self, household_ids):  # @hookimpl forgotten: never called
            return {}

    with pytest.raises(PluginConfigError) as refused:
        load_plugins(replace(settings, enabled_plugins=("creche", "cantine")), extra={"cantine": Cantine()})
    assert refused.value.lines == [
        "plugin « cantine » : le hook « portail_alert » n'existe pas (voulez-vous dire « portail_alerts » ?) ; "
        "liste des hooks : core/hookspecs.py",
        "plugin « cantine » : « portail_household_services » n'est pas marqué @hookimpl, il ne serait jamais appelé",
        "plugin « cantine » : hook « portail_invoice_lines » : argument(s) inconnu(s) households "
        "(le hook fournit : period, household_ids)",
    ]


def test_unknown_plugin_in_config_is_refused(settings):
    with pytest.raises(PluginConfigError, match="non installé"):
        load_plugins(replace(settings, enabled_plugins=("bibliotheque",)))


def test_plugin_that_is_off_leaves_nothing_in_schema_or_models(settings):
    only_creche = load_plugins(replace(settings, enabled_plugins=("creche",)))
    apps = only_creche.tortoise_apps()
    assert set(apps) == {"core", "creche"}
    everything = load_plugins(settings)
    assert set(everything.tortoise_apps()) == {"core", "creche", "alsh_paj", "prelevement", "messagerie"}
    sdl_creche = build_schema(only_creche).as_str()
    sdl_all = build_schema(everything).as_str()
    for prefix in ("Alsh", "Prelevement", "MessagerieThread"):
        assert f"type {prefix}" in sdl_all
        assert f"type {prefix}" not in sdl_creche
    assert "type Creche" in sdl_creche
