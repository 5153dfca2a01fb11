"""The data behind the family home page query (`bench/dashboard.graphql`), shared by the query
count test and `bench/bench_dashboard.py`: a household with `children` children, `months` months
of invoices on two régies, documents per child, message threads with unread replies, news."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

DASHBOARD_QUERY = (Path(__file__).resolve().parents[2] / "bench" / "dashboard.graphql").read_text(encoding="utf-8")


async def fill_household(household: Any, user: Any, *, children: int, months: int, documents_per_child: int = 3,
                         threads: int = 2) -> list[Any]:
    """Adds children, invoices, documents and threads to `household`; returns its children."""
    from core.billing.models import Invoice
    from core.documents.models import Document
    from core.files.models import StoredFile
    from core.households.models import Child
    from core.timeutil import now, today

    day = today()
    kids = []
    for i in range(children):
        kids.append(await Child.create(household=household, first_name=f"Enfant{i + 1}", last_name=household.name,
                                       sex="F" if i % 2 else "M", school="École du Bourg", school_class="CE1",
                                       birth_date=day - timedelta(days=365 * (2 + 2 * i) + 30)))
    invoices = []
    for m in range(months):
        issued = day - timedelta(days=30 * m)
        for regie in ("cdc", "st_caprais"):
            total = 4200 + 137 * m
            invoices.append(Invoice(number=f"{regie.upper()}-{household.id}-{m:03d}", regie_code=regie,
                                    household_id=household.id, issued_on=issued, period_start=issued - timedelta(days=30),
                                    period_end=issued, total_cents=total, paid_cents=total if m > 1 else 0,
                                    status="soldee" if m > 1 else "non_soldee"))
    if invoices:
        await Invoice.bulk_create(invoices)
    types = ["carnet_sante", "attestation_assurance", "divers"]
    for kid in kids:
        for t in types[:documents_per_child]:
            stored = await StoredFile.create(stored_name=secrets.token_hex(16), original_filename=f"{t}.pdf",
                                             content_type="application/pdf", size=1000, sha256="0" * 64,
                                             household=household)
            await Document.create(household=household, child=kid, type_code=t, file=stored, status="accepted",
                                  uploaded_by=user, valid_until=day + timedelta(days=200))
    try:
        from plugins.messagerie.models import MessageMessage, MessageThread
    except ImportError:  # pragma: no cover - messagerie off
        return kids
    for t in range(threads):
        thread = await MessageThread.create(household=household, subject=f"Question {t}", service="alsh",
                                            created_by=user, last_message_at=now())
        await MessageMessage.create(thread=thread, author=user, body="Bonjour, une question.")
        await MessageMessage.create(thread=thread, from_staff=True, body="Réponse du service.")
    return kids
