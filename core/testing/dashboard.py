"""The data behind the family home page query (`bench/dashboard.graphql`), shared by the query
count test and `bench/bench_dashboard.py`: a household with `children` children, `months` months
of invoices on two régies, documents per child, message threads with unread replies, and this
month's planning: a crèche contract (Monday, Tuesday, Thursday, Friday) with the attendance of the
days already past for the youngest child, ALSH bookings on every weekday of the month for the
others (past days accepted, one waiting-list day, the rest pending)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

DASHBOARD_QUERY = (Path(__file__).resolve().parents[2] / "bench" / "dashboard.graphql").read_text(encoding="utf-8")


def dashboard_variables(on: Any = None) -> dict[str, str]:
    """The query's variables: the month shown by the planning (today's)."""
    from core.timeutil import today

    return {"month": (on or today()).strftime("%Y-%m")}


async def fill_household(household: Any, user: Any, *, children: int, months: int, documents_per_child: int = 3,
                         threads: int = 2) -> list[Any]:
    """Adds children, invoices, documents, threads and this month's planning to `household`; returns
    its children."""
    from core.billing.models import Invoice
    from core.documents.models import Document
    from core.files.models import StoredFile
    from core.households.models import Child
    from core.timeutil import now, today

    day = today()
    kids = []
    for i in range(children):
        kids.append(await Child.create(household=household, first_name=f"Enfant{i + 1}", last_name=household.name,
                                       sex="F" if i % 2 else "M", school="École du Bourg", school_class="CE1",
                                       birth_date=day - timedelta(days=365 * (2 + 2 * i) + 30)))
    invoices = []
    for m in range(months):
        issued = day - timedelta(days=30 * m)
        for regie in ("cdc", "st_caprais"):
            total = 4200 + 137 * m
            invoices.append(Invoice(number=f"{regie.upper()}-{household.id}-{m:03d}", regie_code=regie,
                                    household_id=household.id, issued_on=issued, period_start=issued - timedelta(days=30),
                                    period_end=issued, total_cents=total, paid_cents=total if m > 1 else 0,
                                    status="soldee" if m > 1 else "non_soldee"))
    if invoices:
        await Invoice.bulk_create(invoices)
    types = ["carnet_sante", "attestation_assurance", "divers"]
    for kid in kids:
        for t in types[:documents_per_child]:
            stored = await StoredFile.create(stored_name=secrets.token_hex(16), original_filename=f"{t}.pdf",
                                             content_type="application/pdf", size=1000, sha256="0" * 64,
                                             household=household)
            await Document.create(household=household, child=kid, type_code=t, file=stored, status="accepted",
                                  uploaded_by=user, valid_until=day + timedelta(days=200))
    from plugins.messagerie.models import MessageMessage, MessageThread

    for t in range(threads):
        thread = await MessageThread.create(household=household, subject=f"Question {t}", service="alsh",
                                            created_by=user, last_message_at=now() - timedelta(minutes=t))
        await MessageMessage.create(thread=thread, author=user, body="Bonjour, une question.")
        await MessageMessage.create(thread=thread, from_staff=True, body="Réponse du service.")
    if kids:
        await _creche_contract(household, kids[0], day)
        await _alsh_bookings(household, user, kids[1:], day)
    return kids


async def _creche_contract(household: Any, child: Any, day: Any) -> None:
    """Contract from the 1st of last month, four days a week, with this month's past attendance."""
    from plugins.creche import rules
    from plugins.creche.models import Attendance, Contract, ContractStatus
    from plugins.creche.service import _fees, ensure_establishments

    establishment = sorted((await ensure_establishments()).values(), key=lambda e: e.service_code)[0]
    schedule = rules.normalize_schedule([(d, "08:30", "17:00") for d in (0, 1, 3, 4)])
    start = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    number = 1000 + household.id
    await Contract.create(number=number, establishment=establishment, household=household, child=child,
                          start_date=start, end_date=None, schedule=rules.schedule_to_json(schedule), weeks_per_year=45,
                          status=ContractStatus.SIGNED, **await _fees(household.id, start, schedule, 45, establishment))
    current = day.replace(day=1)
    while current < day:
        if current.weekday() in schedule:
            await Attendance.create(child=child, establishment=establishment, day=current, arrival="08:35",
                                    departure="16:50")
        current += timedelta(days=1)


async def _alsh_bookings(household: Any, user: Any, kids: list[Any], day: Any) -> None:
    """One period over the month (Monday to Friday) and a booking per child with a line per weekday."""
    from core.timeutil import month_bounds, now
    from plugins.alsh_paj.models import (
        AlshBooking,
        AlshBookingLine,
        AlshEstablishment,
        AlshMode,
        AlshPeriod,
        AlshUnit,
        LineState,
    )

    first, last = month_bounds(day)
    establishment = await AlshEstablishment.create(name=f"ALSH DU BOURG {household.id}", service_code="alsh")
    mode = await AlshMode.create(establishment=establishment, name="VACANCES ET MERCREDIS")
    period = await AlshPeriod.create(mode=mode, name="Mois en cours", start_date=first, end_date=last,
                                     weekdays=[1, 2, 3, 4, 5], opens_at=now() - timedelta(days=40),
                                     closes_at=now() + timedelta(days=30), min_age=2, max_age=14)
    unit = await AlshUnit.create(period=period, code="JOURNEE", name="JOURNEE AVEC REPAS", capacity=40,
                                 tariff={"method": "flat", "flat_cents": 1200})
    lines = []
    for n, kid in enumerate(kids):
        booking = await AlshBooking.create(number=household.id * 100 + n, household=household, child=kid,
                                           period=period, created_by=user)
        current = first
        while current <= last:
            if current.weekday() < 5:
                state = (LineState.ACCEPTEE if current < day else
                         LineState.LISTE_ATTENTE if current.day % 10 == 0 else LineState.EN_ATTENTE)
                lines.append(AlshBookingLine(booking=booking, unit=unit, date=current, state=state,
                                             holds_place=state != LineState.LISTE_ATTENTE,
                                             present=True if current < day else None))
            current += timedelta(days=1)
    await AlshBookingLine.bulk_create(lines)
