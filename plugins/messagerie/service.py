"""Messagerie use cases: contacts, threads with a service, replies, read marks, assignment,
closing, attachments, the "service answered" mail, alerts and RGPD. Every function checks the
caller through core.permissions; events are published to the real-time backend after commit."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any

from tortoise.functions import Count, Max
from tortoise.transactions import in_transaction

from core.accounts.models import Role, User
from core.compiled_query import CompiledQuery
from core.config import ServiceConfig, get_settings
from core.contributions import Alert, FileDownload
from core.errors import Conflict, Forbidden, NotFound, ValidationError
from core.files.models import StoredFile
from core.files.service import (
    check_size,
    delete_bytes,
    download_id,
    read_bytes,
    read_upload,
    sniff,
    store_bytes,
)
from core.households.models import Child, Household
from core.mail.service import queue_mail
from core.permissions import Actor, own_household_id, require_confirmed, require_staff, require_user
from core.request_memo import memoised
from core.rgpd.rules import RetentionPolicy
from core.rgpd.walk import export_tables
from core.timeutil import now
from plugins.messagerie import realtime
from plugins.messagerie.models import (
    MessageAttachment,
    MessageMessage,
    MessageThread,
    MessageThreadRead,
    ThreadStatus,
)
from plugins.messagerie.rules import (
    check_attachment_count,
    clean_body,
    mail_includes_body,
    next_awaiting_since,
)

THREAD_RELATED = ("household", "child", "assigned_to")


# ---- lookups & visibility ------------------------------------------------------------------------
def contacts() -> list[ServiceConfig]:
    """« Messages › Contacts »: every service of the community with phone, email, address."""
    return list(get_settings().services)


def _known_service(code: str) -> ServiceConfig:
    service = get_settings().service((code or "").strip())
    if service is None:
        raise ValidationError("Ce service n'existe pas.", code="UNKNOWN_SERVICE", field="service")
    return service


def service_name(code: str) -> str:
    service = get_settings().service(code)
    return service.name if service else code


def visible_threads(actor: Actor):
    """The threads the caller may see: own household (family), own services (agent), all (admin)."""
    user = require_user(actor)
    if actor.is_admin:
        return MessageThread.all()
    if actor.is_staff:
        return MessageThread.filter(service__in=list(actor.services))
    if actor.household_id is None:
        return MessageThread.filter(id=-1)
    return MessageThread.filter(household_id=user.household_id)  # type: ignore[attr-defined]


def can_see(actor: Actor, thread: MessageThread) -> bool:
    if actor.user is None:
        return False
    if actor.is_admin:
        return True
    if actor.is_staff:
        return thread.service in actor.services
    return actor.household_id is not None and thread.household_id == actor.household_id  # type: ignore[attr-defined]


async def get_thread(actor: Actor, thread_id: int) -> MessageThread:
    """A thread the caller may see; anyone else's looks exactly like a missing one."""
    require_user(actor)
    thread = await MessageThread.get_or_none(id=thread_id).select_related(*THREAD_RELATED)
    if thread is None or not can_see(actor, thread):
        raise NotFound("conversation")
    return thread


def threads_query(actor: Actor, *, status: str | None = None, service: str | None = None,
                  unanswered_only: bool = False) -> Any:
    """The threads the caller may see, filtered, most recent first: a queryset (the family's unfiltered
    list: a compiled one) for `paginate`."""
    query = visible_threads(actor)
    if status:
        if status not in ThreadStatus.ALL:
            raise ValidationError("Statut inconnu.", code="INVALID_STATUS", field="status")
        query = query.filter(status=status)
    if service:
        query = query.filter(service=service)
    if unanswered_only:
        query = query.filter(awaiting_reply_since__isnull=False, status=ThreadStatus.OPEN)
    if not (status or service or unanswered_only) and actor.is_family and actor.household_id is not None:
        return _HOUSEHOLD_THREADS.bind(actor.household_id)  # the family's list as it opens: compiled once
    return query.select_related(*THREAD_RELATED).order_by("-last_message_at", "-id")


# ---- batch loaders (one query per batch, whatever the number of threads) -------------------------
async def _agent_unread(user_id: int, *, thread_ids: list[int] | None = None,
                        services: list[str] | None = None) -> dict[int, int]:
    """Family messages per thread that agent `user_id` has not read: newer than their
    MessageThreadRead mark, or all of them without one. One grouped query (a LEFT JOIN on the
    marks), restricted to `thread_ids` or to the threads of `services` (None and None: all)."""
    conn = MessageMessage._meta.db
    postgres = conn.capabilities.dialect == "postgres"
    params: list[Any] = [user_id, False]

    def mark(value: Any) -> str:
        params.append(value)
        return f"${len(params)}" if postgres else "?"

    join, where = "", ""
    if thread_ids is not None:
        where = f" AND m.thread_id IN ({', '.join(mark(i) for i in thread_ids)})"
    if services is not None:
        join = " JOIN messagerie_thread t ON t.id = m.thread_id"
        where = f" AND t.service IN ({', '.join(mark(s) for s in services)})"
    first, second = ("$1", "$2") if postgres else ("?", "?")
    rows = await conn.execute_query_dict(
        "SELECT m.thread_id AS thread_id, COUNT(*) AS n FROM messagerie_message m"
        f" LEFT JOIN messagerie_thread_read r ON r.thread_id = m.thread_id AND r.agent_id = {first}{join}"
        f" WHERE m.from_staff = {second} AND (r.id IS NULL OR m.id > r.last_read_message_id){where}"
        " GROUP BY m.thread_id", params)
    return {int(r["thread_id"]): int(r["n"]) for r in rows}


async def agent_unread_counts(thread_ids: list[int], user_id: int) -> dict[int, int]:
    """Per thread, the family messages this agent has not read (their own read state)."""
    if not thread_ids:
        return {}
    return await _agent_unread(user_id, thread_ids=thread_ids)


# The services' messages a household has not opened, per thread: compiled once (core.compiled_query).
_FAMILY_UNREAD = CompiledQuery(lambda household_id: MessageMessage.filter(
    thread__household_id=household_id, from_staff=True, read_at__isnull=True)
    .annotate(n=Count("id")).group_by("thread_id").values("thread_id", "n"))


async def family_unread_counts(household_id: int) -> dict[int, int]:
    """Per thread of the household (a family sees only those, `visible_threads`), the services'
    messages it has not opened; threads without any are absent. One query for all its threads,
    once per request: the threads' counts and the household's total (`total_unread`) share it."""
    async def load() -> dict[int, int]:
        return {int(r["thread_id"]): int(r["n"]) for r in await _FAMILY_UNREAD.all(household_id)}
    return await memoised(("messagerie.family_unread", household_id), load)


async def last_messages(thread_ids: list[int]) -> dict[int, MessageMessage]:
    if not thread_ids:
        return {}
    rows = await MessageMessage.filter(thread_id__in=thread_ids).annotate(last_id=Max("id")) \
        .group_by("thread_id").values("thread_id", "last_id")
    ids = [r["last_id"] for r in rows]
    messages = await MessageMessage.filter(id__in=ids).select_related("author") if ids else []
    return {m.thread_id: m for m in messages}  # type: ignore[attr-defined]


async def messages_of(thread_ids: list[int]) -> dict[int, list[MessageMessage]]:
    out: dict[int, list[MessageMessage]] = defaultdict(list)
    if thread_ids:
        for m in await MessageMessage.filter(thread_id__in=thread_ids).select_related("author") \
                .order_by("created_at", "id"):
            out[m.thread_id].append(m)  # type: ignore[attr-defined]
    return out


async def attachments_of(message_ids: list[int]) -> dict[int, list[MessageAttachment]]:
    out: dict[int, list[MessageAttachment]] = defaultdict(list)
    if message_ids:
        for a in await MessageAttachment.filter(message_id__in=message_ids).select_related("file").order_by("id"):
            out[a.message_id].append(a)  # type: ignore[attr-defined]
    return out


async def total_unread(actor: Actor) -> int:
    """All unread messages of the other side in the caller's threads: for an agent, those they have
    not read themselves (one grouped query); for a family, its household's: the sum of its threads'
    counts (`family_unread_counts`, read once per request for both)."""
    user = require_user(actor)
    if actor.is_admin:
        return sum((await _agent_unread(user.id)).values())
    if actor.is_staff:
        if not actor.services:
            return 0
        return sum((await _agent_unread(user.id, services=list(actor.services))).values())
    if actor.household_id is None:
        return 0
    return sum((await family_unread_counts(actor.household_id)).values())


_HOUSEHOLD_THREADS = CompiledQuery(lambda household_id: MessageThread.filter(household_id=household_id)
                                   .select_related(*THREAD_RELATED).order_by("-last_message_at", "-id"))

# ---- writing -------------------------------------------------------------------------------------
async def _validated_files(uploads: list[Any] | None) -> list[tuple[str, bytes, str]]:
    """Read and check every attachment before anything is stored (a renamed .exe is refused)."""
    uploads = list(uploads or [])
    check_attachment_count(len(uploads))
    files = []
    for upload in uploads:
        filename, content = await read_upload(upload)
        try:
            check_size(content)
            content_type = sniff(content)
        except ValidationError as exc:
            exc.field = "attachments"
            raise
        files.append((filename, content, content_type))
    return files


async def _add_message(thread: MessageThread, user: User, body: str, files: list[tuple[str, bytes, str]],
                       *, from_staff: bool) -> MessageMessage:
    message = await MessageMessage.create(thread=thread, author=user, from_staff=from_staff, body=body)
    for filename, content, content_type in files:
        stored = await store_bytes(filename, content, household_id=thread.household_id,  # type: ignore[attr-defined]
                                   uploaded_by_id=user.id, trusted_type=content_type)
        await MessageAttachment.create(message=message, file=stored)
    thread.last_message_at = message.created_at
    thread.awaiting_reply_since = next_awaiting_since(thread.awaiting_reply_since, from_staff, message.created_at)
    await MessageThread.filter(id=thread.id).update(last_message_at=thread.last_message_at,
                                                     awaiting_reply_since=thread.awaiting_reply_since)
    return message


def _event(thread: MessageThread, message: MessageMessage) -> dict[str, Any]:
    return {"type": "message", "thread_id": thread.id, "message_id": message.id,
            "household_id": thread.household_id, "service": thread.service,  # type: ignore[attr-defined]
            "from_staff": message.from_staff}


async def start_thread(actor: Actor, service: str, body: str, child_id: int | None = None,
                       attachments: list[Any] | None = None, *, host: Any = None) -> MessageThread:
    """« Nous contacter »: a family writes to a service, optionally about one of its children."""
    user = require_confirmed(actor)
    if actor.is_staff:
        raise Forbidden("Seules les familles écrivent depuis « Nous contacter ».")
    household_id = own_household_id(actor)
    target = _known_service(service)
    if child_id is not None and not await Child.exists(id=child_id, household_id=household_id):
        raise NotFound("enfant")
    text = clean_body(body)
    files = await _validated_files(attachments)
    async with in_transaction():
        thread = await MessageThread.create(household_id=household_id, service=target.code, child_id=child_id,
                                            created_by=user, last_message_at=now())
        message = await _add_message(thread, user, text, files, from_staff=False)
    await realtime.publish_safely(_event(thread, message), host)
    return await get_thread(actor, thread.id)


async def _family_recipients(household_id: int) -> list[str]:
    emails = await User.filter(household_id=household_id, role=Role.FAMILY, is_active=True) \
        .order_by("id").values_list("email", flat=True)
    if emails:
        return list(dict.fromkeys(emails))
    household = await Household.get(id=household_id)
    return [household.email] if household.email else []


async def reply(actor: Actor, thread_id: int, body: str, attachments: list[Any] | None = None,
                *, host: Any = None) -> MessageMessage:
    """A new message in an existing thread, by the family or by an agent of the service.

    When the service answers, the family gets a mail (with or without the text, as configured).
    """
    thread = await get_thread(actor, thread_id)
    from_staff = actor.is_staff
    user = require_staff(actor, thread.service) if from_staff else require_confirmed(actor)
    if thread.status == ThreadStatus.CLOSED:
        raise Conflict("Cette conversation est clôturée : écrivez un nouveau message.", code="THREAD_CLOSED",
                       field="threadId")
    text = clean_body(body)
    files = await _validated_files(attachments)
    async with in_transaction():
        message = await _add_message(thread, user, text, files, from_staff=from_staff)
        if from_staff:
            # Answering means having read what the family wrote.
            await _agent_read(thread.id, user.id)
            config = get_settings().plugin_config("messagerie")
            context = {"thread": thread, "household": thread.household, "service_name": service_name(thread.service),
                       "include_body": mail_includes_body(config), "body": text, "attachments": len(files),
                       "link": f"{get_settings().community.public_url.rstrip('/')}/messages/{thread.id}"}
            for to in await _family_recipients(thread.household_id):  # type: ignore[attr-defined]
                await queue_mail(to, "messagerie/mail/service_reply", context,
                                 household_id=thread.household_id)  # type: ignore[attr-defined]
    await realtime.publish_safely(_event(thread, message), host)
    return await MessageMessage.get(id=message.id).select_related("author")


async def _agent_read(thread_id: int, user_id: int) -> None:
    """Agent `user_id` has read the thread up to its newest message: their own mark moves forward
    (never back, whatever the order of concurrent calls; the (thread, agent) pair is unique), and
    family messages nobody had read yet are stamped « lu par le service »."""
    newest = await MessageMessage.filter(thread_id=thread_id).order_by("-id").first().values_list("id", flat=True)
    if newest is None:
        return
    at = now()
    mark, created = await MessageThreadRead.get_or_create(
        thread_id=thread_id, agent_id=user_id, defaults={"last_read_message_id": newest, "last_read_at": at})
    if not created:
        await MessageThreadRead.filter(id=mark.id, last_read_message_id__lt=newest).update(
            last_read_message_id=newest, last_read_at=at)
    await MessageMessage.filter(thread_id=thread_id, from_staff=False, read_at__isnull=True, id__lte=newest) \
        .update(read_at=at)


async def mark_read(actor: Actor, thread_id: int) -> MessageThread:
    """Mark the other side's messages of the thread as read: for an agent, in their own read state
    (the other agents of the service still see them unread); for a family, for its household."""
    thread = await get_thread(actor, thread_id)
    if actor.is_staff:
        async with in_transaction():
            await _agent_read(thread.id, require_user(actor).id)
    else:
        await MessageMessage.filter(thread_id=thread.id, from_staff=True, read_at__isnull=True).update(read_at=now())
    return thread


async def assign(actor: Actor, thread_id: int, agent_id: int | None) -> MessageThread:
    """Give the thread to an agent of its service (None: nobody)."""
    thread = await get_thread(actor, thread_id)
    require_staff(actor, thread.service)
    if agent_id is not None:
        agent = await User.get_or_none(id=agent_id, is_active=True)
        if agent is None or agent.role not in (Role.AGENT, Role.ADMIN) or (
                agent.role == Role.AGENT and thread.service not in (agent.services or [])):
            raise ValidationError("Cet agent n'appartient pas au service de la conversation.",
                                  code="INVALID_AGENT", field="agentId")
    await MessageThread.filter(id=thread.id).update(assigned_to_id=agent_id)
    return await get_thread(actor, thread.id)


async def set_closed(actor: Actor, thread_id: int, closed: bool) -> MessageThread:
    thread = await get_thread(actor, thread_id)
    require_staff(actor, thread.service)
    wanted = ThreadStatus.CLOSED if closed else ThreadStatus.OPEN
    if thread.status == wanted:
        raise Conflict("La conversation est déjà clôturée." if closed else "La conversation est déjà ouverte.",
                       code="ALREADY_CLOSED" if closed else "ALREADY_OPEN", field="threadId")
    await MessageThread.filter(id=thread.id).update(status=wanted, closed_at=now() if closed else None)
    return await get_thread(actor, thread.id)


# ---- subscription --------------------------------------------------------------------------------
async def message_for_event(actor: Actor, event: dict[str, Any]) -> MessageMessage | None:
    """The message an event announces, re-checked against the caller (None when not theirs)."""
    message = await MessageMessage.get_or_none(id=int(event.get("message_id", 0))) \
        .select_related("thread", "author")
    if message is None or not can_see(actor, message.thread):
        return None
    return message


# ---- hooks ---------------------------------------------------------------------------------------
async def download_attachment(actor: Actor, object_id: str) -> FileDownload:
    """`/files/message_attachment/<id>`: participants of the thread only, anyone else NotFound."""
    require_user(actor)
    attachment_id = download_id(object_id, "pièce jointe")
    attachment = await MessageAttachment.get_or_none(id=attachment_id).select_related("message__thread", "file")
    if attachment is None or not can_see(actor, attachment.message.thread):
        raise NotFound("pièce jointe")
    stored = attachment.file
    return FileDownload(filename=stored.original_filename, content_type=stored.content_type,
                        content=read_bytes(stored))


async def alerts(actor: Actor, household_id: int) -> list[Alert]:
    """« MESSAGES (2) » on the home page: unread service messages of the household."""
    count = sum((await family_unread_counts(household_id)).values())
    if not count:
        return []
    text = "Vous avez 1 message non lu." if count == 1 else f"Vous avez {count} messages non lus."
    return [Alert(code="unread_messages", message=text, count=count, link="/messages")]


async def rgpd_export(household_id: int) -> dict[str, Any]:
    threads = await MessageThread.filter(household_id=household_id).order_by("id")
    ids = [t.id for t in threads]
    by_thread = await messages_of(ids)
    files = await attachments_of([m.id for ms in by_thread.values() for m in ms])
    return {"threads": [
        {"service": t.service, "serviceName": service_name(t.service), "status": t.status,
         "createdAt": t.created_at.isoformat(), "childId": t.child_id,  # type: ignore[attr-defined]
         "messages": [{"fromStaff": m.from_staff, "body": m.body, "createdAt": m.created_at.isoformat(),
                       "readAt": m.read_at.isoformat() if m.read_at else None,
                       "attachments": [a.file.original_filename for a in files.get(m.id, [])]}
                      for m in by_thread.get(t.id, [])]}
        for t in threads], "tables": await export_tables("messagerie", household_id)}


async def rgpd_retention(policy: RetentionPolicy, today: date, dry_run: bool) -> dict[str, int]:
    """Threads whose last message is older than `messages_months` go with their messages and
    attachments (core then purges the attached files nothing points to any more)."""
    cutoff = datetime.combine(policy.cutoff_months(today, policy.messages_months), time.min, tzinfo=UTC)
    old = MessageThread.filter(last_message_at__lt=cutoff)
    ids = list(await old.values_list("id", flat=True))
    done = {"threads": len(ids), "messages": await MessageMessage.filter(thread_id__in=ids or [0]).count()}
    if not dry_run and ids:
        await MessageThread.filter(id__in=ids).delete()
    return done


async def rgpd_erase(household_id: int) -> None:
    """Messages are not accounting documents: threads, messages and attached files are deleted."""
    file_ids = await MessageAttachment.filter(message__thread__household_id=household_id) \
        .values_list("file_id", flat=True)
    stored = await StoredFile.filter(id__in=list(file_ids)) if file_ids else []
    async with in_transaction():
        await MessageThread.filter(household_id=household_id).delete()
        if stored:
            await StoredFile.filter(id__in=[s.id for s in stored]).delete()
    for s in stored:
        delete_bytes(s)


# ---- demo ----------------------------------------------------------------------------------------
DEMO_SERVICE = "creche_la_ritournelle"
DEMO_AGENT = "agent.creche@demo.portail-famille.fr"


async def load_demo(settings: Any, today: Any) -> None:
    """TESTBO wrote to La Ritournelle, which answered twice (both unread: « MESSAGES (2) »)."""
    from datetime import timedelta

    from core.demo import load_core_demo

    # PluginHost.demo_data currently runs plugins before core (reversed LIFO order): make sure the
    # core demo (idempotent) exists first.
    await load_core_demo(settings, today)
    household = await Household.get_or_none(name="TESTBO")
    if household is None or await MessageThread.exists(household_id=household.id, service=DEMO_SERVICE):
        return
    parent = await User.filter(household_id=household.id, role=Role.FAMILY).order_by("id").first()
    agent = await User.get_or_none(email=DEMO_AGENT)
    child = await Child.filter(household_id=household.id).order_by("id").first()
    start = now() - timedelta(days=2)
    script = [
        (parent, False, "Bonjour, Elena aura un rendez-vous chez le pédiatre jeudi matin : nous la déposerons "
                        "vers 11h. Pouvez-vous prévoir son repas ? Merci, Patricia TESTBO", start, start),
        (agent, True, "Bonjour Madame TESTBO, c'est noté : le repas d'Elena est prévu jeudi. "
                      "Pensez à signaler l'absence du matin dans « Mes démarches ».", start + timedelta(hours=3), None),
        (agent, True, "Petite précision : merci d'apporter le carnet de santé après le rendez-vous. "
                      "Bonne journée, l'équipe de La Ritournelle", start + timedelta(hours=4), None),
    ]
    async with in_transaction():
        thread = await MessageThread.create(household=household, service=DEMO_SERVICE, child=child,
                                            created_by=parent, assigned_to=agent, last_message_at=script[-1][3])
        for author, from_staff, body, at, read_at in script:
            message = await MessageMessage.create(thread=thread, author=author, from_staff=from_staff, body=body,
                                                  read_at=read_at)
            await MessageMessage.filter(id=message.id).update(created_at=at)
        await MessageThread.filter(id=thread.id).update(created_at=start)
