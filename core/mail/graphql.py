"""GraphQL of the outbox: admins see queued mail (the quick-start demo has no SMTP server)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import actor
from core.mail.models import OutboxMail
from core.permissions import require_admin


@strawberry.type
class OutboxMailType:
    id: strawberry.ID
    to: str
    subject: str
    text_body: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None


@strawberry.type
class MailQuery:
    @strawberry.field(description="Admins: the latest mail of the outbox (newest first), optionally for one address.")
    async def outbox(self, info: Info, to: str | None = None, limit: int = 50) -> list[OutboxMailType]:
        require_admin(actor(info))
        query = OutboxMail.all().order_by("-id").limit(max(1, min(limit, 200)))
        if to:
            query = query.filter(to=to.strip().lower())
        return [OutboxMailType(id=strawberry.ID(str(m.id)), to=m.to, subject=m.subject, text_body=m.text_body,
                               status=m.status, attempts=m.attempts, created_at=m.created_at, sent_at=m.sent_at)
                for m in await query]


contribution = GraphQLContribution(query=MailQuery)
