"""Tax-credit attestation for childcare (CGI art. 200 quater B; BOFiP BOI-IR-RICI-300): per child
under six on 1 January, the childcare paid for that child only — no meals, no other service, no
CESU — with the establishment and the nature of care; the rest in a plain payment statement."""

from __future__ import annotations

from datetime import date

from core.billing import rules
from core.billing.models import Invoice
from core.billing.service import run_billing
from core.billing.types import BillingPeriod
from core.households.models import Child
from core.timeutil import today
from plugins.alsh_paj.service import tax_credit_of
from tests.billing.test_billing import pdf_text
from tests.conftest import make_family, make_staff

PAY = """mutation($id: ID!, $a: Int!, $m: PaymentMethod!, $d: Date) { recordPayment(invoiceId: $id, amountCents: $a, method: $m,
  paidOn: $d) { id balanceCents } }"""
CRECHE = "Crèche - Petit à Petit"
ALSH = "ALSH BRAUD ET ST LOUIS / MERCREDIS"
REGULAR = "Accueil régulier en établissement d'accueil du jeune enfant (crèche)"
PERI = "Accueil de loisirs périscolaire"


def test_under_six_on_january_first():
    # BOFiP BOI-IR-RICI-300 § 30: "moins de six ans au 1er janvier de l'année d'imposition".
    assert rules.under_six_on_january_first(date(2020, 1, 2), 2026)  # 5 years old on 1 January 2026
    assert not rules.under_six_on_january_first(date(2020, 1, 1), 2026)  # 6 that very day
    assert rules.under_six_on_january_first(date(2026, 3, 1), 2026)  # born during the year
    assert not rules.under_six_on_january_first(None, 2026)


def test_split_payment_worked_example():
    # One invoice, one child: two ALSH days at 13.00 € of which 3.50 € of meal (9.50 € of care
    # each), and a 5.00 € membership of the household. The family pays 15.50 € of the 31.00 €:
    # half of everything -> 9.50 € of care, 3.50 € of meals, 2.50 € of membership.
    lines = [rules.AttestationLine(1, 7, 1300, 950, ALSH, PERI), rules.AttestationLine(1, 7, 1300, 950, ALSH, PERI),
             rules.AttestationLine(1, None, 500, 0)]
    assert rules.split_payments([(1, 1550)], lines) == {(7, ALSH, PERI): 950, (7, "", ""): 350, (None, "", ""): 250}
    # A deduction line (e.g. crèche hospitalisation days) lowers the care paid.
    lines = [rules.AttestationLine(2, 7, 40000, 40000, CRECHE, REGULAR),
             rules.AttestationLine(2, 7, -5000, -5000, CRECHE, REGULAR)]
    assert rules.split_payments([(2, 35000)], lines) == {(7, CRECHE, REGULAR): 35000}


def test_alsh_units_count_care_without_the_meal():
    # "Journée avec repas" at 13.00 € with meal_cents = 350: 9.50 € of care (BOFiP § 140: food excluded).
    assert tax_credit_of({"meal_cents": 350}, 1300, "mercredis") == {
        "childcare_tax_credit": True, "non_childcare_cents": 350, "care_nature": PERI}
    assert tax_credit_of({}, 650, "vacances")["care_nature"] == "Accueil de loisirs extrascolaire"
    assert tax_credit_of({"childcare": False}, 800, "vacances") == {}  # an outing: not care
    assert tax_credit_of({"meal_cents": 900}, 500, "mercredis")["non_childcare_cents"] == 500


async def _family(lines_plugin):
    year = today().year - 1  # a whole past year: its February payments are never in the future
    user, household, kids = await make_family("a@example.org", name="MARTIN", children=3)
    lea, tom, zoe = kids
    await Child.filter(id=lea.id).update(first_name="Léa", birth_date=date(year - 2, 3, 10))
    await Child.filter(id=tom.id).update(first_name="Tom", birth_date=date(year - 6, 1, 1))  # 6 on 1 January
    await Child.filter(id=zoe.id).update(first_name="Zoé", birth_date=date(year - 9, 5, 5))
    care = {"childcare_tax_credit": True, "non_childcare_cents": 350, "care_nature": PERI}
    lines_plugin.add(household.id, "creche:1", "Accueil régulier", "1", 4000, regie="st_caprais", child_id=lea.id,
                     establishment=CRECHE, service="creche_petit_a_petit", childcare_tax_credit=True,
                     care_nature=REGULAR)
    lines_plugin.add(household.id, "alsh:lea", "MERCREDI JOURNEE AVEC REPAS", "1", 1300, child_id=lea.id, **care)
    lines_plugin.add(household.id, "alsh:tom", "MERCREDI JOURNEE AVEC REPAS", "1", 1300, child_id=tom.id, **care)
    lines_plugin.add(household.id, "alsh:zoe", "MERCREDI JOURNEE AVEC REPAS", "1", 1300, child_id=zoe.id, **care)
    lines_plugin.add(household.id, "adhesion", "Adhésion annuelle", "1", 500)
    await run_billing(BillingPeriod(date(year, 1, 1), date(year, 1, 31)), issued_on=date(year, 2, 1))
    return user, household, year


async def test_attestation_per_child_under_six_childcare_only(gql, lines_plugin):
    user, household, year = await _family(lines_plugin)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    creche = await Invoice.get(household_id=household.id, regie_code="st_caprais")
    alsh = await Invoice.get(household_id=household.id, regie_code="cdc")
    # Crèche 40.00 €: half in CESU préfinancés (employer aid, to be deducted), half by cheque.
    await admin.ok(PAY, id=str(creche.id), a=2000, m="CESU", d=f"{year}-02-10")
    await admin.ok(PAY, id=str(creche.id), a=2000, m="CHEQUE", d=f"{year}-02-10")
    # ALSH invoice 44.00 € (3 days + membership) paid in full.
    await admin.ok(PAY, id=str(alsh.id), a=4400, m="CASH", d=f"{year}-02-12")

    fam = await gql.as_user(user)
    response = await fam.download(f"/files/attestation/{household.id}-{year}")
    assert response.status_code == 200
    assert f"attestation-frais-de-garde-{year}.pdf" in response.headers["content-disposition"]
    text = " ".join(pdf_text(response.content).split())
    fiscal, statement = text.split(f"Relevé des autres paiements {year}")
    assert f"Attestation de frais de garde {year}" in fiscal and "200 quater B" in fiscal
    # Léa (2 years old): crèche 20.00 € (the cheque; not the CESU) + ALSH 9.50 € (13.00 - 3.50 meal).
    assert "Léa MARTIN" in fiscal and CRECHE in fiscal and "Accueil régulier en établissement" in fiscal
    assert "20,00" in fiscal and "9,50" in fiscal and "Total frais de garde de Léa 29,50" in fiscal
    assert PERI in fiscal and "Payé en CESU préfinancés en" in fiscal
    # Tom is six on 1 January, Zoé older: no fiscal line for them.
    assert "Tom" not in fiscal and "Zoé" not in fiscal
    # The rest, in a plain statement: Léa's meal 3.50 + CESU 20.00, Tom 13.00, Zoé 13.00, membership 5.00.
    assert "n'est pas une attestation fiscale" in statement
    assert "Léa MARTIN 23,50" in statement and "Tom MARTIN 13,00" in statement
    assert "Zoé MARTIN 13,00" in statement and "Foyer 5,00" in statement
    assert "tous services : 84,00" in statement and "frais de garde attestés : 29,50" in statement


async def test_only_payments_of_the_year_and_plain_statement_without_young_children(gql, lines_plugin):
    user, household, year = await _family(lines_plugin)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    creche = await Invoice.get(household_id=household.id, regie_code="st_caprais")
    alsh = await Invoice.get(household_id=household.id, regie_code="cdc")
    await admin.ok(PAY, id=str(creche.id), a=4000, m="CHEQUE", d=f"{year - 1}-12-30")  # paid last year
    await admin.ok(PAY, id=str(alsh.id), a=1300, m="CHEQUE", d=f"{year}-02-12")
    fam = await gql.as_user(user)
    text = " ".join(pdf_text((await fam.download(f"/files/attestation/{household.id}-{year}")).content).split())
    assert CRECHE not in text  # paid in another year: counted there
    # 13.00 € over 44.00 € of billing: 13/44 of Léa's 9.50 € of care = 2.81 €.
    assert "Total frais de garde de Léa 2,81" in text
    last = " ".join(pdf_text((await fam.download(f"/files/attestation/{household.id}-{year - 1}")).content).split())
    assert "Total frais de garde de Léa 40,00" in last

    # A household whose children are all six or older gets a statement, never an attestation.
    other, oh, okids = await make_family("b@example.org", name="DURAND", children=1)
    await Child.filter(id=okids[0].id).update(birth_date=date(year - 8, 6, 1))
    lines_plugin.add(oh.id, "alsh:o", "MERCREDI JOURNEE AVEC REPAS", "1", 1300, child_id=okids[0].id,
                     childcare_tax_credit=True, non_childcare_cents=350, care_nature=PERI)
    await run_billing(BillingPeriod(date(year, 1, 1), date(year, 1, 31)), issued_on=date(year, 2, 1))
    inv = await Invoice.get(household_id=oh.id)
    await admin.ok(PAY, id=str(inv.id), a=1300, m="CASH", d=f"{year}-02-12")
    response = await (await gql.as_user(other)).download(f"/files/attestation/{oh.id}-{year}")
    assert f"releve-paiements-{year}.pdf" in response.headers["content-disposition"]
    text = " ".join(pdf_text(response.content).split())
    assert f"Relevé des paiements {year}" in text and "Attestation de frais de garde" not in text
    assert "n'est pas une attestation fiscale" in text and "13,00" in text
    # Another family's attestation looks missing.
    assert (await (await gql.as_user(other)).download(f"/files/attestation/{household.id}-{year}")).status_code == 404
