"""Every uploaded or generated file the app keeps: bytes on disk under a generated name."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class StoredFile(Model):
    id = fields.IntField(primary_key=True)
    stored_name = fields.CharField(max_length=80, unique=True)
    original_filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=100)
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    household = fields.ForeignKeyField("core.Household", related_name="files", null=True, on_delete=fields.CASCADE)
    uploaded_by = fields.ForeignKeyField("core.User", related_name="uploads", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_stored_file"
