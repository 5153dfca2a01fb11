"""Mentions of the avis des sommes à payer (CGCT L1617-5; CE 17 March 2016 n° 389069): issuer and
role, voies et délais de recours, payment deadline, comptable public, how to pay — in the PDF the
family receives and in the GraphQL invoice type."""

from __future__ import annotations

from datetime import date

from core.billing import rules
from core.billing.models import Invoice
from core.billing.service import run_billing
from tests.billing.conftest import MARCH
from tests.billing.test_billing import pdf_text
from tests.conftest import make_family, make_staff

ONE = """query($id: ID!) { invoice(id: $id) { number kind dueDate mentions { issuerName issuerTitle dueDate comptable
  recourse paymentWays { kind label detail } } } }"""
CREDIT = """mutation($id: ID!, $a: Int) { issueCreditNote(invoiceId: $id, reason: "Geste", amountCents: $a) { id } }"""


def test_due_date_and_recourse_worked_example():
    # Issued 31 October 2026, 30 days to pay: deadline 30 November 2026.
    assert rules.payment_due_date(date(2026, 10, 31), 30) == date(2026, 11, 30)
    assert rules.payment_due_date(date(2026, 12, 15), 30) == date(2027, 1, 14)
    m = rules.invoice_mentions(
        issuer_name="Jean DUPONT", issuer_role="Président de la communauté de communes", recourse_court=
        "le tribunal administratif de Bordeaux", payment_days=30, comptable="SGC de Créon", regie_name="CDC",
        regie_address="1 allée du Parc", desk_hours="lundi 9 h-12 h", desk_means="espèces, chèque",
        issued_on=date(2026, 10, 31), card=False, sepa=True, portal_url="https://portail.test")
    # L1617-5 2°: two months, directly before the competent court; the action suspends the titre.
    assert "deux mois" in m.recourse[0] and "le tribunal administratif de Bordeaux" in m.recourse[0]
    assert "L. 1617-5" in m.recourse[0] and "suspend la force exécutoire" in m.recourse[0]
    assert "recours gracieux" in m.recourse[1] and "Président de la communauté de communes" in m.recourse[1]
    assert "juge de l'exécution" in m.recourse[2]
    # No PayFiP for this régie: not offered; the desk always is.
    assert [w.code for w in m.payment_ways] == ["sepa", "desk"]
    assert m.payment_ways[1].detail == "1 allée du Parc, lundi 9 h-12 h; espèces, chèque"


async def _invoice(lines_plugin) -> tuple[object, Invoice]:
    user, household, kids = await make_family("a@example.org", name="MARTIN", children=1)
    lines_plugin.add(household.id, "alsh:1", "MERCREDIS JOURNEE AVEC REPAS", "2", 1300, child_id=kids[0].id)
    await run_billing(MARCH, issued_on=date(2023, 4, 3))
    return user, await Invoice.get(household_id=household.id)


async def test_invoice_pdf_names_issuer_recourse_deadline_and_ways_to_pay(gql, lines_plugin, payfip_sim):
    user, invoice = await _invoice(lines_plugin)
    fam = await gql.as_user(user)
    text = " ".join(pdf_text((await fam.download(f"/files/invoice/{invoice.id}")).content).split())
    # The issuer and their role (demo régie "cdc").
    assert "Jean-Pierre SOUBIRAN" in text
    assert "Président de la communauté de communes des Portes de l'Entre-Deux-Mers" in text
    # Deadline: issued 3 April 2023 + 30 days.
    assert "À payer au plus tard le 03/05/2023" in text and "26,00" in text
    # Voies et délais de recours with the court.
    assert "Voies et délais de recours" in text and "deux mois" in text
    assert "tribunal administratif de Bordeaux" in text and "L. 1617-5" in text
    # Comptable public and the three ways to pay of this régie (PayFiP is configured here).
    assert "Service de gestion comptable de Créon" in text and "mise en demeure" in text
    assert "carte bancaire en ligne" in text and "PayFiP" in text
    assert "prélèvement automatique" in text
    assert "À la régie CC Portes entre 2 mers" in text and "du lundi au vendredi de 9 h à 12 h" in text

    data = (await fam.ok(ONE, id=str(invoice.id)))["invoice"]
    assert data["dueDate"] == "2023-05-03" and data["mentions"]["dueDate"] == "2023-05-03"
    m = data["mentions"]
    assert m["issuerName"] == "Jean-Pierre SOUBIRAN" and m["issuerTitle"].startswith("Président")
    assert [w["kind"] for w in m["paymentWays"]] == ["CARD", "SEPA", "DESK"]
    assert len(m["recourse"]) == 3 and "deux mois" in m["recourse"][0]


async def test_without_payfip_card_is_not_offered_and_credit_notes_carry_no_titre_mentions(gql, lines_plugin):
    user, invoice = await _invoice(lines_plugin)
    fam = await gql.as_user(user)
    text = " ".join(pdf_text((await fam.download(f"/files/invoice/{invoice.id}")).content).split())
    assert "carte bancaire en ligne" not in text and "prélèvement automatique" in text
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    note = (await admin.ok(CREDIT, id=str(invoice.id), a=100))["issueCreditNote"]
    data = (await fam.ok(ONE, id=note["id"]))["invoice"]
    assert data["kind"] == "CREDIT_NOTE" and data["mentions"] is None and data["dueDate"] is None
    text = pdf_text((await fam.download(f"/files/invoice/{note['id']}")).content)
    assert "Voies et délais" not in text and "Avoir" in text
    # Another family cannot read them.
    other, _, _ = await make_family("b@example.org", name="DURAND")
    assert await (await gql.as_user(other)).code(ONE, id=str(invoice.id)) == "NOT_FOUND"
