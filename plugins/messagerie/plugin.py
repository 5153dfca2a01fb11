"""Hook implementations of the messagerie plugin: threads between families and services,
contacts directory, attachments, mail on answers, home alerts, RGPD, real-time subscription."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from core.config import Settings
from core.contributions import Alert, DownloadHandler, GraphQLContribution
from core.hookspecs import hookimpl
from core.permissions import Actor

APP = "messagerie"


class MessagerieSettings(BaseModel):
    """`[plugin.messagerie]`."""

    model_config = ConfigDict(extra="forbid")
    mail_includes_body: bool = True
    realtime_backend: Literal["auto", "postgres", "redis", "memory"] = "auto"
    redis_url: str = ""
    realtime_channel: str = "portail_messagerie"


@hookimpl
def portail_config_model() -> type[BaseModel]:
    return MessagerieSettings


@hookimpl
def portail_models() -> dict[str, list[str]]:
    return {APP: ["plugins.messagerie.models"]}


@hookimpl
def portail_template_dirs() -> dict[str, str]:
    return {APP: str(Path(__file__).with_name("templates"))}


@hookimpl
def portail_graphql() -> GraphQLContribution:
    from plugins.messagerie.graphql import contribution

    return contribution


@hookimpl
def portail_error_codes() -> dict[str, str]:
    """Every code this plugin raises, for the schema's `ErrorCode` enum (docs/graphql.md)."""
    return {
        "UNKNOWN_SERVICE": "No service of this code in the community's configuration.",
        "INVALID_STATUS": "Unknown thread status filter.",
        "EMPTY_MESSAGE": "The message body is empty.",
        "MESSAGE_TOO_LONG": "The message body is longer than allowed.",
        "TOO_MANY_ATTACHMENTS": "Too many files attached to one message.",
        "THREAD_CLOSED": "The thread is closed: the family starts a new one (an agent reopens it first).",
        "INVALID_AGENT": "The agent to assign does not belong to the thread's service.",
        "ALREADY_CLOSED": "The thread is already closed.",
        "ALREADY_OPEN": "The thread is already open.",
    }


@hookimpl
def portail_downloads() -> dict[str, DownloadHandler]:
    from plugins.messagerie.graphql import downloads

    return dict(downloads)


@hookimpl
def portail_startup(settings: Settings) -> None:
    """Refuse a misspelt real-time backend at start-up rather than at the first message."""
    from plugins.messagerie.rules import choose_backend

    choose_backend(settings.plugin_config(APP), settings.database_url)


@hookimpl
async def portail_household_services(household_ids: list[int]) -> dict[int, set[str]]:
    from plugins.messagerie.models import MessageThread

    used: dict[int, set[str]] = {}
    for hid, code in await MessageThread.filter(household_id__in=household_ids).distinct() \
            .values_list("household_id", "service"):
        used.setdefault(hid, set()).add(code)
    return used


@hookimpl
async def portail_alerts(actor: Actor, household_id: int) -> list[Alert]:
    from plugins.messagerie.service import alerts

    return await alerts(actor, household_id)


@hookimpl
async def portail_rgpd_export(household_id: int) -> dict[str, Any]:
    from plugins.messagerie.service import rgpd_export

    return await rgpd_export(household_id)


@hookimpl
async def portail_rgpd_erase(household_id: int) -> None:
    from plugins.messagerie.service import rgpd_erase

    await rgpd_erase(household_id)


@hookimpl
async def portail_rgpd_retention(policy: Any, today: date, dry_run: bool) -> dict[str, int]:
    from plugins.messagerie.service import rgpd_retention

    return await rgpd_retention(policy, today, dry_run)


@hookimpl
async def portail_demo_data(settings: Settings, today: date) -> None:
    from plugins.messagerie.service import load_demo

    await load_demo(settings, today)
