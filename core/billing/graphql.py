"""GraphQL of billing: the family's invoices, tariffs and card payment; staff billing runs,
payments, credit notes and invoice search. PDFs at /files/invoice/<id> and
/files/attestation/<household_id>-<year> (`?inline=1` for the "aperçu")."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import strawberry
from strawberry.types import Info

from core.billing import payfip, rules, service
from core.billing.models import Invoice, InvoiceLine, Payment
from core.billing.types import BillingPeriod
from core.config import get_settings
from core.contributions import FileDownload, GraphQLContribution
from core.graphql_support import actor, ctx, parse_id
from core.permissions import Actor, require_user


@strawberry.type
class BillingInvoiceLine:
    id: strawberry.ID
    designation: str
    quantity: str
    unit_price_cents: int
    amount_cents: int
    child_id: strawberry.ID | None
    child_name: str
    establishment: str
    cancelled: bool

    @classmethod
    def from_model(cls, line: InvoiceLine) -> BillingInvoiceLine:
        cid = line.child_id  # type: ignore[attr-defined]
        q = format(line.quantity.normalize(), "f") if line.quantity is not None else "0"
        return cls(id=strawberry.ID(str(line.id)), designation=line.designation, quantity=q,
                   unit_price_cents=line.unit_price_cents, amount_cents=line.amount_cents,
                   child_id=strawberry.ID(str(cid)) if cid else None, child_name=line.child_name,
                   establishment=line.establishment, cancelled=line.cancelled_at is not None)


@strawberry.type
class BillingPayment:
    id: strawberry.ID
    amount_cents: int
    method: str
    reference: str
    paid_on: date
    reversed: bool
    reversal_reason: str

    @classmethod
    def from_model(cls, p: Payment) -> BillingPayment:
        return cls(id=strawberry.ID(str(p.id)), amount_cents=p.amount_cents, method=p.method, reference=p.reference,
                   paid_on=p.paid_on, reversed=p.reversed_at is not None, reversal_reason=p.reversal_reason)


async def _load_lines(keys: list[int]) -> list[list[InvoiceLine]]:
    rows = await InvoiceLine.filter(invoice_id__in=keys).order_by("child_name", "id")
    by: dict[int, list[InvoiceLine]] = defaultdict(list)
    for row in rows:
        by[row.invoice_id].append(row)  # type: ignore[attr-defined]
    return [by.get(k, []) for k in keys]


async def _load_payments(keys: list[int]) -> list[list[Payment]]:
    rows = await Payment.filter(invoice_id__in=keys).order_by("paid_on", "id")
    by: dict[int, list[Payment]] = defaultdict(list)
    for row in rows:
        by[row.invoice_id].append(row)  # type: ignore[attr-defined]
    return [by.get(k, []) for k in keys]


@strawberry.type
class BillingPaymentWay:
    """One way to pay the invoice ("card", "sepa", "desk") with what the family needs to know."""

    code: str
    label: str
    detail: str


@strawberry.type
class BillingInvoiceMentions:
    """What the avis des sommes à payer must say besides its lines (CGCT L1617-5): the issuer and
    their role, the payment deadline, the comptable public, how to pay, the voies et délais de
    recours (one sentence per item)."""

    issuer_name: str
    issuer_role: str
    due_date: date
    comptable: str
    payment_ways: list[BillingPaymentWay]
    recourse: list[str]

    @classmethod
    def from_rules(cls, m: rules.InvoiceMentions) -> BillingInvoiceMentions:
        return cls(issuer_name=m.issuer_name, issuer_role=m.issuer_role, due_date=m.due_date,
                   comptable=m.comptable, recourse=list(m.recourse),
                   payment_ways=[BillingPaymentWay(code=w.code, label=w.label, detail=w.detail)
                                 for w in m.payment_ways])


@strawberry.type
class BillingInvoice:
    id: strawberry.ID
    number: str
    kind: str
    regie_code: str
    regie_name: str
    household_id: strawberry.ID
    issued_on: date
    period_start: date
    period_end: date
    establishments: str
    total_cents: int
    paid_cents: int
    credited_cents: int
    balance_cents: int
    status: str
    status_label: str
    reason: str
    pdf_url: str
    preview_url: str
    corrects_id: strawberry.ID | None
    due_date: date | None = strawberry.field(description="Payment deadline (none on a credit note).")
    mentions: BillingInvoiceMentions | None = strawberry.field(
        description="Legal mentions of the invoice (none on a credit note).")

    @classmethod
    def from_model(cls, inv: Invoice) -> BillingInvoice:
        mentions = service.invoice_mentions(inv)
        regie = get_settings().regie(inv.regie_code)
        corrects = inv.corrects_id  # type: ignore[attr-defined]
        return cls(id=strawberry.ID(str(inv.id)), number=inv.number, kind=inv.kind, regie_code=inv.regie_code,
                   regie_name=regie.name if regie else inv.regie_code,
                   household_id=strawberry.ID(str(inv.household_id)),  # type: ignore[attr-defined]
                   issued_on=inv.issued_on, period_start=inv.period_start, period_end=inv.period_end,
                   establishments=inv.establishments, total_cents=inv.total_cents, paid_cents=inv.paid_cents,
                   credited_cents=inv.credited_cents, balance_cents=inv.balance_cents, status=inv.status,
                   status_label=service.STATUS_LABELS.get(inv.status, inv.status), reason=inv.reason,
                   pdf_url=f"/files/invoice/{inv.id}", preview_url=f"/files/invoice/{inv.id}?inline=1",
                   corrects_id=strawberry.ID(str(corrects)) if corrects else None,
                   due_date=mentions.due_date if mentions else None,
                   mentions=BillingInvoiceMentions.from_rules(mentions) if mentions else None)

    @strawberry.field
    async def lines(self, info: Info) -> list[BillingInvoiceLine]:
        rows = await ctx(info).loader("billing.lines", _load_lines).load(int(self.id))
        return [BillingInvoiceLine.from_model(r) for r in rows]

    @strawberry.field
    async def payments(self, info: Info) -> list[BillingPayment]:
        rows = await ctx(info).loader("billing.payments", _load_payments).load(int(self.id))
        return [BillingPayment.from_model(r) for r in rows]


@strawberry.type
class BillingInvoiceList:
    items: list[BillingInvoice]
    count: int
    total_cents: int
    solde_du_cents: int


@strawberry.type
class BillingTariffBracket:
    qf_max: int | None
    price_cents: int


@strawberry.type
class BillingTariff:
    code: str
    label: str
    service: str
    method: str
    flat_cents: int
    brackets: list[BillingTariffBracket]
    rate: str
    floor_cents: int
    ceiling_cents: int
    degressive_cents: list[int]
    bracket_index: int | None = strawberry.field(description="The family's bracket (highlighted), if any.")
    your_price_cents: int | None = strawberry.field(description="Unit price for the family (1st child).")


@strawberry.type
class BillingRunSummary:
    run_id: strawberry.ID
    households: int
    invoices: int
    lines: int
    skipped_lines: int
    total_cents: int


@strawberry.type
class BillingCardPayment:
    id_op: str
    redirect_url: str


def _list(items: list[Invoice]) -> BillingInvoiceList:
    return BillingInvoiceList(items=[BillingInvoice.from_model(i) for i in items], count=len(items),
                              total_cents=sum(i.total_cents for i in items),
                              solde_du_cents=sum(i.balance_cents for i in items))


@strawberry.type
class BillingQuery:
    @strawberry.field(description="« Mes factures »: the family's invoices of a year (all years when null).")
    async def my_invoices(self, info: Info, year: int | None = None) -> BillingInvoiceList:
        return _list(await service.family_invoices(actor(info), year))

    @strawberry.field(description="One invoice with its lines (own household, or staff of its régie).")
    async def invoice(self, info: Info, id: strawberry.ID) -> BillingInvoice:
        return BillingInvoice.from_model(await service.get_invoice_for(actor(info), parse_id(id)))

    @strawberry.field(description="« Tarifs »: every activity's grid, with the family's bracket.")
    async def tariffs(self, info: Info) -> list[BillingTariff]:
        a = actor(info)
        require_user(a)
        qf, resources = await service.household_qf(a.household_id)
        out = []
        for t in await service.tariff_catalogue():
            g = t.grid
            out.append(BillingTariff(
                code=t.code, label=t.label, service=t.service, method=g.method, flat_cents=g.flat_cents,
                brackets=[BillingTariffBracket(qf_max=u, price_cents=p) for u, p in g.brackets],
                rate=str(g.rate), floor_cents=g.floor_cents, ceiling_cents=g.ceiling_cents,
                degressive_cents=list(g.degressive_cents),
                bracket_index=rules.bracket_index(g, qf) if a.household_id else None,
                your_price_cents=rules.unit_price_cents(g, qf, resources) if a.household_id else None))
        return out

    @strawberry.field(description="Years with payments, for the « Attestation de paiement ».")
    async def payment_years(self, info: Info) -> list[int]:
        return await service.payment_years(actor(info))

    @strawberry.field(description="Staff: invoices by household, régie and state (régies of their services).")
    async def invoices(self, info: Info, household_id: strawberry.ID | None = None, regie_code: str | None = None,
                       status: str | None = None) -> BillingInvoiceList:
        hid = parse_id(household_id, "householdId") if household_id is not None else None
        return _list(await service.staff_invoices(actor(info), hid, regie_code, status))


@strawberry.type
class BillingMutation:
    @strawberry.mutation(description="Staff: bill every household for a period (idempotent).")
    async def run_billing(self, info: Info, period_start: date, period_end: date) -> BillingRunSummary:
        r = await service.run_billing(BillingPeriod(period_start, period_end), actor(info))
        return BillingRunSummary(run_id=strawberry.ID(str(r.run_id)), households=r.households, invoices=r.invoices,
                                 lines=r.lines, skipped_lines=r.skipped_lines, total_cents=r.total_cents)

    @strawberry.mutation(description="Staff: a payment at the desk (cash, cheque, cesu, card).")
    async def record_payment(self, info: Info, invoice_id: strawberry.ID, amount_cents: int, method: str,
                             reference: str = "", paid_on: date | None = None) -> BillingInvoice:
        payment = await service.record_payment(actor(info), invoice_id, amount_cents, method, reference, paid_on)
        return BillingInvoice.from_model(await Invoice.get(id=payment.invoice_id))  # type: ignore[attr-defined]

    @strawberry.mutation(description="Staff: a credit note (avoir) on an invoice: an amount or whole lines.")
    async def issue_credit_note(self, info: Info, invoice_id: strawberry.ID, reason: str,
                                amount_cents: int | None = None,
                                line_ids: list[strawberry.ID] | None = None) -> BillingInvoice:
        ids = [parse_id(i, "lineIds") for i in line_ids] if line_ids else None
        credit = await service.issue_credit_note(actor(info), invoice_id, reason, amount_cents, ids)
        return BillingInvoice.from_model(credit)

    @strawberry.mutation(description="Family: pay an invoice's balance by card (PayFiP): the URL to go to.")
    async def start_card_payment(self, info: Info, invoice_id: strawberry.ID) -> BillingCardPayment:
        created = await payfip.start_card_payment(actor(info), invoice_id)
        return BillingCardPayment(id_op=created.id_op, redirect_url=created.redirect_url)


async def _invoice_download(actor_: Actor, object_id: str) -> FileDownload:
    invoice, pdf = await service.invoice_pdf(actor_, object_id)
    return FileDownload(filename=f"facture-{invoice.number}.pdf", content_type="application/pdf", content=pdf)


async def _attestation_download(actor_: Actor, object_id: str) -> FileDownload:
    filename, pdf = await service.attestation_pdf(actor_, object_id)
    return FileDownload(filename=filename, content_type="application/pdf", content=pdf)


downloads = {"invoice": _invoice_download, "attestation": _attestation_download}
contribution = GraphQLContribution(query=BillingQuery, mutation=BillingMutation)
