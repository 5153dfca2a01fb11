"""Hook implementations of the alsh_paj plugin."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.config import StrList
from core.hookspecs import hookimpl

APP = "alsh_paj"


class AlshSettings(BaseModel):
    """`[plugin.alsh_paj]`."""

    model_config = ConfigDict(extra="forbid")
    waiting_list: bool = True  # false: a full day is refused « Aucune place disponible »
    unpaid_threshold_cents: int = Field(default=0, ge=0)  # 0 = off
    absence_justification_days: int = Field(default=3, ge=0)
    check_prerequisites: bool = True
    services: StrList | None = None  # default: every service of kind "alsh" or "paj"


@hookimpl
def portail_config_model() -> type[BaseModel]:
    return AlshSettings


@hookimpl
def portail_models() -> dict[str, list[str]]:
    return {APP: ["plugins.alsh_paj.models"]}


@hookimpl
def portail_template_dirs() -> dict[str, str]:
    return {APP: str(Path(__file__).with_name("templates"))}


@hookimpl
def portail_services() -> dict[str, str]:
    """The plugin code in `required_by` stands for every configured service of its kind."""
    return {"alsh_paj": "ALSH et Point Accueil Jeunes"}


@hookimpl
def portail_graphql() -> Any:
    from plugins.alsh_paj.graphql import contribution

    return contribution


@hookimpl
async def portail_invoice_lines(period: Any, household_ids: list[int]) -> list[Any]:
    from plugins.alsh_paj import service

    return await service.invoice_lines(period.start, period.end, household_ids)


@hookimpl
async def portail_household_services(household_ids: list[int]) -> dict[int, set[str]]:
    from plugins.alsh_paj import service

    return await service.household_services(household_ids)


@hookimpl
async def portail_alerts(actor: Any, household_id: int) -> list[Any]:
    from plugins.alsh_paj import service

    return await service.alerts(household_id)


@hookimpl
async def portail_rgpd_export(household_id: int) -> dict[str, Any]:
    from plugins.alsh_paj import service

    return await service.rgpd_export(household_id)


@hookimpl
async def portail_rgpd_erase(household_id: int) -> None:
    from plugins.alsh_paj import service

    await service.rgpd_erase(household_id)


@hookimpl
async def portail_rgpd_retention(policy: Any, today: date, dry_run: bool) -> dict[str, int]:
    from plugins.alsh_paj import service

    return await service.rgpd_retention(policy, today, dry_run)


@hookimpl
async def portail_maintenance(today: date) -> dict[str, int]:
    from plugins.alsh_paj import service

    return {"alsh_lines_expired": await service.expire_past_requests(today)}


@hookimpl
async def portail_demo_data(settings: Any, today: date) -> None:
    from plugins.alsh_paj import service

    await service.create_demo(today)


# Every code the plugin raises (docs/graphql.md): the schema's ErrorCode enum is built from these.
ERROR_CODES: dict[str, str] = {
    "PREREQUISITES_MISSING": "The child's file or the documents the ALSH requires are incomplete or not yet "
                             "validated; `extensions.missing` lists them (kind, code, label, status).",
    "UNPAID_BALANCE": "The household's unpaid balance at the service's régie exceeds the threshold "
                      "(`extensions.dueCents`, `extensions.thresholdCents`).",
    "UNKNOWN_SERVICE": "The service code is not an ALSH / PAJ service of the community.",
    "REQUIRED": "A required value is empty; `extensions.field` names it.",
    "INVALID_RANGE": "The end date precedes the start date (or a period longer than 400 days).",
    "INVALID_WINDOW": "The booking window closes before it opens.",
    "INVALID_WEEKDAY": "A weekday is not an ISO weekday (1 = Monday … 7 = Sunday).",
    "INVALID_AGE_RANGE": "The age range is empty or negative.",
    "INVALID_TIME": "A time is not `HH:MM`.",
    "INVALID_DEADLINE": "The cancellation deadline is negative.",
    "INVALID_CAPACITY": "A capacity is negative.",
    "INVALID_TARIFF": "The tariff grid is invalid (unknown method, brackets not increasing…).",
    "DUPLICATE_CODE": "A unit with this code already exists in the period.",
    "SAME_HOUSEHOLD": "The child already belongs to this household.",
    "DAY_HAS_BOOKINGS": "Active booking lines exist on that day (`extensions.affectedLineCount`): process them, "
                        "or close with `cancelBookings: true`.",
    "EMPTY_SELECTION": "Nothing was chosen (no day, no line, no decision).",
    "TOO_MANY_SELECTIONS": "More than 400 (day, unit) pairs in one request.",
    "BOOKING_CLOSED": "The period's booking window is not open.",
    "AGE_NOT_ALLOWED": "The child's age is outside the period's range.",
    "UNKNOWN_UNIT": "The unit is not one of the period's (`extensions.unitId`).",
    "DAY_NOT_BOOKABLE": "The day is not an open day of the period, is closed or is past (`extensions.date`).",
    "ALREADY_BOOKED": "The child already has an active line for this unit that day.",
    "UNIT_EXCLUDED": "Two units that exclude each other on the same day (`extensions.problems`).",
    "UNIT_REQUIRES": "A unit needs another unit the same day (`extensions.problems`).",
    "NOT_CANCELLABLE": "The line can no longer be cancelled by the family (already cancelled, refused, past).",
    "NO_PLACE_LEFT": "No place left that day to accept a waiting-list line.",
    "INVALID_STATE": "The line is not in a state this action applies to.",
    "REASON_REQUIRED": "A refusal (or a staff override) needs a reason.",
    "INVALID_ACTION": "Unknown decision action.",
    "FUTURE_DAY": "Presence cannot be marked for a day to come.",
    "INVALID_PRESENCE": "NOT_MARKED is not a presence one can set.",
    "AFFECTED_LINES_CHOICE_REQUIRED": "A period change takes booked days away: say what the lines become "
                                      "(`affectedLines: KEEP | CANCEL`), after a `dryRun` preview "
                                      "(`extensions.affectedLineCount`).",
}


@hookimpl
def portail_error_codes() -> dict[str, str]:
    return ERROR_CODES
