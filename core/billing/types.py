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
