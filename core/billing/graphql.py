"""GraphQL of billing: the family's invoices, tariffs and card payment; staff billing runs,
payments, credit notes and invoice search. PDFs at /files/invoice/<id> and
/files/attestation/<household_id>-<year> (`?inline=1` for the "aperçu")."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from core.billing import models, payfip, rules, service
from core.billing.models import Invoice, InvoiceLine, Payment
from core.billing.types import BillingPeriod
from core.config import get_settings
from core.contributions import FileDownload, GraphQLContribution
from core.graphql_support import (
    DEFAULT_PAGE_SIZE,
    LabelledEnum,
    Limit,
    Offset,
    Page,
    actor,
    check_page,
    ctx,
    graphql_enum,
    page_of,
    parse_id,
)
from core.permissions import Actor, require_user

YearArg = Annotated[int | None, strawberry.argument(description="A calendar year (« 2026 »); null: every year.")]


class InvoiceStatus(LabelledEnum):
    UNPAID = (rules.STATUS_UNPAID, "Non soldée", "Nothing paid or credited yet: the whole total is due.")
    PARTIALLY_PAID = (rules.STATUS_PARTIAL, "Partiellement payée",
                      "Some of the total is paid or credited; `balanceCents` remains due.")
    PAID = (rules.STATUS_PAID, "Soldée", "Fully paid or credited: `balanceCents` is 0.")


class InvoiceKind(LabelledEnum):
    INVOICE = (models.InvoiceKind.INVOICE, "Facture", "An invoice (avis des sommes à payer) the family owes.")
    CREDIT_NOTE = (models.InvoiceKind.CREDIT_NOTE, "Avoir",
                   "A credit note (avoir) reducing an earlier invoice (`correctsId`); never paid itself.")


class PaymentMethod(LabelledEnum):
    CASH = (models.PaymentMethod.CASH, "Espèces", "Cash at the régie's desk.")
    CHEQUE = (models.PaymentMethod.CHEQUE, "Chèque", "A bank cheque handed or posted to the régie.")
    CESU = (models.PaymentMethod.CESU, "CESU", "Chèques emploi service universel (pre-financed CESU).")
    CARD = (models.PaymentMethod.CARD, "Carte bancaire", "A card payment at the desk's terminal.")
    SEPA = (models.PaymentMethod.SEPA, "Prélèvement", "SEPA direct debit (recorded by the prélèvement plugin, "
                                                      "not at the desk).")
    PAYFIP = (models.PaymentMethod.PAYFIP, "Paiement en ligne", "An online card payment through the DGFiP's "
                                                                "PayFiP (recorded automatically, not at the desk).")


class TariffMethod(LabelledEnum):
    FLAT = ("flat", "Tarif unique", "One price for everyone: `flatCents`.")
    QF_BRACKETS = ("qf_brackets", "Selon le quotient familial",
                   "A price per quotient familial bracket: `brackets`.")
    TAUX_EFFORT = ("taux_effort", "Taux d'effort", "Monthly resources × `rate`, bounded by `floorCents` and "
                                                   "`ceilingCents` (CNAF taux d'effort).")
    DEGRESSIVE = ("degressive", "Dégressif", "A price per child rank: `degressiveCents` (1st, 2nd, 3rd… child).")


class PaymentWayKind(LabelledEnum):
    CARD = ("card", "Carte bancaire en ligne", "Online card payment on the portal (PayFiP).")
    SEPA = ("sepa", "Prélèvement automatique", "SEPA direct debit, joined from the portal.")
    DESK = ("desk", "À la régie", "At the régie's desk (address, opening hours and accepted means in `detail`).")


graphql_enum(InvoiceStatus, description="The payment state of an invoice.")
graphql_enum(InvoiceKind, description="An invoice or a credit note (avoir).")
graphql_enum(PaymentMethod, description="How a payment was made.")
graphql_enum(TariffMethod, description="How a tariff computes its unit price.")
graphql_enum(PaymentWayKind, description="A way the family may pay an invoice, as printed on it.")


@strawberry.type(name="InvoiceLine", description=(
    "One line of an invoice: what was billed for which child. Read with the invoice (family of the household, "
    "staff of its régie)."))
class BillingInvoiceLine:
    id: strawberry.ID = strawberry.field(description="The line's id (for `issueCreditNote(lineIds:)`).")
    designation: str = strawberry.field(description="What is billed, in French (« Accueil du soir — 12 jours »).")
    quantity: str = strawberry.field(description=(
        "How many units, a decimal as a string without trailing zeros (« 12 », « 7.5 » hours)."))
    unit_price_cents: int = strawberry.field(description="Price of one unit, in euro cents.")
    amount_cents: int = strawberry.field(description="The line's amount, in euro cents (quantity × unit price).")
    child_id: strawberry.ID | None = strawberry.field(description="The child billed, null for a household line.")
    child_name: str = strawberry.field(description="First and last name of the child as billed, \"\" for none.")
    establishment: str = strawberry.field(description="Name of the establishment that provided the service.")
    cancelled: bool = strawberry.field(description="True when a credit note cancelled this line.")

    @classmethod
    def from_model(cls, line: InvoiceLine) -> BillingInvoiceLine:
        cid = line.child_id  # type: ignore[attr-defined]
        q = format(line.quantity.normalize(), "f") if line.quantity is not None else "0"
        return cls(id=strawberry.ID(str(line.id)), designation=line.designation, quantity=q,
                   unit_price_cents=line.unit_price_cents, amount_cents=line.amount_cents,
                   child_id=strawberry.ID(str(cid)) if cid else None, child_name=line.child_name,
                   establishment=line.establishment, cancelled=line.cancelled_at is not None)


@strawberry.type(name="Payment", description="A payment received against an invoice (desk, card, direct debit).")
class BillingPayment:
    id: strawberry.ID = strawberry.field(description="The payment's id.")
    amount_cents: int = strawberry.field(description="Amount received, in euro cents.")
    method: PaymentMethod = strawberry.field(description="How it was paid.")
    reference: str = strawberry.field(description="Cheque number, CESU numbers or card receipt, \"\" if none.")
    paid_on: date = strawberry.field(description="Date of payment (ISO, Europe/Paris).")
    reversed: bool = strawberry.field(description="True when the payment was reversed (cheque returned unpaid…).")
    reversal_reason: str = strawberry.field(description="Why it was reversed, in French, \"\" when not reversed.")

    @strawberry.field(description="The method's French label to show (« Chèque »).")
    def method_label(self) -> str:
        return self.method.label

    @classmethod
    def from_model(cls, p: Payment) -> BillingPayment:
        return cls(id=strawberry.ID(str(p.id)), amount_cents=p.amount_cents, method=PaymentMethod(p.method),
                   reference=p.reference, paid_on=p.paid_on, reversed=p.reversed_at is not None,
                   reversal_reason=p.reversal_reason)


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


@strawberry.type(name="PaymentWay", description="One way to pay an invoice, with what the family needs to know.")
class BillingPaymentWay:
    kind: PaymentWayKind = strawberry.field(description="Which way.")
    label: str = strawberry.field(description="French title to show (« Par carte bancaire en ligne »).")
    detail: str = strawberry.field(description="French details: where, when, how (may be empty).")


@strawberry.type(name="InvoiceMentions", description=(
    "What the avis des sommes à payer must say besides its lines (CGCT L1617-5): the issuer and their title, "
    "the payment deadline, the comptable public, how to pay, the voies et délais de recours."))
class BillingInvoiceMentions:
    issuer_name: str = strawberry.field(description="Name of the ordonnateur issuing the invoice.")
    issuer_title: str = strawberry.field(description="Their title as configured (« Président »), free text.")
    due_date: date = strawberry.field(description="Payment deadline (ISO date).")
    comptable: str = strawberry.field(description="The comptable public who collects (the trésorerie).")
    payment_ways: list[BillingPaymentWay] = strawberry.field(description=(
        "The ways to pay, in the order to show. Not paginated: at most three."))
    recourse: list[str] = strawberry.field(description=(
        "The voies et délais de recours, one French sentence each, in order. Not paginated: three sentences."))

    @classmethod
    def from_rules(cls, m: rules.InvoiceMentions) -> BillingInvoiceMentions:
        return cls(issuer_name=m.issuer_name, issuer_title=m.issuer_role, due_date=m.due_date,
                   comptable=m.comptable, recourse=list(m.recourse),
                   payment_ways=[BillingPaymentWay(kind=PaymentWayKind(w.code), label=w.label, detail=w.detail)
                                 for w in m.payment_ways])


@strawberry.type(name="Invoice", description=(
    "An invoice (avis des sommes à payer) or a credit note of one household and one régie. The family sees "
    "its own; agents the invoices of their services' régies in households they need to know; admins all. "
    "PDF at `pdfUrl`."))
class BillingInvoice:
    id: strawberry.ID = strawberry.field(description="The invoice's id.")
    number: str = strawberry.field(description="Its number, unique per régie and year (« CRE-2026-000123 »).")
    kind: InvoiceKind = strawberry.field(description="Invoice or credit note.")
    regie_code: str = strawberry.field(description="Code of the régie that issued it (`[[regies]]` code).")
    regie_name: str = strawberry.field(description="Name of that régie, to show.")
    household_id: strawberry.ID = strawberry.field(description="The household billed.")
    issued_on: date = strawberry.field(description="Issue date (ISO).")
    period_start: date = strawberry.field(description="First day of the period billed (ISO).")
    period_end: date = strawberry.field(description="Last day of the period billed (ISO, inclusive).")
    establishments: str = strawberry.field(description="Names of the establishments billed, comma-separated.")
    total_cents: int = strawberry.field(description="Total, in euro cents (negative on a credit note).")
    paid_cents: int = strawberry.field(description="Paid so far (payments not reversed), in euro cents.")
    credited_cents: int = strawberry.field(description="Reduced by credit notes so far, in euro cents.")
    balance_cents: int = strawberry.field(description="Still due: total − paid − credited, in euro cents.")
    status: InvoiceStatus = strawberry.field(description="Payment state.")
    reason: str = strawberry.field(description="A credit note's reason (French), \"\" on an invoice.")
    pdf_url: str = strawberry.field(description="Relative URL of the PDF (download, same session).")
    preview_url: str = strawberry.field(description="Relative URL of the PDF shown inline (« aperçu »).")
    corrects_id: strawberry.ID | None = strawberry.field(description="A credit note: the invoice it reduces.")
    # The stored invoice, for the mentions: computed from the régie's configuration only when asked.
    model: strawberry.Private[Invoice]

    @strawberry.field(description="Payment deadline (none on a credit note).")
    def due_date(self) -> date | None:
        mentions = service.invoice_mentions(self.model)
        return mentions.due_date if mentions else None

    @strawberry.field(description="Legal mentions of the invoice (none on a credit note).")
    def mentions(self) -> BillingInvoiceMentions | None:
        mentions = service.invoice_mentions(self.model)
        return BillingInvoiceMentions.from_rules(mentions) if mentions else None

    @strawberry.field(description="The status's French label to show (« Partiellement payée »).")
    def status_label(self) -> str:
        return self.status.label

    @strawberry.field(description="The kind's French label to show (« Facture », « Avoir »).")
    def kind_label(self) -> str:
        return self.kind.label

    @classmethod
    def from_model(cls, inv: Invoice) -> BillingInvoice:
        regie = get_settings().regie(inv.regie_code)
        corrects = inv.corrects_id  # type: ignore[attr-defined]
        return cls(id=strawberry.ID(str(inv.id)), number=inv.number, kind=InvoiceKind(inv.kind),
                   regie_code=inv.regie_code, regie_name=regie.name if regie else inv.regie_code,
                   household_id=strawberry.ID(str(inv.household_id)),  # type: ignore[attr-defined]
                   issued_on=inv.issued_on, period_start=inv.period_start, period_end=inv.period_end,
                   establishments=inv.establishments, total_cents=inv.total_cents, paid_cents=inv.paid_cents,
                   credited_cents=inv.credited_cents, balance_cents=inv.balance_cents,
                   status=InvoiceStatus(inv.status), reason=inv.reason,
                   pdf_url=f"/files/invoice/{inv.id}", preview_url=f"/files/invoice/{inv.id}?inline=1",
                   corrects_id=strawberry.ID(str(corrects)) if corrects else None, model=inv)

    @strawberry.field(description="The lines, by child name then id. Not paginated: one invoice's lines.")
    async def lines(self, info: Info) -> list[BillingInvoiceLine]:
        rows = await ctx(info).loader("billing.lines", _load_lines).load(int(self.id))
        return [BillingInvoiceLine.from_model(r) for r in rows]

    @strawberry.field(description="The payments, oldest first. Not paginated: one invoice's payments.")
    async def payments(self, info: Info) -> list[BillingPayment]:
        rows = await ctx(info).loader("billing.payments", _load_payments).load(int(self.id))
        return [BillingPayment.from_model(r) for r in rows]


@strawberry.type(name="InvoiceTotals", description="Sums over the family's invoices of a year (« Mes factures »).")
class BillingInvoiceTotals:
    count: int = strawberry.field(description="How many invoices and credit notes.")
    total_cents: int = strawberry.field(description="Sum of their totals, in euro cents.")
    balance_cents: int = strawberry.field(description="Sum still due (« solde dû »), in euro cents.")


@strawberry.type(name="TariffBracket", description="One quotient familial bracket of a tariff.")
class BillingTariffBracket:
    qf_max: int | None = strawberry.field(description="Upper QF bound, inclusive; null for the last bracket.")
    price_cents: int = strawberry.field(description="Unit price in the bracket, in euro cents.")


@strawberry.type(name="Tariff", description="One activity's price grid (« Tarifs »).")
class BillingTariff:
    code: str = strawberry.field(description="Tariff code (configuration).")
    label: str = strawberry.field(description="French name of the activity priced.")
    service: str = strawberry.field(description="Code of the service it belongs to.")
    method: TariffMethod = strawberry.field(description="How the price is computed; the fields below that apply.")
    flat_cents: int = strawberry.field(description="FLAT: the price, in euro cents.")
    brackets: list[BillingTariffBracket] = strawberry.field(description=(
        "QF_BRACKETS: the brackets by increasing QF. Not paginated: a handful per grid."))
    rate: str = strawberry.field(description="TAUX_EFFORT: the rate applied to monthly resources, a decimal string.")
    floor_cents: int = strawberry.field(description="TAUX_EFFORT: minimum price, in euro cents.")
    ceiling_cents: int = strawberry.field(description="TAUX_EFFORT: maximum price, in euro cents.")
    degressive_cents: list[int] = strawberry.field(description=(
        "DEGRESSIVE: price per child rank (1st, 2nd…), in euro cents. Not paginated: a few ranks."))
    bracket_index: int | None = strawberry.field(description="The family's bracket (0-based, highlighted), if any.")
    your_price_cents: int | None = strawberry.field(description="Unit price for the family (1st child), in cents.")

    @strawberry.field(description="The method's French label to show.")
    def method_label(self) -> str:
        return self.method.label


@strawberry.type(name="BillingRun", description="What a billing run produced.")
class BillingRunSummary:
    run_id: strawberry.ID = strawberry.field(description="The run's id.")
    households: int = strawberry.field(description="Households billed.")
    invoices: int = strawberry.field(description="Invoices created (0 when the period was already billed).")
    lines: int = strawberry.field(description="Invoice lines created.")
    skipped_lines: int = strawberry.field(description="Lines left out (already billed, or nothing to bill).")
    total_cents: int = strawberry.field(description="Sum of the invoices created, in euro cents.")


@strawberry.type(name="CardPayment", description="A PayFiP card payment started: send the browser to `redirectUrl`.")
class BillingCardPayment:
    id_op: str = strawberry.field(description="PayFiP's operation id.")
    redirect_url: str = strawberry.field(description="The DGFiP payment page to open.")


def _invoices(items: list[Invoice]) -> list[BillingInvoice]:
    return [BillingInvoice.from_model(i) for i in items]


@strawberry.type
class BillingQuery:
    @strawberry.field(description=(
        "Family: « Mes factures », the household's invoices and credit notes of a year (all years when null), "
        "newest issue date first. Errors: UNAUTHENTICATED, FORBIDDEN (not a family), INVALID_YEAR, INVALID_PAGE."))
    async def my_invoices(self, info: Info, year: YearArg = None, limit: Limit = DEFAULT_PAGE_SIZE,
                          offset: Offset = 0) -> Page[BillingInvoice] | None:
        check_page(limit, offset)
        page = page_of(await service.family_invoices(actor(info), year), limit, offset)
        return Page(items=_invoices(page.items), total=page.total, limit=limit, offset=offset)

    @strawberry.field(description=(
        "Family: the sums of `myInvoices` for the same year (count, total, « solde dû »). "
        "Errors: UNAUTHENTICATED, FORBIDDEN, INVALID_YEAR."))
    async def my_invoice_totals(self, info: Info, year: YearArg = None) -> BillingInvoiceTotals | None:
        items = await service.family_invoices(actor(info), year)
        return BillingInvoiceTotals(count=len(items), total_cents=sum(i.total_cents for i in items),
                                    balance_cents=sum(i.balance_cents for i in items))

    @strawberry.field(description=(
        "One invoice with its lines: the family's own, or for staff one of their régies in a household they "
        "need to know. Errors: UNAUTHENTICATED, NOT_FOUND, INVALID_ID."))
    async def invoice(self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(
            description="The invoice's id.")]) -> BillingInvoice | None:
        return BillingInvoice.from_model(await service.get_invoice_for(actor(info), parse_id(id)))

    @strawberry.field(description=(
        "« Tarifs »: every activity's grid, with the family's bracket and price when the caller is a family. "
        "Not paginated: the configured tariffs, a few dozen. Errors: UNAUTHENTICATED."))
    async def tariffs(self, info: Info) -> list[BillingTariff] | None:
        a = actor(info)
        require_user(a)
        qf, resources = await service.household_qf(a.household_id)
        out = []
        for t in await service.tariff_catalogue():
            g = t.grid
            out.append(BillingTariff(
                code=t.code, label=t.label, service=t.service, method=TariffMethod(g.method),
                flat_cents=g.flat_cents,
                brackets=[BillingTariffBracket(qf_max=u, price_cents=p) for u, p in g.brackets],
                rate=str(g.rate), floor_cents=g.floor_cents, ceiling_cents=g.ceiling_cents,
                degressive_cents=list(g.degressive_cents),
                bracket_index=rules.bracket_index(g, qf) if a.household_id else None,
                your_price_cents=rules.unit_price_cents(g, qf, resources) if a.household_id else None))
        return out

    @strawberry.field(description=(
        "Family: the years with payments, newest first, for the « Attestation de paiement » "
        "(PDF at /files/attestation/<householdId>-<year>). Not paginated: one number per year. "
        "Errors: UNAUTHENTICATED, FORBIDDEN."))
    async def payment_years(self, info: Info) -> list[int] | None:
        return await service.payment_years(actor(info))

    @strawberry.field(description=(
        "Staff: invoices of the régies of their services (admins: all), in households they need to know, "
        "newest issue date first then newest id. Errors: UNAUTHENTICATED, FORBIDDEN (family), INVALID_ID, "
        "INVALID_PAGE."))
    async def invoices(self, info: Info,
                       household_id: Annotated[strawberry.ID | None, strawberry.argument(
                           description="Only this household's invoices.")] = None,
                       regie_code: Annotated[str | None, strawberry.argument(
                           description="Only this régie's invoices (`Invoice.regieCode`).")] = None,
                       status: Annotated[InvoiceStatus | None, strawberry.argument(
                           description="Only invoices in this state.")] = None,
                       limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> Page[BillingInvoice] | None:
        check_page(limit, offset)
        hid = parse_id(household_id, "householdId") if household_id is not None else None
        total, rows = await service.staff_invoices(actor(info), hid, regie_code, status.value if status else None,
                                                   limit, offset)
        return Page(items=_invoices(rows), total=total, limit=limit, offset=offset)


@strawberry.type
class BillingMutation:
    @strawberry.mutation(description=(
        "Staff: bill every household for a period (idempotent: a period already billed adds nothing). "
        "Errors: UNAUTHENTICATED, FORBIDDEN, INVALID_PERIOD, BILLING_CONFLICT."))
    async def run_billing(self, info: Info,
                          period_start: Annotated[date, strawberry.argument(description="First day billed (ISO).")],
                          period_end: Annotated[date, strawberry.argument(
                              description="Last day billed, inclusive (ISO).")]) -> BillingRunSummary | None:
        r = await service.run_billing(BillingPeriod(period_start, period_end), actor(info))
        return BillingRunSummary(run_id=strawberry.ID(str(r.run_id)), households=r.households, invoices=r.invoices,
                                 lines=r.lines, skipped_lines=r.skipped_lines, total_cents=r.total_cents)

    @strawberry.mutation(description=(
        "Staff of the invoice's régie: record a payment at the desk (CASH, CHEQUE, CESU, CARD); returns the "
        "invoice with its new balance. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID, INVALID_METHOD, "
        "INVALID_AMOUNT, INVALID_DATE, NOT_PAYABLE, OVERPAYMENT."))
    async def record_payment(
            self, info: Info,
            invoice_id: Annotated[strawberry.ID, strawberry.argument(description="The invoice paid.")],
            amount_cents: Annotated[int, strawberry.argument(description="Amount received, in euro cents, > 0.")],
            method: Annotated[PaymentMethod, strawberry.argument(description="How it was paid (desk methods).")],
            reference: Annotated[str, strawberry.argument(
                description="Cheque number, CESU numbers… (optional).")] = "",
            paid_on: Annotated[date | None, strawberry.argument(
                description="Date received (ISO), today when null; not in the future.")] = None,
    ) -> BillingInvoice | None:
        payment = await service.record_payment(actor(info), invoice_id, amount_cents, method.value, reference, paid_on)
        return BillingInvoice.from_model(await Invoice.get(id=payment.invoice_id))  # type: ignore[attr-defined]

    @strawberry.mutation(description=(
        "Staff of the invoice's régie: a credit note (avoir) on an invoice, for an amount or for whole lines; "
        "returns the credit note. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID, REQUIRED, "
        "INVALID_CREDIT, INVALID_AMOUNT, NOT_CORRECTABLE, INVALID_LINE, CREDIT_EXCEEDS_BALANCE."))
    async def issue_credit_note(
            self, info: Info,
            invoice_id: Annotated[strawberry.ID, strawberry.argument(description="The invoice to reduce.")],
            reason: Annotated[str, strawberry.argument(description="Why, in French (printed on the avoir).")],
            amount_cents: Annotated[int | None, strawberry.argument(
                description="The amount to credit, in euro cents (or give lineIds).")] = None,
            line_ids: Annotated[list[strawberry.ID] | None, strawberry.argument(
                description="Lines of the invoice to cancel entirely (or give amountCents).")] = None,
    ) -> BillingInvoice | None:
        ids = [parse_id(i, "lineIds") for i in line_ids] if line_ids else None
        credit = await service.issue_credit_note(actor(info), invoice_id, reason, amount_cents, ids)
        return BillingInvoice.from_model(credit)

    @strawberry.mutation(description=(
        "Family: pay an invoice's balance by card (PayFiP): open `redirectUrl`; the payment is recorded when "
        "PayFiP notifies. Errors: UNAUTHENTICATED, NOT_FOUND, INVALID_ID, NOTHING_TO_PAY, PAYFIP_UNAVAILABLE, "
        "CARD_PAYMENT_IN_PROGRESS, INVOICE_IN_SEPA_BATCH, PAYFIP_AMOUNT_OUT_OF_RANGE, PAYFIP_REFUSED."))
    async def start_card_payment(self, info: Info, invoice_id: Annotated[strawberry.ID, strawberry.argument(
            description="The family's invoice to pay.")]) -> BillingCardPayment | None:
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
