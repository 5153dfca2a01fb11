"""The household file (foyer): responsables, children, their medical answers, authorisations
and the people allowed to collect them; plus the audit log of staff access to medical data."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model
from tortoise.signals import post_delete, post_save


class FamilySituation:
    CHOICES = ("marie", "pacse", "concubinage", "celibataire", "divorce", "separe", "veuf")


class Regime:
    CHOICES = ("general", "msa", "autre")


class Household(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=150)
    # The street line as shown, and its structured parts (number, street) kept in step with it: SEPA
    # files need a structured address (see core.households.rules.PostalAddress).
    address_line1 = fields.CharField(max_length=200, default="")
    street_number = fields.CharField(max_length=16, default="", db_default="")
    street_name = fields.CharField(max_length=150, default="", db_default="")
    address_line2 = fields.CharField(max_length=200, default="")
    postal_code = fields.CharField(max_length=10, default="")
    city = fields.CharField(max_length=100, default="")
    country = fields.CharField(max_length=2, default="FR", db_default="FR")  # ISO 3166-1 alpha-2
    phone = fields.CharField(max_length=30, default="")
    email = fields.CharField(max_length=254, default="")
    family_situation = fields.CharField(max_length=20, default="")
    dependent_children = fields.IntField(default=0)
    regime = fields.CharField(max_length=10, default="")
    allocataire_number = fields.CharField(max_length=30, default="")
    # Quotient familial (CAF) in euros, or the yearly reference income (N-2) in cents.
    quotient_familial = fields.IntField(null=True)
    reference_income_cents = fields.BigIntField(null=True)
    income_given_on = fields.DateField(null=True)
    needs_yearly_update = fields.BooleanField(default=False)
    yearly_update_done_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    erased_at = fields.DatetimeField(null=True)
    # Staff search index: the names, emails and allocataire number of the file as `rules.search_key`,
    # kept up to date by `core.households.service.refresh_search_index` (signals below).
    search_text = fields.CharField(max_length=2000, default="", db_default="")

    class Meta:
        table = "core_household"


class Responsable(Model):
    """Parent 1 (usually the account holder) and "autre responsable" (parent 2)."""

    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="responsables", on_delete=fields.CASCADE)
    rank = fields.IntField(default=1)
    user = fields.ForeignKeyField("core.User", related_name="responsables", null=True, on_delete=fields.SET_NULL)
    civility = fields.CharField(max_length=10, default="")
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    birth_date = fields.DateField(null=True)
    email = fields.CharField(max_length=254, default="")
    phone_mobile = fields.CharField(max_length=30, default="")
    phone_home = fields.CharField(max_length=30, default="")
    phone_work = fields.CharField(max_length=30, default="")
    address = fields.CharField(max_length=300, default="")
    profession = fields.CharField(max_length=100, default="")
    employer = fields.CharField(max_length=150, default="")
    employer_address = fields.CharField(max_length=300, default="")
    employer_phone = fields.CharField(max_length=30, default="")

    class Meta:
        table = "core_responsable"
        unique_together = (("household", "rank"),)


class Child(Model):
    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="children", on_delete=fields.CASCADE)
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    sex = fields.CharField(max_length=1, default="")
    birth_date = fields.DateField(null=True)
    # An expected child ("à naître") has a due date and no birth date yet.
    expected_birth_date = fields.DateField(null=True)
    school = fields.CharField(max_length=150, default="")
    school_class = fields.CharField(max_length=30, default="")
    doctor_name = fields.CharField(max_length=150, default="")
    doctor_phone = fields.CharField(max_length=30, default="")
    allergies = fields.TextField(default="")
    antecedents = fields.TextField(default="")
    has_pai = fields.BooleanField(default=False)
    has_aeeh = fields.BooleanField(default=False)
    # {question_code: {"answer": bool, "text": str}} for the community's configured questions.
    medical_answers = fields.JSONField(default=dict)
    # {authorisation_code: bool} for the community's configured authorisations.
    authorizations = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "core_child"


class AuthorizedPerson(Model):
    """Someone allowed to collect the child and/or to be called."""

    id = fields.IntField(primary_key=True)
    child = fields.ForeignKeyField("core.Child", related_name="authorized_people", on_delete=fields.CASCADE)
    last_name = fields.CharField(max_length=100)
    first_name = fields.CharField(max_length=100, default="")
    relation = fields.CharField(max_length=100, default="")
    phone_mobile = fields.CharField(max_length=30, default="")
    phone_home = fields.CharField(max_length=30, default="")
    email = fields.CharField(max_length=254, default="")
    may_collect = fields.BooleanField(default=False)
    is_contact = fields.BooleanField(default=False)

    class Meta:
        table = "core_authorized_person"


class AuditLog(Model):
    """Staff access to personal data (medical data above all): who, what, when."""

    id = fields.IntField(primary_key=True)
    actor = fields.ForeignKeyField("core.User", related_name="audit_entries", null=True, on_delete=fields.SET_NULL)
    action = fields.CharField(max_length=50)
    entity = fields.CharField(max_length=50)
    entity_id = fields.IntField(null=True)
    household_id = fields.IntField(null=True, db_index=True)
    detail = fields.JSONField(default=dict)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_audit_log"


@post_save(Household, Responsable, Child)
async def _reindex_after_save(sender: type[Model], instance: Model, created: bool, using_db: object,
                              update_fields: list[str] | None) -> None:
    """Every write of a household, a responsable or a child keeps the staff search index in step."""
    from core.households.service import refresh_search_index

    await refresh_search_index([instance.id if sender is Household else instance.household_id])  # type: ignore[attr-defined]


@post_delete(Responsable, Child)
async def _reindex_after_delete(sender: type[Model], instance: Model, using_db: object) -> None:
    from core.households.service import refresh_search_index

    await refresh_search_index([instance.household_id])  # type: ignore[attr-defined]
