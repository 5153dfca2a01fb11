"""Online card payment (PayFiP): against a provider simulator speaking the SOAP web service."""

from __future__ import annotations

import httpx
import pytest

from core.billing import payfip
from core.billing.models import Invoice, PayfipOperation, Payment
from core.billing.service import run_billing
from tests.billing.conftest import MARCH, NS_PAI, SOAP_ENV
from tests.conftest import make_family, make_staff

START = "mutation($id: ID!) { startCardPayment(invoiceId: $id) { idOp redirectUrl } }"


async def _billed(lines_plugin):
    ua, ha, ka = await make_family("a@example.org", name="MARTIN", children=1)
    ub, hb, kb = await make_family("b@example.org", name="DURAND", children=1)
    lines_plugin.add(ha.id, "alsh:1", "MERCREDIS JOURNEE AVEC REPAS", "1", 1300, child_id=ka[0].id)
    lines_plugin.add(hb.id, "alsh:2", "MERCREDIS JOURNEE AVEC REPAS", "1", 1300, child_id=kb[0].id)
    await run_billing(MARCH)
    return ua, ub, await Invoice.get(household_id=ha.id)


async def test_card_payment_paid_exactly_once(gql, lines_plugin, payfip_sim, notify):
    ua, ub, inv = await _billed(lines_plugin)
    fam = await gql.as_user(ua)
    started = (await fam.ok(START, id=str(inv.id)))["startCardPayment"]
    assert started["redirectUrl"] == f"http://payfip.sim/tpa/paiementws.web?idop={started['idOp']}"
    sent = payfip_sim.ops[started["idOp"]]
    assert sent["refdet"] == inv.number.replace("-", "") and sent["montant"] == "1300" and sent["numcli"] == "012345"
    assert sent["urlnotif"].endswith("/payfip/notification") and sent["saisie"] == "T" and sent["mel"] == "a@example.org"
    assert sent["objet"] == "Facture " + inv.number.replace("-", " ")  # PayFiP's alphabet: [A-Za-z0-9 ]
    operation, headers = payfip_sim.calls[0]
    assert operation == "creerPaiementSecurise"
    assert headers["content-type"] == "text/xml; charset=utf-8" and headers["soapaction"] == '""'

    # Notified before the card holder finished (the provider answers a P5 fault): nothing is believed.
    r = await notify.post("/payfip/notification", data={"idOp": started["idOp"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "NOT_FINAL"
    assert payfip_sim.calls[-1][0] == "recupererDetailPaiementSecurise"
    assert (await Invoice.get(id=inv.id)).paid_cents == 0

    payfip_sim.pay(started["idOp"])
    r = await notify.post("/payfip/notification", data={"idOp": started["idOp"]})
    assert r.status_code == 200 and r.json() == {"status": "paid"}
    inv = await Invoice.get(id=inv.id)
    assert inv.status == "soldee" and inv.paid_cents == 1300
    payment = await Payment.get(invoice_id=inv.id)
    assert payment.method == "payfip" and started["idOp"] in payment.reference

    # Replay: refused, still one payment.
    r = await notify.post("/payfip/notification", json={"idOp": started["idOp"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALREADY_PROCESSED"
    assert await Payment.filter(invoice_id=inv.id).count() == 1

    # Nothing left to pay.
    err = await fam.error(START, id=str(inv.id))
    assert err["extensions"] == {"code": "NOTHING_TO_PAY", "field": "invoiceId"}


async def test_forged_unknown_and_tampered_notifications(gql, lines_plugin, payfip_sim, notify):
    ua, ub, inv = await _billed(lines_plugin)
    # Unknown idOp, missing idOp, garbage body.
    r = await notify.post("/payfip/notification", data={"idOp": "forged-123"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "UNKNOWN_OPERATION"
    r = await notify.post("/payfip/notification", data={})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_ID_OP"
    r = await notify.post("/payfip/notification", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400

    fam = await gql.as_user(ua)
    started = (await fam.ok(START, id=str(inv.id)))["startCardPayment"]
    # The provider's answer says another amount: not believed.
    payfip_sim.pay(started["idOp"])
    payfip_sim.tamper_amount = -1200
    r = await notify.post("/payfip/notification", data={"idOp": started["idOp"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "AMOUNT_MISMATCH"
    assert (await Invoice.get(id=inv.id)).paid_cents == 0
    payfip_sim.tamper_amount = 0

    # An idOp we know but the provider does not (forged row / provider lost it): P1 fault.
    await PayfipOperation.create(id_op="ghost", invoice_id=inv.id, amount_cents=1300)
    r = await notify.post("/payfip/notification", data={"idOp": "ghost"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "PAYFIP_UNKNOWN_OPERATION"

    # Paying again: the pending operation is asked to the provider first; it was paid (the
    # tampered answer is gone), so it is recorded once and there is nothing left to pay.
    err = await fam.error(START, id=str(inv.id))
    assert err["extensions"]["code"] == "NOTHING_TO_PAY"
    assert (await Invoice.get(id=inv.id)).paid_cents == 1300 and await Payment.filter(invoice_id=inv.id).count() == 1

    # Refused by the bank: marked, invoice unchanged, later notifications refused.
    inv_b = await Invoice.exclude(id=inv.id).get()
    fam_b = await gql.as_user(ub)
    second = (await fam_b.ok(START, id=str(inv_b.id)))["startCardPayment"]
    payfip_sim.pay(second["idOp"], "R")
    r = await notify.post("/payfip/notification", data={"idOp": second["idOp"]})
    assert r.status_code == 200 and r.json() == {"status": "refused"}
    assert (await Invoice.get(id=inv_b.id)).status == "non_soldee"
    r = await notify.post("/payfip/notification", data={"idOp": second["idOp"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALREADY_PROCESSED"


async def test_start_card_payment_access(gql, lines_plugin, payfip_sim):
    ua, ub, inv = await _billed(lines_plugin)
    other = await gql.as_user(ub)
    assert await other.code(START, id=str(inv.id)) == "NOT_FOUND"
    assert await gql.code(START, id=str(inv.id)) == "UNAUTHENTICATED"
    agent = await gql.as_user(await make_staff("agent@example.org", services=["alsh"]))
    assert await agent.code(START, id=str(inv.id)) == "NOT_FOUND"
    assert payfip_sim.ops == {}


async def test_card_payment_unavailable_without_config(gql, lines_plugin):
    ua, ub, inv = await _billed(lines_plugin)
    assert await (await gql.as_user(ua)).code(START, id=str(inv.id)) == "PAYFIP_UNAVAILABLE"


BROKEN_ANSWERS = {
    "not xml": b"<html><body>Service indisponible</body></html",
    "empty": b"",
    "not soap": b"<?xml version='1.0'?><idOp>op999999</idOp>",
    "wrong operation": (f"<s:Envelope xmlns:s='{SOAP_ENV}'><s:Body><p:autreResponse xmlns:p='{NS_PAI}'>"
                        "<return><idOp>op999999</idOp></return></p:autreResponse></s:Body></s:Envelope>").encode(),
    # An external entity must neither be fetched nor expanded: no idOp, unreadable.
    "xxe": (f"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/hostname'>]>"
            f"<s:Envelope xmlns:s='{SOAP_ENV}'><s:Body><p:creerPaiementSecuriseResponse xmlns:p='{NS_PAI}'>"
            "<return><idOp>&e;</idOp></return></p:creerPaiementSecuriseResponse></s:Body></s:Envelope>").encode(),
}


async def test_start_card_payment_provider_errors(gql, lines_plugin, payfip_sim):
    ua, ub, inv = await _billed(lines_plugin)
    fam = await gql.as_user(ua)
    # A functional SOAP Fault (e.g. the régie is not activated): refused, clean code.
    payfip_sim.fault_next = ("FonctionnelleErreur", "R3", "client non actif")
    err = await fam.error(START, id=str(inv.id))
    assert err["extensions"]["code"] == "PAYFIP_REFUSED" and "R3" in err["message"]
    # A technical fault, unreadable / foreign answers, network failure, timeout: unavailable.
    payfip_sim.fault_next = ("TechIndisponibiliteErreur", "T2", "service en maintenance")
    assert await fam.code(START, id=str(inv.id)) == "PAYFIP_UNAVAILABLE"
    for name, raw in BROKEN_ANSWERS.items():
        payfip_sim.raw_next = raw
        assert await fam.code(START, id=str(inv.id)) == "PAYFIP_UNAVAILABLE", name
    for exc in (httpx.ConnectError("refused"), httpx.ReadTimeout("slow")):
        payfip_sim.down = exc
        assert await fam.code(START, id=str(inv.id)) == "PAYFIP_UNAVAILABLE"
    payfip_sim.down = None
    assert await PayfipOperation.filter(invoice_id=inv.id).count() == 0 and payfip_sim.ops == {}
    # The provider is back: the payment starts.
    assert (await fam.ok(START, id=str(inv.id)))["startCardPayment"]["idOp"] in payfip_sim.ops


async def test_notification_provider_errors_then_direct_debit_paid(gql, lines_plugin, payfip_sim, notify):
    ua, ub, inv = await _billed(lines_plugin)
    started = (await (await gql.as_user(ua)).ok(START, id=str(inv.id)))["startCardPayment"]
    payfip_sim.pay(started["idOp"], "V")  # paid by direct debit
    form = {"idOp": started["idOp"]}
    payfip_sim.raw_next = BROKEN_ANSWERS["not xml"]
    r = await notify.post("/payfip/notification", data=form)
    assert r.status_code == 502 and r.json()["error"]["code"] == "PAYFIP_UNAVAILABLE"
    payfip_sim.fault_next = ("TechDysfonctionnementErreur", "T1", "erreur interne")
    r = await notify.post("/payfip/notification", data=form)
    assert r.status_code == 502 and r.json()["error"]["code"] == "PAYFIP_UNAVAILABLE"
    payfip_sim.fault_next = ("FonctionnelleErreur", "P4", "refus")
    r = await notify.post("/payfip/notification", data=form)
    assert r.status_code == 400 and r.json()["error"]["code"] == "PAYFIP_REFUSED"
    payfip_sim.down = httpx.ConnectError("refused")
    r = await notify.post("/payfip/notification", data=form)
    assert r.status_code == 502 and r.json()["error"]["code"] == "PAYFIP_UNAVAILABLE"
    payfip_sim.down = None
    # A well-formed answer with garbage in it (dattrans not ddMMyyyy): unreadable, not believed.
    payfip_sim.ops[started["idOp"]]["dattrans"] = "31/03/23"
    r = await notify.post("/payfip/notification", data=form)
    assert r.status_code == 502 and r.json()["error"]["code"] == "PAYFIP_UNAVAILABLE"
    assert (await Invoice.get(id=inv.id)).paid_cents == 0
    assert (await PayfipOperation.get(id_op=started["idOp"])).status == "pending"

    # The provider is back: the notification is believed once.
    payfip_sim.ops[started["idOp"]]["dattrans"] = "31032023"
    r = await notify.post("/payfip/notification", data=form)
    assert r.status_code == 200 and r.json() == {"status": "paid"}
    payment = await Payment.get(invoice_id=inv.id)
    assert payment.amount_cents == 1300 and str(payment.paid_on) == "2023-03-31"
    r = await notify.post("/payfip/notification", data=form)
    assert r.status_code == 409 and await Payment.filter(invoice_id=inv.id).count() == 1


async def test_soap_values_are_escaped(payfip_sim):
    provider = payfip.get_provider()
    created = await provider.create_operation(
        numcli="012345", refdet="CDC202300001", amount_cents=4200, email="o'brien&<co>@example.org",
        url_notification="https://portail.test/payfip/notification?a=1&b=<2>",
        url_redirect="https://portail.test/factures/1", objet="Facture <été> & co")
    sent = payfip_sim.ops[created.id_op]
    assert sent["mel"] == "o'brien&<co>@example.org" and sent["urlnotif"].endswith("?a=1&b=<2>")
    assert sent["objet"] == "Facture ete co"
    # Markup in an idOp stays text: the provider looks up that exact (unknown) idOp, P1.
    with pytest.raises(payfip.PayfipError) as caught:
        await provider.fetch_result(f"</idOp><idOp>{created.id_op}")
    assert caught.value.code == "PAYFIP_UNKNOWN_OPERATION" and caught.value.provider_code == "P1"


RECORD_PAYMENT = """mutation($i: ID!, $a: Int!) {
  recordPayment(invoiceId: $i, amountCents: $a, method: CASH) { id status paidCents balanceCents } }"""


async def test_card_paid_after_the_invoice_was_settled_at_the_desk_is_recorded_once(gql, lines_plugin, payfip_sim,
                                                                                    notify):
    """Overpaid notification: the family started a card payment, then paid cash at the desk; the card
    payment completes afterwards. The card was debited, so the notification is believed and recorded
    (the invoice shows the overpayment to refund) — once, however many notifications arrive."""
    ua, _, inv = await _billed(lines_plugin)
    fam = await gql.as_user(ua)
    started = (await fam.ok(START, id=str(inv.id)))["startCardPayment"]
    agent = await gql.as_user(await make_staff("regie@example.org", services=["alsh"]))
    desk = (await agent.ok(RECORD_PAYMENT, i=str(inv.id), a=1300))["recordPayment"]
    assert desk["status"] == "PAID" and desk["balanceCents"] == 0

    payfip_sim.pay(started["idOp"])
    r = await notify.post("/payfip/notification", data={"idOp": started["idOp"]})
    assert r.status_code == 200 and r.json() == {"status": "paid"}
    inv = await Invoice.get(id=inv.id)
    assert inv.paid_cents == 2600 and inv.status == "soldee" and inv.balance_cents == 0
    assert sorted(p.method for p in await Payment.filter(invoice_id=inv.id)) == ["cash", "payfip"]
    assert (await PayfipOperation.get(id_op=started["idOp"])).status == "paid"

    for _ in range(2):  # the provider notifies again: nothing more is recorded
        r = await notify.post("/payfip/notification", data={"idOp": started["idOp"]})
        assert r.status_code == 409 and r.json()["error"]["code"] == "ALREADY_PROCESSED"
    assert await Payment.filter(invoice_id=inv.id).count() == 2
    assert (await Invoice.get(id=inv.id)).paid_cents == 2600
