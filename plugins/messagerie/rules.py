"""Pure rules of the messagerie: message text, the "waiting for an answer" indicator, who sees which
real-time event, and the plugin configuration. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import ValidationError

MAX_BODY_LENGTH = 10_000
MAX_ATTACHMENTS = 5
PREVIEW_LENGTH = 120
BACKENDS = ("auto", "postgres", "redis", "memory")


def clean_body(body: str | None) -> str:
    """The message as stored: surrounding blanks removed, never empty, bounded.

    "  Bonjour  " -> "Bonjour"; "   " -> EMPTY_MESSAGE (field body).
    """
    value = (body or "").strip()
    if not value:
        raise ValidationError("Le message ne peut pas être vide.", code="EMPTY_MESSAGE", field="body")
    if len(value) > MAX_BODY_LENGTH:
        raise ValidationError(f"Le message ne doit pas dépasser {MAX_BODY_LENGTH} caractères.",
                              code="MESSAGE_TOO_LONG", field="body")
    return value


def check_attachment_count(count: int) -> None:
    if count > MAX_ATTACHMENTS:
        raise ValidationError(f"Vous pouvez joindre au plus {MAX_ATTACHMENTS} fichiers par message.",
                              code="TOO_MANY_ATTACHMENTS", field="attachments")


def preview(body: str, length: int = PREVIEW_LENGTH) -> str:
    """First characters of a message on one line: "Bonjour,\\nmerci" -> "Bonjour, merci"."""
    flat = " ".join(body.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def next_awaiting_since(current: datetime | None, from_staff: bool, at: datetime) -> datetime | None:
    """When the family started waiting for an answer, after a new message.

    Family writes at 9:00 -> waiting since 9:00. Family writes again at 10:00 -> still 9:00.
    Service answers at 11:00 -> no longer waiting (None).
    """
    if from_staff:
        return None
    return current or at


def unanswered_minutes(awaiting_since: datetime | None, at: datetime) -> int | None:
    """Whole minutes since the first unanswered family message (None when nobody waits)."""
    if awaiting_since is None:
        return None
    return max(0, int((at - awaiting_since).total_seconds() // 60))


@dataclass(frozen=True)
class Viewer:
    """What a subscriber may see: the family's household, or the agent's services (all for admins)."""

    household_id: int | None
    services: frozenset[str]
    is_staff: bool
    is_admin: bool


def event_visible_to(event: dict[str, Any], viewer: Viewer) -> bool:
    """A new-message event reaches the household of the thread and the staff of its service."""
    if viewer.is_admin:
        return True
    if viewer.is_staff:
        return event.get("service") in viewer.services
    return viewer.household_id is not None and event.get("household_id") == viewer.household_id


def choose_backend(config: dict[str, Any], database_url: str) -> str:
    """The real-time backend: explicit choice, else "auto" = Redis when `redis_url` is set,
    PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL, else in-process memory (dev only)."""
    wanted = str(config.get("realtime_backend", "auto")).strip().lower()
    if wanted not in BACKENDS:
        raise ValueError(f"[plugin.messagerie] realtime_backend doit valoir {', '.join(BACKENDS)} "
                         f"(reçu « {wanted} »)")
    if wanted == "redis" and not config.get("redis_url"):
        raise ValueError("[plugin.messagerie] realtime_backend = \"redis\" demande redis_url")
    if wanted == "postgres" and not database_url.startswith("postgres"):
        raise ValueError("[plugin.messagerie] realtime_backend = \"postgres\" demande une base PostgreSQL")
    if wanted != "auto":
        return wanted
    if config.get("redis_url"):
        return "redis"
    if database_url.startswith("postgres"):
        return "postgres"
    return "memory"


def mail_includes_body(config: dict[str, Any]) -> bool:
    """Whether the "the service answered" mail quotes the message (default: yes)."""
    value = config.get("mail_includes_body", True)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "oui"}
    return bool(value)
