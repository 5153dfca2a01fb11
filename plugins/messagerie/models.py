"""Tortoise models of the messagerie plugin: threads between a household and a service, their
messages (with read marks) and attachments."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ThreadStatus:
    OPEN = "open"
    CLOSED = "closed"
    ALL = (OPEN, CLOSED)


class MessageThread(Model):
    """A conversation between one household and one service of the community."""

    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="message_threads", on_delete=fields.CASCADE)
    # Service code from the community configuration (settings.services).
    service = fields.CharField(max_length=64, db_index=True)
    child = fields.ForeignKeyField("core.Child", related_name="message_threads", null=True,
                                   on_delete=fields.SET_NULL)
    status = fields.CharField(max_length=10, default=ThreadStatus.OPEN, db_index=True)
    assigned_to = fields.ForeignKeyField("core.User", related_name="assigned_message_threads", null=True,
                                         on_delete=fields.SET_NULL)
    created_by = fields.ForeignKeyField("core.User", related_name="created_message_threads", null=True,
                                        on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_message_at = fields.DatetimeField(db_index=True)
    # Oldest family message not yet answered by the service (null when the service spoke last).
    awaiting_reply_since = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "messagerie_thread"


class MessageMessage(Model):
    """One message of a thread, written by the family or by an agent of the service."""

    id = fields.IntField(primary_key=True)
    thread = fields.ForeignKeyField("messagerie.MessageThread", related_name="messages", on_delete=fields.CASCADE)
    author = fields.ForeignKeyField("core.User", related_name="messages_written", null=True,
                                    on_delete=fields.SET_NULL)
    from_staff = fields.BooleanField(default=False)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    # Set when the other side first opened it: the family for a staff message; for a family message,
    # the first agent who read it (« lu par le service »). Each agent's own unread state is in
    # MessageThreadRead.
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "messagerie_message"


class MessageThreadRead(Model):
    """Where one agent stopped reading a thread: the service side's read state is per agent (two
    agents of a crèche each see their own « non lu »), the family side keeps `MessageMessage.read_at`.
    `last_read_message_id`: the newest message of the thread when the agent last read it (ids grow)."""

    id = fields.IntField(primary_key=True)
    thread = fields.ForeignKeyField("messagerie.MessageThread", related_name="reads", on_delete=fields.CASCADE)
    agent = fields.ForeignKeyField("core.User", related_name="message_thread_reads", on_delete=fields.CASCADE)
    last_read_message_id = fields.IntField(default=0)
    last_read_at = fields.DatetimeField()

    class Meta:
        table = "messagerie_thread_read"
        unique_together = (("thread", "agent"),)


class MessageAttachment(Model):
    """A file attached to a message (PNG, JPEG or PDF checked from its bytes)."""

    id = fields.IntField(primary_key=True)
    message = fields.ForeignKeyField("messagerie.MessageMessage", related_name="attachments",
                                     on_delete=fields.CASCADE)
    file = fields.ForeignKeyField("core.StoredFile", related_name="message_attachments", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "messagerie_attachment"
