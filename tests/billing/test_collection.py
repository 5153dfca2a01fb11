"""One collection channel per invoice: a card payment (PayFiP) and a SEPA debit never both collect
one invoice; the maintenance sweep settles card payments whose notification never came."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest

from core.billing.models import Invoice, PayfipOperation, Payment
from core.plugins import get_host
from core.timeutil import now, today
from plugins.prelevement.models import SepaDebit
from tests.conftest import make_family, make_staff
from tests.prelevement.conftest import make_invoice, make_mandate

START = "mutation($id: ID!) { startCardPayment(invoiceId: $id) { idOp redirectUrl } }"
BUILD = """mutation($regie: String!, $due: Date!) { buildPrelevementBatch(regieCode: $regie, dueDate: $due) {
  id count debits { items { id invoiceId amountCents } } } }"""
SENT = "mutation($id: ID!) { markPrelevementBatchSent(batchId: $id) { id status } }"
REJECT = "mutation($id: ID!, $code: PrelevementRejectReason!) { recordPrelevementReject(debitId: $id, reason: $code) { id status } }"


def due() -> str:
    from plugins.prelevement.rules import earliest_due_date

    return earliest_due_date(today()).isoformat()


async def sweep() -> dict[str, int]:
    """What the hourly maintenance (server loop or `portail maintenance`) runs."""
    return await get_host().maintenance(today())


async def _family_with_mandate(email: str = "fam@example.org", name: str = "MARTIN"):
    user, household, _ = await make_family(email, name=name)
    await make_mandate(household, "cdc")
    return user, household


async def _age(id_op: str, minutes: int) -> None:
    """The operation was started `minutes` ago (instead of waiting in the test)."""
    await PayfipOperation.filter(id_op=id_op).update(created_at=now() - timedelta(minutes=minutes))


async def test_lost_notification_the_sweep_pays_and_the_next_batch_leaves_it_out(gql, payfip_sim, notify):
    user, household = await _family_with_mandate()
    card_invoice = await make_invoice(household, "cdc", 4250)
    other = await make_invoice(household, "cdc", 1800)
    fam = await gql.as_user(user)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))

    started = (await fam.ok(START, id=str(card_invoice.id)))["startCardPayment"]
    # While the card payment is in progress the batch leaves that invoice out.
    batch = (await admin.ok(BUILD, regie="cdc", due=due()))["buildPrelevementBatch"]
    assert [d["invoiceId"] for d in batch["debits"]["items"]] == [str(other.id)]

    # The family pays on PayFiP's page; the notification is lost.
    payfip_sim.pay(started["idOp"])
    assert (await Invoice.get(id=card_invoice.id)).paid_cents == 0
    done = await sweep()
    assert done["payfip_paid"] == 1
    card_invoice = await Invoice.get(id=card_invoice.id)
    assert card_invoice.status == "soldee" and card_invoice.paid_cents == 4250 and card_invoice.collection == ""
    payment = await Payment.get(invoice_id=card_invoice.id)
    assert payment.method == "payfip" and started["idOp"] in payment.reference
    # Idempotent: a second sweep, then the late notification, record nothing more.
    assert "payfip_paid" not in await sweep()
    r = await notify.post("/payfip/notification", data={"idOp": started["idOp"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALREADY_PROCESSED"
    assert await Payment.filter(invoice_id=card_invoice.id).count() == 1

    # The next batch debits the new invoice only, never the one paid by card.
    await admin.ok(SENT, id=batch["id"])
    third = await make_invoice(household, "cdc", 990)
    second = (await admin.ok(BUILD, regie="cdc", due=due()))["buildPrelevementBatch"]
    assert [d["invoiceId"] for d in second["debits"]["items"]] == [str(third.id)]
    assert not await SepaDebit.filter(invoice_id=card_invoice.id).exists()


async def test_card_payment_refused_on_an_invoice_in_a_sepa_batch(gql, payfip_sim):
    user, household = await _family_with_mandate()
    invoice = await make_invoice(household, "cdc", 4250)
    fam = await gql.as_user(user)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    batch = (await admin.ok(BUILD, regie="cdc", due=due()))["buildPrelevementBatch"]

    err = await fam.error(START, id=str(invoice.id))
    assert err["extensions"]["code"] == "INVOICE_IN_SEPA_BATCH" and "prélèvement" in err["message"]
    assert payfip_sim.ops == {} and not await PayfipOperation.exists()
    # Sent to the bank: paid by SEPA, nothing left to pay by card.
    await admin.ok(SENT, id=batch["id"])
    assert await fam.code(START, id=str(invoice.id)) == "NOTHING_TO_PAY"
    # The bank rejects the debit: the invoice is due again and free for the card.
    await admin.ok(REJECT, id=batch["debits"]["items"][0]["id"], code="AM04")
    invoice = await Invoice.get(id=invoice.id)
    assert invoice.balance_cents == 4250 and invoice.collection == ""
    started = (await fam.ok(START, id=str(invoice.id)))["startCardPayment"]
    assert payfip_sim.ops[started["idOp"]]["montant"] == "4250"
    # ... and while that card payment runs, no batch takes it.
    assert await admin.code(BUILD, regie="cdc", due=due()) == "EMPTY_BATCH"


async def test_second_card_payment_while_one_is_in_progress(gql, payfip_sim, notify):
    user, household = await _family_with_mandate()
    invoice = await make_invoice(household, "cdc", 4250)
    fam = await gql.as_user(user)
    first = (await fam.ok(START, id=str(invoice.id)))["startCardPayment"]
    # The provider says "in progress" (P5): a second operation would be a second collection.
    err = await fam.error(START, id=str(invoice.id))
    assert err["extensions"]["code"] == "CARD_PAYMENT_IN_PROGRESS"
    assert len(payfip_sim.ops) == 1
    # The family abandoned the payment page ("A"): within the idOp's lifetime it may still come
    # back, so the operation stays pending; once the lifetime is over it is closed and freed.
    payfip_sim.pay(first["idOp"], "A")
    assert await fam.code(START, id=str(invoice.id)) == "CARD_PAYMENT_IN_PROGRESS"
    await _age(first["idOp"], 25)
    second = (await fam.ok(START, id=str(invoice.id)))["startCardPayment"]
    assert (await PayfipOperation.get(id_op=first["idOp"])).status == "abandoned"
    assert second["idOp"] != first["idOp"] and payfip_sim.ops[second["idOp"]]["montant"] == "4250"


async def test_sweep_expires_operations_without_result_and_frees_the_invoice(gql, payfip_sim):
    user, household = await _family_with_mandate()
    invoice = await make_invoice(household, "cdc", 4250)
    purged = await make_invoice(household, "cdc", 1000)
    fam = await gql.as_user(user)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    started = (await fam.ok(START, id=str(invoice.id)))["startCardPayment"]
    gone = (await fam.ok(START, id=str(purged.id)))["startCardPayment"]

    # Within ~20 minutes: P5 means in progress; the claim holds.
    assert (await sweep())["payfip_pending"] == 2
    assert (await Invoice.get(id=invoice.id)).collection == "card"
    assert await admin.code(BUILD, regie="cdc", due=due()) == "EMPTY_BATCH"

    # Later: P5 means the idOp expired; an idOp purged by the provider's nightly job answers P1.
    await _age(started["idOp"], 21)
    del payfip_sim.ops[gone["idOp"]]
    done = await sweep()
    assert done["payfip_closed"] == 2 and "payfip_paid" not in done
    assert {o.status for o in await PayfipOperation.all()} == {"expired"}
    assert not await Payment.exists()
    batch = (await admin.ok(BUILD, regie="cdc", due=due()))["buildPrelevementBatch"]
    assert sorted(int(d["invoiceId"]) for d in batch["debits"]["items"]) == sorted([invoice.id, purged.id])


async def test_payfip_amount_bounds(gql, payfip_sim):
    user, household, _ = await make_family("fam@example.org")
    fam = await gql.as_user(user)
    for cents, ok in ((99, False), (100, True), (10_000_000, True), (10_000_001, False)):
        invoice = await make_invoice(household, "cdc", cents)
        if ok:
            assert (await fam.ok(START, id=str(invoice.id)))["startCardPayment"]["idOp"]
        else:
            err = await fam.error(START, id=str(invoice.id))
            assert err["extensions"] == {"code": "PAYFIP_AMOUNT_OUT_OF_RANGE", "field": "invoiceId"}
            assert "1,00" in err["message"] and "100" in err["message"]
            assert (await Invoice.get(id=invoice.id)).collection == ""
    assert len(payfip_sim.ops) == 2


async def test_provider_down_at_start_releases_the_claim(gql, payfip_sim):
    import httpx

    user, household = await _family_with_mandate()
    invoice = await make_invoice(household, "cdc", 4250)
    fam = await gql.as_user(user)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    payfip_sim.down = httpx.ConnectError("refused")
    assert await fam.code(START, id=str(invoice.id)) == "PAYFIP_UNAVAILABLE"
    assert (await Invoice.get(id=invoice.id)).collection == "" and not await PayfipOperation.exists()
    batch = (await admin.ok(BUILD, regie="cdc", due=due()))["buildPrelevementBatch"]
    assert batch["count"] == 1


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="row locks are only real on PostgreSQL (DATABASE_URL=postgres://…)")
async def test_card_and_sepa_at_once_never_both_collect_an_invoice(gql, payfip_sim):
    families = [await _family_with_mandate(f"f{i}@example.org", f"F{i}") for i in range(6)]
    invoices = [await make_invoice(household, "cdc", 1000 + i) for i, (_, household) in enumerate(families)]
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    clients = [await gql.as_user(user) for user, _ in families]

    calls = [admin.execute(BUILD, {"regie": "cdc", "due": due()})]
    calls += [c.execute(START, {"id": str(inv.id)}) for c, inv in zip(clients, invoices, strict=True)]
    calls += [admin.execute(BUILD, {"regie": "cdc", "due": due()})]
    results = await asyncio.gather(*calls)
    for r in results:
        for error in r.get("errors") or []:
            assert error["extensions"]["code"] in ("INVOICE_IN_SEPA_BATCH", "EMPTY_BATCH", "BATCH_IN_PROGRESS")
    by_card = {op.invoice_id for op in await PayfipOperation.all()}  # type: ignore[attr-defined]
    by_sepa = set(await SepaDebit.all().values_list("invoice_id", flat=True))
    assert by_card.isdisjoint(by_sepa)
    assert by_card | by_sepa == {i.id for i in invoices}  # every invoice went to exactly one channel

    # Everything is collected: the card holders pay, the sweep records it, the batches go out.
    for op in await PayfipOperation.all():
        payfip_sim.pay(op.id_op)
    await sweep()
    for r in results:
        if (r.get("data") or {}).get("buildPrelevementBatch"):
            await admin.ok(SENT, id=r["data"]["buildPrelevementBatch"]["id"])
    for invoice in invoices:
        payments = await Payment.filter(invoice_id=invoice.id)
        assert len(payments) == 1 and payments[0].amount_cents == invoice.total_cents

