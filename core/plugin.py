"""Core registered as a plugin (always on), exactly like the service plugins.

Each core area (accounts, households, documents, démarches, news, home, billing, mail, rgpd) keeps the
plugin file shape: `models.py`, `rules.py`, `service.py`, `graphql.py`. Its `graphql.py` exports
`contribution` (a GraphQLContribution) and may export `downloads` (`{kind: handler}`).
"""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path
from types import ModuleType

from core.config import Settings
from core.contributions import DemarcheType, DocumentType, DownloadHandler, GraphQLContribution
from core.hookspecs import hookimpl
from core.rgpd.rules import RetentionPolicy

AREAS = ("accounts", "households", "documents", "demarches", "news", "home", "billing", "mail", "rgpd")
MODEL_MODULES = [f"core.{area}.models" for area in
                 ("accounts", "households", "files", "documents", "demarches", "news", "billing", "mail", "ops")]


# GraphQL modules of a part of an area, registered like the areas' own (the PES export of billing).
EXTRA_GRAPHQL_MODULES = ("core.billing.pes_graphql",)


def _graphql_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in
            (*(f"core.{area}.graphql" for area in AREAS), *EXTRA_GRAPHQL_MODULES)]


@hookimpl
def portail_models() -> dict[str, list[str]]:
    return {"core": MODEL_MODULES}


@hookimpl
def portail_graphql() -> list[GraphQLContribution]:
    return [m.contribution for m in _graphql_modules()]


@hookimpl
def portail_downloads() -> dict[str, DownloadHandler]:
    handlers: dict[str, DownloadHandler] = {}
    for module in _graphql_modules():
        handlers.update(getattr(module, "downloads", {}))
    return handlers


@hookimpl
def portail_error_codes() -> dict[str, str]:
    from core.errors import ERROR_CODES

    return ERROR_CODES


@hookimpl
def portail_template_dirs() -> dict[str, str]:
    return {"core": str(Path(__file__).with_name("templates"))}


@hookimpl
def portail_document_types(settings: Settings) -> list[DocumentType]:
    return [DocumentType(code=c.code, label=c.label, scope=c.scope, help=c.help, required_by=c.required_by,
                         handled_by=c.handled_by)
            for c in settings.document_types]


@hookimpl
def portail_demarche_types(settings: Settings) -> list[DemarcheType]:
    from core.demarches.rules import BUILTIN_DEMARCHE_TYPES

    return list(BUILTIN_DEMARCHE_TYPES)


@hookimpl
async def portail_rgpd_export(household_id: int) -> dict:
    from core.rgpd.service import core_export

    return await core_export(household_id)


@hookimpl
async def portail_rgpd_erasure_blockers(household_id: int) -> list[str]:
    from core.rgpd.service import core_erasure_blockers

    return await core_erasure_blockers(household_id)


@hookimpl
async def portail_rgpd_erase(household_id: int) -> None:
    # Called after every plugin's (pluggy calls the last registered first): core knows by then
    # which files a plugin still keeps.
    from core.rgpd.service import erase_core

    await erase_core(household_id)


@hookimpl
async def portail_rgpd_retention(policy: RetentionPolicy, today: date, dry_run: bool) -> dict[str, int]:
    from core.rgpd.service import core_retention

    return await core_retention(policy, today, dry_run)


@hookimpl
async def portail_demo_data(settings: Settings, today: date) -> None:
    from core.demo import load_core_demo

    await load_core_demo(settings, today)


@hookimpl
async def portail_maintenance(today: date) -> dict[str, int]:
    """PayFiP reconciliation: the result of every pending card operation fetched from the provider;
    then the RGPD retention purge of every plugin (`[rgpd]` durations, docs/rgpd.md); then login
    throttle rows of past windows dropped."""
    from core.accounts.service import forget_old_attempts
    from core.billing.payfip import reconcile_pending
    from core.rgpd.service import run_retention

    done = dict(await reconcile_pending())
    purged = await run_retention(today, dry_run=False)
    done.update({f"rgpd.{key}": count for key, count in purged.items() if count})
    dropped = await forget_old_attempts()
    if dropped:
        done["login_throttle_rows_dropped"] = dropped
    return done


@hookimpl
async def portail_household_services(household_ids: list[int]) -> dict[int, set[str]]:
    """Core's share: démarches addressed to a service and invoice lines billed for one."""
    from core.billing.models import InvoiceLine
    from core.demarches.models import Demarche

    used: dict[int, set[str]] = {}
    rows = await Demarche.filter(household_id__in=household_ids).exclude(service_code="") \
        .distinct().values_list("household_id", "service_code")
    rows += await InvoiceLine.filter(invoice__household_id__in=household_ids).exclude(service_code="") \
        .distinct().values_list("invoice__household_id", "service_code")
    for hid, code in rows:
        used.setdefault(hid, set()).add(code)
    return used
