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
from core.graphql_support import actor, parse_id

ServiceArg = Annotated[str | None, strawberry.argument(name="service")]




@strawberry.type
class DemarcheFieldInfo:
    name: str
    label: str
    kind: str = strawberry.field(description="text | date | bool | choice | child")
    required: bool
    choices: list[str]


@strawberry.type
class DemarcheTypeInfo:
    code: str
    label: str
    service: str = strawberry.field(description=(
        "Code of the service that handles this type (`[demarches] handling_services`, else the type's "
        "default: a school registration goes to the « scolaire » service); \"\" when addressed to no "
        "service (the family picks one in the `service` field, or the household's services see it)."))
    service_name: str = strawberry.field(description="Name of that service, \"\" when none.")
    allows_attachments: bool
    fields: list[DemarcheFieldInfo]

    @classmethod
    def from_value(cls, t: DemarcheType) -> DemarcheTypeInfo:
        configured = get_settings().service(t.service) if t.service else None
        return cls(code=t.code, label=t.label, service=t.service, service_name=configured.name if configured else "",
                   allows_attachments=t.allows_attachments,
                   fields=[DemarcheFieldInfo(name=f.name, label=f.label, kind=f.kind, required=f.required,
                                             choices=list(f.choices)) for f in t.fields])


@strawberry.type
class DemarcheAttachmentInfo:
    id: strawberry.ID
    filename: str
    content_type: str
    size: int
    download_url: str


@strawberry.type
class DemarcheItem:
    id: strawberry.ID
    type_code: str
    type_label: str
    service_code: str
    household_id: strawberry.ID
    child_id: strawberry.ID | None
    child_first_name: str | None
    data: JSON
    status: str = strawberry.field(description="submitted | in_progress | accepted | refused | closed")
    response: str
    created_at: datetime
    processed_at: datetime | None
    attachments: list[DemarcheAttachmentInfo]

    @classmethod
    def from_model(cls, d: Demarche, labels: dict[str, str]) -> DemarcheItem:
        child = d.child
        return cls(id=strawberry.ID(str(d.id)), type_code=d.type_code, type_label=labels.get(d.type_code, d.type_code),
                   service_code=d.service_code, household_id=strawberry.ID(str(d.household_id)),  # type: ignore[attr-defined]
                   child_id=strawberry.ID(str(child.id)) if child else None,
                   child_first_name=child.first_name if child else None, data=d.data, status=d.status,
                   response=d.response, created_at=d.created_at, processed_at=d.processed_at,
                   attachments=[DemarcheAttachmentInfo(id=strawberry.ID(str(a.id)), filename=a.file.original_filename,
                                                       content_type=a.file.content_type, size=a.file.size,
                                                       download_url=f"/files/demarche_attachment/{a.id}")
                                for a in d.attachments])


def _items(rows: list[Demarche]) -> list[DemarcheItem]:
    labels = {t.code: t.label for t in service.demarche_types()}
    return [DemarcheItem.from_model(d, labels) for d in rows]


@strawberry.type
class DemarchesQuery:
    @strawberry.field(description="Démarche types a family may submit (built-in + plugins) with their fields.")
    def demarche_types(self) -> list[DemarcheTypeInfo]:
        return [DemarcheTypeInfo.from_value(t) for t in service.demarche_types()]

    @strawberry.field(description="The family's démarches, newest first, with status and response.")
    async def my_demarches(self, info: Info) -> list[DemarcheItem]:
        return _items(await service.my_demarches(actor(info)))

    @strawberry.field(description="Staff: démarches of their services (and those addressed to no service).")
    async def demarches(self, info: Info, status: str | None = None,
                        service_code: ServiceArg = None) -> list[DemarcheItem]:
        return _items(await service.staff_demarches(actor(info), status, service_code))


@strawberry.type
class DemarchesMutation:
    @strawberry.mutation(description="Submit a démarche: `data` maps field names to values.")
    async def submit_demarche(self, info: Info, type_code: str, data: JSON | None = None,
                              child_id: strawberry.ID | None = None,
                              attachments: list[Upload] | None = None) -> DemarcheItem:
        child = parse_id(child_id, "childId") if child_id is not None else None
        d = await service.submit_demarche(actor(info), type_code, data, child, attachments)
        return _items([d])[0]

    @strawberry.mutation(description="Staff: in_progress | accepted | refused (with a response) | closed.")
    async def process_demarche(self, info: Info, id: strawberry.ID, status: str,
                               response: str | None = None) -> DemarcheItem:
        d = await service.process_demarche(actor(info), parse_id(id, "id"), status, response)
        return _items([d])[0]


contribution = GraphQLContribution(query=DemarchesQuery, mutation=DemarchesMutation)
downloads = {"demarche_attachment": service.download_attachment}
