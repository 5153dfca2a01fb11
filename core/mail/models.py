"""The outbox: every mail is a row first, sent later with retries, so an SMTP outage loses nothing."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class OutboxStatus:
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the configured number of attempts


class OutboxMail(Model):
    id = fields.IntField(primary_key=True)
    to = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=250)
    text_body = fields.TextField()
    html_body = fields.TextField(default="")
    template = fields.CharField(max_length=100, default="")
    household_id = fields.IntField(null=True, db_index=True)
    status = fields.CharField(max_length=10, default=OutboxStatus.PENDING, db_index=True)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(default="")
    next_attempt_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    # Set once at queue time and kept across retries, so a receiver can tell a retry from a new mail.
    message_id = fields.CharField(max_length=200, default="", db_default="")
    # The lease of the process delivering it: another worker skips the row until `claimed_until`.
    claimed_by = fields.CharField(max_length=64, default="", db_default="")
    claimed_until = fields.DatetimeField(null=True)

    class Meta:
        table = "core_outbox_mail"
