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
