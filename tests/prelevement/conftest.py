"""Factories of the SEPA tests: invoices (core billing model), mandates straight in the database."""

from __future__ import annotations

from datetime import date, timedelta

from core.timeutil import today
from plugins.prelevement import rules
from plugins.prelevement.models import MandateStatus, SepaMandate, SepaMandateVersion

IBAN_CA = "FR7630006000011234567890189"  # Crédit Agricole
IBAN_LBP = "FR1420041010050500013M02606"  # La Banque Postale
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

_seq = {"n": 0}


async def make_invoice(household, regie_code: str = "st_caprais", total_cents: int = 4250, paid_cents: int = 0):
    from core.billing.models import Invoice

    _seq["n"] += 1
    start = today().replace(day=1) - timedelta(days=20)
    return await Invoice.create(number=f"T-{regie_code[:3].upper()}-{_seq['n']:05d}", regie_code=regie_code,
                                household=household, issued_on=today(), period_start=start.replace(day=1),
                                period_end=start, total_cents=total_cents, paid_cents=paid_cents)


async def make_mandate(household, regie_code: str = "st_caprais", status: str = MandateStatus.ACTIVE,
                       iban: str = IBAN_CA, bic: str = "AGRIFRPP", last_collection_on: date | None = None,
                       signed_on: date | None = None) -> SepaMandate:
    mandate = await SepaMandate.create(household=household, regie_code=regie_code,
                                       rum=rules.build_rum(regie_code, household.id, today()),
                                       account_holder=f"{household.name} Camille", iban=iban, bic=bic,
                                       bank_name="CREDIT AGRICOLE SA", start_month=today().replace(day=1),
                                       status=status, signed_on=signed_on or today(),
                                       last_collection_on=last_collection_on)
    await SepaMandateVersion.create(mandate=mandate, version=1, account_holder=mandate.account_holder, iban=iban,
                                    bic=bic, bank_name=mandate.bank_name)
    return mandate
