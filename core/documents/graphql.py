"""GraphQL of documents: types, « Envoyer un document », my documents, what is missing, staff review.

Files are served at `/files/document/<id>` by the `downloads` handler below.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.contributions import DocumentType as DocumentTypeValue
from core.contributions import GraphQLContribution
from core.documents import service
from core.documents.models import Document
from core.documents.models import DocumentStatus as StoredStatus
from core.documents.rules import MissingDocument
from core.graphql_support import (
    DEFAULT_PAGE_SIZE,
    LabelledEnum,
    Limit,
    Offset,
    Page,
    actor,
    check_page,
    graphql_enum,
    paginate,
    parse_id,
)

A = strawberry.argument
ServiceArg = Annotated[str | None, strawberry.argument(name="service", description=(
    "A service code (`[[services]]`) or plugin name: only the document types it requires; null: all."))]


class DocumentScope(LabelledEnum):
    HOUSEHOLD = ("household", "Foyer", "One document for the whole household (proof of address, tax notice…).")
    CHILD = ("child", "Enfant", "One document per child (vaccinations, PAI…): upload with `childId`.")


class DocumentStatus(LabelledEnum):
    PENDING = (StoredStatus.PENDING, "En attente de validation", "Sent, not reviewed yet.")
    ACCEPTED = (StoredStatus.ACCEPTED, "Validé", "Accepted by an agent.")
    REFUSED = (StoredStatus.REFUSED, "Refusé", "Refused by an agent (`refusalReason`): send a new one.")


class MissingDocumentStatus(LabelledEnum):
    MISSING = ("missing", "À transmettre", "Never sent: the family must send it.")
    PENDING = ("pending", "En attente de validation", "Sent, awaiting review: nothing to do but wait.")
    REFUSED = ("refused", "Refusé", "The latest one sent was refused: send a new one.")


class DocumentDecision(LabelledEnum):
    ACCEPT = ("accept", "Valider", "Accept the document.")
    REFUSE = ("refuse", "Refuser", "Refuse it: `reason` is required and mailed to the family.")


graphql_enum(DocumentScope, description="Whether a document type is sent once per household or per child.")
graphql_enum(DocumentStatus, description="The review state of a sent document.")
graphql_enum(MissingDocumentStatus, description="Why a required document is listed as still to do.")
graphql_enum(DocumentDecision, description="An agent's decision on a sent document.")


@strawberry.type(description="A service or plugin that requires a document type before a family may use it.")
class DocumentRequirer:
    code: str = strawberry.field(description="The service code or plugin name.")
    label: str = strawberry.field(description="Its French name to show.")
    establishments: list[str] = strawberry.field(description=(
        "Names of its establishments, to show. Not paginated: one service's establishments."))


@strawberry.type(name="DocumentType", description=(
    "A kind of document a family may send (core's and the plugins'); anyone may read the list."))
class DocumentTypeInfo:
    code: str = strawberry.field(description="The type's code (for `uploadDocument(typeCode:)`).")
    label: str = strawberry.field(description="French name to show (« Attestation CAF »).")
    scope: DocumentScope = strawberry.field(description="Per household or per child.")
    help: str = strawberry.field(description="French hint on what to send, \"\" when none.")
    required_by: list[DocumentRequirer] = strawberry.field(description=(
        "The services that require it. Not paginated: a few services."))

    @strawberry.field(description="The scope's French label to show.")
    def scope_label(self) -> str:
        return self.scope.label

    @classmethod
    def from_value(cls, t: DocumentTypeValue) -> DocumentTypeInfo:
        requirers = []
        for code in t.required_by:
            label, names = service.requirer(code)
            requirers.append(DocumentRequirer(code=code, label=label, establishments=names))
        return cls(code=t.code, label=t.label, scope=DocumentScope(t.scope), help=t.help, required_by=requirers)


@strawberry.type(name="Document", description=(
    "A document a family sent. The family sees its own; agents those their services need to know; admins all. "
    "The file is at `downloadUrl`."))
class FamilyDocument:
    id: strawberry.ID = strawberry.field(description="The document's id.")
    type_code: str = strawberry.field(description="Its type's code (`DocumentType.code`).")
    type_label: str = strawberry.field(description="Its type's French name to show.")
    household_id: strawberry.ID = strawberry.field(description="The household that sent it.")
    child_id: strawberry.ID | None = strawberry.field(description="The child it is about (CHILD scope), else null.")
    child_first_name: str | None = strawberry.field(description="That child's first name, null when none.")
    status: DocumentStatus = strawberry.field(description="Its review state.")
    refusal_reason: str = strawberry.field(description="Why it was refused (French), \"\" otherwise.")
    uploaded_at: datetime = strawberry.field(description="« Déposé le » (ISO 8601 with offset).")
    reviewed_at: datetime | None = strawberry.field(description="When an agent reviewed it, null until then.")
    valid_until: date | None = strawberry.field(description="Last day it is valid (ISO), null: no expiry.")
    filename: str = strawberry.field(description="The file's name as uploaded.")
    download_url: str = strawberry.field(description="Relative URL of the file (same session).")

    @strawberry.field(description="The status's French label to show (« En attente de validation »).")
    def status_label(self) -> str:
        return self.status.label

    @classmethod
    def from_model(cls, doc: Document, labels: dict[str, str]) -> FamilyDocument:
        child = doc.child
        return cls(id=strawberry.ID(str(doc.id)), type_code=doc.type_code,
                   type_label=labels.get(doc.type_code, doc.type_code),
                   household_id=strawberry.ID(str(doc.household_id)),  # type: ignore[attr-defined]
                   child_id=strawberry.ID(str(child.id)) if child else None,
                   child_first_name=child.first_name if child else None, status=DocumentStatus(doc.status),
                   refusal_reason=doc.refusal_reason, uploaded_at=doc.uploaded_at, reviewed_at=doc.reviewed_at,
                   valid_until=doc.valid_until, filename=doc.file.original_filename,
                   download_url=f"/files/document/{doc.id}")


@strawberry.type(name="MissingDocument", description="A document a service requires that the family has not had accepted.")
class MissingDocumentInfo:
    type_code: str = strawberry.field(description="The document type's code.")
    label: str = strawberry.field(description="Its French name to show.")
    child_id: strawberry.ID | None = strawberry.field(description="The child it is needed for (CHILD scope).")
    status: MissingDocumentStatus = strawberry.field(description="Why it is still listed.")

    @strawberry.field(description="The status's French label to show (« À transmettre »).")
    def status_label(self) -> str:
        return self.status.label

    @classmethod
    def from_value(cls, m: MissingDocument) -> MissingDocumentInfo:
        return cls(type_code=m.type_code, label=m.label, status=MissingDocumentStatus(m.status),
                   child_id=strawberry.ID(str(m.child_id)) if m.child_id is not None else None)


@strawberry.type(description="What one service requires of the family's documents, and what is still missing.")
class DocumentRequirement:
    service: str = strawberry.field(description="The service code or plugin name.")
    label: str = strawberry.field(description="Its French name to show.")
    establishments: list[str] = strawberry.field(description=(
        "Les établissements qui réclament ces documents (names). Not paginated: one service's establishments."))
    missing: list[MissingDocumentInfo] = strawberry.field(description=(
        "The documents still to do. Not paginated: bounded by the service's document types × children."))


def _labels() -> dict[str, str]:
    return {t.code: t.label for t in service.document_types()}


def _docs(docs: list[Document]) -> list[FamilyDocument]:
    labels = _labels()
    return [FamilyDocument.from_model(d, labels) for d in docs]


def _page(total: int, rows: list[Document], limit: int, offset: int) -> Page[FamilyDocument]:
    return Page(items=_docs(rows), total=total, limit=limit, offset=offset)


@strawberry.type
class DocumentsQuery:
    @strawberry.field(description=(
        "Document types a family may send (core + enabled plugins), in configuration order. Anyone. "
        "Not paginated: the configured types, a few dozen."))
    def document_types(self) -> list[DocumentTypeInfo] | None:
        return [DocumentTypeInfo.from_value(t) for t in service.document_types()]

    @strawberry.field(description=(
        "Family: the household's documents, newest upload first. Errors: UNAUTHENTICATED, FORBIDDEN, "
        "INVALID_PAGE."))
    async def my_documents(self, info: Info, limit: Limit = DEFAULT_PAGE_SIZE,
                           offset: Offset = 0) -> Page[FamilyDocument] | None:
        check_page(limit, offset)
        labels = _labels()
        return await paginate(service.my_documents_query(actor(info)), limit, offset,
                              lambda d: FamilyDocument.from_model(d, labels))

    @strawberry.field(description=(
        "Family: per service requiring documents, which are still missing, in service order. Not paginated: "
        "one line per enabled service. Errors: UNAUTHENTICATED, FORBIDDEN."))
    async def document_requirements(self, info: Info,
                                    service_code: ServiceArg = None) -> list[DocumentRequirement] | None:
        rows = await service.document_requirements(actor(info), service_code)
        return [DocumentRequirement(service=r["service"], label=r["label"], establishments=r["establishments"],
                                    missing=[MissingDocumentInfo.from_value(m) for m in r["missing"]])
                for r in rows]

    @strawberry.field(description=(
        "Staff: documents awaiting review that their services need to know (admins: all), oldest upload "
        "first (first come, first reviewed). Errors: UNAUTHENTICATED, FORBIDDEN, INVALID_PAGE."))
    async def pending_documents(self, info: Info, service_code: ServiceArg = None, limit: Limit = DEFAULT_PAGE_SIZE,
                                offset: Offset = 0) -> Page[FamilyDocument] | None:
        check_page(limit, offset)
        return _page(*await service.pending_documents(actor(info), service_code, limit, offset), limit, offset)

    @strawberry.field(description=(
        "Staff: a household's documents their services need to know (admins: all), newest upload first. "
        "Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID, INVALID_PAGE."))
    async def household_documents(self, info: Info,
                                  household_id: Annotated[strawberry.ID, A(description="The household.")],
                                  limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> Page[FamilyDocument] | None:
        check_page(limit, offset)
        total, rows = await service.household_documents(actor(info), parse_id(household_id, "householdId"),
                                                        limit, offset)
        return _page(total, rows, limit, offset)


@strawberry.type
class DocumentsMutation:
    @strawberry.mutation(description=(
        "Family: « Envoyer un document » (PNG, JPEG or PDF), for the household or a child; returns it, PENDING. "
        "Errors: UNAUTHENTICATED, FORBIDDEN, EMAIL_NOT_CONFIRMED, NOT_FOUND (child), INVALID_ID, "
        "UNKNOWN_DOCUMENT_TYPE, CHILD_REQUIRED, CHILD_NOT_ALLOWED, INVALID_FILE_TYPE, EMPTY_FILE, FILE_TOO_LARGE."))
    async def upload_document(
            self, info: Info, file: Annotated[Upload, A(description="The file (multipart upload).")],
            type_code: Annotated[str, A(description="The document type's code (`documentTypes`).")],
            child_id: Annotated[strawberry.ID | None, A(description=(
                "The child it is about: required for a CHILD-scope type, left out otherwise."))] = None,
    ) -> FamilyDocument | None:
        child = parse_id(child_id, "childId") if child_id is not None else None
        doc = await service.upload_document(actor(info), file, type_code, child)
        return FamilyDocument.from_model(doc, _labels())

    @strawberry.mutation(description=(
        "Staff whose services need to know it (admins: any): accept a document, or refuse it with a reason "
        "(mailed to the family); returns it. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID, "
        "REASON_REQUIRED."))
    async def review_document(
            self, info: Info, id: Annotated[strawberry.ID, A(description="The document.")],
            decision: Annotated[DocumentDecision, A(description="Accept or refuse.")],
            reason: Annotated[str | None, A(description="Why it is refused (French, mailed); REFUSE only.")] = None,
    ) -> FamilyDocument | None:
        doc = await service.review_document(actor(info), parse_id(id, "id"), decision is DocumentDecision.ACCEPT,
                                            reason)
        return FamilyDocument.from_model(doc, _labels())


contribution = GraphQLContribution(query=DocumentsQuery, mutation=DocumentsMutation)
downloads = {"document": service.download_document}
