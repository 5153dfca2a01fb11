"""Fixtures of the ALSH / PAJ tests: an establishment with a Wednesday period open for booking."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from core.accounts.models import User
from core.config import get_settings
from core.documents.models import Document, DocumentStatus
from core.documents.service import missing_documents
from core.files.models import StoredFile
from core.households.models import AuthorizedPerson, Child, Household
from core.households.service import child_file_problems
from core.timeutil import now, today
from plugins.alsh_paj import service
from plugins.alsh_paj.models import AlshEstablishment, AlshMode, AlshPeriod, AlshUnit
from plugins.alsh_paj.rules import public_holiday
from tests.conftest import make_family as core_make_family

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


async def complete_file(household: Household, kids: list[Child]) -> None:
    """What a family fills in before booking: household details, each child's medical answers,
    authorisations and a person to call, and the documents alsh_paj requires, accepted by staff.
    Core's real checks (file completeness, required documents) then let the booking through."""
    settings = get_settings()
    await Household.filter(id=household.id).update(phone="05 56 00 00 00", family_situation="marie", regime="general",
                                                   allocataire_number="1234567")
    for child in kids:
        await Child.filter(id=child.id).update(
            medical_answers={q.code: {"answer": False, "text": ""} for q in settings.medical_questions},
            authorizations={a.code: True for a in settings.authorizations})
        await AuthorizedPerson.create(child=child, last_name="MARTIN", first_name="Louise", relation="grand-mère",
                                      phone_mobile="06 00 00 00 00", may_collect=False, is_contact=True)
    for missing in await missing_documents(household.id, "alsh_paj"):
        stored = await StoredFile.create(stored_name=secrets.token_hex(20), original_filename="document.pdf",
                                         content_type="application/pdf", size=10, sha256="0" * 64,
                                         household=household)
        await Document.create(household=household, child_id=missing.child_id, type_code=missing.type_code,
                              file=stored, status=DocumentStatus.ACCEPTED, reviewed_at=now())
    for child in kids:
        assert await child_file_problems(child.id) == [], "complete_file left something missing"


async def make_family(email: str = "famille@example.org", *, complete: bool = True,
                      **kwargs: Any) -> tuple[User, Household, list[Child]]:
    """`tests.conftest.make_family`, with a file complete enough to book (unless `complete=False`)."""
    user, household, kids = await core_make_family(email, **kwargs)
    if complete:
        await complete_file(household, kids)
    return user, household, kids


@pytest.fixture
def plugin_config(settings: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The `[plugin.alsh_paj]` table of the test settings, restored after the test."""
    plugin = settings.raw.setdefault("plugin", {})
    table = dict(plugin.get("alsh_paj", {}))
    monkeypatch.setitem(plugin, "alsh_paj", table)
    return table
