"""Hook implementations of the creche plugin."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from core.config import Settings
from core.contributions import DocumentType, DownloadHandler, GraphQLContribution
from core.hookspecs import hookimpl

APP = "creche"


@hookimpl
def portail_models() -> dict[str, list[str]]:
    return {APP: ["plugins.creche.models"]}


@hookimpl
def portail_template_dirs() -> dict[str, str]:
    return {APP: str(Path(__file__).with_name("templates"))}


@hookimpl
def portail_graphql() -> GraphQLContribution:
    from plugins.creche.graphql import contribution

    return contribution


@hookimpl
def portail_document_types(settings: Settings) -> list[DocumentType]:
    return [DocumentType(code="contrat_accueil_signe", label="Contrat d'accueil signé", scope="child",
                         help="Le contrat d'accueil en crèche signé et daté (PDF ou JPEG).",
                         handled_by=("creche",))]


@hookimpl
def portail_downloads() -> dict[str, DownloadHandler]:
    from plugins.creche.service import contract_pdf

    return {"creche_contract": contract_pdf}


@hookimpl
def portail_startup(settings: Settings) -> None:
    from plugins.creche.rules import Config

    Config.from_dict(settings.plugin_config(APP))  # a malformed [plugin.creche] table fails at start-up


@hookimpl
async def portail_invoice_lines(period: Any, household_ids: list[int]) -> list[Any]:
    from plugins.creche import service

    return await service.invoice_lines(period, household_ids)


@hookimpl
async def portail_maintenance(today: date) -> dict[str, int]:
    from plugins.creche import service

    return {"creche_fee_changes_notified": await service.notify_fee_changes(today)}


@hookimpl
async def portail_household_services(household_ids: list[int]) -> dict[int, set[str]]:
    from plugins.creche import service

    return await service.household_services(household_ids)


@hookimpl
async def portail_alerts(actor: Any, household_id: int) -> list[Any]:
    from plugins.creche import service

    return await service.alerts(actor, household_id)


@hookimpl
async def portail_rgpd_export(household_id: int) -> dict[str, Any]:
    from plugins.creche import service

    return await service.rgpd_export(household_id)


@hookimpl
async def portail_rgpd_erase(household_id: int) -> None:
    from plugins.creche import service

    await service.rgpd_erase(household_id)


@hookimpl
async def portail_demo_data(settings: Settings, today: date) -> None:
    from plugins.creche.demo import load_demo

    await load_demo(settings, today)
