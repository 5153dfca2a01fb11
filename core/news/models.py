"""News items ("mes actus") agents publish on the families' home page."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class NewsItem(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    service_code = fields.CharField(max_length=60, default="")
    published_on = fields.DateField()
    expires_on = fields.DateField(null=True)
    author = fields.ForeignKeyField("core.User", related_name="news", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_news_item"
