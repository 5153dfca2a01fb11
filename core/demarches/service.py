"""Démarche use cases: a family submits a typed request (with attachments), follows it; the agents
of the service it is addressed to process it and the family gets a mail."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from core.config import get_settings
from core.contributions import DemarcheType, FileDownload
from core.db import visible_page
from core.demarches.models import Demarche, DemarcheAttachment
from core.demarches.rules import (
    check_processing,
    child_of,
    find_type,
    service_of,
    validate_data,
    with_handling_services,
    with_service_choices,
)
from core.errors import NotFound, ValidationError
from core.files.service import download_id, read_bytes, read_upload, store_bytes
from core.households.models import Child
from core.mail.service import queue_mail
from core.permissions import (
    Actor,
    own_household_id,
    require_confirmed,
    require_staff,
    staff_need_to_know,
)
from core.plugins import get_host
from core.timeutil import now

MAX_ATTACHMENTS = 5
STATUS_LABELS = {"submitted": "transmise", "in_progress": "en cours de traitement", "accepted": "acceptée",
                 "refused": "refusée", "closed": "close"}


def demarche_types() -> list[DemarcheType]:
    """Built-in types plus the plugins' ones, each with the code of the service that handles it
    (`[demarches] handling_services`, else the type's default), the "service" choice filled with the
    community's services."""
    settings = get_settings()
    services = [(s.code, s.kind) for s in settings.services]
    types = with_handling_services(get_host().demarche_types(), settings.demarches.handling_services, services)
    return with_service_choices(types, (code for code, _ in services))


async def _visible(actor: Actor, demarches: list[Demarche]) -> list[Demarche]:
    """Admins see all; agents the démarches of their services, and those addressed to no service (a
    move, a PAI…) in households using one of their services (need-to-know, core.permissions)."""
    if actor.is_admin:
        return demarches
    serviceless = {d.household_id for d in demarches if not d.service_code}  # type: ignore[attr-defined]
    scope = await staff_need_to_know(actor, serviceless) if serviceless else {}
    return [d for d in demarches if (d.service_code in actor.services if d.service_code
                                     else bool(scope and scope[d.household_id]))]  # type: ignore[attr-defined]


async def _visible_to(actor: Actor, demarche: Demarche) -> bool:
    return bool(await _visible(actor, [demarche]))


async def submit_demarche(actor: Actor, type_code: str, data: dict[str, Any] | None,
                          child_id: int | None = None, attachments: list[Any] | None = None) -> Demarche:
    user = require_confirmed(actor)
    household_id = own_household_id(actor)
    dtype = find_type(demarche_types(), type_code)
    child_ids = list(await Child.filter(household_id=household_id).values_list("id", flat=True))
    if child_id is not None and child_id not in child_ids:
        raise NotFound("enfant")
    data = dict(data or {}) if isinstance(data, dict) else data
    child_fields = [f for f in dtype.fields if f.kind == "child"]
    if child_id is not None and child_fields and isinstance(data, dict) and not data.get(child_fields[0].name):
        data[child_fields[0].name] = child_id
    clean = validate_data(dtype.fields, data, child_ids)
    attachments = [a for a in (attachments or []) if a is not None]
    if attachments and not dtype.allows_attachments:
        raise ValidationError("Cette démarche n'accepte pas de pièce jointe.", code="ATTACHMENTS_NOT_ALLOWED",
                              field="attachments")
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationError(f"{MAX_ATTACHMENTS} pièces jointes au plus.", code="TOO_MANY_FILES",
                              field="attachments")
    # Read and check every file before storing any of them.
    from core.files.service import check_size, sniff

    files = []
    for upload in attachments:
        filename, content = await read_upload(upload)
        try:
            check_size(content)
            sniff(content)
        except ValidationError as exc:
            exc.field = "attachments"
            raise
        files.append((filename, content))
    async with in_transaction():
        demarche = await Demarche.create(household_id=household_id, child_id=child_of(dtype.fields, clean) or child_id,
                                         type_code=dtype.code, service_code=service_of(dtype, clean), data=clean,
                                         created_by=user)
        for filename, content in files:
            stored = await store_bytes(filename, content, household_id=household_id, uploaded_by_id=user.id)
            await DemarcheAttachment.create(demarche=demarche, file=stored)
    return await _load(demarche.id)


async def _load(demarche_id: int) -> Demarche:
    return await Demarche.get(id=demarche_id).select_related("child").prefetch_related("attachments__file")


def my_demarches_query(actor: Actor) -> Any:
    """The family's own démarches, newest first (then newest id)."""
    household_id = own_household_id(actor)
    return Demarche.filter(household_id=household_id).select_related("child") \
        .prefetch_related("attachments__file").order_by("-created_at", "-id")


async def my_demarches(actor: Actor) -> list[Demarche]:
    return list(await my_demarches_query(actor))


async def staff_demarches(actor: Actor, status: str | None = None, service: str | None = None, limit: int = 50,
                          offset: int = 0) -> tuple[int, list[Demarche]]:
    """Staff: `(total, page)` of the démarches of their services (and those addressed to no service in
    households they need to know), oldest first (first come, first processed)."""
    require_staff(actor)
    if service:
        require_staff(actor, service)
    query = Demarche.all()
    if status:
        query = query.filter(status=status)
    if service:
        query = query.filter(service_code=service)
    elif not actor.is_admin:
        query = query.filter(service_code__in=[*actor.services, ""])
    query = query.order_by("created_at", "id")
    return await visible_page(
        query, limit, offset, lambda rows: _visible(actor, rows), ("service_code", "household_id"),
        lambda ids: Demarche.filter(id__in=ids).select_related("child", "household")
        .prefetch_related("attachments__file"))


async def process_demarche(actor: Actor, demarche_id: int, status: str, response: str | None = None) -> Demarche:
    """Staff move a démarche on (in progress, accepted, refused with a response, closed); mail to the family."""
    user = require_staff(actor)
    async with in_transaction():
        demarche = await Demarche.get_or_none(id=demarche_id).select_related("household", "created_by")
        if demarche is None or not await _visible_to(actor, demarche):
            raise NotFound("démarche")
        response = check_processing(demarche.status, status, response)
        demarche.status = status
        demarche.response = response
        demarche.processed_by = user
        demarche.processed_at = now()
        await demarche.save(update_fields=["status", "response", "processed_by_id", "processed_at"])
        household = demarche.household
        to = demarche.created_by.email if demarche.created_by else household.email
        if to:
            label = next((t.label for t in demarche_types() if t.code == demarche.type_code), demarche.type_code)
            await queue_mail(to, "mail/demarche_processed",
                             {"demarche": demarche, "label": label, "status_label": STATUS_LABELS.get(status, status),
                              "response": response, "household": household},
                             household_id=household.id)
    return await _load(demarche.id)


async def download_attachment(actor: Actor, object_id: str) -> FileDownload:
    """`/files/demarche_attachment/<id>`: the family that sent it, or staff who may see the démarche."""
    from core.permissions import require_user

    require_user(actor)
    attachment_id = download_id(object_id, "pièce jointe")
    attachment = await DemarcheAttachment.get_or_none(id=attachment_id).select_related("demarche", "file")
    if attachment is None:
        raise NotFound("pièce jointe")
    demarche = attachment.demarche
    allowed = (actor.is_staff and await _visible_to(actor, demarche)) or \
        (actor.is_family and actor.household_id == demarche.household_id)  # type: ignore[attr-defined]
    if not allowed:
        raise NotFound("pièce jointe")
    stored = attachment.file
    return FileDownload(filename=stored.original_filename, content_type=stored.content_type,
                        content=read_bytes(stored))


async def staff_demarche(actor: Actor, demarche_id: int) -> Demarche:
    require_staff(actor)
    demarche = await Demarche.get_or_none(id=demarche_id)
    if demarche is None or not await _visible_to(actor, demarche):
        raise NotFound("démarche")
    return await _load(demarche.id)
