"""Documents a family sends (typed, for the household or one child) and their review by staff."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class DocumentStatus:
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class Document(Model):
    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="documents", on_delete=fields.CASCADE)
    child = fields.ForeignKeyField("core.Child", related_name="documents", null=True, on_delete=fields.CASCADE)
    type_code = fields.CharField(max_length=60)
    file = fields.ForeignKeyField("core.StoredFile", related_name="documents", on_delete=fields.CASCADE)
    status = fields.CharField(max_length=16, default=DocumentStatus.PENDING)
    refusal_reason = fields.TextField(default="")
    comment = fields.TextField(default="")
    uploaded_by = fields.ForeignKeyField("core.User", related_name="documents_sent", null=True, on_delete=fields.SET_NULL)
    uploaded_at = fields.DatetimeField(auto_now_add=True)
    reviewed_by = fields.ForeignKeyField("core.User", related_name="documents_reviewed", null=True, on_delete=fields.SET_NULL)
    reviewed_at = fields.DatetimeField(null=True)
    valid_until = fields.DateField(null=True)

    class Meta:
        table = "core_document"
