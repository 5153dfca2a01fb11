"""Billing models: régies' invoice sequences, invoices and credit notes, their lines, payments,
PayFiP card operations and billing runs. Amounts are integer cents."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.billing.rules import STATUS_UNPAID, balance_cents


class InvoiceKind:
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class PaymentMethod:
    CASH = "cash"
    CHEQUE = "cheque"
    CESU = "cesu"
    CARD = "card"
    SEPA = "sepa"
    PAYFIP = "payfip"
    ALL = (CASH, CHEQUE, CESU, CARD, SEPA, PAYFIP)


class Collection:
    """Which channel is collecting an invoice (`Invoice.collection`): one at a time, so a card
    payment and a SEPA debit never both take the money of one invoice."""

    NONE = ""
    CARD = "card"  # a PayFiP operation is in progress
    SEPA = "sepa"  # the invoice is in a SEPA batch (built or sent, not rejected)


class InvoiceSequence(Model):
    """Next invoice number of a régie for a year: numbers are never reused and never skipped."""

    id = fields.IntField(primary_key=True)
    regie_code = fields.CharField(max_length=40)
    year = fields.IntField()
    next_number = fields.IntField(default=1)

    class Meta:
        table = "core_invoice_sequence"
        unique_together = (("regie_code", "year"),)


class BillingRun(Model):
    """One billing run over a period (what it created, when)."""

    id = fields.IntField(primary_key=True)
    period_start = fields.DateField()
    period_end = fields.DateField()
    started_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    started_by = fields.ForeignKeyField("core.User", related_name="billing_runs", null=True, on_delete=fields.SET_NULL)
    households_count = fields.IntField(default=0)
    invoices_count = fields.IntField(default=0)
    lines_count = fields.IntField(default=0)
    skipped_lines_count = fields.IntField(default=0)
    total_cents = fields.BigIntField(default=0)

    class Meta:
        table = "core_billing_run"


class Invoice(Model):
    """An invoice (or credit note) of one household for one régie. Never edited after issue except
    its settlement fields (paid, credited, status)."""

    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=40)
    regie_code = fields.CharField(max_length=40)
    household = fields.ForeignKeyField("core.Household", related_name="invoices", on_delete=fields.RESTRICT)
    kind = fields.CharField(max_length=16, default=InvoiceKind.INVOICE)
    corrects = fields.ForeignKeyField("core.Invoice", related_name="credit_notes", null=True, on_delete=fields.RESTRICT)
    reason = fields.TextField(default="")
    issued_on = fields.DateField()
    period_start = fields.DateField()
    period_end = fields.DateField()
    establishments = fields.TextField(default="")
    total_cents = fields.BigIntField()
    paid_cents = fields.BigIntField(default=0)
    credited_cents = fields.BigIntField(default=0)
    status = fields.CharField(max_length=24, default=STATUS_UNPAID)
    # The collection claim (see `Collection`), set and cleared under the row lock.
    collection = fields.CharField(max_length=8, default=Collection.NONE, db_default=Collection.NONE)
    collection_at = fields.DatetimeField(null=True)
    billing_run = fields.ForeignKeyField("core.BillingRun", related_name="invoices", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_invoice"
        unique_together = (("regie_code", "number"),)
        indexes = (("household_id", "issued_on"),)

    @property
    def balance_cents(self) -> int:
        if self.kind == InvoiceKind.CREDIT_NOTE:
            return 0
        return balance_cents(self.total_cents, self.paid_cents + self.credited_cents)


class InvoiceLine(Model):
    """One billed line. `active_source_key` equals `source_key` while the line stands and is NULL
    once a credit note cancels it: unique per régie, it makes a billing run idempotent."""

    id = fields.IntField(primary_key=True)
    invoice = fields.ForeignKeyField("core.Invoice", related_name="lines", on_delete=fields.CASCADE)
    regie_code = fields.CharField(max_length=40)
    child = fields.ForeignKeyField("core.Child", related_name="invoice_lines", null=True, on_delete=fields.SET_NULL)
    child_name = fields.CharField(max_length=200, default="")
    source_key = fields.CharField(max_length=200, default="")
    active_source_key = fields.CharField(max_length=200, null=True)
    service_code = fields.CharField(max_length=60, default="")
    designation = fields.CharField(max_length=300)
    quantity = fields.DecimalField(max_digits=10, decimal_places=2)
    unit_price_cents = fields.BigIntField()
    amount_cents = fields.BigIntField()
    establishment = fields.CharField(max_length=300, default="")
    cancelled_at = fields.DatetimeField(null=True)
    # Childcare part of the line for the tax credit (CGI 200 quater B), 0 when not eligible, and
    # the nature of care; given by the plugin (InvoiceLineDraft.childcare_tax_credit).
    tax_credit_cents = fields.BigIntField(default=0, db_default=0)
    care_nature = fields.CharField(max_length=120, default="", db_default="")

    class Meta:
        table = "core_invoice_line"
        unique_together = (("regie_code", "active_source_key"),)


class Payment(Model):
    """A payment on an invoice (desk, SEPA, PayFiP). A rejected one is reversed, never deleted."""

    id = fields.IntField(primary_key=True)
    invoice = fields.ForeignKeyField("core.Invoice", related_name="payments", on_delete=fields.RESTRICT)
    amount_cents = fields.BigIntField()
    method = fields.CharField(max_length=16)
    reference = fields.CharField(max_length=120, default="")
    paid_on = fields.DateField()
    recorded_by = fields.ForeignKeyField("core.User", related_name="payments_recorded", null=True, on_delete=fields.SET_NULL)
    recorded_at = fields.DatetimeField(auto_now_add=True)
    reversed_at = fields.DatetimeField(null=True)
    reversal_reason = fields.TextField(default="")

    class Meta:
        table = "core_payment"


class PayfipStatus:
    PENDING = "pending"
    PAID = "paid"
    REFUSED = "refused"
    ABANDONED = "abandoned"
    EXPIRED = "expired"  # no result within the idOp's lifetime, or purged by the provider (P1)
    FINAL = (PAID, REFUSED, ABANDONED, EXPIRED)


class PayfipOperation(Model):
    """An online card payment started on PayFiP (idOp given by the provider)."""

    id = fields.IntField(primary_key=True)
    id_op = fields.CharField(max_length=80, unique=True)
    invoice = fields.ForeignKeyField("core.Invoice", related_name="payfip_operations", on_delete=fields.RESTRICT)
    amount_cents = fields.BigIntField()
    status = fields.CharField(max_length=16, default=PayfipStatus.PENDING, db_index=True)
    started_by = fields.ForeignKeyField("core.User", related_name="payfip_operations", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)
    provider_result = fields.JSONField(default=dict)
    payment = fields.ForeignKeyField("core.Payment", related_name="payfip_operations", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "core_payfip_operation"


class PesSequence(Model):
    """Next PES bordereau number (IdBord) of a régie for an exercice: unique per budget, exercice and
    type of bordereau, checked sequential by Hélios (Class_BordereauRecetteAller.xsd). The row is
    locked by each export, which serialises the exports of one régie."""

    id = fields.IntField(primary_key=True)
    regie_code = fields.CharField(max_length=40)
    exercice = fields.IntField()
    next_number = fields.IntField(default=1)

    class Meta:
        table = "core_pes_sequence"
        unique_together = (("regie_code", "exercice"),)


class PesExport(Model):
    """One PES V2 ORMC file built for a régie (docs/pes.md): its bordereau, period, author, file.
    Not a household's data (its file has no household); each household's part is its
    `PesExportInvoice` rows. Purged with the invoices it carried (core/rgpd/service.py)."""

    id = fields.IntField(primary_key=True)
    regie_code = fields.CharField(max_length=40)
    exercice = fields.IntField()
    bordereau_number = fields.IntField()
    period_start = fields.DateField()
    period_end = fields.DateField()
    created_at = fields.DatetimeField(auto_now_add=True)
    created_by = fields.ForeignKeyField("core.User", related_name="pes_exports", null=True, on_delete=fields.SET_NULL)
    invoices_count = fields.IntField()
    total_cents = fields.BigIntField()
    file = fields.ForeignKeyField("core.StoredFile", related_name="pes_exports", on_delete=fields.RESTRICT)
    file_name = fields.CharField(max_length=120)
    # Invoices of the period left out (incomplete debtor): [{"invoice_id", "number", "reason"}].
    left_out = fields.JSONField(default=list)

    class Meta:
        table = "core_pes_export"
        unique_together = (("regie_code", "exercice", "bordereau_number"),)


class PesExportInvoice(Model):
    """An invoice carried by a PES export: unique, so an invoice is handed to the comptable once."""

    id = fields.IntField(primary_key=True)
    export = fields.ForeignKeyField("core.PesExport", related_name="items", on_delete=fields.CASCADE)
    invoice = fields.ForeignKeyField("core.Invoice", related_name="pes_export_items", unique=True,
                                     on_delete=fields.RESTRICT)
    piece_number = fields.IntField()
    amount_cents = fields.BigIntField()

    class Meta:
        table = "core_pes_export_invoice"
