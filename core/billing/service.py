"""Billing use cases: billing runs (lines from every plugin through `portail_invoice_lines`),
invoice numbering per régie, payments and their reversal, credit notes (avoirs), tariffs, PDFs.

THE interface other plugins use: `run_billing`, `record_payment`, `reverse_payment`,
`issue_credit_note`, `unpaid_invoices`, `tariff_catalogue`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core.billing import rules
from core.billing.models import (
    BillingRun,
    Collection,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    Payment,
    PaymentMethod,
)
from core.billing.types import BillingPeriod, InvoiceLineDraft
from core.compiled_query import CompiledQuery
from core.config import get_settings
from core.db import bulk_insert, visible_page
from core.errors import Conflict, Forbidden, NotFound, ValidationError
from core.files.service import download_id
from core.formatting import euros
from core.households.models import Child, Household, Responsable
from core.mail.service import queue_mails, render_mail
from core.permissions import (
    Actor,
    require_household,
    require_household_data,
    require_staff,
    require_user,
    staff_need_to_know,
)
from core.plugins import get_host
from core.request_memo import memoised
from core.timeutil import check_year, now, today

log = logging.getLogger("portail.billing")

BATCH_SIZE = 500
_IN_CHUNK = 900  # bound the number of SQL parameters of an IN (...) (SQLite)
MAIL_TEMPLATE = "mail/invoice_issued"
Progress = Callable[[int, int], Any]


@dataclass
class BillingRunResult:
    run_id: int
    households: int = 0
    invoices: int = 0
    lines: int = 0
    skipped_lines: int = 0
    total_cents: int = 0
    invoice_ids: list[int] = field(default_factory=list)


# ---- permissions -----------------------------------------------------------------------------


def staff_regies(actor: Actor) -> set[str] | None:
    """Régies a staff member handles (None = all, for admins): those of their services."""
    require_staff(actor)
    if actor.is_admin:
        return None
    settings = get_settings()
    return {s.regie for code in actor.services if (s := settings.service(code)) is not None and s.regie}


def require_regie_staff(actor: Actor, regie_code: str) -> None:
    regies = staff_regies(actor)
    if regies is not None and regie_code not in regies:
        raise Forbidden()


async def get_invoice_for(actor: Actor, invoice_id: int | str) -> Invoice:
    """The invoice if the caller may see it (own household, or staff of its régie), else NotFound."""
    require_user(actor)
    try:
        iid = int(invoice_id)
    except (TypeError, ValueError):
        raise NotFound("facture") from None
    invoice = await Invoice.get_or_none(id=iid)
    if invoice is None:
        raise NotFound("facture")
    if actor.is_staff:
        regies = staff_regies(actor)
        if regies is not None and invoice.regie_code not in regies:
            raise NotFound("facture")
        await require_household_data(actor, invoice.household_id, "facture")  # type: ignore[attr-defined]
    else:
        require_household(actor, invoice.household_id, "facture")  # type: ignore[attr-defined]
    return invoice


# ---- numbering -------------------------------------------------------------------------------


def regie_prefix(regie_code: str) -> str:
    regie = get_settings().regie(regie_code)
    return (regie.invoice_prefix if regie and regie.invoice_prefix else regie_code).upper()


async def ensure_sequence(regie_code: str, year: int) -> None:
    """Create the sequence row once (outside the billing transaction: a lost race is harmless)."""
    if await InvoiceSequence.exists(regie_code=regie_code, year=year):
        return
    try:
        async with in_transaction():
            await InvoiceSequence.create(regie_code=regie_code, year=year, next_number=1)
    except IntegrityError:
        pass


async def allocate_numbers(regie_code: str, year: int, count: int) -> list[str]:
    """Reserve `count` consecutive numbers. Call inside the transaction that uses them: the atomic
    `UPDATE … SET next_number = next_number + n` locks the row until commit (PostgreSQL) and is
    rolled back with it, so numbers are never reused and never skipped."""
    if count <= 0:
        return []
    updated = await InvoiceSequence.filter(regie_code=regie_code, year=year).update(
        next_number=F("next_number") + count)
    if updated != 1:
        raise RuntimeError(f"invoice sequence {regie_code}/{year} missing: call ensure_sequence first")
    row = await InvoiceSequence.get(regie_code=regie_code, year=year)
    first = row.next_number - count
    prefix = regie_prefix(regie_code)
    return [rules.invoice_number(prefix, year, n) for n in range(first, row.next_number)]


# ---- billing run -----------------------------------------------------------------------------


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _quantity(value: str) -> Decimal:
    try:
        q = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"invalid quantity {value!r}") from None
    return q


async def _billed_keys(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (régie, key) pairs already billed. Asked per régie so that the lookup uses the unique
    index (regie_code, active_source_key): by key alone it scanned every line billed so far, once per
    batch, and a run grew with the square of the households."""
    by_regie: dict[str, list[str]] = defaultdict(list)
    for regie_code, key in sorted(pairs):
        by_regie[regie_code].append(key)
    found: set[tuple[str, str]] = set()
    for regie_code, keys in by_regie.items():
        for chunk in _chunks(keys, _IN_CHUNK):
            rows = await InvoiceLine.filter(regie_code=regie_code, active_source_key__in=chunk) \
                .values_list("active_source_key", flat=True)
            found.update((regie_code, k) for k in rows)
    return found


def _service_names(codes: set[str]) -> str:
    settings = get_settings()
    names = []
    for code in sorted(codes):
        service = settings.service(code)
        if service is not None:
            names.append(service.name)
    return " / ".join(names)


async def _bill_batch(period: BillingPeriod, drafts: list[InvoiceLineDraft], run: BillingRun,
                      issued_on: date, result: BillingRunResult) -> None:
    settings = get_settings()
    # Drop duplicates inside the batch and lines of unknown régies (a plugin bug must not stop the run).
    unique: dict[tuple[str, str], InvoiceLineDraft] = {}
    for d in drafts:
        if settings.regie(d.regie_code) is None:
            log.warning("invoice line %s: unknown régie %r, skipped", d.source_key, d.regie_code)
            result.skipped_lines += 1
            continue
        if not d.source_key:
            log.warning("invoice line without source_key from household %s, skipped", d.household_id)
            result.skipped_lines += 1
            continue
        unique.setdefault((d.regie_code, d.source_key), d)
    if not unique:
        return
    for attempt in range(3):
        try:
            async with in_transaction():
                billed = await _billed_keys(set(unique))
                fresh = [d for key, d in unique.items() if key not in billed]
                skipped = len(unique) - len(fresh)
                created = await _create_invoices(period, fresh, run, issued_on)
            result.skipped_lines += skipped
            for invoice_ids, line_count, total in created:
                result.invoice_ids.extend(invoice_ids)
                result.invoices += len(invoice_ids)
                result.lines += line_count
                result.total_cents += total
            return
        except IntegrityError:
            # A concurrent run billed some of these lines first: retry, skipping what it billed.
            log.info("billing batch raced with another run (attempt %s), retrying", attempt + 1)
    raise Conflict("Une autre facturation est en cours sur ces familles, réessayez.", code="BILLING_CONFLICT")


async def _create_invoices(period: BillingPeriod, drafts: list[InvoiceLineDraft], run: BillingRun,
                           issued_on: date) -> list[tuple[list[int], int, int]]:
    if not drafts:
        return []
    groups: dict[tuple[int, str], list[InvoiceLineDraft]] = defaultdict(list)
    for d in drafts:
        groups[(d.household_id, d.regie_code)].append(d)
    household_ids = sorted({h for h, _ in groups})
    households = {h.id: h for h in await Household.filter(id__in=household_ids)}
    child_ids = sorted({d.child_id for d in drafts if d.child_id})
    children = {c.id: c for c in await Child.filter(id__in=child_ids)} if child_ids else {}
    by_regie: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for key in sorted(groups):
        if key[0] in households:
            by_regie[key[1]].append(key)
    out: list[tuple[list[int], int, int]] = []
    settings = get_settings()
    link_base = f"{settings.community.public_url.rstrip('/')}/factures/"
    period_text = rules.period_phrase(period.start, period.end)
    service_names: dict[frozenset[str], str] = {}
    for regie_code, keys in by_regie.items():
        # Rows, not model instances: at 50,000 households Model.__init__ cost more than the SQL.
        numbers = await allocate_numbers(regie_code, issued_on.year, len(keys))
        invoice_rows: list[dict[str, Any]] = []
        for number, key in zip(numbers, keys, strict=True):
            lines = groups[key]
            total = sum(d.amount_cents for d in lines)
            establishments = " ; ".join(dict.fromkeys(d.establishment for d in lines if d.establishment))
            invoice_rows.append({
                "number": number, "regie_code": regie_code, "household_id": key[0], "kind": InvoiceKind.INVOICE,
                "issued_on": issued_on, "period_start": period.start, "period_end": period.end,
                "establishments": establishments, "total_cents": total, "paid_cents": 0, "credited_cents": 0,
                "status": rules.invoice_status(total, 0), "billing_run_id": run.id})
        await bulk_insert(Invoice, invoice_rows)
        ids: dict[str, int] = {}
        for chunk in _chunks(numbers, _IN_CHUNK):
            ids.update(await Invoice.filter(regie_code=regie_code, number__in=chunk).values_list("number", "id"))
        line_rows: list[dict[str, Any]] = []
        mails: list[dict[str, Any]] = []
        total_all = 0
        invoice_ids: list[int] = []
        regie = settings.regie(regie_code)
        for key, row in zip(keys, invoice_rows, strict=True):
            invoice_id = ids[row["number"]]
            invoice_ids.append(invoice_id)
            drafts_of = groups[key]
            total_all += row["total_cents"]
            for d in drafts_of:
                child = children.get(d.child_id) if d.child_id else None
                line_rows.append({
                    "invoice_id": invoice_id, "regie_code": regie_code, "child_id": child.id if child else None,
                    "child_name": f"{child.first_name} {child.last_name}" if child else "",
                    "source_key": d.source_key, "active_source_key": d.source_key, "service_code": d.service_code,
                    "designation": d.designation[:300], "quantity": _quantity(d.quantity),
                    "unit_price_cents": d.unit_price_cents, "amount_cents": d.amount_cents,
                    "establishment": d.establishment[:300], "tax_credit_cents": d.tax_credit_cents if child else 0,
                    "care_nature": d.care_nature[:120] if d.tax_credit_cents and child else ""})
            household = households[key[0]]
            if household.email:
                codes = frozenset(d.service_code for d in drafts_of if d.service_code)
                if codes not in service_names:
                    service_names[codes] = _service_names(set(codes))
                invoice = Invoice.construct(id=invoice_id, **row)
                mails.append(render_mail(household.email, MAIL_TEMPLATE, {
                    "invoice": invoice, "household": household, "regie": regie, "period_text": period_text,
                    "services": service_names[codes], "link": f"{link_base}{invoice_id}",
                }, household_id=household.id))
        await bulk_insert(InvoiceLine, line_rows)
        await queue_mails(mails)
        out.append((invoice_ids, len(line_rows), total_all))
    return out


async def run_billing(period: BillingPeriod, actor: Actor | None = None, progress: Progress | None = None,
                      *, issued_on: date | None = None, batch_size: int = BATCH_SIZE) -> BillingRunResult:
    """Bill every household for `period`: one invoice per household and régie, idempotent.

    `actor` None means the system (CLI, scheduler); otherwise an admin or an agent.
    `progress(done_households, total_households)` is called after each batch.
    """
    user = None
    if actor is not None:
        user = require_staff(actor)
    if period.end < period.start:
        raise ValidationError("La fin de période précède son début.", code="INVALID_PERIOD", field="periodEnd")
    issued_on = issued_on or today()
    settings = get_settings()
    for regie in settings.regies:
        await ensure_sequence(regie.code, issued_on.year)
    household_ids = list(await Household.filter(erased_at__isnull=True).order_by("id").values_list("id", flat=True))
    run = await BillingRun.create(period_start=period.start, period_end=period.end, started_by=user)
    result = BillingRunResult(run_id=run.id, households=len(household_ids))
    host = get_host()
    done = 0
    for batch in _chunks(household_ids, batch_size):
        drafts = await host.invoice_lines(period, batch)
        allowed = set(batch)
        drafts = [d for d in drafts if d.household_id in allowed]
        await _bill_batch(period, drafts, run, issued_on, result)
        done += len(batch)
        if progress is not None:
            progress(done, len(household_ids))
    await BillingRun.filter(id=run.id).update(
        finished_at=now(), households_count=result.households, invoices_count=result.invoices,
        lines_count=result.lines, skipped_lines_count=result.skipped_lines, total_cents=result.total_cents)
    return result


# ---- payments --------------------------------------------------------------------------------


def _sync_status(invoice: Invoice) -> None:
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        invoice.status = rules.STATUS_PAID
    else:
        invoice.status = rules.invoice_status(invoice.total_cents, invoice.paid_cents + invoice.credited_cents)


async def apply_payment(invoice_id: int, amount_cents: int, method: str, *, reference: str = "",
                        paid_on: date | None = None, recorded_by_id: int | None = None,
                        allow_overpayment: bool = False) -> Payment:
    """Record a payment inside the caller's transaction (the invoice row is locked first)."""
    invoice = await Invoice.filter(id=invoice_id).select_for_update().first()
    if invoice is None:
        raise NotFound("facture")
    if invoice.kind != InvoiceKind.INVOICE:
        raise ValidationError("Un avoir ne se paie pas.", code="NOT_PAYABLE", field="invoiceId")
    if amount_cents > invoice.balance_cents and not allow_overpayment:
        raise ValidationError(
            f"Le montant dépasse le restant dû ({euros(invoice.balance_cents)}).",
            code="OVERPAYMENT", field="amountCents")
    payment = await Payment.create(invoice_id=invoice.id, amount_cents=amount_cents, method=method,
                                   reference=reference[:120], paid_on=paid_on or today(),
                                   recorded_by_id=recorded_by_id)
    invoice.paid_cents += amount_cents
    _sync_status(invoice)
    await Invoice.filter(id=invoice.id).update(paid_cents=invoice.paid_cents, status=invoice.status)
    return payment


async def record_payment(actor: Actor, invoice_id: int | str, amount_cents: int, method: str,
                         reference: str = "", paid_on: date | None = None) -> Payment:
    """A payment at the desk (cash, cheque, CESU, card) recorded by staff of the invoice's régie."""
    user = require_staff(actor)
    if method not in PaymentMethod.ALL:
        raise ValidationError("Mode de paiement inconnu.", code="INVALID_METHOD", field="method")
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError("Le montant doit être positif.", code="INVALID_AMOUNT", field="amountCents")
    if paid_on is not None and paid_on > today():
        raise ValidationError("La date de paiement est dans le futur.", code="INVALID_DATE", field="paidOn")
    invoice = await get_invoice_for(actor, invoice_id)
    async with in_transaction():
        return await apply_payment(invoice.id, amount_cents, method, reference=reference.strip(),
                                   paid_on=paid_on, recorded_by_id=user.id)


async def reverse_payment(payment_id: int, reason: str) -> None:
    """Cancel a payment (SEPA reject, bounced cheque): the invoice's balance reopens."""
    async with in_transaction():
        payment = await Payment.filter(id=payment_id).select_for_update().first()
        if payment is None:
            raise NotFound("paiement")
        if payment.reversed_at is not None:
            raise Conflict("Ce paiement est déjà annulé.", code="ALREADY_REVERSED")
        updated = await Payment.filter(id=payment.id, reversed_at__isnull=True).update(
            reversed_at=now(), reversal_reason=(reason or "").strip())
        if updated != 1:
            raise Conflict("Ce paiement est déjà annulé.", code="ALREADY_REVERSED")
        invoice = await Invoice.filter(id=payment.invoice_id).select_for_update().first()  # type: ignore[attr-defined]
        assert invoice is not None
        invoice.paid_cents -= payment.amount_cents
        _sync_status(invoice)
        await Invoice.filter(id=invoice.id).update(paid_cents=invoice.paid_cents, status=invoice.status)


async def issue_credit_note(actor: Actor, invoice_id: int | str, reason: str, amount_cents: int | None = None,
                            line_ids: list[int] | None = None) -> Invoice:
    """An avoir on an invoice: either whole lines (they become billable again) or an amount.

    The credit cannot exceed what remains due. The credit note has its own number in the régie's
    sequence, negative amounts, and points to the invoice it corrects.
    """
    user = require_staff(actor)
    if not (reason or "").strip():
        raise ValidationError("Le motif de l'avoir est obligatoire.", code="REQUIRED", field="reason")
    if (amount_cents is None) == (not line_ids):
        raise ValidationError("Indiquez soit un montant, soit des lignes.", code="INVALID_CREDIT",
                              field="amountCents")
    if amount_cents is not None and amount_cents <= 0:
        raise ValidationError("Le montant doit être positif.", code="INVALID_AMOUNT", field="amountCents")
    original = await get_invoice_for(actor, invoice_id)
    require_regie_staff(actor, original.regie_code)
    if original.kind != InvoiceKind.INVOICE:
        raise ValidationError("On ne corrige pas un avoir.", code="NOT_CORRECTABLE", field="invoiceId")
    issued_on = today()
    await ensure_sequence(original.regie_code, issued_on.year)
    async with in_transaction():
        invoice = await Invoice.filter(id=original.id).select_for_update().first()
        assert invoice is not None
        credit_lines: list[InvoiceLine] = []
        if line_ids:
            lines = await InvoiceLine.filter(invoice_id=invoice.id, id__in=line_ids, cancelled_at__isnull=True)
            if len(lines) != len(set(line_ids)):
                raise ValidationError("Ligne introuvable ou déjà annulée.", code="INVALID_LINE", field="lineIds")
            amount = sum(line.amount_cents for line in lines)
            for line in lines:
                credit_lines.append(InvoiceLine(
                    regie_code=invoice.regie_code, child_id=line.child_id,  # type: ignore[attr-defined]
                    child_name=line.child_name, service_code=line.service_code,
                    designation=f"Annulation : {line.designation}"[:300], quantity=line.quantity,
                    unit_price_cents=-line.unit_price_cents, amount_cents=-line.amount_cents,
                    establishment=line.establishment, tax_credit_cents=-line.tax_credit_cents,
                    care_nature=line.care_nature))
        else:
            assert amount_cents is not None
            amount = amount_cents
            credit_lines.append(InvoiceLine(regie_code=invoice.regie_code, designation=f"Avoir : {reason.strip()}"[:300],
                                            quantity=Decimal(1), unit_price_cents=-amount, amount_cents=-amount))
        if amount <= 0 or amount > invoice.balance_cents:
            raise ValidationError("L'avoir dépasse le restant dû de la facture.", code="CREDIT_EXCEEDS_BALANCE",
                                  field="amountCents" if amount_cents is not None else "lineIds")
        if line_ids:
            await InvoiceLine.filter(id__in=line_ids).update(cancelled_at=now(), active_source_key=None)
        number = (await allocate_numbers(invoice.regie_code, issued_on.year, 1))[0]
        credit = await Invoice.create(
            number=number, regie_code=invoice.regie_code, household_id=invoice.household_id,  # type: ignore[attr-defined]
            kind=InvoiceKind.CREDIT_NOTE, corrects_id=invoice.id, reason=reason.strip(), issued_on=issued_on,
            period_start=invoice.period_start, period_end=invoice.period_end,
            establishments=invoice.establishments, total_cents=-amount, paid_cents=0, credited_cents=0,
            status=rules.STATUS_PAID)
        for line in credit_lines:
            line.invoice_id = credit.id
        await InvoiceLine.bulk_create(credit_lines)
        invoice.credited_cents += amount
        _sync_status(invoice)
        await Invoice.filter(id=invoice.id).update(credited_cents=invoice.credited_cents, status=invoice.status)
    log.info("credit note %s on %s by user %s", credit.number, invoice.number, user.id)
    return credit


# ---- collection claims -----------------------------------------------------------------------


async def claim_collection(invoice_ids: list[int], channel: str) -> list[Invoice]:
    """Claim invoices for one collection channel, inside the caller's transaction.

    The rows are locked (`SELECT … FOR UPDATE`, in id order so two claimers never deadlock); an
    invoice already claimed by another channel, or with nothing left to pay, is left out. Returns
    the invoices now claimed by `channel` (their balance read under the lock)."""
    if not invoice_ids:
        return []
    claimed: list[Invoice] = []
    stamp = now()
    for chunk in _chunks(sorted(set(invoice_ids)), _IN_CHUNK):
        rows = await Invoice.filter(id__in=chunk, kind=InvoiceKind.INVOICE).order_by("id").select_for_update()
        mine = [i for i in rows if i.collection in (Collection.NONE, channel) and i.balance_cents > 0]
        fresh = [i.id for i in mine if i.collection != channel]
        if fresh:
            await Invoice.filter(id__in=fresh).update(collection=channel, collection_at=stamp)
        for invoice in mine:
            invoice.collection, invoice.collection_at = channel, stamp
        claimed.extend(mine)
    return claimed


async def release_collection(invoice_ids: list[int], channel: str) -> int:
    """Give the invoices back to every channel (card payment over, SEPA debit rejected). Only a
    claim held by `channel` is released."""
    if not invoice_ids:
        return 0
    return await Invoice.filter(id__in=sorted(set(invoice_ids)), collection=channel).update(
        collection=Collection.NONE, collection_at=None)


async def unpaid_invoices(regie_code: str, household_ids: list[int] | None = None) -> list[Invoice]:
    """Invoices of a régie with something left to pay (for SEPA collection, reminders)."""
    query = Invoice.filter(regie_code=regie_code, kind=InvoiceKind.INVOICE).exclude(status=rules.STATUS_PAID)
    if household_ids is not None:
        query = query.filter(household_id__in=household_ids)
    return [i for i in await query.order_by("id") if i.balance_cents > 0]


# ---- reads -----------------------------------------------------------------------------------


HOUSEHOLD_INVOICES = CompiledQuery(lambda household_id: Invoice.filter(household_id=household_id)
                                   .order_by("-issued_on", "-id"))
HOUSEHOLD_INVOICES_OF_YEAR = CompiledQuery(lambda household_id, first, last: Invoice.filter(
    household_id=household_id, issued_on__gte=first, issued_on__lte=last).order_by("-issued_on", "-id"))


async def family_invoices(actor: Actor, year: int | None = None) -> list[Invoice]:
    """The family's own invoices of `year` (all years when None), newest issue date first, then newest
    id. Read once per request (core.request_memo): « Mes factures » and its totals share it."""
    hid = require_household(actor, actor.household_id)
    if year is None:
        return await memoised(("family_invoices", hid, None), lambda: HOUSEHOLD_INVOICES.all(hid))
    check_year(year)
    return await memoised(("family_invoices", hid, year),
                          lambda: HOUSEHOLD_INVOICES_OF_YEAR.all(hid, date(year, 1, 1), date(year, 12, 31)))


async def staff_invoices(actor: Actor, household_id: int | None = None, regie_code: str | None = None,
                         status: str | None = None, limit: int = 50, offset: int = 0) -> tuple[int, list[Invoice]]:
    """Staff: `(total, one page)` of the invoices of their régies, newest issue date first (then newest
    id), of households they need to know (core.permissions, decided before paging: `total` and the pages
    count only what the agent may see)."""
    regies = staff_regies(actor)
    query = Invoice.all()
    if regies is not None:
        query = query.filter(regie_code__in=sorted(regies))
    if household_id is not None:
        query = query.filter(household_id=household_id)
    if regie_code:
        query = query.filter(regie_code=regie_code)
    if status:
        if status not in (rules.STATUS_UNPAID, rules.STATUS_PARTIAL, rules.STATUS_PAID):
            raise ValidationError("État inconnu.", code="INVALID_STATUS", field="status")
        query = query.filter(status=status)
    query = query.order_by("-issued_on", "-id")
    if actor.is_admin:
        total = await query.count()
        return total, (list(await query.offset(offset).limit(limit)) if offset < total else [])

    async def visible(rows: list[Invoice]) -> list[Invoice]:
        scope = await staff_need_to_know(actor, {i.household_id for i in rows}) or {}  # type: ignore[attr-defined]
        return [i for i in rows if scope.get(i.household_id)]  # type: ignore[attr-defined]

    return await visible_page(query, limit, offset, visible, ("household_id",),
                              lambda ids: Invoice.filter(id__in=ids))


async def payment_years(actor: Actor) -> list[int]:
    hid = require_household(actor, actor.household_id)
    dates = await Payment.filter(invoice__household_id=hid, reversed_at__isnull=True).values_list("paid_on", flat=True)
    return sorted({d.year for d in dates}, reverse=True)


async def household_qf(household_id: int | None) -> tuple[int | None, int | None]:
    """(quotient familial, monthly resources in cents) of a household."""
    if household_id is None:
        return None, None
    row = await Household.filter(id=household_id).values("quotient_familial", "reference_income_cents")
    if not row:
        return None, None
    income = row[0]["reference_income_cents"]
    return row[0]["quotient_familial"], (round(income / 12) if income is not None else None)


@dataclass(frozen=True)
class TariffEntry:
    code: str
    label: str
    service: str
    grid: rules.TariffGrid


async def tariff_catalogue() -> list[TariffEntry]:
    """Tariffs of the activities of the `[billing] activities` table of the configuration."""
    out = []
    for raw in get_settings().section("billing").get("activities", []) or []:
        try:
            grid = rules.tariff_grid_from_config(raw.get("grid", {}))
        except rules.TariffConfigError as exc:
            log.error("tariff %s ignored: %s", raw.get("code"), exc)
            continue
        out.append(TariffEntry(code=str(raw.get("code", "")), label=str(raw.get("label", "")),
                               service=str(raw.get("service", "")), grid=grid))
    return out


# ---- PDFs ------------------------------------------------------------------------------------


async def _referent(household_id: int) -> str:
    resp = await Responsable.filter(household_id=household_id).order_by("rank").first()
    if resp is None:
        return ""
    civ = f"{resp.civility} " if resp.civility else ""
    return f"{civ}{resp.first_name} {resp.last_name}".strip()


def invoice_mentions(invoice: Invoice) -> rules.InvoiceMentions | None:
    """The legal mentions of an invoice from its régie's configuration (none on a credit note)."""
    from core.billing.payfip import numcli_for

    if invoice.kind != InvoiceKind.INVOICE:
        return None
    settings = get_settings()
    regie = settings.regie(invoice.regie_code)
    if regie is None:
        return None
    return rules.invoice_mentions(
        issuer_name=regie.issuer_name, issuer_role=regie.issuer_role, recourse_court=regie.recourse_court,
        payment_days=regie.payment_days, comptable=regie.comptable, regie_name=regie.name,
        regie_address=regie.address, desk_hours=regie.desk_hours, desk_means=regie.desk_means,
        issued_on=invoice.issued_on, card=bool(numcli_for(regie.code)),
        sepa=bool(regie.ics) and "prelevement" in settings.enabled_plugins,
        portal_url=settings.community.public_url)


async def invoice_pdf(actor: Actor, invoice_id: int | str) -> tuple[Invoice, bytes]:
    invoice = await get_invoice_for(actor, invoice_id)
    return invoice, await render_invoice_pdf(invoice)


async def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice's PDF (the avis des sommes à payer); the caller checked who may have it."""
    from core.pdf import render_pdf

    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("child_name", "id")
    groups: dict[str, list[InvoiceLine]] = defaultdict(list)
    for line in lines:
        head = line.child_name or "Foyer"
        if line.establishment:
            head = f"{head} - {line.establishment}"
        groups[head].append(line)
    household = await Household.get(id=invoice.household_id)  # type: ignore[attr-defined]
    corrects = await Invoice.get_or_none(id=invoice.corrects_id) if invoice.corrects_id else None  # type: ignore[attr-defined]
    return await render_pdf("pdf/invoice.html", {
        "invoice": invoice, "household": household, "referent": await _referent(household.id),
        "regie": get_settings().regie(invoice.regie_code), "groups": list(groups.items()),
        "balance_cents": invoice.balance_cents, "corrects": corrects,
        "status_label": STATUS_LABELS.get(invoice.status, invoice.status),
        "mentions": invoice_mentions(invoice),
    })


STATUS_LABELS = {rules.STATUS_UNPAID: "Non soldée", rules.STATUS_PARTIAL: "Partiellement payée",
                 rules.STATUS_PAID: "Soldée"}


async def attestation_data(household_id: int, year: int) -> dict[str, Any]:
    """What the household paid in `year` (payment date), split over what each invoice billed.

    `fiscal`: per child under six on 1 January (CGI 200 quater B), the childcare paid for that
    child only, per establishment and nature of care, CESU payments left out (employer aid, to be
    deducted: see rules). `statement`: everything else (meals, other services, older children,
    CESU), a plain payment statement that opens no tax credit."""
    payments = await Payment.filter(invoice__household_id=household_id, reversed_at__isnull=True,
                                    paid_on__gte=date(year, 1, 1), paid_on__lte=date(year, 12, 31))
    invoice_ids = sorted({p.invoice_id for p in payments})  # type: ignore[attr-defined]
    rows = await InvoiceLine.filter(invoice_id__in=invoice_ids, cancelled_at__isnull=True).values(
        "invoice_id", "child_id", "amount_cents", "tax_credit_cents", "establishment", "care_nature",
        "service_code") if invoice_ids else []
    lines = [rules.AttestationLine(invoice_id=r["invoice_id"], child_id=r["child_id"], amount_cents=r["amount_cents"],
                                   tax_credit_cents=r["tax_credit_cents"], establishment=r["establishment"],
                                   care_nature=r["care_nature"]) for r in rows]
    cesu = [(p.invoice_id, p.amount_cents) for p in payments if p.method == PaymentMethod.CESU]  # type: ignore[attr-defined]
    others = [(p.invoice_id, p.amount_cents) for p in payments if p.method != PaymentMethod.CESU]  # type: ignore[attr-defined]
    split = rules.split_payments(others, lines)
    children = {c.id: c for c in await Child.filter(household_id=household_id)}
    fiscal: dict[int, dict[str, Any]] = {}
    statement: dict[int | None, int] = defaultdict(int)
    for (cid, establishment, nature), cents in split.items():
        child = children.get(cid) if cid else None
        if nature and child is not None and rules.under_six_on_january_first(child.birth_date, year):
            entry = fiscal.setdefault(child.id, {"child": child, "cares": [], "total_cents": 0})
            entry["cares"].append({"establishment": establishment, "nature": nature, "amount_cents": cents})
            entry["total_cents"] += cents
        else:
            statement[cid if child else None] += cents
    for (cid, _est, _nature), cents in rules.split_payments(cesu, lines).items():
        statement[cid if cid in children else None] += cents
    fiscal_rows = [fiscal[k] for k in sorted(fiscal)]
    for entry in fiscal_rows:
        entry["cares"].sort(key=lambda c: (c["establishment"], c["nature"]))
    statement_rows = [{"child": children.get(cid) if cid else None, "amount_cents": cents}
                      for cid, cents in sorted(statement.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
                      if cents]
    return {"year": year, "fiscal": fiscal_rows, "statement": statement_rows,
            "cesu_cents": sum(c for _, c in cesu), "total_cents": sum(p.amount_cents for p in payments),
            "fiscal_cents": sum(e["total_cents"] for e in fiscal_rows)}


async def attestation_pdf(actor: Actor, object_id: str) -> tuple[str, bytes]:
    """`object_id` is "<household_id>-<year>"."""
    from core.pdf import render_pdf

    try:
        hid_s, year_s = str(object_id).split("-", 1)
        hid, year = download_id(hid_s, "attestation"), int(year_s)
    except ValueError:
        raise NotFound("attestation") from None
    if actor.is_family:
        require_household(actor, hid, "attestation")
    else:
        await require_household_data(actor, hid, "attestation")
    if not 2000 <= year <= 2100:
        raise NotFound("attestation")
    household = await Household.get_or_none(id=hid)
    if household is None:
        raise NotFound("attestation")
    data = await attestation_data(hid, year)
    pdf = await render_pdf("pdf/payment_attestation.html", {
        **data, "household": household, "referent": await _referent(hid), "issued_on": today()})
    name = "attestation-frais-de-garde" if data["fiscal"] else "releve-paiements"
    return f"{name}-{year}.pdf", pdf


async def household_unpaid_invoices(household_id: int) -> list[Invoice]:
    """Every invoice of a household, all régies, with something left to pay (booking checks)."""
    query = Invoice.filter(household_id=household_id, kind=InvoiceKind.INVOICE).exclude(status=rules.STATUS_PAID)
    return [i for i in await query.order_by("id") if i.balance_cents > 0]


# ---- PES V2 ORMC export (Trésor public, docs/pes.md) ---------------------------------------------


@dataclass
class PesPlan:
    """What an export of a period would carry: the titres, and the invoices left out with why."""

    pieces: list[Any] = field(default_factory=list)  # core.billing.pes.PesPiece
    invoice_ids: list[int] = field(default_factory=list)
    left_out: list[dict[str, Any]] = field(default_factory=list)
    already_exported: int = 0


def pes_settings(regie_code: str) -> Any:
    """The régie's `[regies.pes]` codes, or PES_NOT_CONFIGURED naming what to add."""
    regie = get_settings().regie(regie_code)
    if regie is None:
        raise NotFound("régie")
    if regie.pes is None:
        raise ValidationError(
            f"La régie « {regie.name} » n'a pas ses codes Hélios : ajoutez la table [regies.pes] "
            "(id_post, id_coll, cod_col, cod_bud, cod_prod_loc) à sa configuration.",
            code="PES_NOT_CONFIGURED", field="regieCode", details={"regie": regie_code})
    return regie


def _pes_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationError("La fin de période précède son début.", code="INVALID_PERIOD", field="end")
    if start.year != end.year:
        # One bordereau belongs to one exercice (BlocBordereau/Exer).
        raise ValidationError("Un bordereau PES couvre un seul exercice : la période doit tenir dans une année.",
                              code="INVALID_PERIOD", field="end")


async def _pes_lines(invoice: Invoice, codes: Any) -> list[Any]:
    """The invoice's LigneDePiece: its standing lines summed per product code, or one line for the
    amount still due when a credit note changed it by an amount (lines no longer add up)."""
    from core.billing.pes import PesLine

    amount = invoice.total_cents - invoice.credited_cents
    lines = await InvoiceLine.filter(invoice_id=invoice.id, cancelled_at__isnull=True).order_by("id")
    groups: dict[str, list[InvoiceLine]] = defaultdict(list)
    for line in lines:
        groups[codes.products.get(line.service_code, codes.cod_prod_loc)].append(line)
    sums = {code: sum(li.amount_cents for li in rows) for code, rows in groups.items()}
    if groups and sum(sums.values()) == amount and all(v > 0 for v in sums.values()):
        out = []
        for code, rows in groups.items():
            labels = list(dict.fromkeys(li.designation for li in rows))
            out.append(PesLine(label="; ".join(labels), product_code=code, nature=codes.nature,
                               fonction=codes.fonction, amount_cents=sums[code]))
        return out
    code = max(sums, key=lambda c: sums[c]) if sums else codes.cod_prod_loc
    return [PesLine(label=f"Facture {invoice.number} après avoir", product_code=code, nature=codes.nature,
                    fonction=codes.fonction, amount_cents=amount)]


async def _pes_plan(regie: Any, start: date, end: date) -> PesPlan:
    from core.billing.models import PesExportInvoice
    from core.billing.pes import PesAttachment, PesDebtor, PesPiece, ascii_name, debtor_problem
    from core.households.rules import postal_address

    codes = regie.pes
    invoices = await Invoice.filter(regie_code=regie.code, kind=InvoiceKind.INVOICE, issued_on__gte=start,
                                    issued_on__lte=end).order_by("issued_on", "id")
    exported = set(await PesExportInvoice.filter(invoice_id__in=[i.id for i in invoices])
                   .values_list("invoice_id", flat=True)) if invoices else set()
    plan = PesPlan(already_exported=len(exported))
    households = {h.id: h for h in await Household.filter(id__in={i.household_id for i in invoices})}  # type: ignore[attr-defined]
    referents: dict[int, Responsable] = {}
    for resp in await Responsable.filter(household_id__in=list(households)).order_by("-rank", "-id"):
        referents[resp.household_id] = resp  # type: ignore[attr-defined]  # lowest rank wins
    for invoice in invoices:
        if invoice.id in exported or invoice.total_cents - invoice.credited_cents <= 0:
            continue  # exported once already; or cancelled by credit notes: nothing to recover
        household = households[invoice.household_id]  # type: ignore[attr-defined]
        resp = referents.get(household.id)
        debtor = PesDebtor(reference=str(household.id), civility=resp.civility if resp else "",
                           last_name=resp.last_name if resp else "", first_name=resp.first_name if resp else "",
                           address=postal_address(household))
        problem = debtor_problem(debtor)
        if problem:
            plan.left_out.append({"invoice_id": invoice.id, "number": invoice.number, "reason": problem})
            continue
        pdf = await render_invoice_pdf(invoice)
        piece = PesPiece(
            id_pce=len(plan.pieces) + 1, debt_number=invoice.id, invoice_number=invoice.number,
            label=f"Facture {invoice.number} du {invoice.period_start:%d/%m/%Y} au {invoice.period_end:%d/%m/%Y}",
            debtor=debtor, lines=tuple(await _pes_lines(invoice, codes)),
            attachment=PesAttachment(id_unique=f"{codes.id_coll}F{invoice.id}",
                                     file_name=ascii_name(f"facture-{invoice.number}.pdf"),
                                     description=f"Facture {invoice.number}", content=pdf))
        plan.pieces.append(piece)
        plan.invoice_ids.append(invoice.id)
    return plan


async def _ensure_pes_sequence(regie_code: str, exercice: int) -> None:
    from core.billing.models import PesSequence

    if await PesSequence.exists(regie_code=regie_code, exercice=exercice):
        return
    try:
        async with in_transaction():
            await PesSequence.create(regie_code=regie_code, exercice=exercice, next_number=1)
    except IntegrityError:
        pass  # created by a concurrent export


async def export_pes(actor: Actor | None, regie_code: str, start: date, end: date) -> Any:
    """Build the PES V2 ORMC file of the régie's invoices issued from `start` to `end` (issue date),
    each invoice once: the ones already exported are left out; PES_ALREADY_EXPORTED when nothing new
    is left, PES_NOTHING_TO_EXPORT when the period has no invoice to hand over. `actor` None = the
    system (CLI). Exports of one régie run one at a time (the bordereau sequence row is locked), and
    an invoice carried twice would break the unique `PesExportInvoice.invoice`."""
    from core.billing.models import PesExport, PesExportInvoice, PesSequence
    from core.billing.pes import PesBordereau, PesHeader, ascii_name, build_pes
    from core.db import lock_rows
    from core.files.service import store_bytes

    user = None
    if actor is not None:
        user = require_staff(actor)
        if get_settings().regie(regie_code) is None:
            raise NotFound("régie")
        require_regie_staff(actor, regie_code)  # FORBIDDEN for an agent of another régie's services
    regie = pes_settings(regie_code)
    _pes_period(start, end)
    exercice = start.year
    settings = get_settings()
    await _ensure_pes_sequence(regie.code, exercice)
    async with in_transaction():
        seq_row = await PesSequence.get(regie_code=regie.code, exercice=exercice)
        seq = (await lock_rows(PesSequence, [seq_row.id]))[0]
        plan = await _pes_plan(regie, start, end)
        if not plan.pieces:
            if plan.already_exported and not plan.left_out:
                raise Conflict(f"Les {plan.already_exported} facture(s) de la période ont déjà été exportées.",
                               code="PES_ALREADY_EXPORTED", details={"alreadyExported": plan.already_exported})
            reasons = "; ".join(f"{x['number']} : {x['reason']}" for x in plan.left_out[:10])
            raise ValidationError("Aucune facture à exporter sur la période"
                                  + (f" (écartées : {reasons})." if reasons else "."),
                                  code="PES_NOTHING_TO_EXPORT", field="start",
                                  details={"leftOut": len(plan.left_out)})
        created_on = today()
        number = seq.next_number
        file_name = ascii_name(f"PES_ORMC_{regie.code}_{exercice}_{number:05d}.xml")
        codes = regie.pes
        header = PesHeader(file_name=file_name, emitter=settings.community.name,
                           emitter_address=settings.community.address, created_on=created_on,
                           id_post=codes.id_post, id_coll=codes.id_coll, cod_col=codes.cod_col,
                           cod_bud=codes.cod_bud, libelle_col_bud=codes.libelle_col_bud)
        label = codes.objet or f"Factures {regie.name} du {start:%d/%m/%Y} au {end:%d/%m/%Y}"
        bordereau = PesBordereau(exercice=exercice, number=number, issued_on=created_on, label=label,
                                 pieces=tuple(plan.pieces))
        content = build_pes(header, bordereau)
        stored = await store_bytes(file_name, content, household_id=None, uploaded_by_id=user.id if user else None,
                                   trusted_type="application/xml")
        export = await PesExport.create(
            regie_code=regie.code, exercice=exercice, bordereau_number=number, period_start=start, period_end=end,
            created_by=user, invoices_count=len(plan.pieces), total_cents=bordereau.amount_cents, file=stored,
            file_name=file_name, left_out=plan.left_out)
        await PesExportInvoice.bulk_create([
            PesExportInvoice(export_id=export.id, invoice_id=iid, piece_number=p.id_pce, amount_cents=p.amount_cents)
            for iid, p in zip(plan.invoice_ids, plan.pieces, strict=True)])
        await PesSequence.filter(id=seq.id).update(next_number=number + 1)
    log.info("pes export %s: régie %s, bordereau %s/%s, %s invoice(s)", export.id, regie.code, exercice, number,
             len(plan.pieces))
    return export


async def pes_exports(actor: Actor, regie_code: str | None = None) -> Any:
    """Past exports the caller may see (régies of their services; admins: all), newest first."""
    from core.billing.models import PesExport

    regies = staff_regies(actor)
    qs = PesExport.all()
    if regie_code:
        qs = qs.filter(regie_code=regie_code)
    if regies is not None:
        qs = qs.filter(regie_code__in=sorted(regies))
    return qs.order_by("-created_at", "-id")


async def pes_export_file(actor: Actor, object_id: str) -> tuple[Any, bytes]:
    """The export and its XML bytes, for staff of its régie (NOT_FOUND for anyone else)."""
    from core.billing.models import PesExport

    require_user(actor)
    export = await PesExport.get_or_none(id=download_id(object_id, "export PES"))
    if export is None or not actor.is_staff:
        raise NotFound("export PES")
    regies = staff_regies(actor)
    if regies is not None and export.regie_code not in regies:
        raise NotFound("export PES")
    return export, await pes_export_content(export)


async def pes_export_content(export: Any) -> bytes:
    """The XML bytes of an export (the caller checked who may have them)."""
    from core.files.models import StoredFile
    from core.files.service import read_bytes

    return read_bytes(await StoredFile.get(id=export.file_id))
