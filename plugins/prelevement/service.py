"""Use cases of SEPA direct debit: the family's mandate requests, staff decisions, debit batches,
rejects. Permission-checked, transactional. IBANs never reach a log or an error message.

Choices (documented for the régies):
- One mandate per (household, régie): each régie is a distinct creditor with its own ICS.
- A change of bank account amends the mandate: same RUM, `version` + 1, the previous account kept
  in SepaMandateVersion. The next collection carries AmdmntInd=true and, under the EPC rulebook in
  force since November 2016, stays RCUR: OrgnlDbtrAcct = "SMNDA" when the debtor changed bank
  (other BIC), the previous IBAN when the bank is the same. A mandate never collected stays FRST.
- Invoices are recorded paid (Payment method "sepa", paid on the due date) when the batch is marked
  sent to the bank; a reject reverses that payment, which reopens the invoice balance.
- A batch claims its invoices (SepaDebit.claim_key unique) under a per-régie PostgreSQL advisory
  lock, so two batches built at once never include the same invoice.
"""

from __future__ import annotations

import secrets
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.config import RegieConfig, get_settings
from core.contributions import FileDownload
from core.db import bulk_insert, lock_rows
from core.errors import Conflict, NotFound, ValidationError
from core.households.models import Household
from core.households.rules import PostalAddress, postal_address
from core.mail.service import queue_mails, render_mail
from core.permissions import (
    Actor,
    may_see_household_data,
    own_household_id,
    require_confirmed,
    require_staff_of_any,
    require_user,
    staff_need_to_know,
)
from core.rgpd.rules import RetentionPolicy
from core.rgpd.walk import export_tables
from core.timeutil import now, today
from plugins.prelevement import rules
from plugins.prelevement.models import (
    BatchStatus,
    DebitStatus,
    MandateStatus,
    SepaBatch,
    SepaDebit,
    SepaMandate,
    SepaMandateVersion,
)
from plugins.prelevement.plugin import PrelevementSettings

PLUGIN = "prelevement"
DOC_SIGNED = "mandat_sepa_signe"
DOC_RIB = "rib"
DOCUMENT_KINDS = (DOC_SIGNED, DOC_RIB)


# ---- configuration ----------------------------------------------------------------------------
def regie(code: str, field: str = "regieCode") -> RegieConfig:
    found = get_settings().regie(code or "")
    if found is None or not found.ics:
        raise ValidationError("Régie inconnue ou sans prélèvement.", code="UNKNOWN_REGIE", field=field)
    return found


def sepa_regies() -> list[RegieConfig]:
    return [r for r in get_settings().regies if r.ics]


def regie_services(code: str) -> set[str]:
    return {s.code for s in get_settings().services if s.regie == code}


def plugin_settings() -> PrelevementSettings:
    """`[plugin.prelevement]` through its typed model: the defaults live there only."""
    return PrelevementSettings(**get_settings().plugin_config(PLUGIN))


def creditor_address(reg: RegieConfig) -> PostalAddress:
    return PostalAddress(town=reg.creditor_town, country=reg.creditor_country.upper(),
                         postal_code=reg.creditor_postcode, street_name=reg.creditor_street,
                         building_number=reg.creditor_building_number)


def require_regie_staff(actor: Actor, regie_code: str) -> None:
    """Agents of a service billed by this régie, or admins (FORBIDDEN otherwise)."""
    require_staff_of_any(actor, regie_services(regie_code))


def is_regie_staff(actor: Actor, regie_code: str) -> bool:
    if actor.is_admin:
        return True
    return actor.is_staff and bool(actor.services & regie_services(regie_code))


# ---- access ---------------------------------------------------------------------------------
async def get_mandate(actor: Actor, mandate_id: int | str, *, family_only: bool = False) -> SepaMandate:
    """The mandate if the caller is its household or staff of its régie; NotFound otherwise."""
    require_user(actor)
    try:
        mid = int(mandate_id)
    except (TypeError, ValueError):
        raise NotFound("mandat") from None
    mandate = await SepaMandate.get_or_none(id=mid)
    if mandate is None:
        raise NotFound("mandat")
    if actor.is_family and actor.household_id == mandate.household_id:  # type: ignore[attr-defined]
        return mandate
    if not family_only and is_regie_staff(actor, mandate.regie_code) \
            and await may_see_household_data(actor, mandate.household_id):  # type: ignore[attr-defined]
        return mandate
    raise NotFound("mandat")


async def _locked(mandate: SepaMandate) -> SepaMandate:
    """The mandate re-read under its row lock (inside the caller's transaction): two decisions
    sent at once (validate and refuse, cancel twice…) see each other's status."""
    return (await lock_rows(SepaMandate, [mandate.id]))[0]


async def _need_to_know(actor: Actor, mandates: list[SepaMandate]) -> list[SepaMandate]:
    """Mandates of the agent's régies, of households using one of the agent's services (core.permissions)."""
    scope = await staff_need_to_know(actor, {m.household_id for m in mandates})  # type: ignore[attr-defined]
    return [m for m in mandates if is_regie_staff(actor, m.regie_code)
            and (scope is None or scope[m.household_id])]  # type: ignore[attr-defined]


async def _mail(mandate: SepaMandate, template: str, *, to: str | None = None, **extra: Any) -> None:
    if to is None:
        household = await Household.get_or_none(id=mandate.household_id)  # type: ignore[attr-defined]
        to = household.email if household else ""
    if not to and mandate.requested_by_id:  # type: ignore[attr-defined]
        from core.accounts.models import User

        user = await User.get_or_none(id=mandate.requested_by_id)  # type: ignore[attr-defined]
        to = user.email if user else ""
    if to:
        await queue_mails([_mail_row(mandate, template, to, **extra)])


def _mail_row(mandate: SepaMandate, template: str, to: str, **extra: Any) -> dict[str, Any]:
    reg = get_settings().regie(mandate.regie_code)
    context = {"mandate": mandate, "regie": reg, "masked_iban": rules.mask_iban(mandate.iban),
               "status_label": MandateStatus.LABELS.get(mandate.status, mandate.status), **extra}
    return render_mail(to, f"{PLUGIN}/mail/{template}", context, household_id=mandate.household_id)  # type: ignore[attr-defined]


def _holder(value: str) -> str:
    holder = (value or "").strip()
    if not holder:
        raise ValidationError("Le titulaire du compte est obligatoire.", code="REQUIRED", field="accountHolder")
    if len(holder) > 140:
        raise ValidationError("Titulaire du compte : 140 caractères au plus.", code="TOO_LONG", field="accountHolder")
    return holder


@dataclass(frozen=True)
class MandateForm:
    """A mandate form checked the same way whoever fills it (the family online, an agent at the desk)."""

    holder: str
    account: rules.BankAccount
    start: date
    information: str


def _check_form(account_holder: str, iban: str, bic: str, bank_name: str, start_month: date,
                information: str) -> MandateForm:
    holder = _holder(account_holder)
    account = rules.check_account(iban, bic, bank_name)
    start = rules.first_of_month(start_month)
    if start < rules.first_of_month(today()):
        raise ValidationError("Le mois de démarrage ne peut pas être passé.", code="INVALID_START_MONTH",
                              field="startMonth")
    return MandateForm(holder=holder, account=account, start=start, information=(information or "").strip()[:2000])


async def _create_mandates(household_id: int, codes: list[str], form: MandateForm, *, by: Any,
                           field: str = "regieCodes", **state: Any) -> list[SepaMandate]:
    """One mandate per régie with its version 1, inside the caller's transaction; MANDATE_EXISTS when
    the household already has a live one (pending or active) with one of these régies. The check is
    made under the household's row lock, so two requests or registrations sent at once (the family's
    and the desk's included) are decided one after the other (PostgreSQL; SQLite serialises writers)."""
    await lock_rows(Household, [household_id])
    live = await SepaMandate.filter(household_id=household_id, regie_code__in=codes,
                                    status__in=MandateStatus.LIVE).values_list("regie_code", flat=True)
    if live:
        raise Conflict("Une demande ou un prélèvement existe déjà pour cette régie.", code="MANDATE_EXISTS",
                       field=field, details={"regieCodes": sorted(set(live))})
    account = form.account
    created: list[SepaMandate] = []
    for code in codes:
        mandate = await SepaMandate.create(
            household_id=household_id, regie_code=code, rum=rules.build_rum(code, household_id, today()),
            account_holder=form.holder, iban=account.iban, bic=account.bic, bank_name=account.bank_name,
            start_month=form.start, information=form.information, **state)
        await SepaMandateVersion.create(mandate=mandate, version=1, account_holder=form.holder, iban=account.iban,
                                        bic=account.bic, bank_name=account.bank_name, created_by=by)
        created.append(mandate)
    return created


# ---- family journeys --------------------------------------------------------------------------
async def request_mandate(actor: Actor, regie_codes: list[str], account_holder: str, iban: str, bic: str,
                          bank_name: str, start_month: date, information: str = "") -> list[SepaMandate]:
    """« Adhérer au prélèvement automatique »: one pending mandate per chosen régie."""
    user = require_confirmed(actor)
    household_id = own_household_id(actor)
    codes = list(dict.fromkeys(c.strip() for c in regie_codes or [] if c and c.strip()))
    if not codes:
        raise ValidationError("Choisissez au moins une régie.", code="REQUIRED", field="regieCodes")
    for code in codes:
        regie(code, field="regieCodes")
    form = _check_form(account_holder, iban, bic, bank_name, start_month, information)
    async with in_transaction():
        created = await _create_mandates(household_id, codes, form, by=user, requested_by=user)
        for mandate in created:
            await _mail(mandate, "request_received")
    return created


async def household_mandates(actor: Actor, household_id: int | None = None) -> list[SepaMandate]:
    """The family's own mandates; staff may pass a household (only mandates of their régies)."""
    require_user(actor)
    if actor.is_family:
        hid = own_household_id(actor)
        return await SepaMandate.filter(household_id=hid).order_by("-created_at", "-id")
    if household_id is None:
        raise ValidationError("Foyer obligatoire.", code="REQUIRED", field="householdId")
    rows = await SepaMandate.filter(household_id=household_id).order_by("-created_at", "-id")
    return await _need_to_know(actor, list(rows))


async def cancel_request(actor: Actor, mandate_id: int | str) -> SepaMandate:
    require_user(actor)
    async with in_transaction():
        mandate = await get_mandate(actor, mandate_id, family_only=True)
        mandate = await _locked(mandate)
        if mandate.status != MandateStatus.PENDING:
            raise Conflict("Seule une demande en cours peut être annulée.", code="NOT_PENDING")
        mandate.status = MandateStatus.CANCELLED
        mandate.ended_at = now()
        await mandate.save(update_fields=["status", "ended_at", "updated_at"])
        await _mail(mandate, "cancelled")
    return mandate


async def stop_mandate(actor: Actor, mandate_id: int | str, reason: str = "") -> SepaMandate:
    """« Arrêter le prélèvement »: the family or staff of the régie; later invoices are paid otherwise.

    A collection already built (pre-notified) but not yet sent to the bank still goes: it becomes the
    mandate's last one, FNAL in the remittance (EPC SDD Core rulebook, AT-21), and the mail says so.
    The batch row is locked so that marking it sent waits for the rewritten file."""
    from plugins.prelevement import pain008

    require_user(actor)
    async with in_transaction():
        mandate = await get_mandate(actor, mandate_id)
        (mandate,) = await lock_rows(SepaMandate, [mandate.id])
        if mandate.status not in (MandateStatus.ACTIVE, MandateStatus.SUSPENDED):
            raise Conflict("Ce prélèvement n'est pas actif.", code="NOT_ACTIVE")
        pending = await SepaDebit.filter(mandate_id=mandate.id, status=DebitStatus.BUILT)
        batches = [b for b in await lock_rows(SepaBatch, [d.batch_id for d in pending])  # type: ignore[attr-defined]
                   if b.status == BatchStatus.BUILT]
        final: list[SepaDebit] = []
        for batch in batches:
            own = [d for d in pending if d.batch_id == batch.id and d.sequence_type == rules.SEQ_RCUR]  # type: ignore[attr-defined]
            if own:
                batch.xml = pain008.make_final(batch.xml.encode(), {d.end_to_end_id for d in own},
                                               batch.sepa_format).decode()
                await batch.save(update_fields=["xml"])
                await SepaDebit.filter(id__in=[d.id for d in own]).update(sequence_type=rules.SEQ_FNAL)
            final += [d for d in pending if d.batch_id == batch.id]  # type: ignore[attr-defined]
        mandate.status = MandateStatus.STOPPED
        mandate.status_reason = (reason or "").strip()[:500]
        mandate.ended_at = now()
        await mandate.save(update_fields=["status", "status_reason", "ended_at", "updated_at"])
        due = {b.id: b.due_date for b in batches}
        await _mail(mandate, "stopped", final_debits=[(d, due[d.batch_id]) for d in final])  # type: ignore[attr-defined]
    return mandate


async def change_account(actor: Actor, mandate_id: int | str, account_holder: str, iban: str, bic: str,
                         bank_name: str = "") -> SepaMandate:
    """Change of bank account: a new version of the same mandate (same RUM), history kept."""
    user = require_confirmed(actor)
    holder = _holder(account_holder)
    account = rules.check_account(iban, bic, bank_name)
    async with in_transaction():
        mandate = await get_mandate(actor, mandate_id, family_only=True)
        mandate = await _locked(mandate)
        if mandate.status not in (MandateStatus.PENDING, MandateStatus.ACTIVE):
            raise Conflict("Ce mandat n'est plus modifiable : faites une nouvelle demande.", code="NOT_ACTIVE")
        if mandate.last_collection_on is not None and not (mandate.amendment_original_iban
                                                           or mandate.amendment_new_agent):
            # Amendment sent with the next collection (see module docstring).
            if account.bic[:8] != mandate.bic[:8]:
                mandate.amendment_new_agent = True
            elif account.iban != mandate.iban:
                mandate.amendment_original_iban = mandate.iban
        elif mandate.amendment_original_iban and account.bic[:8] != mandate.bic[:8]:
            mandate.amendment_original_iban, mandate.amendment_new_agent = "", True
        mandate.version += 1
        mandate.account_holder, mandate.iban, mandate.bic = holder, account.iban, account.bic
        mandate.bank_name = account.bank_name
        await mandate.save()
        await SepaMandateVersion.create(mandate=mandate, version=mandate.version, account_holder=holder,
                                        iban=account.iban, bic=account.bic, bank_name=account.bank_name,
                                        reason="changement de compte", created_by=user)
        await _mail(mandate, "account_changed")
    return mandate


async def upload_document(actor: Actor, mandate_id: int | str, kind: str, upload: Any) -> Any:
    """Send back the signed mandate or a RIB: a core Document of the household, linked to the mandate."""
    from core.documents.models import Document
    from core.files.service import store_upload

    user = require_confirmed(actor)
    if kind not in DOCUMENT_KINDS:
        raise ValidationError("Type de document inconnu.", code="INVALID_KIND", field="kind")
    mandate = await get_mandate(actor, mandate_id, family_only=True)
    if mandate.status not in (MandateStatus.PENDING, MandateStatus.ACTIVE):
        raise Conflict("Ce mandat n'est plus en cours.", code="NOT_ACTIVE")
    async with in_transaction():
        stored = await store_upload(upload, household_id=mandate.household_id,  # type: ignore[attr-defined]
                                    uploaded_by_id=user.id)
        document = await Document.create(household_id=mandate.household_id, type_code=kind,  # type: ignore[attr-defined]
                                         file=stored, uploaded_by=user, comment=f"Mandat {mandate.rum}")
        if kind == DOC_SIGNED:
            mandate.signed_document = document
            mandate.signed_on = mandate.signed_on or today()
            await mandate.save(update_fields=["signed_document_id", "signed_on", "updated_at"])
        else:
            mandate.rib_document = document
            await mandate.save(update_fields=["rib_document_id", "updated_at"])
    return document


async def mandate_pdf(actor: Actor, mandate_id: str) -> FileDownload:
    from core.pdf import render_pdf

    mandate = await get_mandate(actor, mandate_id)
    household = await Household.get(id=mandate.household_id)  # type: ignore[attr-defined]
    reg = get_settings().regie(mandate.regie_code)
    pdf = await render_pdf(f"{PLUGIN}/pdf/mandate.html", {
        "mandate": mandate, "regie": reg, "household": household, "today": today(),
        "iban_formatted": " ".join(mandate.iban[i:i + 4] for i in range(0, len(mandate.iban), 4)),
    })
    return FileDownload(filename=f"mandat-sepa-{mandate.rum}.pdf", content_type="application/pdf", content=pdf)


# ---- staff ------------------------------------------------------------------------------------
async def regie_mandates(actor: Actor, regie_code: str, status: str | None = None) -> list[SepaMandate]:
    regie(regie_code)
    require_regie_staff(actor, regie_code)
    query = SepaMandate.filter(regie_code=regie_code)
    if status:
        query = query.filter(status=status)
    return await _need_to_know(actor, list(await query.order_by("-created_at", "-id")))


async def validate_mandate(actor: Actor, mandate_id: int | str) -> SepaMandate:
    require_user(actor)
    if not actor.is_staff:
        raise NotFound("mandat")
    async with in_transaction():
        mandate = await get_mandate(actor, mandate_id)
        mandate = await _locked(mandate)
        if mandate.status != MandateStatus.PENDING:
            raise Conflict("Seule une demande en cours peut être validée.", code="NOT_PENDING")
        mandate.status = MandateStatus.ACTIVE
        mandate.signed_on = mandate.signed_on or today()
        mandate.decided_by_id = actor.user_id  # type: ignore[attr-defined]
        mandate.decided_at = now()
        await mandate.save(update_fields=["status", "signed_on", "decided_by_id", "decided_at", "updated_at"])
        await _mail(mandate, "validated")
    return mandate


async def refuse_mandate(actor: Actor, mandate_id: int | str, reason: str) -> SepaMandate:
    require_user(actor)
    if not actor.is_staff:
        raise NotFound("mandat")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Indiquez le motif du refus.", code="REQUIRED", field="reason")
    async with in_transaction():
        mandate = await get_mandate(actor, mandate_id)
        mandate = await _locked(mandate)
        if mandate.status != MandateStatus.PENDING:
            raise Conflict("Seule une demande en cours peut être refusée.", code="NOT_PENDING")
        mandate.status = MandateStatus.REFUSED
        mandate.refusal_reason = reason[:1000]
        mandate.decided_by_id = actor.user_id  # type: ignore[attr-defined]
        mandate.decided_at = mandate.ended_at = now()
        await mandate.save(update_fields=["status", "refusal_reason", "decided_by_id", "decided_at", "ended_at",
                                          "updated_at"])
        await _mail(mandate, "refused")
    return mandate


async def register_paper_mandate(actor: Actor, household_id: int | str, regie_code: str, account_holder: str,
                                 iban: str, bic: str, bank_name: str, start_month: date, signed_on: date,
                                 information: str = "", upload: Any = None) -> SepaMandate:
    """A mandate the debtor signed on paper at the régie's desk: active at once, signed on
    `signed_on`, with the same checks as the family's request and the optional scan of the signed form
    as its signed document. Staff of the régie only (FORBIDDEN otherwise: an agent of one of the
    services the régie bills, or an admin), for any existing household (NOT_FOUND otherwise): a family
    signs at the desk before it uses any of the régie's services (any agent finds a household and reads
    its file, core.permissions). Reading the mandate afterwards stays need-to-know. Audited; the family
    is mailed."""
    from core.documents.models import Document, DocumentStatus
    from core.files.service import store_upload
    from core.households.models import AuditLog

    user = require_user(actor)
    regie(regie_code)
    require_regie_staff(actor, regie_code)
    try:
        hid = int(household_id)
    except (TypeError, ValueError):
        raise NotFound("foyer") from None
    if not await Household.exists(id=hid):
        raise NotFound("foyer")
    form = _check_form(account_holder, iban, bic, bank_name, start_month, information)
    rules.check_paper_signature(signed_on, today())
    async with in_transaction():
        (mandate,) = await _create_mandates(hid, [regie_code], form, by=user, field="regieCode",
                                            status=MandateStatus.ACTIVE, signed_on=signed_on,
                                            decided_by=user, decided_at=now())
        if upload is not None:
            stored = await store_upload(upload, household_id=hid, uploaded_by_id=user.id)
            mandate.signed_document = await Document.create(
                household_id=hid, type_code=DOC_SIGNED, file=stored, uploaded_by=user,
                comment=f"Mandat {mandate.rum} (formulaire papier)",
                # scanned by the agent from the original in hand: nothing left to review
                status=DocumentStatus.ACCEPTED, reviewed_by=user, reviewed_at=now())
            await mandate.save(update_fields=["signed_document_id", "updated_at"])
        await AuditLog.create(actor_id=user.id, action="sepa_paper_mandate", entity="sepa_mandate",
                              entity_id=mandate.id, household_id=hid,
                              detail={"regie": regie_code, "rum": mandate.rum, "signed_on": signed_on.isoformat(),
                                      "scan": mandate.signed_document_id is not None})  # type: ignore[attr-defined]
        await _mail(mandate, "paper_registered")
    return mandate


async def _lapse_unused(regie_code: str, on: date) -> None:
    """Mandates unused for 36 months become caducs (mailed), before a batch is built. Their dates
    are read as plain values: a régie has thousands of active mandates and few ever lapse."""
    dates = await SepaMandate.filter(regie_code=regie_code, status=MandateStatus.ACTIVE).values_list(
        "id", "last_collection_on", "signed_on", "decided_at")
    lapsed = [mid for mid, last, signed, decided in dates
              if rules.is_lapsed(last or signed or (decided.date() if decided else None), on)]
    if not lapsed:
        return
    async with in_transaction():
        for mandate in await SepaMandate.filter(id__in=lapsed, status=MandateStatus.ACTIVE).order_by("id"):
            mandate.status = MandateStatus.LAPSED
            mandate.ended_at = now()
            await mandate.save(update_fields=["status", "ended_at", "updated_at"])
            await _mail(mandate, "lapsed")


async def _lock_regie(conn: Any, regie_code: str) -> None:
    """Serialise batch building per régie on PostgreSQL (SQLite serialises writers anyway)."""
    if conn.capabilities.dialect == "postgres":
        key = zlib.crc32(f"sepa-batch:{regie_code}".encode()) & 0x7FFFFFFF
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [key])


def _message_id(regie_code: str) -> str:
    prefix = "".join(c for c in regie_code.upper() if c.isalnum())[:8] or "PF"
    return f"PF-{prefix}-{now():%Y%m%d%H%M%S}-{secrets.token_hex(3).upper()}"


async def build_batch(actor: Actor, regie_code: str, due_date: date) -> SepaBatch:
    """Every unpaid invoice of the households with an active mandate on this régie, as a pain.008."""
    from core.billing.models import Collection
    from core.billing.service import claim_collection, unpaid_invoices
    from plugins.prelevement import pain008

    reg = regie(regie_code)
    require_regie_staff(actor, regie_code)
    rules.check_due_date(today(), due_date, plugin_settings().prenotification_days)
    await _lapse_unused(regie_code, due_date)
    seq_2016 = plugin_settings().rulebook_2016
    async with in_transaction() as conn:
        await _lock_regie(conn, regie_code)
        mandates = await SepaMandate.filter(regie_code=regie_code, status=MandateStatus.ACTIVE,
                                            start_month__lte=due_date)
        by_household = {m.household_id: m for m in mandates}  # type: ignore[attr-defined]
        invoices = await unpaid_invoices(regie_code, household_ids=list(by_household)) if by_household else []
        invoices = [i for i in invoices if i.household_id in by_household and i.balance_cents > 0]  # type: ignore[attr-defined]
        claimed = set(await SepaDebit.filter(claim_key__in=[i.id for i in invoices])
                      .values_list("claim_key", flat=True)) if invoices else set()
        invoices = [i for i in invoices if i.id not in claimed]
        # One collection channel at a time: an invoice with a card payment in progress stays out.
        invoices = await claim_collection([i.id for i in invoices], Collection.SEPA)
        if not invoices:
            raise ValidationError("Aucune facture à prélever pour cette régie à cette date : aucun fichier "
                                  "n'a été créé.", code="EMPTY_BATCH")
        # Only what the debits and mails use (a household row has some thirty columns).
        households = {h.id: h for h in await Household.filter(id__in=list(by_household)).only(
            "id", "email", "street_number", "street_name", "address_line1", "postal_code", "city", "country")}
        addresses = {hid: postal_address(h) for hid, h in households.items()}
        _require_debtor_addresses([by_household[i.household_id] for i in invoices], addresses)  # type: ignore[attr-defined]
        batch = await SepaBatch.create(regie_code=regie_code, due_date=due_date, message_id=_message_id(regie_code),
                                       sepa_format=reg.sepa_format, created_by_id=actor.user_id)
        # Plain rows, not SepaDebit instances: 10,000 model instances cost more than their INSERT.
        debits: list[dict[str, Any]] = []
        lines: list[pain008.DebitLine] = []
        for invoice in sorted(invoices, key=lambda i: (i.household_id, i.id)):  # type: ignore[attr-defined]
            mandate = by_household[invoice.household_id]  # type: ignore[attr-defined]
            amendment = rules.Amendment(original_iban=mandate.amendment_original_iban,
                                        new_debtor_agent=mandate.amendment_new_agent)
            seq = rules.sequence_type(one_off=mandate.one_off,
                                      has_previous_collection=mandate.last_collection_on is not None,
                                      amendment=amendment, rulebook_2016=seq_2016)
            e2e = f"PF{batch.id}-{invoice.id}"[:35]
            amount = int(invoice.balance_cents)
            debits.append({"batch_id": batch.id, "mandate_id": mandate.id, "household_id": invoice.household_id,  # type: ignore[attr-defined]
                           "invoice_id": invoice.id, "invoice_number": invoice.number, "claim_key": invoice.id,
                           "amount_cents": amount, "sequence_type": seq, "end_to_end_id": e2e,
                           "amended": amendment.pending})
            lines.append(pain008.DebitLine(
                end_to_end_id=e2e, amount_cents=amount, rum=mandate.rum,
                signed_on=mandate.signed_on or mandate.created_at.date(), debtor_name=mandate.account_holder,
                debtor_iban=mandate.iban, debtor_bic=mandate.bic, sequence_type=seq,
                remittance=f"Facture {invoice.number}", amended=amendment.pending,
                original_iban=amendment.original_iban, new_debtor_agent=amendment.new_debtor_agent,
                debtor_address=addresses.get(invoice.household_id)))  # type: ignore[attr-defined]  # pain008 skips an incomplete one
        creditor = pain008.Creditor(name=reg.creditor_name or reg.name, iban=reg.creditor_iban,
                                    bic=reg.creditor_bic, ics=reg.ics, address=creditor_address(reg))
        xml = pain008.build_and_validate(pain008.Pain008(
            message_id=batch.message_id, created_at=now(), collection_date=due_date, creditor=creditor,
            lines=lines, fmt=reg.sepa_format))
        try:
            await bulk_insert(SepaDebit, debits)
        except IntegrityError as exc:
            raise Conflict("Une autre remise en cours contient déjà ces factures : réessayez.",
                           code="BATCH_IN_PROGRESS") from exc
        batch.xml = xml.decode()
        batch.count = len(debits)
        batch.total_cents = rules.control_sum(d["amount_cents"] for d in debits)
        await batch.save(update_fields=["xml", "count", "total_cents"])
        # Pre-notification: amount and date of the debit, one mail per household.
        per_mandate: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for debit in debits:
            per_mandate[debit["mandate_id"]].append(debit)
        # Collected now; a pending amendment went with this collection (one statement for all).
        await SepaMandate.filter(id__in=list(per_mandate)).update(
            last_collection_on=due_date, amendment_new_agent=False, amendment_original_iban="")
        emails = {hid: h.email for hid, h in households.items()}
        # A household without an address: the parent who asked for the mandate (one query for all).
        askers = {m.requested_by_id for m in mandates  # type: ignore[attr-defined]
                  if m.id in per_mandate and not emails.get(m.household_id) and m.requested_by_id}  # type: ignore[attr-defined]
        if askers:
            from core.accounts.models import User

            user_emails = dict(await User.filter(id__in=sorted(askers)).values_list("id", "email"))
        else:
            user_emails = {}
        mails = []
        for mandate in mandates:
            own = per_mandate.get(mandate.id)
            to = emails.get(mandate.household_id) or user_emails.get(mandate.requested_by_id)  # type: ignore[attr-defined]
            if own and to:
                mails.append(_mail_row(mandate, "prenotification", to, due_date=due_date, debits=own,
                                       total_cents=rules.control_sum(d["amount_cents"] for d in own)))
        await queue_mails(mails)  # one INSERT per 1,000 mails, in the batch's transaction
    return batch


def _require_debtor_addresses(mandates: list[SepaMandate], addresses: dict[int, PostalAddress]) -> None:
    """A debtor whose bank is outside the EEA must come with a structured address (EPC153-22 v2.1,
    Regulation (EU) 2023/1113): the batch is refused, naming the mandates whose file lacks it."""
    missing = sorted({m.rum for m in mandates if rules.address_required(m.iban)
                      and not (m.household_id in addresses and addresses[m.household_id].complete)})  # type: ignore[attr-defined]
    if missing:
        raise ValidationError("Adresse postale obligatoire pour les comptes tenus hors de l'Espace économique "
                              f"européen : complétez le dossier des foyers des mandats {', '.join(missing)}.",
                              code="DEBTOR_ADDRESS_MISSING")


def regie_batches(actor: Actor, regie_code: str) -> Any:
    """The batches of a régie, newest first, as a queryset to paginate (staff of the régie only)."""
    regie(regie_code)
    require_regie_staff(actor, regie_code)
    return SepaBatch.filter(regie_code=regie_code).order_by("-created_at", "-id")


async def get_batch(actor: Actor, batch_id: int | str) -> SepaBatch:
    require_user(actor)
    try:
        bid = int(batch_id)
    except (TypeError, ValueError):
        raise NotFound("remise") from None
    batch = await SepaBatch.get_or_none(id=bid)
    if batch is None or not is_regie_staff(actor, batch.regie_code):
        raise NotFound("remise")
    return batch


async def batch_xml(actor: Actor, batch_id: str) -> FileDownload:
    batch = await get_batch(actor, batch_id)
    return FileDownload(filename=f"{batch.message_id}.xml", content_type="application/xml",
                        content=batch.xml.encode())


async def mark_batch_sent(actor: Actor, batch_id: int | str) -> SepaBatch:
    """The file went to the bank: each invoice gets its "sepa" payment, dated the due date (the day
    the money is collected). The bank debits the amount of the file whatever happened since: an
    invoice paid another way in between is recorded overpaid, and the régie refunds the family."""
    from core.billing.models import Collection
    from core.billing.service import apply_payment, release_collection

    require_user(actor)
    async with in_transaction():
        batch = await get_batch(actor, batch_id)
        updated = await SepaBatch.filter(id=batch.id, status=BatchStatus.BUILT).update(
            status=BatchStatus.SENT, sent_at=now())
        if updated != 1:
            raise Conflict("Cette remise a déjà été envoyée.", code="ALREADY_SENT")
        for debit in await SepaDebit.filter(batch_id=batch.id, status=DebitStatus.BUILT).order_by("id"):
            payment = await apply_payment(debit.invoice_id, debit.amount_cents, "sepa",
                                          reference=debit.end_to_end_id, paid_on=batch.due_date,
                                          recorded_by_id=actor.user_id, allow_overpayment=True)
            debit.payment_id = payment.id
            debit.status = DebitStatus.SENT
            await debit.save(update_fields=["payment_id", "status"])
            await release_collection([debit.invoice_id], Collection.SEPA)  # paid: the channel is done
        await batch.refresh_from_db()
    return batch


async def record_reject(actor: Actor, debit_id: int | str, reason_code: str) -> SepaDebit:
    """An R-transaction on one debit: the payment is reversed (the invoice is due again); after
    `max_rejects` rejects the mandate is suspended. The family is mailed."""
    from core.billing.service import reverse_payment

    code = (reason_code or "").strip().upper()
    if code not in rules.REJECT_REASONS:
        raise ValidationError("Code motif de rejet inconnu (ex. AM04, MD01).", code="INVALID_REASON_CODE",
                              field="reasonCode")
    require_user(actor)
    try:
        did = int(debit_id)
    except (TypeError, ValueError):
        raise NotFound("prélèvement") from None
    async with in_transaction():
        debit = await SepaDebit.get_or_none(id=did).select_related("batch", "mandate")
        if debit is None or not is_regie_staff(actor, debit.batch.regie_code):
            raise NotFound("prélèvement")
        # Under the debit's row lock: a reject recorded twice at once reverses the payment once.
        debit.status = (await lock_rows(SepaDebit, [debit.id]))[0].status
        if debit.status != DebitStatus.SENT:
            raise Conflict("Seul un prélèvement envoyé à la banque peut être rejeté.", code="NOT_SENT")
        label = rules.REJECT_REASONS[code]
        if debit.payment_id:
            await reverse_payment(debit.payment_id, f"Rejet de prélèvement SEPA {code} : {label}")
        debit.status = DebitStatus.REJECTED
        debit.reject_code = code
        debit.rejected_at = now()
        debit.claim_key = None
        await debit.save(update_fields=["status", "reject_code", "rejected_at", "claim_key"])
        mandate = debit.mandate
        mandate.reject_count += 1
        fields_ = ["reject_count", "updated_at"]
        if debit.sequence_type == rules.SEQ_FRST and not await SepaDebit.filter(
                mandate_id=mandate.id, status=DebitStatus.SENT).exists():
            mandate.last_collection_on = None  # the first collection never happened: next is FRST again
            fields_.append("last_collection_on")
        suspended = mandate.status == MandateStatus.ACTIVE and rules.should_suspend(mandate.reject_count, plugin_settings().max_rejects)
        if suspended:
            mandate.status = MandateStatus.SUSPENDED
            mandate.status_reason = f"{mandate.reject_count} rejets de prélèvement"
            fields_ += ["status", "status_reason"]
        await mandate.save(update_fields=fields_)
        await _mail(mandate, "rejected", debit=debit, reason_code=code, reason_label=label)
        if suspended:
            await _mail(mandate, "suspended")
    return debit


async def batch_debits(actor: Actor, batch_id: int | str) -> list[SepaDebit]:
    batch = await get_batch(actor, batch_id)
    return await SepaDebit.filter(batch_id=batch.id).order_by("id")


# ---- hooks ------------------------------------------------------------------------------------
async def alerts_for(household_id: int) -> list[Any]:
    from core.contributions import Alert

    out: list[Alert] = []
    rows = await SepaMandate.filter(household_id=household_id,
                                    status__in=(MandateStatus.PENDING, MandateStatus.REFUSED,
                                                MandateStatus.SUSPENDED))
    cutoff = today().toordinal() - 60
    for m in rows:
        reg = get_settings().regie(m.regie_code)
        name = reg.name if reg else m.regie_code
        if m.status == MandateStatus.PENDING and m.signed_document_id is None:  # type: ignore[attr-defined]
            out.append(Alert(code="sepa_mandate_to_sign", severity="info", link=f"/files/sepa_mandate/{m.id}",
                             message=f"Mandat de prélèvement ({name}) à dater, signer et transmettre."))
        elif m.status == MandateStatus.REFUSED and m.decided_at and m.decided_at.date().toordinal() >= cutoff:
            out.append(Alert(code="sepa_mandate_refused", severity="warning",
                             message=f"Votre demande de prélèvement ({name}) a été refusée : {m.refusal_reason}"))
        elif m.status == MandateStatus.SUSPENDED:
            out.append(Alert(code="sepa_mandate_suspended", severity="warning",
                             message=f"Votre prélèvement ({name}) est suspendu après des rejets."))
    return out


async def rgpd_export(household_id: int) -> dict[str, Any]:
    mandates = await SepaMandate.filter(household_id=household_id).prefetch_related("versions").order_by("id")
    debits = await SepaDebit.filter(household_id=household_id).select_related("batch").order_by("id")
    return {
        "mandats": [{
            "rum": m.rum, "regie": m.regie_code, "statut": m.status, "titulaire": m.account_holder,
            "iban": m.iban, "bic": m.bic, "banque": m.bank_name, "mois_demarrage": m.start_month.isoformat(),
            "informations": m.information, "cree_le": m.created_at.isoformat(),
            "versions": [{"version": v.version, "titulaire": v.account_holder, "iban": v.iban, "bic": v.bic,
                          "banque": v.bank_name, "motif": v.reason, "le": v.created_at.isoformat()}
                         for v in sorted(m.versions, key=lambda v: v.version)],
        } for m in mandates],
        "prelevements": [{"facture": d.invoice_number, "montant_centimes": d.amount_cents,
                          "echeance": d.batch.due_date.isoformat(), "statut": d.status, "rejet": d.reject_code}
                         for d in debits],
        "tables": await export_tables("prelevement", household_id),
    }


IN_FORCE = (MandateStatus.ACTIVE, MandateStatus.SUSPENDED)
NEVER_USED = (MandateStatus.PENDING, MandateStatus.REFUSED, MandateStatus.CANCELLED)


async def rgpd_erasure_blockers(household_id: int) -> list[str]:
    """A mandate in force (active, or suspended after rejects) must be stopped first (with FNAL for a
    pending debit): erasing would cut a collection the family agreed to."""
    live = await SepaMandate.filter(household_id=household_id, status__in=IN_FORCE).order_by("id")
    return [f"mandat de prélèvement {m.rum} ({MandateStatus.LABELS[m.status].lower()}) : il doit être arrêté "
            f"avant l'effacement." for m in live]


async def rgpd_erase(household_id: int) -> None:
    """A mandate that was signed or debited is kept intact (IBAN, holder, amendments, signed copy):
    the SEPA Core Rulebook (EPC016-06 §4.1) requires the creditor to store it after its end for as
    long as the debtor may claim a refund (§4.6.4, 13 months); `rgpd_retention` purges it after
    `sepa_mandate_months`. A request never validated nor debited is deleted now."""
    async with in_transaction():
        mandates = await SepaMandate.filter(household_id=household_id)
        debited = set(await SepaDebit.filter(household_id=household_id).values_list("mandate_id", flat=True))
        for m in mandates:
            if m.status in NEVER_USED and m.id not in debited and m.signed_on is None:
                await SepaMandateVersion.filter(mandate_id=m.id).delete()
                await m.delete()
                continue
            m.information = ""
            if m.status in MandateStatus.LIVE:
                m.status = MandateStatus.STOPPED
                m.ended_at = now()
            await m.save(update_fields=["information", "status", "ended_at"])


def _last_activity(m: SepaMandate) -> date:
    dates = [d for d in (m.last_collection_on, m.ended_at and m.ended_at.date(),
                         m.decided_at and m.decided_at.date(), m.created_at.date()) if d]
    return max(dates)


async def rgpd_retention(policy: RetentionPolicy, today_: date, dry_run: bool) -> dict[str, int]:
    """Mandates no longer in force whose last debit (or end) is older than `sepa_mandate_months`
    go with their amendments and debits; batch files (pain.008 with names and IBANs) of that age
    are emptied. The payments stay in core's accounting."""
    cutoff = policy.cutoff_months(today_, policy.sepa_mandate_months)
    ended = await SepaMandate.filter(status__in=[s for s in MandateStatus.LABELS if s not in
                                                 (MandateStatus.PENDING, *IN_FORCE)])
    old = [m.id for m in ended if _last_activity(m) < cutoff]
    batches = SepaBatch.filter(due_date__lt=cutoff).exclude(xml="")
    done = {"mandates": len(old), "debits": await SepaDebit.filter(mandate_id__in=old or [0]).count(),
            "batch_files": await batches.count()}
    if dry_run:
        return done
    async with in_transaction():
        await SepaDebit.filter(mandate_id__in=old or [0]).delete()
        await SepaMandateVersion.filter(mandate_id__in=old or [0]).delete()
        await SepaMandate.filter(id__in=old or [0]).delete()
        await batches.update(xml="")
    return done


async def demo_data(today_: date) -> None:
    from core.accounts.models import User

    household = await Household.filter(name="TESTBO").first()
    if household is None or await SepaMandate.exists(household=household):
        return
    user = await User.get_or_none(household_id=household.id)
    holder = "TESTBO Patricia"
    pending = rules.check_account("FR76 3000 6000 0112 3456 7890 189", "AGRIFRPP")
    active = rules.check_account("FR14 2004 1010 0505 0001 3M02 606", "PSSTFRPPXXX")
    for code, account, status in (("cdc", pending, MandateStatus.PENDING),
                                  ("st_caprais", active, MandateStatus.ACTIVE)):
        if get_settings().regie(code) is None:
            continue
        mandate = await SepaMandate.create(
            household=household, regie_code=code, rum=rules.build_rum(code, household.id, today_),
            account_holder=holder, iban=account.iban, bic=account.bic, bank_name=account.bank_name,
            start_month=rules.first_of_month(today_), status=status, requested_by=user,
            signed_on=today_ if status == MandateStatus.ACTIVE else None,
            decided_at=now() if status == MandateStatus.ACTIVE else None)
        await SepaMandateVersion.create(mandate=mandate, version=1, account_holder=holder, iban=account.iban,
                                        bic=account.bic, bank_name=account.bank_name, created_by=user)
