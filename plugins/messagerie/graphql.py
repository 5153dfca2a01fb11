"""GraphQL of the messagerie: contacts directory, threads with services, replies, read marks,
staff assignment / closing, and the `messageReceived` subscription (WebSocket)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import actor, ctx, parse_id, parse_optional_id
from core.permissions import require_user
from core.timeutil import now
from plugins.messagerie import realtime
from plugins.messagerie import service as svc
from plugins.messagerie.models import MessageMessage, MessageThread
from plugins.messagerie.rules import Viewer, event_visible_to, preview, unanswered_minutes


@strawberry.type(description="A service of the community (« Messages › Contacts »).")
class ContactService:
    code: str
    name: str
    kind: str
    phone: str
    email: str
    address: str


@strawberry.type(name="MessageAttachment")
class MessageAttachmentFile:
    id: strawberry.ID
    filename: str
    content_type: str
    size: int
    url: str


@strawberry.type
class MessageItem:
    id: strawberry.ID
    thread_id: strawberry.ID
    body: str
    preview: str
    from_staff: bool
    author_name: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_model(cls, m: MessageMessage) -> MessageItem:
        author = m.author
        name = (author.full_name if author else "") or ("Le service" if m.from_staff else "La famille")
        return cls(id=strawberry.ID(str(m.id)), thread_id=strawberry.ID(str(m.thread_id)),  # type: ignore[attr-defined]
                   body=m.body, preview=preview(m.body), from_staff=m.from_staff, author_name=name,
                   created_at=m.created_at, read_at=m.read_at)

    @strawberry.field
    async def attachments(self, info: Info) -> list[MessageAttachmentFile]:
        rows = await ctx(info).loader("messagerie.attachments", _load_attachments).load(int(self.id))
        return [MessageAttachmentFile(id=strawberry.ID(str(a.id)), filename=a.file.original_filename,
                                      content_type=a.file.content_type, size=a.file.size,
                                      url=f"/files/message_attachment/{a.id}") for a in rows]


async def _load_attachments(ids: list[int]) -> list[list[Any]]:
    found = await svc.attachments_of(ids)
    return [found.get(i, []) for i in ids]


async def _load_messages(ids: list[int]) -> list[list[MessageMessage]]:
    found = await svc.messages_of(ids)
    return [found.get(i, []) for i in ids]


async def _load_last(ids: list[int]) -> list[MessageMessage | None]:
    found = await svc.last_messages(ids)
    return [found.get(i) for i in ids]


async def _load_unread_family(ids: list[int]) -> list[int]:
    found = await svc.unread_counts(ids, for_staff=False)
    return [found.get(i, 0) for i in ids]


def _unread_of_agent(user_id: int) -> Any:
    """The loader of one agent's own unread counts (the request's caller)."""
    async def load(ids: list[int]) -> list[int]:
        found = await svc.agent_unread_counts(ids, user_id)
        return [found.get(i, 0) for i in ids]
    return load


@strawberry.type(name="MessageThread", description="A conversation between a household and a service, with its full history.")
class MessageThreadNode:
    id: strawberry.ID
    service: str
    service_name: str
    household_id: strawberry.ID
    household_name: str
    child_id: strawberry.ID | None
    child_name: str | None
    status: str
    assigned_to_id: strawberry.ID | None
    assigned_to_name: str | None
    created_at: datetime
    last_message_at: datetime
    awaiting_reply_since: datetime | None = strawberry.field(
        description="First family message the service has not answered yet (null when answered).")
    unanswered_minutes: int | None = strawberry.field(description="Minutes since awaitingReplySince.")

    @classmethod
    def from_model(cls, t: MessageThread) -> MessageThreadNode:
        child, agent = t.child, t.assigned_to
        return cls(id=strawberry.ID(str(t.id)), service=t.service, service_name=svc.service_name(t.service),
                   household_id=strawberry.ID(str(t.household_id)), household_name=t.household.name,  # type: ignore[attr-defined]
                   child_id=strawberry.ID(str(child.id)) if child else None,
                   child_name=child.first_name if child else None, status=t.status,
                   assigned_to_id=strawberry.ID(str(agent.id)) if agent else None,
                   assigned_to_name=(agent.full_name or agent.email) if agent else None,
                   created_at=t.created_at, last_message_at=t.last_message_at,
                   awaiting_reply_since=t.awaiting_reply_since,
                   unanswered_minutes=unanswered_minutes(t.awaiting_reply_since, now()))

    @strawberry.field(description="Messages of the other side the caller has not read yet: for an agent, "
                                  "their own read state (another agent reading the thread does not change it); "
                                  "for a family, its household's.")
    async def unread_count(self, info: Info) -> int:
        caller = actor(info)
        if caller.is_staff:
            key, fn = "messagerie.unread.agent", _unread_of_agent(require_user(caller).id)
        else:
            key, fn = "messagerie.unread.family", _load_unread_family
        return await ctx(info).loader(key, fn).load(int(self.id))

    @strawberry.field
    async def last_message(self, info: Info) -> MessageItem | None:
        m = await ctx(info).loader("messagerie.last", _load_last).load(int(self.id))
        return MessageItem.from_model(m) if m else None

    @strawberry.field(description="The full history, oldest first.")
    async def messages(self, info: Info) -> list[MessageItem]:
        rows = await ctx(info).loader("messagerie.messages", _load_messages).load(int(self.id))
        return [MessageItem.from_model(m) for m in rows]


@strawberry.type
class MessageEvent:
    thread_id: strawberry.ID
    message: MessageItem


def _node(t: MessageThread) -> MessageThreadNode:
    return MessageThreadNode.from_model(t)


@strawberry.type
class MessagerieQuery:
    @strawberry.field(description="« Messages › Contacts »: every service with phone, email and address.")
    def message_contacts(self, info: Info) -> list[ContactService]:
        require_user(actor(info))
        return [ContactService(code=s.code, name=s.name, kind=s.kind, phone=s.phone, email=s.email,
                               address=s.address) for s in svc.contacts()]

    @strawberry.field(description="Threads the caller may see, most recent first (family: its household, "
                                  "agent: its services, admin: all).")
    async def message_threads(self, info: Info, status: str | None = None, service: str | None = None,
                              unanswered_only: bool = False, limit: int = 50, offset: int = 0) -> list[MessageThreadNode]:
        rows = await svc.list_threads(actor(info), status=status, service=service,
                                          unanswered_only=unanswered_only, limit=limit, offset=offset)
        return [_node(t) for t in rows]

    @strawberry.field
    async def message_thread(self, info: Info, id: strawberry.ID) -> MessageThreadNode:
        return _node(await svc.get_thread(actor(info), parse_id(id, "id")))

    @strawberry.field(description="Total unread messages of the caller (« MESSAGES (2) »).")
    async def message_unread_count(self, info: Info) -> int:
        return await svc.total_unread(actor(info))




@strawberry.type
class MessagerieMutation:
    @strawberry.mutation(description="« Nous contacter »: write to a service (new thread).")
    async def start_message_thread(self, info: Info, service: str, body: str, child_id: strawberry.ID | None = None,
                                   attachments: list[Upload] | None = None) -> MessageThreadNode:
        child = parse_optional_id(child_id, "childId")
        thread = await svc.start_thread(actor(info), service, body, child, attachments, host=ctx(info).host)
        return _node(thread)

    @strawberry.mutation(description="Add a message to a thread (family or agent of the service).")
    async def reply_message_thread(self, info: Info, thread_id: strawberry.ID, body: str,
                                   attachments: list[Upload] | None = None) -> MessageItem:
        message = await svc.reply(actor(info), parse_id(thread_id, "threadId"), body, attachments, host=ctx(info).host)
        return MessageItem.from_model(message)

    @strawberry.mutation
    async def mark_message_thread_read(self, info: Info, thread_id: strawberry.ID) -> MessageThreadNode:
        return _node(await svc.mark_read(actor(info), parse_id(thread_id, "threadId")))

    @strawberry.mutation(description="Staff: give the thread to an agent of its service (null: nobody).")
    async def assign_message_thread(self, info: Info, thread_id: strawberry.ID,
                                    agent_id: strawberry.ID | None = None) -> MessageThreadNode:
        agent = parse_optional_id(agent_id, "agentId")
        return _node(await svc.assign(actor(info), parse_id(thread_id, "threadId"), agent))

    @strawberry.mutation
    async def close_message_thread(self, info: Info, thread_id: strawberry.ID) -> MessageThreadNode:
        return _node(await svc.set_closed(actor(info), parse_id(thread_id, "threadId"), True))

    @strawberry.mutation
    async def reopen_message_thread(self, info: Info, thread_id: strawberry.ID) -> MessageThreadNode:
        return _node(await svc.set_closed(actor(info), parse_id(thread_id, "threadId"), False))


@strawberry.type
class MessagerieSubscription:
    @strawberry.subscription(description="New messages in the caller's threads (family: its household, "
                                         "agent: its services), pushed across server processes.")
    async def message_received(self, info: Info, thread_id: strawberry.ID | None = None) -> AsyncGenerator[MessageEvent, None]:
        caller = actor(info)
        # Over WebSocket Strawberry sends `error.formatted`: graphql-core copies PortailError.extensions.
        require_user(caller)
        viewer = Viewer(household_id=caller.household_id, services=caller.services, is_staff=caller.is_staff,
                        is_admin=caller.is_admin)
        only = parse_optional_id(thread_id, "threadId")
        async for event in realtime.backend_for(ctx(info).host).subscribe():
            if not event_visible_to(event, viewer) or (only is not None and event.get("thread_id") != only):
                continue
            message = await svc.message_for_event(caller, event)
            if message is not None:
                yield MessageEvent(thread_id=strawberry.ID(str(message.thread_id)),  # type: ignore[attr-defined]
                                   message=MessageItem.from_model(message))


contribution = GraphQLContribution(query=MessagerieQuery, mutation=MessagerieMutation,
                                   subscription=MessagerieSubscription)
downloads = {"message_attachment": svc.download_attachment}
