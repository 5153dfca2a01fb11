"""Mails stored in bulk (billing runs, SEPA pre-notifications) are delivered like the others: each
once, with the Message-ID fixed when it was queued, kept across a retry."""

from __future__ import annotations

from collections import Counter
from datetime import date
from types import SimpleNamespace

from core.mail.models import OutboxMail, OutboxStatus
from core.mail.service import queue_mails, render_mail, send_pending
from tests.querycount import count_queries


async def test_bulk_queued_mails_are_delivered_once_with_their_message_id(mailbox):
    regie = SimpleNamespace(name="Régie CDC")
    rows = [render_mail(f"f{i}@example.org", "mail/invoice_issued", {
        "invoice": SimpleNamespace(number=f"CDC-2026-{i:05d}", issued_on=date(2026, 3, 31), total_cents=1320 + i),
        "regie": regie, "period_text": "du 1er au 31 mars 2026", "services": "ALSH",
        "link": f"https://portail.test/factures/{i}"}) for i in range(1200)]
    assert len({r["message_id"] for r in rows}) == 1200
    with count_queries() as log:
        assert await queue_mails(rows) == 1200
    assert log.count == 2  # one INSERT per 1,000 mails, not one per mail
    stored = await OutboxMail.all().order_by("id")
    assert [m.message_id for m in stored] == [r["message_id"] for r in rows]
    assert stored[5].to == "f5@example.org" and "13,25" in stored[5].text_body and stored[5].html_body
    assert stored[0].status == OutboxStatus.PENDING and stored[0].created_at is not None
    while (await send_pending(limit=500, ignore_schedule=True))[0]:
        pass
    received = Counter(m["Message-ID"] for m in mailbox.messages)
    assert len(received) == 1200 and set(received.values()) == {1}
    assert set(received) == {r["message_id"] for r in rows}
    assert await OutboxMail.filter(status=OutboxStatus.SENT).count() == 1200


async def test_nothing_to_queue():
    with count_queries() as log:
        assert await queue_mails([]) == 0
    assert log.count == 0
