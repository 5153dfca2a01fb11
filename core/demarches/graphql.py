"""GraphQL of démarches: types and their fields, submit (with attachments), follow, staff processing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON
from strawberry.types import Info

from core.config import get_settings
from core.contributions import DemarcheType, GraphQLContribution
from core.demarches import service
from core.demarches.models import Demarche
from core.demarches.models import DemarcheStatus as Stored
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
    "Only the démarches handled by this service (a code of `[[services]]` the agent works for)."))]


class DemarcheStatus(LabelledEnum):
    SUBMITTED = (Stored.SUBMITTED, "Transmise", "Sent by the family, not looked at yet.")
    IN_PROGRESS = (Stored.IN_PROGRESS, "En cours de traitement", "An agent is processing it.")
    ACCEPTED = (Stored.ACCEPTED, "Acceptée", "Accepted (final); `response` may say more.")
    REFUSED = (Stored.REFUSED, "Refusée", "Refused (final); `response` says why.")
    CLOSED = (Stored.CLOSED, "Close", "Closed without decision (final: it can no longer change).")


class DemarcheFieldKind(LabelledEnum):
    TEXT = ("text", "Texte", "Free text (a string, at most 2,000 characters).")
    DATE = ("date", "Date", "An ISO date string, `YYYY-MM-DD`.")
    BOOL = ("bool", "Oui / non", "true or false.")
    CHOICE = ("choice", "Choix", "One of the field's `choices` (a string).")
    CHILD = ("child", "Enfant", "The id of one of the household's children (a string).")


graphql_enum(DemarcheStatus, description="Where a démarche stands.")
graphql_enum(DemarcheFieldKind, description="What value a démarche field takes in `submitDemarche(data:)`.")


@strawberry.type(name="DemarcheField", description="One field of a démarche type's form.")
class DemarcheFieldInfo:
    name: str = strawberry.field(description="The key to use in `submitDemarche(data:)`.")
    label: str = strawberry.field(description="French label to show.")
    kind: DemarcheFieldKind = strawberry.field(description="The value it takes.")
    required: bool = strawberry.field(description="True when the démarche is refused without it (REQUIRED).")
    choices: list[str] = strawberry.field(description=(
        "CHOICE: the allowed values, in order to show (they are also the labels); empty otherwise. "
        "Not paginated: a few values."))

    @strawberry.field(description="The kind's French label.")
    def kind_label(self) -> str:
        return self.kind.label


@strawberry.type(name="DemarcheType", description="A kind of démarche a family may submit (built-in + plugins).")
class DemarcheTypeInfo:
    code: str = strawberry.field(description="The type's code (for `submitDemarche(typeCode:)`).")
    label: str = strawberry.field(description="French name to show (« Déclarer un déménagement »).")
    service: str = strawberry.field(description=(
        "Code of the service that handles this type (`[demarches] handling_services`, else the type's "
        "default: a school registration goes to the « scolaire » service); \"\" when addressed to no "
        "service (the family picks one in the `service` field, or the household's services see it)."))
    service_name: str = strawberry.field(description="Name of that service, \"\" when none.")
    allows_attachments: bool = strawberry.field(description="True when files may be attached on submission.")
    fields: list[DemarcheFieldInfo] = strawberry.field(description=(
        "The form's fields, in order. Not paginated: one form's fields."))

    @classmethod
    def from_value(cls, t: DemarcheType) -> DemarcheTypeInfo:
        configured = get_settings().service(t.service) if t.service else None
        return cls(code=t.code, label=t.label, service=t.service, service_name=configured.name if configured else "",
                   allows_attachments=t.allows_attachments,
                   fields=[DemarcheFieldInfo(name=f.name, label=f.label, kind=DemarcheFieldKind(f.kind),
                                             required=f.required, choices=list(f.choices)) for f in t.fields])


@strawberry.type(name="DemarcheAttachment", description="A file attached to a démarche by the family.")
class DemarcheAttachmentInfo:
    id: strawberry.ID = strawberry.field(description="The attachment's id.")
    filename: str = strawberry.field(description="The file's name as uploaded.")
    content_type: str = strawberry.field(description="Its MIME type (application/pdf, image/png, image/jpeg).")
    size: int = strawberry.field(description="Its size in bytes.")
    download_url: str = strawberry.field(description="Relative URL of the file (same session).")


@strawberry.type(name="Demarche", description=(
    "A démarche (request to the services) of a household. The family sees its own; agents those of their "
    "services and, for démarches addressed to no service, those of households they need to know; admins all."))
class DemarcheItem:
    id: strawberry.ID = strawberry.field(description="The démarche's id.")
    type_code: str = strawberry.field(description="Its type's code (`DemarcheType.code`).")
    type_label: str = strawberry.field(description="Its type's French name to show.")
    service_code: str = strawberry.field(description="The service handling it, \"\" when none.")
    household_id: strawberry.ID = strawberry.field(description="The household that submitted it.")
    child_id: strawberry.ID | None = strawberry.field(description="The child it is about, null when none.")
    child_first_name: str | None = strawberry.field(description="That child's first name, null when none.")
    data: JSON = strawberry.field(description="The form's values: `{field name: value}` (see DemarcheFieldKind).")
    status: DemarcheStatus = strawberry.field(description="Where it stands.")
    response: str = strawberry.field(description="The services' answer to the family (French), \"\" until given.")
    created_at: datetime = strawberry.field(description="When it was submitted (ISO 8601 with offset).")
    processed_at: datetime | None = strawberry.field(description="When an agent last changed its status.")
    attachments: list[DemarcheAttachmentInfo] = strawberry.field(description=(
        "Attached files, in upload order. Not paginated: a few files at most (TOO_MANY_FILES)."))

    @strawberry.field(description="The status's French label to show (« En cours de traitement »).")
    def status_label(self) -> str:
        return self.status.label

    @classmethod
    def from_model(cls, d: Demarche, labels: dict[str, str]) -> DemarcheItem:
        child = d.child
        return cls(id=strawberry.ID(str(d.id)), type_code=d.type_code, type_label=labels.get(d.type_code, d.type_code),
                   service_code=d.service_code, household_id=strawberry.ID(str(d.household_id)),  # type: ignore[attr-defined]
                   child_id=strawberry.ID(str(child.id)) if child else None,
                   child_first_name=child.first_name if child else None, data=d.data,
                   status=DemarcheStatus(d.status),
                   response=d.response, created_at=d.created_at, processed_at=d.processed_at,
                   attachments=[DemarcheAttachmentInfo(id=strawberry.ID(str(a.id)), filename=a.file.original_filename,
                                                       content_type=a.file.content_type, size=a.file.size,
                                                       download_url=f"/files/demarche_attachment/{a.id}")
                                for a in d.attachments])


def _labels() -> dict[str, str]:
    return {t.code: t.label for t in service.demarche_types()}


def _items(rows: list[Demarche]) -> list[DemarcheItem]:
    labels = _labels()
    return [DemarcheItem.from_model(d, labels) for d in rows]


@strawberry.type
class DemarchesQuery:
    @strawberry.field(description=(
        "Démarche types a family may submit (built-in + enabled plugins) with their fields. Anyone. "
        "Not paginated: the configured types, a few dozen."))
    def demarche_types(self) -> list[DemarcheTypeInfo] | None:
        return [DemarcheTypeInfo.from_value(t) for t in service.demarche_types()]

    @strawberry.field(description=(
        "Family: the household's démarches, newest first, with status and response. "
        "Errors: UNAUTHENTICATED, FORBIDDEN, INVALID_PAGE."))
    async def my_demarches(self, info: Info, limit: Limit = DEFAULT_PAGE_SIZE,
                           offset: Offset = 0) -> Page[DemarcheItem] | None:
        check_page(limit, offset)
        labels = _labels()
        return await paginate(service.my_demarches_query(actor(info)), limit, offset,
                              lambda d: DemarcheItem.from_model(d, labels))

    @strawberry.field(description=(
        "Staff: démarches of their services, and those addressed to no service in households they need to "
        "know (admins: all), oldest first (first come, first processed). "
        "Errors: UNAUTHENTICATED, FORBIDDEN (not staff, or a service they do not work for), INVALID_PAGE."))
    async def demarches(self, info: Info,
                        status: Annotated[DemarcheStatus | None, A(description="Only démarches in this state.")] = None,
                        service_code: ServiceArg = None, limit: Limit = DEFAULT_PAGE_SIZE,
                        offset: Offset = 0) -> Page[DemarcheItem] | None:
        check_page(limit, offset)
        total, rows = await service.staff_demarches(actor(info), status.value if status else None, service_code,
                                                    limit, offset)
        return Page(items=_items(rows), total=total, limit=limit, offset=offset)


@strawberry.type
class DemarchesMutation:
    @strawberry.mutation(description=(
        "Family (email confirmed): submit a démarche; the handling service is told. Returns it, SUBMITTED. "
        "Errors: UNAUTHENTICATED, FORBIDDEN, EMAIL_NOT_CONFIRMED, NOT_FOUND (child), INVALID_ID, "
        "UNKNOWN_DEMARCHE_TYPE, INVALID_DATA, REQUIRED, TOO_LONG, INVALID_DATE, INVALID_BOOL, INVALID_CHOICE, "
        "UNKNOWN_CHILD, ATTACHMENTS_NOT_ALLOWED, TOO_MANY_FILES, INVALID_FILE_TYPE, EMPTY_FILE, FILE_TOO_LARGE."))
    async def submit_demarche(
            self, info: Info,
            type_code: Annotated[str, A(description="The démarche type's code (`demarcheTypes`).")],
            data: Annotated[JSON | None, A(description="`{field name: value}` for the type's fields.")] = None,
            child_id: Annotated[strawberry.ID | None, A(description="The child it is about, if any.")] = None,
            attachments: Annotated[list[Upload] | None, A(description=(
                "Files (multipart upload), when the type allows attachments."))] = None,
    ) -> DemarcheItem | None:
        child = parse_id(child_id, "childId") if child_id is not None else None
        d = await service.submit_demarche(actor(info), type_code, data, child, attachments)
        return _items([d])[0]

    @strawberry.mutation(description=(
        "Staff who may see it: move a démarche to IN_PROGRESS, ACCEPTED, REFUSED (with a response) or CLOSED; "
        "the family is mailed. Returns it. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID, "
        "INVALID_STATUS (SUBMITTED), DEMARCHE_CLOSED, RESPONSE_REQUIRED."))
    async def process_demarche(
            self, info: Info, id: Annotated[strawberry.ID, A(description="The démarche.")],
            status: Annotated[DemarcheStatus, A(description="The new state (not SUBMITTED).")],
            response: Annotated[str | None, A(description="The answer to the family (French); required to refuse.")]
            = None,
    ) -> DemarcheItem | None:
        d = await service.process_demarche(actor(info), parse_id(id, "id"), status.value, response)
        return _items([d])[0]


contribution = GraphQLContribution(query=DemarchesQuery, mutation=DemarchesMutation)
downloads = {"demarche_attachment": service.download_attachment}
