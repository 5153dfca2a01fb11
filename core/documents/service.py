"""Document use cases: send (family), review (staff), list, download, and what is still missing.

`missing_documents(household_id, service, child_id=None)` is THE interface plugins use to block a
booking until the documents their service requires are accepted.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from core.compiled_query import BoundQuery, CompiledQuery
from core.config import get_settings
from core.contributions import DocumentType, FileDownload
from core.db import visible_page
from core.documents.models import Document, DocumentStatus
from core.documents.rules import (
    DocumentFact,
    MissingDocument,
    check_review,
    check_scope,
    find_type,
    missing_for_service,
    requirer_label,
)
from core.errors import NotFound
from core.files.service import download_id, read_bytes, store_upload
from core.households.models import Child, Household
from core.mail.service import queue_mail
from core.permissions import (
    Actor,
    document_type_needed,
    own_household_id,
    require_confirmed,
    require_household,
    require_staff,
    require_user,
    staff_need_to_know,
)
from core.plugins import get_host
from core.timeutil import now

__all__ = ["MissingDocument", "missing_documents", "document_types", "upload_document", "my_documents",
           "pending_documents", "review_document", "household_documents", "download_document",
           "document_requirements"]


def document_types() -> list[DocumentType]:
    """Core's configured types plus the plugins' ones."""
    return get_host().document_types()


def requirer(code: str) -> tuple[str, list[str]]:
    """(label, establishment names) of a `required_by` code: a configured service's name, else the
    label its plugin supplies (portail_services)."""
    return requirer_label(code, ((s.code, s.name, s.kind) for s in get_settings().services), get_host().services())


def covers(required_by: str, service: str) -> bool:
    """A `required_by` code concerns `service` when it is that code or a plugin code covering it
    ("creche" covers the configured crèche "creche_au_fil_de_l_eau")."""
    if required_by == service:
        return True
    configured = get_settings().service(service)
    return configured is not None and configured.name in requirer(required_by)[1]


def _facts(docs: list[Document]) -> list[DocumentFact]:
    return [DocumentFact(d.id, d.type_code, d.child_id, d.status) for d in docs]  # type: ignore[attr-defined]


async def missing_documents(household_id: int, service: str, child_id: int | None = None) -> list[MissingDocument]:
    """Documents `service` requires that have no accepted version, for the household and each child
    (or only `child_id`). Plugins call this before accepting a booking or a pre-registration."""
    if child_id is not None:
        child_ids = [child_id]
    else:
        child_ids = await Child.filter(household_id=household_id).order_by("id").values_list("id", flat=True)
    docs = await Document.filter(household_id=household_id)
    asked = await asked_requirements(household_id, list(child_ids))
    return missing_for_service(document_types(), _facts(docs), service, list(child_ids), asked)


async def asked_requirements(household_id: int, child_ids: list[int]) -> set[tuple[str, int | None]]:
    """Where the conditional document types are required (their plugins decide); no call when none is."""
    if not any(t.conditional for t in document_types()):
        return set()
    return await get_host().document_requirements(household_id, child_ids)


async def household_facts(household_id: int) -> tuple[list[DocumentFact], list[int]]:
    docs = await Document.filter(household_id=household_id)
    child_ids = await Child.filter(household_id=household_id).order_by("id").values_list("id", flat=True)
    return _facts(docs), list(child_ids)


async def requirement_facts(household_id: int) -> tuple[list[DocumentFact], list[int], set[tuple[str, int | None]]]:
    """The household's documents, children and conditional requirements: all `missing_for_service` needs."""
    facts, child_ids = await household_facts(household_id)
    return facts, child_ids, await asked_requirements(household_id, child_ids)


async def document_requirements(actor: Actor, service: str | None = None) -> list[dict[str, Any]]:
    """For the family: per required type, the services requiring it and what is still missing."""
    household_id = own_household_id(actor)
    facts, child_ids, asked = await requirement_facts(household_id)
    types = document_types()
    codes = sorted({c for t in types for c in t.required_by if service is None or c == service})
    out = []
    for code in codes:
        label, establishments = requirer(code)
        out.append({"service": code, "label": label, "establishments": establishments,
                    "missing": missing_for_service(types, facts, code, child_ids, asked)})
    return out


async def _child_of(household_id: int, child_id: int | None) -> Child | None:
    if child_id is None:
        return None
    child = await Child.get_or_none(id=child_id, household_id=household_id)
    if child is None:
        raise NotFound("enfant")
    return child


async def upload_document(actor: Actor, upload: Any, type_code: str, child_id: int | None = None) -> Document:
    """« Envoyer un document »: everything is checked before a byte is stored."""
    user = require_confirmed(actor)
    household_id = own_household_id(actor)
    doc_type = find_type(document_types(), type_code)
    check_scope(doc_type, child_id)
    await _child_of(household_id, child_id)
    async with in_transaction():
        stored = await store_upload(upload, household_id=household_id, uploaded_by_id=user.id)
        doc = await Document.create(household_id=household_id, child_id=child_id, type_code=doc_type.code,
                                    file=stored, uploaded_by=user)
    return await Document.get(id=doc.id).select_related("child", "file")


HOUSEHOLD_DOCUMENTS = CompiledQuery(lambda household_id: Document.filter(household_id=household_id)
                                    .select_related("child", "file").order_by("-uploaded_at", "-id"))


def my_documents_query(actor: Actor) -> BoundQuery[Document]:
    """The family's own documents, newest upload first (then newest id)."""
    return HOUSEHOLD_DOCUMENTS.bind(own_household_id(actor))


async def my_documents(actor: Actor) -> list[Document]:
    return await my_documents_query(actor).all()


async def visible_to(actor: Actor, docs: list[Document]) -> list[Document]:
    """The documents the caller needs to know (core.permissions), one batched lookup. For an agent:
    a type one of their services REQUIRES, in any household (a family sends those before it may use
    the service, so its agents review them first); a type one of their services only HANDLES (a signed
    contract, an absence certificate, a RIB) in a household using that service. Admins: all."""
    require_user(actor)
    if actor.is_admin:
        return docs
    if not actor.is_staff:
        return []
    types = {t.code: t for t in document_types()}
    required = {code for code, t in types.items() if document_type_needed(t.required_by, actor.services)}
    handled = [d for d in docs if d.type_code not in required]
    scope = await staff_need_to_know(actor, {d.household_id for d in handled}) if handled else {}  # type: ignore[attr-defined]
    return [d for d in docs if d.type_code in required
            or (d.type_code in types and scope
                and document_type_needed(types[d.type_code].handled_by, scope[d.household_id]))]  # type: ignore[attr-defined]


async def _require_visible(actor: Actor, doc: Document) -> None:
    if actor.is_family:
        require_household(actor, doc.household_id, "document")  # type: ignore[attr-defined]
    elif not await visible_to(actor, [doc]):
        raise NotFound("document")


def _full(ids: list[int]) -> Any:
    return Document.filter(id__in=ids).select_related("child", "file", "household")


async def household_documents(actor: Actor, household_id: int, limit: int = 50,
                              offset: int = 0) -> tuple[int, list[Document]]:
    """Staff: `(total, page)` of a household's documents they need to know, newest upload first."""
    require_staff(actor)
    if not await Household.exists(id=household_id):
        raise NotFound("foyer")
    query = Document.filter(household_id=household_id).order_by("-uploaded_at", "-id")
    return await visible_page(query, limit, offset, lambda docs: visible_to(actor, docs),
                              ("type_code", "household_id"), _full)


async def pending_documents(actor: Actor, service: str | None = None, limit: int = 50,
                            offset: int = 0) -> tuple[int, list[Document]]:
    """`(total, page)` of the documents awaiting review that the caller needs to know, oldest upload first
    (first come, first reviewed), optionally only the types `service` requires."""
    require_staff(actor)
    query = Document.filter(status=DocumentStatus.PENDING)
    if service:
        codes = [t.code for t in document_types() if any(covers(r, service) for r in t.required_by)]
        query = query.filter(type_code__in=codes)
    query = query.order_by("uploaded_at", "id")
    return await visible_page(query, limit, offset, lambda docs: visible_to(actor, docs),
                              ("type_code", "household_id"), _full)


async def review_document(actor: Actor, document_id: int, accept: bool, reason: str | None = None) -> Document:
    """Accept, or refuse with a reason the family receives by mail."""
    user = require_staff(actor)
    reason = check_review(accept, reason)
    async with in_transaction():
        doc = await Document.get_or_none(id=document_id).select_related("household", "uploaded_by", "child")
        if doc is None:
            raise NotFound("document")
        # A sport agent reviewing a crèche proof is refused like a missing document.
        await _require_visible(actor, doc)
        doc.status = DocumentStatus.ACCEPTED if accept else DocumentStatus.REFUSED
        doc.refusal_reason = "" if accept else reason
        doc.reviewed_by = user
        doc.reviewed_at = now()
        await doc.save(update_fields=["status", "refusal_reason", "reviewed_by_id", "reviewed_at"])
        if not accept:
            household: Household = doc.household
            to = doc.uploaded_by.email if doc.uploaded_by else household.email
            if to:
                label = next((t.label for t in document_types() if t.code == doc.type_code), doc.type_code)
                await queue_mail(to, "mail/document_refused",
                                 {"document": doc, "label": label, "reason": reason, "household": household,
                                  "child": doc.child},
                                 household_id=household.id)
    return await Document.get(id=doc.id).select_related("child", "file")


async def download_document(actor: Actor, object_id: str) -> FileDownload:
    """`/files/document/<id>`: the owner household or staff; anyone else gets NotFound."""
    require_user(actor)
    document_id = download_id(object_id, "document")
    doc = await Document.get_or_none(id=document_id).select_related("file")
    if doc is None:
        raise NotFound("document")
    await _require_visible(actor, doc)
    stored = doc.file
    return FileDownload(filename=stored.original_filename, content_type=stored.content_type,
                        content=read_bytes(stored))
