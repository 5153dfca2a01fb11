"""GraphQL of the messagerie (prefix `Messagerie`, docs/graphql.md): contacts directory, threads with
services, replies, read marks, staff assignment / closing, and the `messagerieMessageReceived`
subscription (WebSocket)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import (
    LabelledEnum,
    Limit,
    Offset,
    Page,
    actor,
    check_page,
    ctx,
    graphql_enum,
    paginate,
    parse_id,
    parse_optional_id,
)
from core.permissions import own_household_id, require_user
from core.timeutil import now
from plugins.messagerie import realtime
from plugins.messagerie import service as svc
from plugins.messagerie.models import MessageMessage, MessageThread, ThreadStatus
from plugins.messagerie.rules import Viewer, event_visible_to, preview, unanswered_minutes


class MessagerieThreadStatus(LabelledEnum):
    OPEN = (ThreadStatus.OPEN, "Ouverte", "The family and the service may write.")
    CLOSED = (ThreadStatus.CLOSED, "Clôturée", "Closed by the service: nobody writes until an agent reopens it.")


class MessagerieAuthorSide(LabelledEnum):
    FAMILY = ("family", "Famille", "Written by a member of the household.")
    SERVICE = ("service", "Service", "Written by an agent of the thread's service (or an admin).")


graphql_enum(MessagerieThreadStatus, description="Whether a thread is open.")
graphql_enum(MessagerieAuthorSide, description="Which side of a thread wrote a message.")

THREAD_READERS = ("The thread's household (family account), an agent of the thread's service, or an admin")


@strawberry.type(description="A service of the community (« Messages › Contacts »), from the configuration.")
class MessagerieContact:
    code: str = strawberry.field(description="The service's code: the `service` argument of "
                                             "`startMessagerieThread`.")
    name: str = strawberry.field(description="The service's name, to show.")
    phone: str = strawberry.field(description="Phone number as configured (may be empty).")
    email: str = strawberry.field(description="Mail address (may be empty).")
    address: str = strawberry.field(description="Postal address, one line (may be empty).")


@strawberry.type(description="A file attached to a message (PNG, JPEG or PDF, checked from its bytes).")
class MessagerieAttachment:
    id: strawberry.ID = strawberry.field(description="The attachment's id.")
    filename: str = strawberry.field(description="The file name as uploaded.")
    content_type: str = strawberry.field(description="MIME type: `application/pdf`, `image/png` or `image/jpeg`.")
    size: int = strawberry.field(description="Size in bytes.")
    url: str = strawberry.field(description="Relative download URL; same permissions as the thread.")


@strawberry.type(description="One message of a thread.")
class MessagerieMessage:
    id: strawberry.ID = strawberry.field(description="The message's id (ids grow with time).")
    thread_id: strawberry.ID = strawberry.field(description="The thread it belongs to.")
    body: str = strawberry.field(description="The text, blanks trimmed, at most 10,000 characters.")
    preview: str = strawberry.field(description="The first 120 characters on one line, for lists.")
    author_side: MessagerieAuthorSide = strawberry.field(description="Who wrote it: the family or the service.")
    author_side_label: str = strawberry.field(description="French label of `authorSide`.")
    author_name: str = strawberry.field(description="The author's name (« Le service » / « La famille » when "
                                                    "unknown).")
    created_at: datetime = strawberry.field(description="When it was sent.")
    read_at: datetime | None = strawberry.field(description=(
        "When the other side first read it (the family for a service message, the first agent for a family "
        "message); null while unread."))

    @classmethod
    def from_model(cls, m: MessageMessage) -> MessagerieMessage:
        author = m.author
        name = (author.full_name if author else "") or ("Le service" if m.from_staff else "La famille")
        side = MessagerieAuthorSide.SERVICE if m.from_staff else MessagerieAuthorSide.FAMILY
        return cls(id=strawberry.ID(str(m.id)), thread_id=strawberry.ID(str(m.thread_id)),  # type: ignore[attr-defined]
                   body=m.body, preview=preview(m.body), author_side=side, author_side_label=side.label,
                   author_name=name, created_at=m.created_at, read_at=m.read_at)

    @strawberry.field(description="Its attachments, in upload order. Not paginated: at most 5 per message.")
    async def attachments(self, info: Info) -> list[MessagerieAttachment]:
        rows = await ctx(info).loader("messagerie.attachments", _load_attachments).load(int(self.id))
        return [MessagerieAttachment(id=strawberry.ID(str(a.id)), filename=a.file.original_filename,
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


def _unread_of_household(household_id: int) -> Any:
    """The loader of a family's unread counts (its household's threads)."""
    async def load(ids: list[int]) -> list[int]:
        found = await svc.family_unread_counts(household_id)
        return [found.get(i, 0) for i in ids]
    return load


def _unread_of_agent(user_id: int) -> Any:
    """The loader of one agent's own unread counts (the request's caller)."""
    async def load(ids: list[int]) -> list[int]:
        found = await svc.agent_unread_counts(ids, user_id)
        return [found.get(i, 0) for i in ids]
    return load


@strawberry.type(description=f"A conversation between a household and a service, with its history. Seen by: "
                             f"{THREAD_READERS}.")
class MessagerieThread:
    id: strawberry.ID = strawberry.field(description="The thread's id.")
    service: str = strawberry.field(description="The service's code (see `messagerieContacts`).")
    service_name: str = strawberry.field(description="The service's name.")
    household_id: strawberry.ID = strawberry.field(description="The household's id.")
    household_name: str = strawberry.field(description="The household's name.")
    child_id: strawberry.ID | None = strawberry.field(description="The child the thread is about; null if none.")
    child_name: str | None = strawberry.field(description="That child's first name; null if none.")
    status: MessagerieThreadStatus = strawberry.field(description="Open or closed.")
    status_label: str = strawberry.field(description="French label of `status` (« Ouverte »).")
    assigned_to_id: strawberry.ID | None = strawberry.field(description="The agent in charge; null if nobody.")
    assigned_to_name: str | None = strawberry.field(description="That agent's name (or mail); null if nobody.")
    created_at: datetime = strawberry.field(description="When the family started it.")
    last_message_at: datetime = strawberry.field(description="When its last message was sent (the list's order).")
    awaiting_reply_since: datetime | None = strawberry.field(
        description="First family message the service has not answered yet (null when answered).")
    unanswered_minutes: int | None = strawberry.field(description="Minutes since `awaitingReplySince`; null when "
                                                                  "answered.")

    @classmethod
    def from_model(cls, t: MessageThread) -> MessagerieThread:
        child, agent = t.child, t.assigned_to
        status = MessagerieThreadStatus(t.status)
        return cls(id=strawberry.ID(str(t.id)), service=t.service, service_name=svc.service_name(t.service),
                   household_id=strawberry.ID(str(t.household_id)), household_name=t.household.name,  # type: ignore[attr-defined]
                   child_id=strawberry.ID(str(child.id)) if child else None,
                   child_name=child.first_name if child else None, status=status, status_label=status.label,
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
            key, fn = "messagerie.unread.family", _unread_of_household(own_household_id(caller))
        return await ctx(info).loader(key, fn).load(int(self.id))

    @strawberry.field(description="The newest message; null for none.")
    async def last_message(self, info: Info) -> MessagerieMessage | None:
        m = await ctx(info).loader("messagerie.last", _load_last).load(int(self.id))
        return MessagerieMessage.from_model(m) if m else None

    @strawberry.field(description="The history, oldest first. Errors: INVALID_PAGE.")
    async def messages(self, info: Info, limit: Limit = 50, offset: Offset = 0) -> Page[MessagerieMessage]:
        check_page(limit, offset)
        rows = await ctx(info).loader("messagerie.messages", _load_messages).load(int(self.id))
        return _message_page(rows, limit, offset)


def _message_page(rows: list[MessageMessage], limit: int, offset: int) -> Page[MessagerieMessage]:
    page = rows[offset:offset + limit]
    return Page(items=[MessagerieMessage.from_model(m) for m in page], total=len(rows), limit=limit, offset=offset)


@strawberry.type(description="A new message in one of the caller's threads (subscription event).")
class MessagerieMessageEvent:
    thread_id: strawberry.ID = strawberry.field(description="The thread that received it.")
    message: MessagerieMessage = strawberry.field(description="The new message.")


def _node(t: MessageThread) -> MessagerieThread:
    return MessagerieThread.from_model(t)


ThreadId = Annotated[strawberry.ID, strawberry.argument(description="The thread's id.")]


@strawberry.type
class MessagerieQuery:
    @strawberry.field(description="« Messages › Contacts »: every service of the community with phone, mail and "
                                  "address, in the configuration's order. Anyone logged in. Not paginated: the "
                                  "community's services, a few dozen at most. Errors: UNAUTHENTICATED.")
    def messagerie_contacts(self, info: Info) -> list[MessagerieContact] | None:
        require_user(actor(info))
        return [MessagerieContact(code=s.code, name=s.name, phone=s.phone, email=s.email,
                                  address=s.address) for s in svc.contacts()]

    @strawberry.field(description=(
        "The threads the caller may see, most recent message first: family, its household's; agent, those of "
        "their services; admin, all. Errors: UNAUTHENTICATED, INVALID_PAGE."))
    async def messagerie_threads(
            self, info: Info,
            status: Annotated[MessagerieThreadStatus | None, strawberry.argument(
                description="Only threads of this status (all when null).")] = None,
            service: Annotated[str | None, strawberry.argument(
                description="Only threads with this service (code; all when null).")] = None,
            unanswered_only: Annotated[bool, strawberry.argument(
                description="Only open threads waiting for the service's answer.")] = False,
            limit: Limit = 50, offset: Offset = 0) -> Page[MessagerieThread] | None:
        query = svc.threads_query(actor(info), status=status.value if status else None, service=service,
                                  unanswered_only=unanswered_only)
        return await paginate(query, limit, offset, _node)

    @strawberry.field(description=f"One thread. {THREAD_READERS}. Errors: UNAUTHENTICATED, NOT_FOUND, INVALID_ID.")
    async def messagerie_thread(self, info: Info, id: ThreadId) -> MessagerieThread | None:
        return _node(await svc.get_thread(actor(info), parse_id(id, "id")))

    @strawberry.field(description="Total unread messages of the other side in the caller's threads "
                                  "(« MESSAGES (2) »). Errors: UNAUTHENTICATED.")
    async def messagerie_unread_count(self, info: Info) -> int | None:
        return await svc.total_unread(actor(info))


Attachments = Annotated[list[Upload] | None, strawberry.argument(
    description="Up to 5 files (PDF, PNG, JPEG, checked from their bytes), multipart upload.")]
Body = Annotated[str, strawberry.argument(description="The message, 1 to 10,000 characters after trimming.")]
STAFF_OF_THREAD = "An agent of the thread's service, or an admin"


@strawberry.type
class MessagerieMutation:
    @strawberry.mutation(description=(
        "« Nous contacter »: a family writes to a service (new OPEN thread; the service's agents are notified). "
        "Family with a confirmed account. Errors: UNAUTHENTICATED, FORBIDDEN, UNKNOWN_SERVICE, NOT_FOUND (child), "
        "EMPTY_MESSAGE, MESSAGE_TOO_LONG, TOO_MANY_ATTACHMENTS and core's file codes."))
    async def start_messagerie_thread(
            self, info: Info,
            service: Annotated[str, strawberry.argument(description="The service's code (see `messagerieContacts`).")],
            body: Body,
            child_id: Annotated[strawberry.ID | None, strawberry.argument(
                description="A child of the household the message is about (optional).")] = None,
            attachments: Attachments = None) -> MessagerieThread | None:
        child = parse_optional_id(child_id, "childId")
        thread = await svc.start_thread(actor(info), service, body, child, attachments, host=ctx(info).host)
        return _node(thread)

    @strawberry.mutation(description=(
        f"Add a message to an OPEN thread; the other side is mailed. {THREAD_READERS}. Errors: NOT_FOUND, "
        "THREAD_CLOSED, EMPTY_MESSAGE, MESSAGE_TOO_LONG, TOO_MANY_ATTACHMENTS and core's file codes."))
    async def reply_messagerie_thread(self, info: Info, thread_id: ThreadId, body: Body,
                                      attachments: Attachments = None) -> MessagerieMessage | None:
        message = await svc.reply(actor(info), parse_id(thread_id, "threadId"), body, attachments, host=ctx(info).host)
        return MessagerieMessage.from_model(message)

    @strawberry.mutation(description=(
        f"Mark the thread read by the caller (an agent: their own read state; a family: its household's). "
        f"{THREAD_READERS}. Errors: NOT_FOUND."))
    async def mark_messagerie_thread_read(self, info: Info, thread_id: ThreadId) -> MessagerieThread | None:
        return _node(await svc.mark_read(actor(info), parse_id(thread_id, "threadId")))

    @strawberry.mutation(description=f"Give the thread to an agent of its service (or to nobody). {STAFF_OF_THREAD}. "
                                     "Errors: NOT_FOUND, FORBIDDEN, INVALID_AGENT.")
    async def assign_messagerie_thread(
            self, info: Info, thread_id: ThreadId,
            agent_id: Annotated[strawberry.ID | None, strawberry.argument(
                description="An agent of the thread's service (or an admin); null: nobody.")] = None,
    ) -> MessagerieThread | None:
        agent = parse_optional_id(agent_id, "agentId")
        return _node(await svc.assign(actor(info), parse_id(thread_id, "threadId"), agent))

    @strawberry.mutation(description=f"Close an OPEN thread. {STAFF_OF_THREAD}. Errors: NOT_FOUND, FORBIDDEN, "
                                     "ALREADY_CLOSED.")
    async def close_messagerie_thread(self, info: Info, thread_id: ThreadId) -> MessagerieThread | None:
        return _node(await svc.set_closed(actor(info), parse_id(thread_id, "threadId"), True))

    @strawberry.mutation(description=f"Reopen a CLOSED thread. {STAFF_OF_THREAD}. Errors: NOT_FOUND, FORBIDDEN, "
                                     "ALREADY_OPEN.")
    async def reopen_messagerie_thread(self, info: Info, thread_id: ThreadId) -> MessagerieThread | None:
        return _node(await svc.set_closed(actor(info), parse_id(thread_id, "threadId"), False))


@strawberry.type
class MessagerieSubscription:
    @strawberry.subscription(description=(
        "New messages in the caller's threads (family: its household's, agent: their services', admin: all), "
        "pushed across server processes. Errors: UNAUTHENTICATED, INVALID_ID."))
    async def messagerie_message_received(
            self, info: Info,
            thread_id: Annotated[strawberry.ID | None, strawberry.argument(
                description="Only the messages of this thread (all the caller's when null).")] = None,
    ) -> AsyncGenerator[MessagerieMessageEvent | None, None]:
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
                yield MessagerieMessageEvent(thread_id=strawberry.ID(str(message.thread_id)),  # type: ignore[attr-defined]
                                             message=MessagerieMessage.from_model(message))


contribution = GraphQLContribution(query=MessagerieQuery, mutation=MessagerieMutation,
                                   subscription=MessagerieSubscription)
downloads = {"message_attachment": svc.download_attachment}
