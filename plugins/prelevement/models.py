"""Tortoise models of the prelevement plugin: SEPA mandates (with the history of their bank
accounts), debit batches and their debits (one per invoice)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class MandateStatus:
    PENDING = "pending"  # demande en cours
    ACTIVE = "active"  # prélèvement actif
    REFUSED = "refused"
    CANCELLED = "cancelled"  # pending request withdrawn by the family
    STOPPED = "stopped"  # arrêté (family or staff)
    SUSPENDED = "suspended"  # too many rejects
    LAPSED = "lapsed"  # caduc: 36 months without collection
    LIVE = (PENDING, ACTIVE)
    LABELS = {
        PENDING: "Demande en cours",
        ACTIVE: "Prélèvement actif",
        REFUSED: "Demande refusée",
        CANCELLED: "Demande annulée",
        STOPPED: "Prélèvement arrêté",
        SUSPENDED: "Prélèvement suspendu",
        LAPSED: "Mandat caduc",
    }


class SepaMandate(Model):
    """A SEPA Core mandate of one household for one régie (each régie has its own ICS).

    The current bank account is on the row, every version (creation, change of account) is kept
    in SepaMandateVersion. IBANs are personal data: never logged, masked on RGPD erasure."""

    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="sepa_mandates", on_delete=fields.RESTRICT)
    regie_code = fields.CharField(max_length=40, db_index=True)
    rum = fields.CharField(max_length=35, unique=True)
    status = fields.CharField(max_length=16, default=MandateStatus.PENDING, db_index=True)
    one_off = fields.BooleanField(default=False)
    account_holder = fields.CharField(max_length=140)
    iban = fields.CharField(max_length=34)
    bic = fields.CharField(max_length=11)
    bank_name = fields.CharField(max_length=140, default="")
    start_month = fields.DateField()
    information = fields.TextField(default="")
    version = fields.IntField(default=1)
    # Amendment to send with the next collection (cleared once sent).
    amendment_original_iban = fields.CharField(max_length=34, default="")
    amendment_new_agent = fields.BooleanField(default=False)
    signed_on = fields.DateField(null=True)
    last_collection_on = fields.DateField(null=True)
    reject_count = fields.IntField(default=0)
    refusal_reason = fields.TextField(default="")
    status_reason = fields.TextField(default="")
    signed_document = fields.ForeignKeyField("core.Document", related_name=False, null=True, on_delete=fields.SET_NULL)
    rib_document = fields.ForeignKeyField("core.Document", related_name=False, null=True, on_delete=fields.SET_NULL)
    requested_by = fields.ForeignKeyField("core.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    decided_by = fields.ForeignKeyField("core.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    decided_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "prelevement_mandate"

    def __str__(self) -> str:  # never the IBAN
        return f"SepaMandate({self.id}, {self.rum}, {self.status})"


class SepaMandateVersion(Model):
    """One version of a mandate's debtor account: version 1 at the request, one more per change."""

    id = fields.IntField(primary_key=True)
    mandate = fields.ForeignKeyField("prelevement.SepaMandate", related_name="versions", on_delete=fields.CASCADE)
    version = fields.IntField()
    account_holder = fields.CharField(max_length=140)
    iban = fields.CharField(max_length=34)
    bic = fields.CharField(max_length=11)
    bank_name = fields.CharField(max_length=140, default="")
    reason = fields.CharField(max_length=40, default="creation")
    created_by = fields.ForeignKeyField("core.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "prelevement_mandate_version"
        unique_together = (("mandate", "version"),)


class BatchStatus:
    BUILT = "built"
    SENT = "sent"


class SepaBatch(Model):
    """A pain.008 remittance of one régie for one collection date."""

    id = fields.IntField(primary_key=True)
    regie_code = fields.CharField(max_length=40, db_index=True)
    due_date = fields.DateField()
    message_id = fields.CharField(max_length=35, unique=True)
    sepa_format = fields.CharField(max_length=20)
    status = fields.CharField(max_length=10, default=BatchStatus.BUILT)
    count = fields.IntField(default=0)
    total_cents = fields.BigIntField(default=0)
    xml = fields.TextField(default="")
    created_by = fields.ForeignKeyField("core.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "prelevement_batch"


class DebitStatus:
    BUILT = "built"
    SENT = "sent"
    REJECTED = "rejected"


class SepaDebit(Model):
    """One collection (one invoice) of a batch. `claim_key` holds the invoice id while the debit
    stands and is NULL once rejected: unique, it keeps an invoice out of two live batches."""

    id = fields.IntField(primary_key=True)
    batch = fields.ForeignKeyField("prelevement.SepaBatch", related_name="debits", on_delete=fields.CASCADE)
    mandate = fields.ForeignKeyField("prelevement.SepaMandate", related_name="debits", on_delete=fields.RESTRICT)
    household_id = fields.IntField(db_index=True)
    invoice_id = fields.IntField(db_index=True)
    invoice_number = fields.CharField(max_length=40, default="")
    claim_key = fields.IntField(null=True, unique=True)
    amount_cents = fields.BigIntField()
    sequence_type = fields.CharField(max_length=4)
    end_to_end_id = fields.CharField(max_length=35)
    amended = fields.BooleanField(default=False)
    status = fields.CharField(max_length=10, default=DebitStatus.BUILT)
    payment_id = fields.IntField(null=True)
    reject_code = fields.CharField(max_length=4, default="")
    rejected_at = fields.DatetimeField(null=True)

    class Meta:
        table = "prelevement_debit"
