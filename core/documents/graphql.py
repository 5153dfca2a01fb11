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
from core.documents.rules import MissingDocument
from core.graphql_support import actor, parse_id

ServiceArg = Annotated[str | None, strawberry.argument(name="service")]


@strawberry.type
class DocumentRequirer:
    code: str
    label: str
    establishments: list[str]


@strawberry.type
class DocumentTypeInfo:
    code: str
    label: str
    scope: str
    help: str
    required_by: list[DocumentRequirer]

    @classmethod
    def from_value(cls, t: DocumentTypeValue) -> DocumentTypeInfo:
        requirers = []
        for code in t.required_by:
            label, names = service.requirer(code)
            requirers.append(DocumentRequirer(code=code, label=label, establishments=names))
        return cls(code=t.code, label=t.label, scope=t.scope, help=t.help, required_by=requirers)


@strawberry.type
class FamilyDocument:
    id: strawberry.ID
    type_code: str
    type_label: str
    household_id: strawberry.ID
    child_id: strawberry.ID | None
    child_first_name: str | None
    status: str
    refusal_reason: str
    uploaded_at: datetime = strawberry.field(description="« Déposé le »")
    reviewed_at: datetime | None
    valid_until: date | None
    filename: str
    download_url: str

    @classmethod
    def from_model(cls, doc: Document, labels: dict[str, str]) -> FamilyDocument:
        child = doc.child
        return cls(id=strawberry.ID(str(doc.id)), type_code=doc.type_code,
                   type_label=labels.get(doc.type_code, doc.type_code),
                   household_id=strawberry.ID(str(doc.household_id)),  # type: ignore[attr-defined]
                   child_id=strawberry.ID(str(child.id)) if child else None,
                   child_first_name=child.first_name if child else None, status=doc.status,
                   refusal_reason=doc.refusal_reason, uploaded_at=doc.uploaded_at, reviewed_at=doc.reviewed_at,
                   valid_until=doc.valid_until, filename=doc.file.original_filename,
                   download_url=f"/files/document/{doc.id}")


@strawberry.type
class MissingDocumentInfo:
    type_code: str
    label: str
    child_id: strawberry.ID | None
    status: str = strawberry.field(description="missing | pending | refused")

    @classmethod
    def from_value(cls, m: MissingDocument) -> MissingDocumentInfo:
        return cls(type_code=m.type_code, label=m.label, status=m.status,
                   child_id=strawberry.ID(str(m.child_id)) if m.child_id is not None else None)


@strawberry.type
class DocumentRequirement:
    service: str
    label: str
    establishments: list[str] = strawberry.field(description="Les établissements qui réclament ces documents")
    missing: list[MissingDocumentInfo]


def _labels() -> dict[str, str]:
    return {t.code: t.label for t in service.document_types()}


def _docs(docs: list[Document]) -> list[FamilyDocument]:
    labels = _labels()
    return [FamilyDocument.from_model(d, labels) for d in docs]


@strawberry.type
class DocumentsQuery:
    @strawberry.field(description="Document types a family may send (core + plugins).")
    def document_types(self) -> list[DocumentTypeInfo]:
        return [DocumentTypeInfo.from_value(t) for t in service.document_types()]

    @strawberry.field(description="The family's documents, newest first.")
    async def my_documents(self, info: Info) -> list[FamilyDocument]:
        return _docs(await service.my_documents(actor(info)))

    @strawberry.field(description="Per service requiring documents: which are still missing for the family.")
    async def document_requirements(self, info: Info, service_code: ServiceArg = None) -> list[DocumentRequirement]:
        rows = await service.document_requirements(actor(info), service_code)
        return [DocumentRequirement(service=r["service"], label=r["label"], establishments=r["establishments"],
                                    missing=[MissingDocumentInfo.from_value(m) for m in r["missing"]])
                for r in rows]

    @strawberry.field(description="Staff: documents awaiting review (optionally those a service requires).")
    async def pending_documents(self, info: Info, service_code: ServiceArg = None) -> list[FamilyDocument]:
        return _docs(await service.pending_documents(actor(info), service_code))

    @strawberry.field(description="Staff: every document of a household.")
    async def household_documents(self, info: Info, household_id: strawberry.ID) -> list[FamilyDocument]:
        return _docs(await service.household_documents(actor(info), parse_id(household_id, "householdId")))




@strawberry.type
class DocumentsMutation:
    @strawberry.mutation(description="« Envoyer un document » (PNG, JPEG or PDF), for the family or a child.")
    async def upload_document(self, info: Info, file: Upload, type_code: str,
                              child_id: strawberry.ID | None = None) -> FamilyDocument:
        child = parse_id(child_id, "childId") if child_id is not None else None
        doc = await service.upload_document(actor(info), file, type_code, child)
        return FamilyDocument.from_model(doc, _labels())

    @strawberry.mutation(description="Staff: accept a document, or refuse it with a reason (mailed to the family).")
    async def review_document(self, info: Info, id: strawberry.ID, accept: bool,
                              reason: str | None = None) -> FamilyDocument:
        doc = await service.review_document(actor(info), parse_id(id, "id"), accept, reason)
        return FamilyDocument.from_model(doc, _labels())


contribution = GraphQLContribution(query=DocumentsQuery, mutation=DocumentsMutation)
downloads = {"document": service.download_document}
