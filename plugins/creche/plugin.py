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
    staff_backfill_days: int = Field(default=92, ge=0)
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
def portail_services() -> dict[str, str]:
    """The plugin code in `required_by` stands for every configured service of its kind."""
    return {"creche": "Crèches (petite enfance)"}


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


ERROR_CODES = {
    "ALREADY_DECIDED": "The request or occasional care was already decided (by another agent, another tab).",
    "ALREADY_PROCESSED": "The absence was already validated or refused.",
    "BUSY": "Too many contracts created at the same instant: retry.",
    "CAPACITY_FULL": "The crèche has no room left in one of the time slots asked for (no one may pass it).",
    "CONTRACT_EXISTS": "The child already has a contract over that period (`extensions.details.contractNumber`).",
    "EMPTY_SCHEDULE": "A contract's weekly schedule has no day.",
    "FUTURE_DAY": "Attendance cannot be recorded for a day to come.",
    "INVALID_AMOUNT": "A negative amount of resources.",
    "INVALID_CAPACITY": "A crèche's capacity must be at least 1.",
    "INVALID_CHILDREN": "Dependent children outside 0…20, or more AEEH children than dependent ones.",
    "INVALID_CONTRACT_STATUS": "The contract's state does not allow this action.",
    "INVALID_DATE": "A day in the past where the caller may not use one (families), or older than the staff "
                    "back-fill window (`staff_backfill_days`), or a date out of range.",
    "INVALID_DAYS": "Days per week outside 1…5.",
    "INVALID_HOURS": "Hours per week outside 0…55.",
    "INVALID_MONTH": "A month that is not `YYYY-MM`.",
    "INVALID_MOTIVE": "An unknown absence motive.",
    "INVALID_PERIOD": "An end before its start (dates or times).",
    "INVALID_SLOT": "A capacity slot other than 15, 30 or 60 minutes.",
    "INVALID_SOURCE": "An unknown origin of a resources record.",
    "INVALID_STATUS": "A decision that is not allowed.",
    "INVALID_TIME": "A time that is not `HH:MM` (24 h).",
    "INVALID_WEEKDAY": "A weekday outside 1 (Monday) … 7 (Sunday).",
    "INVALID_WEEKS": "Weeks per year outside 1…52.",
    "MISSING_DOCUMENTS": "Documents the crèche requires are not accepted yet (the message names them; agents may "
                         "pass the ones under review with an override reason).",
    "NO_CONTRACT": "The child has no contract or occasional care at that crèche over that period.",
    "OCCASIONAL_EXISTS": "The child already has occasional care overlapping those hours that day.",
    "OUTSIDE_OPENING_HOURS": "The crèche is closed that day or at those hours (no one may pass it).",
    "OVERRIDE_REASON_REQUIRED": "An agent passes a rule only agents may pass (past day, documents under review): "
                                "give `overrideReason` (`extensions.details.rules` lists them).",
    "RANK_REQUIRED": "A waiting list decision needs a rank ≥ 1.",
    "REASON_REQUIRED": "A refusal needs a reason for the family.",
    "REQUEST_EXISTS": "An open request already exists for this child in one of these crèches.",
    "REQUEST_NOT_ACCEPTED": "Only an accepted request leads to a contract.",
    "REQUIRED": "A required argument is missing (`extensions.field`).",
    "UNKNOWN_SERVICE": "No crèche has this service code.",
    "CONTRACTS_OUTSIDE_OPENING_HOURS": "New opening hours would leave a contract's schedule outside them: revise "
                                       "the contract first.",
    "AFFECTED_BOOKINGS_CHOICE_REQUIRED": "The establishment change affects bookings: preview it, then say what "
                                         "becomes of them (`affectedBookings: KEEP | CANCEL`).",
}


@hookimpl
def portail_error_codes() -> dict[str, str]:
    return ERROR_CODES
