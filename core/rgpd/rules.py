"""Retention policy (RGPD art. 5.1.e, limitation de la conservation): how long each category of a
household's data is kept, with its legal source. Pure: no I/O. `RetentionPolicy` is also the typed
`[rgpd]` section of the config (core/config.py): the community may shorten or lengthen each duration;
the defaults are the legal minimum or a stated choice. An unknown key or a negative value is refused
when the configuration is loaded.

The table with its sources is in docs/rgpd.md.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as typed_dataclass


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, clamped to the month's end (31 March - 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@typed_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class RetentionPolicy:
    # Invoices, credit notes, payments, PayFiP operations: pièces justificatives of the régie's
    # receipts. Instruction DAF/DPACI/RES/2009/018 du 28 août 2009 (tri et conservation des archives
    # des collectivités territoriales), tableau « Comptabilité » : titres de recettes, bordereaux,
    # factures, DUA 10 ans, then destruction. Counted from the end of the year of issue.
    invoices_years: int = Field(default=10, ge=0)
    # Signed SEPA mandate (with its amendments, IBANs and the batches' XML): SEPA Direct Debit Core
    # Rulebook (EPC016-06) §4.1 « The Mandate »: stored after cancellation at least as long as the
    # debtor may obtain a refund for an unauthorised transaction (§4.6.4: 13 months after the debit,
    # Code monétaire et financier art. L133-24); + 1 month for the bank's claim to reach the creditor.
    # Counted from the last debit (or from the end of a mandate never debited).
    sepa_mandate_months: int = Field(default=14, ge=0)
    # Health data of a child who left (allergies, antécédents, doctor, medical answers, PAI):
    # no text sets a duration; RGPD art. 5.1.c/e and art. 9 (sensitive data). Choice: 12 months
    # after the household's last activity, enough to answer a question about the last season.
    health_months_after_leaving: int = Field(default=12, ge=0)
    # Documents sent by families (justificatifs): needed for the file of the current and the
    # previous school year (the yearly update replaces them each September). Choice: 24 months
    # after upload; documents backing a kept record (signed contract, signed mandate) follow it.
    documents_months: int = Field(default=24, ge=0)
    # Démarches and their attachments: 24 months after processing (same reasoning as documents).
    demarches_months: int = Field(default=24, ge=0)
    # Messages with the services: 24 months after the thread's last message (choice; CNIL,
    # « Les durées de conservation » guide: as long as needed for the relationship, then delete).
    messages_months: int = Field(default=24, ge=0)
    # Activity records (bookings, attendance, absences, occasional care, requests): the invoice
    # keeps what was billed; the detail serves disputes. CGCT art. L1617-5 3°: the comptable's
    # recovery action is time-barred 4 years after the titre; choice: 48 months after the day.
    activity_months: int = Field(default=48, ge=0)
    # Audit trail of staff access to personal data: CNIL recommandation sur la journalisation
    # (délibération n° 2021-122 du 14 octobre 2021): 6 months to 1 year. Default 12 months.
    audit_months: int = Field(default=12, ge=0)
    # Sent (or abandoned) outbox mail: proof of notification for the usual recourse period of 2
    # months (CRPA art. R421-1) with margin. Choice: 90 days after sending.
    sent_mail_days: int = Field(default=90, ge=0)
    # Expired or used sessions, confirmation and reset links: nothing to keep once expired.
    expired_tokens_days: int = Field(default=0, ge=0)
    # Failed-login records: only the throttle reads them (15 minutes); CNIL journalisation as above
    # would allow more, we keep 30 days for abuse analysis.
    login_failures_days: int = Field(default=30, ge=0)

    def cutoff_months(self, today: date, months: int) -> date:
        return months_before(today, months)

    def cutoff_days(self, today: date, days: int) -> date:
        return today - timedelta(days=days)

    def invoices_cutoff(self, today: date) -> date:
        """Invoices issued before this date are past retention: 10 full years after the end of their
        year of issue (an invoice of 2015 is kept through 31 December 2025, purged from 2026)."""
        return date(today.year - self.invoices_years, 1, 1)
