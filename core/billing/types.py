"""Values exchanged with plugins through the billing hook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class BillingPeriod:
    """A billing run covers [start, end] (inclusive), usually a calendar month."""

    start: date
    end: date


@dataclass(frozen=True)
class InvoiceLineDraft:
    """One line a plugin bills. Amounts in integer cents; `amount_cents` may be negative (deduction).

    `source_key` is stable across runs (e.g. "creche:contract:12:2024-03:fee") so that a second
    billing run for the same period recognises what was already billed.
    """

    household_id: int
    regie_code: str
    source_key: str
    designation: str
    quantity: str  # Decimal as text, e.g. "1" or "12.5"
    unit_price_cents: int
    amount_cents: int
    child_id: int | None = None
    establishment: str = ""
    service_code: str = ""
    # Crédit d'impôt pour frais de garde (CGI art. 200 quater B, BOFiP BOI-IR-RICI-300): the plugin
    # says whether the line is the care ("garde") of `child_id` outside the home, how much of it is
    # not (meals, outings: excluded from the base), and the nature of care printed on the
    # attestation ("Accueil régulier en crèche", "Accueil de loisirs périscolaire"…).
    childcare_tax_credit: bool = False
    non_childcare_cents: int = 0
    care_nature: str = ""

    @property
    def tax_credit_cents(self) -> int:
        """The part of the line that is childcare for the tax credit (0 when not eligible)."""
        if not self.childcare_tax_credit or self.child_id is None:
            return 0
        if self.amount_cents >= 0:
            return max(0, self.amount_cents - max(0, self.non_childcare_cents))
        return self.amount_cents  # a deduction reduces the childcare paid
