"""RGPD: a household's right of access (export of everything core and every enabled plugin holds),
right to erasure (refused while the household owes money or holds a live commitment; what public
accounting and SEPA require is kept, then purged when its retention ends) and the retention purge.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.accounts.models import AuthToken, LoginFailure, User
from core.billing.models import Invoice, InvoiceKind, PayfipOperation, Payment
from core.billing.rules import STATUS_PARTIAL, STATUS_UNPAID
from core.config import get_settings
from core.demarches.models import Demarche
from core.documents.models import Document
from core.errors import NotFound, PortailError
from core.files.models import StoredFile
from core.files.service import delete_bytes
from core.households.models import AuditLog, Child, Household, Responsable
from core.mail.models import OutboxMail, OutboxStatus
from core.permissions import Actor, own_household_id, require_admin, require_user
from core.plugins import get_host
from core.rgpd.rules import RetentionPolicy
from core.rgpd.walk import export_tables, referenced_file_ids
from core.timeutil import PARIS

log = logging.getLogger(__name__)


class ErasureBlocked(PortailError):
    code = "ERASURE_BLOCKED"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def policy() -> RetentionPolicy:
    """The community's retention policy (`[rgpd]`, typed), defaults from core/rgpd/rules.py."""
    return get_settings().rgpd


def _paris_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=PARIS)


# ---- right of access --------------------------------------------------------------------------
_TOKEN_IN_LINK = re.compile(r"(token=)[A-Za-z0-9_\-.~%]+")


def _mask_links(text: str) -> str:
    """A confirmation or reset link in an old mail is still a key to the account: the export shows
    the mail, not the key (whoever reads the export file must not be able to take over the account)."""
    return _TOKEN_IN_LINK.sub(r"\1[masqué]", text or "")


async def _member_emails(household_id: int) -> set[str]:
    household = await Household.get(id=household_id)
    emails = set(await User.filter(household_id=household_id).values_list("email", flat=True))
    emails.update(await Responsable.filter(household_id=household_id).values_list("email", flat=True))
    emails.add(household.email)
    return {e.strip().lower() for e in emails if e and e.strip()}


async def core_export(household_id: int) -> dict[str, Any]:
    """Core's share: the household file (readable), its invoices, every core table that leads to
    the household (documents with type, status, refusal reason and dates; démarches; files; mails;
    accounts and sessions without their secrets; audit entries) and the failed logins on its emails."""
    from core.households.service import export_household

    tables = await export_tables("core", household_id)
    emails = await _member_emails(household_id)
    mails = {m["id"] for m in tables.get("OutboxMail", [])}
    extra = await OutboxMail.filter(to__in=list(emails)).exclude(id__in=list(mails)).order_by("id").values()
    for row in tables.get("OutboxMail", []) + [_jsonable(r) for r in extra]:
        row["text_body"] = _mask_links(row.get("text_body", ""))
        row["html_body"] = _mask_links(row.get("html_body", ""))
        if row not in tables["OutboxMail"]:
            tables["OutboxMail"].append(row)
    tables["LoginFailure"] = _jsonable(await LoginFailure.filter(email__in=list(emails)).order_by("id")
                                       .values("id", "email", "ip", "created_at"))
    invoices = await Invoice.filter(household_id=household_id).order_by("issued_on").values(
        "number", "regie_code", "kind", "issued_on", "period_start", "period_end", "total_cents", "paid_cents",
        "status")
    documents = await Document.filter(household_id=household_id).select_related("file").order_by("id")
    demarches = await Demarche.filter(household_id=household_id).order_by("id")
    return _jsonable({
        "household": await export_household(household_id),
        "invoices": invoices,
        "documents": [{"type": d.type_code, "child_id": d.child_id, "status": d.status,  # type: ignore[attr-defined]
                       "refusal_reason": d.refusal_reason, "comment": d.comment, "file": d.file.original_filename,
                       "uploaded_at": d.uploaded_at, "reviewed_at": d.reviewed_at, "valid_until": d.valid_until}
                      for d in documents],
        "demarches": [{"type": d.type_code, "service": d.service_code, "child_id": d.child_id,  # type: ignore[attr-defined]
                       "status": d.status, "data": d.data, "response": d.response, "created_at": d.created_at,
                       "processed_at": d.processed_at} for d in demarches],
        "tables": tables,
    })


async def export_household_data(actor: Actor, household_id: int | None = None) -> dict[str, Any]:
    """Families export their own household; admins any household (audited).
    The answer is `{plugin name: its share}`: `{"core": {...}, "creche": {...}, ...}`."""
    user = require_user(actor)
    if actor.is_family:
        own = own_household_id(actor)
        if household_id is not None and household_id != own:
            raise NotFound("foyer")
        household_id = own
    else:
        require_admin(actor)
    if household_id is None or not await Household.exists(id=household_id, erased_at__isnull=True):
        raise NotFound("foyer")
    data = await get_host().rgpd_export(household_id)
    if actor.is_admin:
        await AuditLog.create(actor=user, action="rgpd_export", entity="household", entity_id=household_id,
                              household_id=household_id)
    return _jsonable(data)


# ---- right to erasure -------------------------------------------------------------------------
async def core_erasure_blockers(household_id: int) -> list[str]:
    unpaid = [i for i in await Invoice.filter(household_id=household_id, kind=InvoiceKind.INVOICE,
                                              status__in=[STATUS_UNPAID, STATUS_PARTIAL])
              if i.balance_cents > 0]
    if not unpaid:
        return []
    numbers = ", ".join(i.number for i in unpaid[:5]) + (" …" if len(unpaid) > 5 else "")
    return [f"{len(unpaid)} facture(s) non soldée(s) ({numbers}) : le comptable public doit pouvoir en "
            f"recouvrer le montant."]


async def erase_household_data(actor: Actor, household_id: int) -> None:
    """Admins only. Refused (`ERASURE_BLOCKED`, reasons in French) while the household owes money or
    holds a contract or mandate in force. Plugins erase their share, then core; files no kept record
    needs are deleted from disk once the transaction is committed."""
    user = require_admin(actor)
    if not await Household.exists(id=household_id, erased_at__isnull=True):
        raise NotFound("foyer")
    host = get_host()
    async with in_transaction():
        # The household row is locked: two erasures (or an erasure and a second one's check) queue.
        household = await Household.select_for_update().get_or_none(id=household_id, erased_at__isnull=True)
        if household is None:
            raise NotFound("foyer")
        reasons = await host.rgpd_erasure_blockers(household_id)
        if reasons:
            raise ErasureBlocked("Le foyer ne peut pas encore être effacé : " + " ; ".join(reasons),
                                 details={"reasons": reasons})
        doomed: list[StoredFile] = []
        token = _doomed_files.set(doomed)
        try:
            await host.rgpd_erase(household_id)
        finally:
            _doomed_files.reset(token)
        await AuditLog.create(actor=user, action="rgpd_erase", entity="household", entity_id=household_id,
                              household_id=household_id)
    for file in doomed:
        delete_bytes(file)


# Files whose bytes go once the erasure is committed (set by erase_household_data).
_doomed_files: ContextVar[list[StoredFile] | None] = ContextVar("rgpd_doomed_files", default=None)


async def erase_core(household_id: int) -> None:
    """Core's share of an erasure, run after every plugin's: mails, sessions and tokens, accounts,
    audit details, démarches, documents and files (but those a kept record needs), the household
    file (keeping the debtor record while invoices are kept)."""
    from core.households.service import erase_household

    if not await Household.exists(id=household_id):
        raise NotFound("foyer")
    emails = await _member_emails(household_id)
    members = list(await User.filter(household_id=household_id).values_list("id", flat=True))
    # Mails to the household or about it (invoice details, confirmation and reset links).
    await OutboxMail.filter(Q(household_id=household_id) | Q(to__in=list(emails))).delete()
    # Sessions, confirmation and reset tokens; failed logins on its addresses.
    await AuthToken.filter(user_id__in=members).delete()
    await LoginFailure.filter(email__in=list(emails)).delete()
    for member_id in members:
        await User.filter(id=member_id).update(email=f"efface-{member_id}@rgpd.invalid", password_hash=None,
                                               first_name="", last_name="", is_active=False)
    # Audit entries stay (who on the staff read what, and when: accountability), their details go.
    await AuditLog.filter(household_id=household_id).update(detail={})
    # Démarches and documents; a document backing a kept record (a signed contract, a signed SEPA
    # mandate) stays until that record's retention ends.
    await Demarche.filter(household_id=household_id).delete()
    kept = await referenced_file_ids()
    await Document.filter(household_id=household_id).exclude(file_id__in=list(kept) or [0]).delete()
    doomed = await StoredFile.filter(household_id=household_id).exclude(id__in=list(kept) or [0])
    await StoredFile.filter(id__in=[f.id for f in doomed] or [0]).delete()
    await erase_household(household_id, keep_debtor=await Invoice.exists(household_id=household_id))
    pending = _doomed_files.get()
    if pending is None:  # called outside erase_household_data: nothing to wait for
        for file in doomed:
            delete_bytes(file)
    else:
        pending.extend(doomed)


# ---- retention --------------------------------------------------------------------------------
async def _count_or_delete(query: Any, dry_run: bool) -> int:
    if dry_run:
        return await query.count()
    return await query.delete()


async def core_retention(policy: RetentionPolicy, today: date, dry_run: bool) -> dict[str, int]:
    """Core's retention purge (plugins have run before: their references to files are gone)."""
    done: dict[str, int] = {}
    instant = _paris_midnight(today)
    # Sessions and single-use tokens past their expiry (or used), failed logins.
    token_cut = instant - timedelta(days=policy.expired_tokens_days)
    done["tokens"] = await _count_or_delete(
        AuthToken.filter(Q(expires_at__lt=token_cut) | Q(used_at__lt=token_cut)), dry_run)
    done["login_failures"] = await _count_or_delete(
        LoginFailure.filter(created_at__lt=instant - timedelta(days=policy.login_failures_days)), dry_run)
    # Outbox mail delivered (or abandoned) long enough ago.
    done["sent_mails"] = await _count_or_delete(OutboxMail.filter(
        status__in=[OutboxStatus.SENT, OutboxStatus.FAILED],
        created_at__lt=instant - timedelta(days=policy.sent_mail_days)), dry_run)
    done["audit_entries"] = await _count_or_delete(AuditLog.filter(
        at__lt=_paris_midnight(policy.cutoff_months(today, policy.audit_months))), dry_run)
    # Démarches processed long ago (attachments cascade; their files are orphans below).
    done["demarches"] = await _count_or_delete(Demarche.filter(
        processed_at__lt=_paris_midnight(policy.cutoff_months(today, policy.demarches_months))), dry_run)
    # Documents past retention, unless a kept record (signed contract, mandate) still needs them.
    kept = await referenced_file_ids()
    done["documents"] = await _count_or_delete(Document.filter(
        uploaded_at__lt=_paris_midnight(policy.cutoff_months(today, policy.documents_months)))
        .exclude(file_id__in=list(kept) or [0]), dry_run)
    done["health_data"] = await _purge_health_data(policy, today, dry_run)
    done.update(await _purge_accounting(policy, today, dry_run))
    done["files"] = await _purge_orphan_files(policy, today, dry_run)
    return done


async def _purge_health_data(policy: RetentionPolicy, today: date, dry_run: bool) -> int:
    """Clear the health data of children who left: their file has not changed and nobody of the
    household has logged in since the cutoff (a family still using the portal logs in)."""
    cutoff = _paris_midnight(policy.cutoff_months(today, policy.health_months_after_leaving))
    active = User.filter(last_login_at__gte=cutoff, household_id__isnull=False).values_list("household_id", flat=True)
    candidates = await Child.filter(updated_at__lt=cutoff).exclude(household_id__in=list(await active) or [0]) \
        .values("id", "allergies", "antecedents", "doctor_name", "doctor_phone", "has_pai", "medical_answers")
    ids = [c["id"] for c in candidates
           if c["allergies"] or c["antecedents"] or c["doctor_name"] or c["doctor_phone"] or c["has_pai"]
           or c["medical_answers"]]
    if not dry_run and ids:
        await Child.filter(id__in=ids).update(doctor_name="", doctor_phone="", allergies="", antecedents="",
                                              has_pai=False, medical_answers={})
    return len(ids)


async def _purge_accounting(policy: RetentionPolicy, today: date, dry_run: bool) -> dict[str, int]:
    """Invoices (credit notes first), their payments and PayFiP operations past the accounting
    retention; then the debtor record of erased households that no invoice needs any more."""
    old = Invoice.filter(issued_on__lt=policy.invoices_cutoff(today))
    ids = list(await old.values_list("id", flat=True))
    # A credit note may correct an old invoice and be recent itself: keep both until both are old.
    young_refs = await Invoice.filter(id__in=ids or [0]).filter(
        credit_notes__issued_on__gte=policy.invoices_cutoff(today)).values_list("id", flat=True)
    ids = [i for i in ids if i not in set(young_refs)]
    counts = {"invoices": len(ids), "payments": await Payment.filter(invoice_id__in=ids or [0]).count()}
    erased = Household.filter(erased_at__isnull=False).exclude(name="ANONYME")
    if dry_run:
        debtors = [h for h in await erased.values_list("id", flat=True)
                   if await Invoice.filter(household_id=h).exclude(id__in=ids or [0]).count() == 0]
        counts["erased_debtors"] = len(debtors)
        return counts
    if ids:
        await _purge_pes_exports(ids)
        await PayfipOperation.filter(invoice_id__in=ids).delete()
        await Payment.filter(invoice_id__in=ids).delete()
        notes = Invoice.filter(corrects_id__in=ids)
        await notes.delete()
        await Invoice.filter(id__in=ids).delete()
    from core.households.service import erase_household

    debtors = [h for h in await erased.values_list("id", flat=True) if not await Invoice.exists(household_id=h)]
    for household_id in debtors:
        await erase_household(household_id, keep_debtor=False)
    counts["erased_debtors"] = len(debtors)
    return counts


async def _purge_pes_exports(invoice_ids: list[int]) -> None:
    """A PES export's record of these invoices goes with them; an export left with none goes too (its
    file, which holds the debtors' names and PDFs, is then an orphan purged below)."""
    from core.billing.models import PesExport, PesExportInvoice

    export_ids = set(await PesExportInvoice.filter(invoice_id__in=invoice_ids).values_list("export_id", flat=True))
    await PesExportInvoice.filter(invoice_id__in=invoice_ids).delete()
    still = set(await PesExportInvoice.filter(export_id__in=list(export_ids) or [0]).values_list("export_id", flat=True))
    await PesExport.filter(id__in=list(export_ids - still) or [0]).delete()


async def _purge_orphan_files(policy: RetentionPolicy, today: date, dry_run: bool) -> int:
    """Stored files nothing points to any more (their document, attachment or mandate was purged),
    older than the shortest file-bearing retention: rows first, then the bytes."""
    from core.demarches.models import DemarcheAttachment

    grace = _paris_midnight(today) - timedelta(days=1)  # never a file being uploaded right now
    used = await referenced_file_ids()
    used.update(await Document.all().values_list("file_id", flat=True))
    used.update(await DemarcheAttachment.all().values_list("file_id", flat=True))
    query = StoredFile.filter(created_at__lt=grace).exclude(id__in=list(used) or [0])
    if dry_run:
        return await query.count()
    doomed = await query
    await StoredFile.filter(id__in=[f.id for f in doomed] or [0]).delete()
    for f in doomed:
        delete_bytes(f)
    return len(doomed)


async def run_retention(today: date, *, dry_run: bool) -> dict[str, int]:
    """Every plugin's retention purge, then core's. Each step is one idempotent statement committed
    on its own, so the bytes of a file go only after its row is gone for good."""
    done = await get_host().rgpd_retention(policy(), today, dry_run)
    log.info("rgpd retention%s: %s", " (dry run)" if dry_run else "",
             ", ".join(f"{k}={v}" for k, v in sorted(done.items()) if v) or "nothing")
    return done
