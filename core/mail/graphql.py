"""GraphQL of the outbox: admins see queued mail (the quick-start demo has no SMTP server)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import (
    DEFAULT_PAGE_SIZE,
    LabelledEnum,
    Limit,
    Offset,
    Page,
    actor,
    graphql_enum,
    paginate,
)
from core.mail.models import OutboxMail, OutboxStatus
from core.permissions import require_admin


class MailStatus(LabelledEnum):
    PENDING = (OutboxStatus.PENDING, "En attente", "Queued: the sender will (re)try it.")
    SENT = (OutboxStatus.SENT, "Envoyé", "Accepted by the SMTP server.")
    FAILED = (OutboxStatus.FAILED, "Échec", "Given up after the configured number of attempts.")


graphql_enum(MailStatus, description="Where a mail of the outbox stands.")


@strawberry.type(name="OutboxMail", description="A mail the portal sends (or sent), as queued in the outbox. Admins only.")
class OutboxMailType:
    id: strawberry.ID = strawberry.field(description="The mail's id.")
    to: str = strawberry.field(description="The recipient's address (lower case).")
    subject: str = strawberry.field(description="The subject, French.")
    text_body: str = strawberry.field(description="The plain-text body (links included: tokens are in it).")
    status: MailStatus = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="How many times sending was tried.")
    created_at: datetime = strawberry.field(description="When it was queued (ISO 8601 with offset).")
    sent_at: datetime | None = strawberry.field(description="When the SMTP server accepted it, null until then.")

    @strawberry.field(description="The status's French label to show.")
    def status_label(self) -> str:
        return self.status.label

    @classmethod
    def from_model(cls, m: OutboxMail) -> OutboxMailType:
        return cls(id=strawberry.ID(str(m.id)), to=m.to, subject=m.subject, text_body=m.text_body,
                   status=MailStatus(m.status), attempts=m.attempts, created_at=m.created_at, sent_at=m.sent_at)


@strawberry.type
class MailQuery:
    @strawberry.field(description=(
        "Admins: the mail of the outbox, newest first (by id), optionally for one address. "
        "Errors: UNAUTHENTICATED, FORBIDDEN, INVALID_PAGE."))
    async def outbox(self, info: Info,
                     to: Annotated[str | None, strawberry.argument(
                         description="Only the mail sent to this address (case-insensitive).")] = None,
                     limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> Page[OutboxMailType] | None:
        require_admin(actor(info))
        query = OutboxMail.all().order_by("-id")
        if to:
            query = query.filter(to=to.strip().lower())
        return await paginate(query, limit, offset, OutboxMailType.from_model)


contribution = GraphQLContribution(query=MailQuery)
