"""Hook implementations of the alsh_paj plugin."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl

APP = "alsh_paj"


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
async def portail_maintenance(today: date) -> dict[str, int]:
    from plugins.alsh_paj import service

    return {"alsh_lines_expired": await service.expire_past_requests(today)}


@hookimpl
async def portail_demo_data(settings: Any, today: date) -> None:
    from plugins.alsh_paj import service

    await service.create_demo(today)
