"""Demo data: the crèches (LA RITOURNELLE with its closure days), contract n°33 for Luc TESTBO,
his attendance this month, a pending demande de place for Chloé."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from core.config import Settings
from core.households.models import Child, Household
from plugins.creche import rules
from plugins.creche.models import Attendance, Contract, ContractStatus, PlaceRequest, RequestStatus
from plugins.creche.service import _fees, ensure_establishments

CAPACITIES = {"creche_la_ritournelle": 24, "creche_au_fil_de_l_eau": 30, "creche_il_etait_une_fois": 18,
              "creche_petit_a_petit": 12}


async def load_demo(settings: Settings, today: date) -> None:
    ests = await ensure_establishments()
    for code, capacity in CAPACITIES.items():
        if code in ests and ests[code].capacity != capacity:
            ests[code].capacity = capacity
            await ests[code].save(update_fields=["capacity"])
    ritournelle = ests.get("creche_la_ritournelle")
    testbo = await Household.get_or_none(name="TESTBO")
    if ritournelle is None or testbo is None or await Contract.exists(number=33):
        return
    ritournelle.closure_days = [date(today.year, 12, 24).isoformat(), date(today.year, 12, 31).isoformat(),
                                date(today.year + 1, 5, 14).isoformat()]
    await ritournelle.save(update_fields=["closure_days"])
    luc = await Child.get_or_none(household=testbo, first_name="Luc")
    chloe = await Child.get_or_none(household=testbo, first_name="Chloé")
    if luc is None:
        return
    # The guide's planning: Monday, Tuesday, Thursday, Friday 09:15 - 17:15 (no Wednesday).
    schedule = rules.normalize_schedule([(d, "09:15", "17:15") for d in (0, 1, 3, 4)])
    start = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    request = await PlaceRequest.create(household=testbo, child=luc, wished_services=["creche_la_ritournelle"],
                                        start_date=start, days_per_week=4, hours_per_week=Decimal("32"),
                                        status=RequestStatus.ACCEPTED, establishment=ritournelle)
    await Contract.create(number=33, establishment=ritournelle, household=testbo, child=luc, request=request,
                          start_date=start, end_date=date(start.year + 1, 7, 31), schedule=rules.schedule_to_json(schedule),
                          weeks_per_year=45, status=ContractStatus.SIGNED, **await _fees(testbo.id, start, schedule, 45, ritournelle))
    day = today.replace(day=1)
    while day < today:
        if day.weekday() in schedule and day.isoformat() not in ritournelle.closure_days:
            departure = "17:40" if day.day == 4 else "17:15"  # one late pick-up: Majoration
            await Attendance.create(child=luc, establishment=ritournelle, day=day, arrival="09:15", departure=departure)
        day += timedelta(days=1)
    if chloe is not None:
        await PlaceRequest.create(household=testbo, child=chloe, wished_services=["creche_la_ritournelle",
                                                                                  "creche_au_fil_de_l_eau"],
                                  start_date=today + timedelta(days=60), days_per_week=3, hours_per_week=Decimal("24"),
                                  status=RequestStatus.WAITING, waiting_rank=4, rank_published=True)
