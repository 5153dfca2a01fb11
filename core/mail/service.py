"""Queue mail from any service (inside its transaction) and deliver the outbox with aiosmtplib.

Templates are Jinja pairs `<name>.subject.txt`, `<name>.txt` and optionally `<name>.html` (else the
text is laid out in `mail/_layout.html`), found
under `core/templates/mail/` or a plugin's `templates/` (prefix `<plugin>/`).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.config import get_settings
from core.mail.models import OutboxMail, OutboxStatus
from core.ops import metrics
from core.templating import exists as template_exists
from core.templating import render
from core.timeutil import now

log = logging.getLogger(__name__)


def render_mail(to: str, template: str, context: dict[str, Any] | None = None,
                *, household_id: int | None = None) -> dict[str, Any]:
    """The outbox row of one mail, rendered now (so the mail says what was true when it was queued),
    with its Message-ID fixed here once: retries resend the same one."""
    settings = get_settings()
    ctx = {"community": settings.community, "public_url": settings.community.public_url, **(context or {})}
    subject = render(f"{template}.subject.txt", ctx).strip()
    text = render(f"{template}.txt", ctx)
    if template_exists(f"{template}.html"):
        html = render(f"{template}.html", ctx)
    else:
        # Every mail has an HTML part: the text in the community's layout, links made clickable.
        html = render("mail/_layout.html", {**ctx, "subject": subject, "text": text.strip()})
    return {"to": to, "subject": subject, "text_body": text, "html_body": html, "template": template,
            "household_id": household_id, "next_attempt_at": now(), "message_id": make_msgid(domain=_mail_domain())}


async def queue_mail(to: str, template: str, context: dict[str, Any] | None = None,
                     *, household_id: int | None = None) -> OutboxMail:
    """Render `template` now and store it in the outbox (inside the caller's transaction)."""
    return await OutboxMail.create(**render_mail(to, template, context, household_id=household_id))


async def queue_mails(rows: list[dict[str, Any]]) -> int:
    """Store many mails made by `render_mail` at once (billing runs, SEPA pre-notifications): one
    INSERT per 1,000 mails instead of one per mail, in the caller's transaction. Returns the count."""
    from core.db import bulk_insert

    return await bulk_insert(OutboxMail, rows)


def _message(mail: OutboxMail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now())
    msg["Message-ID"] = mail.message_id or make_msgid(idstring=f"outbox-{mail.id}", domain=_mail_domain())
    msg.set_content(mail.text_body)
    if mail.html_body:
        msg.add_alternative(mail.html_body, subtype="html")
    return msg


def _mail_domain() -> str:
    """The right-hand side of Message-IDs: the community's public host name."""
    return urlsplit(get_settings().community.public_url).hostname or "portail-famille.local"


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


LEASE = timedelta(minutes=5)


def _is_postgres() -> bool:
    return get_settings().database_url.startswith("postgres")


async def _claim(limit: int, ignore_schedule: bool) -> tuple[str, list[OutboxMail]]:
    """Lease up to `limit` due mails to this call, so that no other process or host sends them.

    On PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED`, so concurrent workers take
    different rows; the conditional UPDATE (free lease only) makes the claim safe on SQLite too.
    """
    token = uuid.uuid4().hex
    moment = now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=moment)
    due = Q(status=OutboxStatus.PENDING) & free
    if not ignore_schedule:
        due &= Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=moment)
    async with in_transaction():
        query = OutboxMail.filter(due).order_by("id").limit(limit)
        if _is_postgres():
            query = query.select_for_update(skip_locked=True)
        ids = [m.id for m in await query]
        if ids:
            await OutboxMail.filter(due, id__in=ids).update(claimed_by=token, claimed_until=moment + LEASE)
    return token, await OutboxMail.filter(claimed_by=token).order_by("id") if ids else []


async def _record_failure(mail: OutboxMail, token: str, error: str, max_attempts: int) -> None:
    """Count the attempt and release the lease with a backoff: the mail is retried, never lost."""
    attempts = mail.attempts + 1
    status = OutboxStatus.FAILED if attempts >= max_attempts else OutboxStatus.PENDING
    await OutboxMail.filter(id=mail.id, claimed_by=token).update(
        attempts=attempts, last_error=error[:500], next_attempt_at=now() + _backoff(attempts), status=status,
        claimed_by="", claimed_until=None)
    metrics.MAIL_ATTEMPTS_FAILED.inc()
    if status == OutboxStatus.FAILED:
        metrics.MAIL_FAILED.inc()
    log.warning("mail %s not delivered (attempt %s): %s", mail.id, attempts, error[:200])


async def _release(mails: list[OutboxMail], token: str) -> None:
    """Give back leases not tried (the batch ran out of time or lost its connection)."""
    if mails:
        await OutboxMail.filter(id__in=[m.id for m in mails], claimed_by=token).update(
            claimed_by="", claimed_until=None)


async def send_pending(limit: int = 200, *, ignore_schedule: bool = False) -> tuple[int, int]:
    """Deliver one batch of due mail over one SMTP connection; returns (sent, failed_attempts).

    Each mail is claimed first (see `_claim`), so N workers on M hosts plus `portail mail send`
    deliver it once. Never raises on SMTP errors: failed attempts are released with a backoff.
    A process killed between the SMTP answer and the update resends that one mail after the lease.
    """
    smtp = get_settings().smtp
    if not smtp.host:
        return 0, 0
    token, batch = await _claim(limit, ignore_schedule)
    if not batch:
        return 0, 0
    deadline = now() + LEASE - timedelta(seconds=30)
    sent = failed = 0
    client = aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, username=smtp.username or None,
                             password=smtp.password or None, use_tls=smtp.use_tls, start_tls=smtp.start_tls,
                             timeout=10)
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError) as exc:
        for mail in batch:
            await _record_failure(mail, token, f"connexion SMTP : {exc}", smtp.max_attempts)
        return 0, len(batch)
    try:
        for index, mail in enumerate(batch):
            if now() >= deadline:  # our lease is about to end: let another run take the rest
                await _release(batch[index:], token)
                break
            try:
                await client.send_message(_message(mail, smtp.sender))
            except aiosmtplib.SMTPServerDisconnected as exc:
                failed += 1
                await _record_failure(mail, token, str(exc), smtp.max_attempts)
                await _release(batch[index + 1:], token)
                break
            except (aiosmtplib.SMTPException, OSError) as exc:
                failed += 1
                await _record_failure(mail, token, str(exc), smtp.max_attempts)
                continue
            sent += 1
            await OutboxMail.filter(id=mail.id, claimed_by=token).update(
                status=OutboxStatus.SENT, sent_at=now(), attempts=mail.attempts + 1, claimed_by="",
                claimed_until=None)
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit()
    metrics.MAIL_SENT.inc(sent)
    return sent, failed


async def send_all_pending(*, ignore_schedule: bool = True) -> tuple[int, int]:
    """Batches until the outbox is empty or SMTP fails (`portail mail send`)."""
    total_sent = total_failed = 0
    while True:
        sent, failed = await send_pending(ignore_schedule=ignore_schedule)
        total_sent, total_failed = total_sent + sent, total_failed + failed
        if failed or not sent:
            return total_sent, total_failed


async def outbox_backlog() -> tuple[int, float]:
    """Pending mails and the age in seconds of the oldest one (metrics, readiness of the mail side)."""
    pending = OutboxMail.filter(status=OutboxStatus.PENDING)
    count = await pending.count()
    oldest = await pending.order_by("created_at").first().values_list("created_at", flat=True)
    return count, (now() - oldest).total_seconds() if oldest else 0.0
