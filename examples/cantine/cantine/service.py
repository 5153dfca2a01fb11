"""Canteen use cases: a family registers a child; billing, requirements, alerts and RGPD read registrations."""

from tortoise.transactions import in_transaction

from cantine import rules
from cantine.models import CantineRegistration
from core import calendar
from core.billing.types import BillingPeriod, InvoiceLineDraft
from core.config import get_settings
from core.errors import NotFound
from core.households.models import Child
from core.mail.service import queue_mail
from core.permissions import Actor, own_household_id, require_confirmed

SERVICE = "cantine"
ATTESTATION = "attestation_allergie"


def config():
    """`[plugin.cantine]`, validated (cantine.plugin.CantineSettings)."""
    from cantine.plugin import CantineSettings

    return CantineSettings(**get_settings().plugin_config(SERVICE))


async def register(actor: Actor, child_id: int, weekdays: list[int], allergy: bool) -> CantineRegistration:
    """The family registers one of its children (or changes its days and allergy); a mail confirms it."""
    user = require_confirmed(actor)
    household_id, days = own_household_id(actor), rules.check_weekdays(weekdays)
    child = await Child.get_or_none(id=child_id, household_id=household_id)
    if child is None:
        raise NotFound("enfant")
    async with in_transaction():
        registration, _ = await CantineRegistration.update_or_create(
            {"weekdays": days, "allergy": allergy, "household_id": household_id}, child_id=child.id)
        await queue_mail(user.email, "cantine/mail/registered", {"child": child, "registration": registration},
                         household_id=household_id)
    return registration


async def registrations_of(child_ids: list[int]) -> list[CantineRegistration | None]:
    found = {r.child_id: r for r in await CantineRegistration.filter(child_id__in=child_ids)}
    return [found.get(i) for i in child_ids]


async def allergy_attestations(household_id: int, child_ids: list[int]) -> set[tuple[str, int | None]]:
    rows = CantineRegistration.filter(household_id=household_id, child_id__in=child_ids, allergy=True)
    return {(ATTESTATION, child_id) for child_id in await rows.values_list("child_id", flat=True)}


async def household_services(household_ids: list[int]) -> dict[int, set[str]]:
    rows = CantineRegistration.filter(household_id__in=household_ids).values_list("household_id", flat=True)
    return {household_id: {SERVICE} for household_id in await rows}


async def invoice_lines(period: BillingPeriod, household_ids: list[int]) -> list[InvoiceLineDraft]:
    """One line per registered child: the meals of the month on its weekdays, holidays excluded."""
    cfg, lines = config(), []
    regie, meal_cents = cfg.regie or get_settings().regies[0].code, cfg.meal_cents
    closed = (calendar.public_holidays_between(period.start, period.end, calendar.community_subdivision())
              | calendar.school_holidays_between(period.start, period.end, calendar.community_school_zone()))
    for reg in await CantineRegistration.filter(household_id__in=household_ids).order_by("id"):
        meals = len(rules.meal_days(period.start, period.end, reg.weekdays, closed))
        if meals:
            lines.append(InvoiceLineDraft(
                household_id=reg.household_id, regie_code=regie, child_id=reg.child_id,
                source_key=f"cantine:{reg.child_id}:{period.start:%Y-%m}", designation="Repas cantine",
                quantity=str(meals), unit_price_cents=meal_cents, amount_cents=meals * meal_cents,
                service_code=SERVICE))
    return lines
