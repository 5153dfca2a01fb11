"""Online card payment (PayFiP): against a provider simulator speaking the web-service protocol."""

from __future__ import annotations

from core.billing.models import Invoice, PayfipOperation, Payment
from core.billing.service import run_billing
from tests.billing.conftest import MARCH
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
    assert sent["urlnotif"].endswith("/payfip/notification")

    # Notified before the card holder finished: nothing is believed.
    r = await notify.post("/payfip/notification", data={"idOp": started["idOp"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "NOT_FINAL"
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

    # An idOp we know but the provider does not (forged row / provider lost it).
    await PayfipOperation.create(id_op="ghost", invoice_id=inv.id, amount_cents=1300)
    r = await notify.post("/payfip/notification", data={"idOp": "ghost"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "PAYFIP_UNKNOWN_OPERATION"

    # Refused by the bank: marked, invoice unchanged, later notifications refused.
    second = (await fam.ok(START, id=str(inv.id)))["startCardPayment"]
    payfip_sim.pay(second["idOp"], "R")
    r = await notify.post("/payfip/notification", data={"idOp": second["idOp"]})
    assert r.status_code == 200 and r.json() == {"status": "refused"}
    assert (await Invoice.get(id=inv.id)).status == "non_soldee"


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
