"""Démarches: typed requests to the administration, followed by the family, processed by staff."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class DemarcheStatus:
    SUBMITTED = "submitted"
    IN_PROGRESS = "in_progress"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    CLOSED = "closed"


class Demarche(Model):
    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="demarches", on_delete=fields.CASCADE)
    child = fields.ForeignKeyField("core.Child", related_name="demarches", null=True, on_delete=fields.SET_NULL)
    type_code = fields.CharField(max_length=60)
    service_code = fields.CharField(max_length=60, default="")
    data = fields.JSONField(default=dict)
    status = fields.CharField(max_length=16, default=DemarcheStatus.SUBMITTED)
    response = fields.TextField(default="")
    created_by = fields.ForeignKeyField("core.User", related_name="demarches_created", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    processed_by = fields.ForeignKeyField("core.User", related_name="demarches_processed", null=True, on_delete=fields.SET_NULL)
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_demarche"


class DemarcheAttachment(Model):
    id = fields.IntField(primary_key=True)
    demarche = fields.ForeignKeyField("core.Demarche", related_name="attachments", on_delete=fields.CASCADE)
    file = fields.ForeignKeyField("core.StoredFile", related_name="demarche_attachments", on_delete=fields.CASCADE)

    class Meta:
        table = "core_demarche_attachment"
