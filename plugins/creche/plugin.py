"""Hook implementations of the creche plugin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.config import Settings
from core.contributions import DocumentType, DownloadHandler, GraphQLContribution
from core.hookspecs import hookimpl

APP = "creche"


class ResourceBound(BaseModel):
    """A CNAF plancher or plafond of monthly resources for a period of validity."""

    model_config = ConfigDict(extra="forbid")
    start: date
    end: date | None = None
    cents: int = Field(ge=0)


class TauxEffortRow(BaseModel):
    """Rates of a taux d'effort table from `start`: `[[children, "0.000516"], …]`."""

    model_config = ConfigDict(extra="forbid")
    table: Literal["collectif", "familial"]
    start: date
    end: date | None = None
    rates: list[tuple[int, Decimal]]


class EstablishmentSettings(BaseModel):
    """`[plugin.creche.establishments.<service code>]`."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["collectif", "micro_creche", "familial", "parental"] = "collectif"
    emergency_hourly_cents: int | None = Field(default=None, ge=0)


class CrecheSettings(BaseModel):
    """`[plugin.creche]`: defaults in `plugins.creche.rules.Config`; the CNAF bounds default to its tables."""

    model_config = ConfigDict(extra="forbid")
    cancellation_delay_days: int = Field(default=2, ge=0)
    carence_days: int = Field(default=3, ge=0)
    overtime_rounding_minutes: int = Field(default=30, ge=1)
    overtime_tolerance_minutes: int = Field(default=0, ge=0)
    slot_minutes: int = Field(default=30, ge=1)
    default_capacity: int = Field(default=20, ge=0)
    default_opening: tuple[str, str] = ("07:30", "18:30")
    default_weeks_per_year: int = Field(default=45, ge=1, le=53)
    plafonds: list[ResourceBound] | None = None
    planchers: list[ResourceBound] | None = None
    taux_effort: list[TauxEffortRow] | None = None  # added to the built-in table (rules.TAUX_EFFORT)
    establishments: dict[str, EstablishmentSettings] = Field(default_factory=dict)  # by service code


@hookimpl
def portail_config_model() -> type[BaseModel]:
    return CrecheSettings


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
async def portail_rgpd_erasure_blockers(household_id: int) -> list[str]:
    from plugins.creche import service

    return await service.rgpd_erasure_blockers(household_id)


@hookimpl
async def portail_rgpd_erase(household_id: int) -> None:
    from plugins.creche import service

    await service.rgpd_erase(household_id)


@hookimpl
async def portail_rgpd_retention(policy: Any, today: date, dry_run: bool) -> dict[str, int]:
    from plugins.creche import service

    return await service.rgpd_retention(policy, today, dry_run)


@hookimpl
async def portail_demo_data(settings: Settings, today: date) -> None:
    from plugins.creche.demo import load_demo

    await load_demo(settings, today)
