"""The plugin author's reference: every hook a service plugin may implement.

A plugin is a module (or object) whose functions are decorated with `@hookimpl` and named like the
specs below. Built-in plugins are registered exactly like third-party ones, through the
`portail.plugins` entry point group, and the community's `[plugins] enabled` list chooses which are on.
Core itself is registered the same way (`core.plugin`), always on.

Hooks marked *async* may be written `async def`; the host awaits them. All other hooks are sync.
Foreign keys point from a plugin to core, never back: a plugin reads core models, core never
imports a plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from datetime import date

    from pydantic import BaseModel

    from core.billing.types import BillingPeriod, InvoiceLineDraft
    from core.config import Settings
    from core.contributions import (
        Alert,
        DemarcheType,
        DocumentType,
        DownloadHandler,
        GraphQLContribution,
    )
    from core.permissions import Actor
    from core.rgpd.rules import RetentionPolicy

PROJECT = "portail"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def portail_models() -> dict[str, list[str]]:
    """Tortoise apps of the plugin: `{app_label: [models_module, ...]}`.

    Each app ships its migrations in `<package>/migrations`; `portail db migrate` applies the
    migrations of enabled apps only, so a plugin that is off creates no table.
    """


@hookspec
def portail_graphql() -> GraphQLContribution | list[GraphQLContribution]:
    """Query, mutation and subscription fields the plugin adds to the schema.

    Return `GraphQLContribution(query=MyQuery, mutation=MyMutation, subscription=...)`, each a
    `@strawberry.type` class; core merges them into the root types before building the schema.
    Keep resolvers thin: they call `service.py`.
    """


@hookspec
def portail_template_dirs() -> dict[str, str]:
    """`{prefix: folder}` of Jinja templates (mail and PDF), used as `"<prefix>/<name>"`."""


@hookspec
def portail_document_types(settings: Settings) -> list[DocumentType]:
    """Document types the plugin adds, with the services that require each one."""


@hookspec
async def portail_document_requirements(household_id: int, child_ids: list[int]) -> set[tuple[str, int | None]]:
    """*async* Where the plugin's CONDITIONAL document types are required, for one household.

    A `DocumentType(..., conditional=True)` is required only where its plugin says so, not for every
    child: return `{(type_code, child_id)}` (`child_id` None for a household-scoped type) among the
    household's `child_ids`. Core uses the answer everywhere a requirement matters: the family's
    requirements list, the home alert and `missing_documents(...)` (the prerequisite checks). Types
    without `conditional` keep the plain rule (every child, or the household). Example (cantine)::

        @hookimpl
        async def portail_document_requirements(household_id, child_ids):
            allergic = await CantineRegistration.filter(child_id__in=child_ids, allergy=True)
            return {("attestation_allergie", r.child_id) for r in allergic}
    """


@hookspec
def portail_services() -> dict[str, str]:
    """`{service code: French label}` of the services the plugin runs (« Restauration scolaire »).

    The label is what families read in « N document(s) à transmettre pour : <label> » and in the
    requirements list; the code is what `required_by`, `portail_household_services` and agents'
    services use. An agent may be given a plugin's code without any `[[services]]` entry
    (`portail create-staff ... --service cantine`); a `[[services]]` entry with the same code wins
    (its `name` is then the label, and it can carry a phone, an address, a régie).
    """


@hookspec
def portail_type_fields() -> dict[type | str, type]:
    """Fields the plugin adds to CORE types: `{core type: @strawberry.type class}`.

    The key is the core Strawberry class (`core.households.graphql.HouseholdChild`, GraphQL `Child`:
    the class survives a rename of the GraphQL name) or its GraphQL type name.

    Every field of the class is added to the core type of that name when the schema is built (each
    schema gets its own copy: nothing is changed in core's classes). A resolver receives the core
    object as `self` (for `Child`: the core `Child` GraphQL object, its Tortoise row in `self.model`).
    Name each field with the plugin's prefix (`cantineRegistration`) and give it a description;
    an unknown type name or a field name already taken fails the schema build.
    """


@hookspec
def portail_demarche_types(settings: Settings) -> list[DemarcheType]:
    """Démarche types (requests to the administration) the plugin adds, with their fields."""


@hookspec
def portail_downloads() -> dict[str, DownloadHandler]:
    """File kinds served at `/files/<kind>/<id>`: `{kind: async handler(actor, id) -> FileDownload}`.

    The handler checks permissions itself (through `core.permissions`) and raises `NotFound` when
    the caller may not see the file.
    """


@hookspec
async def portail_invoice_lines(period: BillingPeriod, household_ids: list[int]) -> list[InvoiceLineDraft]:
    """*async* The plugin's invoice lines for a billing period, for a batch of households.

    Called once per batch (not per household): load what you need with a few queries. Each line
    names its household, its régie and a `source_key` that is stable across runs, so a second
    billing run for the same period creates nothing new.
    """


@hookspec
async def portail_household_services(household_ids: list[int]) -> dict[int, set[str]]:
    """*async* Which of the community's service codes each household USES through this plugin.

    Return `{household_id: {service_code, ...}}` for the given batch (households absent from the
    answer use none of the plugin's services), in a few queries whatever the batch size. A household
    uses a service when it has a request, contract, booking, thread… with it. This feeds the one
    need-to-know rule of `core.permissions`: an agent sees a household's documents, medical data,
    contracts, bookings, invoices and messages only for the services it uses; admins see all.
    """


@hookspec
async def portail_alerts(actor: Actor, household_id: int) -> list[Alert]:
    """*async* Home-page alerts of a household ("vous avez N alertes"): unread items, to-dos."""


@hookspec
async def portail_rgpd_export(household_id: int) -> dict[str, Any]:
    """*async* The plugin's share of a household's personal data, as JSON-able data (RGPD access).

    The host files it under the plugin's name (`{"core": {...}, "creche": {...}}`), so two plugins
    may use the same keys. Include every model of the plugin that leads to a household:
    `core.rgpd.walk.export_tables(app_label, household_id)` dumps them all, and
    tests/core/test_rgpd_walk.py fails for a household model missing from the export.
    """


@hookspec
async def portail_rgpd_erasure_blockers(household_id: int) -> list[str]:
    """*async* Why the household cannot be erased yet, in French, one reason a line (empty: nothing).

    Erasure is refused (`ERASURE_BLOCKED`) while the household owes money or holds a live
    commitment: an unpaid invoice, a contract running, a SEPA mandate in force. Erasing then would
    destroy what the comptable public needs to recover the debt (RGPD art. 17.3.b and e).
    """


@hookspec
async def portail_rgpd_erase(household_id: int) -> None:
    """*async* Erase or anonymise the plugin's personal data of a household (RGPD erasure).

    Keep what the law requires to keep (accounting documents, signed SEPA mandates), stripped of
    what it does not; `portail_rgpd_retention` purges it when its retention ends. Plugins run before
    core; a stored file still referenced by a plugin's row is kept by core.
    """


@hookspec
async def portail_rgpd_retention(policy: RetentionPolicy, today: date, dry_run: bool) -> dict[str, int]:
    """*async* Purge the plugin's data past its retention period: `{category: count}`.

    `policy` is the community's `[rgpd]` durations (core/rgpd/rules.py, table in docs/rgpd.md);
    `today` is the Paris date of the run (tests pass a fixed one). With `dry_run` count what would
    go and change nothing. Counts only, never personal data: the result is logged and printed.
    Called by the maintenance run (plugins first, core last) and by `portail rgpd retention`;
    it must be idempotent.
    """


@hookspec
async def portail_demo_data(settings: Settings, today: date) -> None:
    """*async* Load the plugin's demo data; core's demo households already exist."""


@hookspec
async def portail_maintenance(today: date) -> dict[str, int]:
    """*async* Periodic housekeeping (expire stale requests, lapse old mandates…): `{what: count}`.

    Run once per hour across the cluster (whichever server process takes the `core_lease` row) and
    by `portail maintenance`, never twice at once; keep it idempotent all the same (a run killed
    halfway is run again).
    """


@hookspec
def portail_startup(settings: Settings) -> None:
    """Check the plugin's configuration at start-up (also run by `portail config check`).

    Raise `core.config.ConfigError` (or `ValueError`) with a one-line French message to refuse it.
    """


@hookspec
def portail_config_model() -> type[BaseModel]:
    """The pydantic model of the plugin's `[plugin.<name>]` table (use `extra="forbid"`).

    The host validates the table with it when the plugin is loaded (values from the environment,
    `PORTAIL_PLUGIN__<NAME>__<KEY>`, are typed by it too), names every unknown key or bad value in
    one line, and `settings.plugin_config(name)` then returns the validated values.
    """


@hookspec
def portail_error_codes() -> dict[str, str]:
    """`{CODE: meaning}`: every error code the plugin raises (`PortailError(code=...)`), in English for
    front-end developers. They all go into the schema's `ErrorCode` enum; a code raised by the code
    base and listed by no plugin fails the project's tests (and `portail schema check`)."""
