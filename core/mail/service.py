"""Queue mail from any service (inside its transaction) and deliver the outbox with aiosmtplib.

Templates are Jinja pairs `<name>.subject.txt`, `<name>.txt` and optionally `<name>.html` (else the
text is laid out in `mail/_layout.html`), found
under `core/templates/mail/` or a plugin's `templates/` (prefix `<plugin>/`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from jinja2 import TemplateNotFound

from core.config import get_settings
from core.mail.models import OutboxMail, OutboxStatus
from core.templating import render
from core.timeutil import now

log = logging.getLogger(__name__)


async def queue_mail(to: str, template: str, context: dict[str, Any] | None = None,
                     *, household_id: int | None = None) -> OutboxMail:
    """Render `template` now (so the mail says what was true when it was queued) and store it."""
    settings = get_settings()
    ctx = {"community": settings.community, "public_url": settings.community.public_url, **(context or {})}
    subject = render(f"{template}.subject.txt", ctx).strip()
    text = render(f"{template}.txt", ctx)
    try:
        html = render(f"{template}.html", ctx)
    except TemplateNotFound:
        # Every mail has an HTML part: the text in the community's layout, links made clickable.
        html = render("mail/_layout.html", {**ctx, "subject": subject, "text": text.strip()})
    return await OutboxMail.create(to=to, subject=subject, text_body=text, html_body=html,
                                   template=template, household_id=household_id,
                                   next_attempt_at=now())


def _message(mail: OutboxMail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = f"<outbox-{mail.id}@portail-famille>"
    msg.set_content(mail.text_body)
    if mail.html_body:
        msg.add_alternative(mail.html_body, subtype="html")
    return msg


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


async def send_pending(limit: int = 200, *, ignore_schedule: bool = False) -> tuple[int, int]:
    """Try to deliver pending mail; returns (sent, failed_attempts). Never raises on SMTP errors."""
    smtp = get_settings().smtp
    if not smtp.host:
        return 0, 0
    query = OutboxMail.filter(status=OutboxStatus.PENDING)
    if not ignore_schedule:
        query = query.filter(next_attempt_at__lte=now())
    batch = await query.order_by("id").limit(limit)
    sent = failed = 0
    for mail in batch:
        try:
            await aiosmtplib.send(_message(mail, smtp.sender), hostname=smtp.host, port=smtp.port,
                                  username=smtp.username or None, password=smtp.password or None,
                                  use_tls=smtp.use_tls, start_tls=smtp.start_tls, timeout=10)
        except (aiosmtplib.SMTPException, OSError) as exc:
            failed += 1
            mail.attempts += 1
            mail.last_error = str(exc)[:500]
            mail.next_attempt_at = now() + _backoff(mail.attempts)
            if mail.attempts >= smtp.max_attempts:
                mail.status = OutboxStatus.FAILED
            await mail.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])
            log.warning("mail %s not delivered (attempt %s): %s", mail.id, mail.attempts, exc)
            continue
        sent += 1
        mail.status = OutboxStatus.SENT
        mail.sent_at = now()
        mail.attempts += 1
        await mail.save(update_fields=["status", "sent_at", "attempts"])
    return sent, failed
