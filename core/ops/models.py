"""Leases: a row per cluster-wide job, so that one process of one host runs it at a time."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Lease(Model):
    """A job held by one process until a time, and due again at a time (one row per job)."""

    name = fields.CharField(max_length=64, primary_key=True)
    holder = fields.CharField(max_length=64, default="")
    until = fields.DatetimeField(null=True)
    next_run_at = fields.DatetimeField(null=True)
    runs = fields.IntField(default=0)
    last_started_at = fields.DatetimeField(null=True)
    last_finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_lease"
