"""A child's canteen registration: the ISO weekdays of the meals and whether the child has an allergy."""

from tortoise import fields
from tortoise.models import Model


class CantineRegistration(Model):
    """One per child; the weekdays are ISO 8601 (1 = Monday … 5 = Friday)."""

    child = fields.OneToOneField("core.Child", related_name="cantine_registration", on_delete=fields.CASCADE)
    household = fields.ForeignKeyField("core.Household", related_name="cantine_registrations", on_delete=fields.CASCADE)
    weekdays = fields.JSONField(default=list)
    allergy = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        app = "cantine"
        table = "cantine_registration"
