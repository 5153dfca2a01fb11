"""Fixtures of the ALSH / PAJ tests: an establishment with a Wednesday period open for booking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from core.timeutil import now, today
from plugins.alsh_paj import service
from plugins.alsh_paj.models import AlshEstablishment, AlshMode, AlshPeriod, AlshUnit
from plugins.alsh_paj.rules import public_holiday

DAY_TARIFF = {"method": "qf_brackets", "brackets": [[700, 850], [1100, 1100], ["max", 1300]]}


@dataclass
class Setup:
    establishment: AlshEstablishment
    mode: AlshMode
    period: AlshPeriod
    day: AlshUnit  # MERCREDI JOURNEE AVEC REPAS
    morning: AlshUnit  # MERCREDI MATIN SANS REPAS
    meal: AlshUnit  # REPAS (requires a presence)
    wednesdays: list[date]


def next_wednesdays(count: int, start: date | None = None) -> list[date]:
    current = (start or today()) + timedelta(days=1)
    out = []
    while len(out) < count:
        if current.isoweekday() == 3 and public_holiday(current) is None:
            out.append(current)
        current += timedelta(days=1)
    return out


async def make_setup(*, capacity: int = 10, auto_accept: bool = False, service_code: str = "alsh",
                     opens_in_days: int = -1, weeks: int = 8, cancel_days_before: int = 2,
                     min_age: int = 2, max_age: int = 12, name: str = "Mercredis Avril Mai") -> Setup:
    establishment = await AlshEstablishment.create(name="ALSH BRAUD ET ST LOUIS", service_code=service_code)
    mode = await AlshMode.create(establishment=establishment, name="MERCREDIS")
    at = now()
    start = today()
    period = await AlshPeriod.create(
        mode=mode, name=name, start_date=start, end_date=start + timedelta(weeks=weeks), weekdays=[3],
        opens_at=at + timedelta(days=opens_in_days), closes_at=at + timedelta(days=30),
        cancel_days_before=cancel_days_before, cancel_time="12:00", min_age=min_age, max_age=max_age,
        auto_accept=auto_accept)
    period = await AlshPeriod.get(id=period.id).select_related("mode__establishment")
    day = await service.create_unit(period, "JOURNEE_REPAS", "MERCREDI JOURNEE AVEC REPAS", capacity, DAY_TARIFF,
                                    excludes=["MATIN_SANS_REPAS"], billing_label="MERCREDIS JOURNEE AVEC REPAS")
    morning = await service.create_unit(period, "MATIN_SANS_REPAS", "MERCREDI MATIN SANS REPAS", capacity,
                                        {"method": "flat", "flat_cents": 500}, excludes=["JOURNEE_REPAS"])
    meal = await service.create_unit(period, "REPAS", "REPAS", capacity, {"method": "flat", "flat_cents": 350},
                                     requires=["MATIN_SANS_REPAS"])
    days = await service.open_days(period)
    return Setup(establishment, mode, period, day, morning, meal, [d for d in days if d > today()])


@pytest.fixture
async def alsh() -> Any:
    return await make_setup()


@pytest.fixture(autouse=True)
def prerequisites(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stand-ins for the core checks the plugin calls (child file, required documents, unpaid
    invoices): tests choose what is missing. Installed whether or not core ships them yet."""
    import importlib
    import sys
    import types

    state: dict[str, Any] = {"file": [], "docs": [], "unpaid": [], "real": {}}

    async def child_file_problems(child_id: int) -> list[Any]:
        return list(state["file"])

    async def missing_documents(household_id: int, plugin: str, child_id: int | None = None) -> list[Any]:
        return list(state["docs"])

    async def unpaid_invoices(regie_code: str, household_ids: list[int] | None = None) -> list[Any]:
        return list(state["unpaid"])

    for module_name, name, fn in (("core.households.service", "child_file_problems", child_file_problems),
                                  ("core.documents.service", "missing_documents", missing_documents),
                                  ("core.billing.service", "unpaid_invoices", unpaid_invoices)):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = types.ModuleType(module_name)
            monkeypatch.setitem(sys.modules, module_name, module)
        state["real"][name] = getattr(module, name, None)
        monkeypatch.setattr(module, name, fn, raising=False)
    return state


@pytest.fixture
def plugin_config(settings: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The `[plugin.alsh_paj]` table of the test settings, restored after the test."""
    plugin = settings.raw.setdefault("plugin", {})
    table = dict(plugin.get("alsh_paj", {}))
    monkeypatch.setitem(plugin, "alsh_paj", table)
    return table
