"""GraphQL of the PES V2 ORMC export (docs/pes.md): staff build a régie's bordereau for a period and
list past exports; the XML is served at /files/pes_export/<id> by the `downloads` handler below.
Registered in core/plugin.py next to the areas' graphql modules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from core.billing import service
from core.billing.models import PesExport as PesExportModel
from core.config import get_settings
from core.contributions import FileDownload, GraphQLContribution
from core.graphql_support import DEFAULT_PAGE_SIZE, Limit, Offset, Page, actor, paginate
from core.permissions import Actor

_WHO = ("Who: admins, and agents of a service billed by the régie (FORBIDDEN for the other agents and "
        "for families).")


@strawberry.type(description="An invoice of the period that a PES export left out, and why (fix it, then "
                             "export again: it will be carried by the next bordereau).")
class PesLeftOutInvoice:
    invoice_id: strawberry.ID = strawberry.field(description="The invoice's id.")
    number: str = strawberry.field(description="The invoice's number.")
    reason: str = strawberry.field(description="Why Hélios would reject it, in French (e.g. « code postal "
                                               "absent ou invalide »).")


@strawberry.type(description=(
    "A PES V2 ORMC file handed to the comptable public: one bordereau (rôle) of the régie's invoices "
    "issued in a period, one pièce (titre) per invoice with the debtor, the lines per product code and "
    "the invoice PDF attached. Each invoice is carried by one export only."))
class PesExport:
    id: strawberry.ID = strawberry.field(description="The export's id.")
    regie_code: str = strawberry.field(description="Code of the régie (`[[regies]] code`).")
    regie_name: str = strawberry.field(description="Name of the régie.")
    exercice: int = strawberry.field(description="Budget year of the bordereau (`Exer`).")
    bordereau_number: int = strawberry.field(description=(
        "Bordereau number (`IdBord`), sequential per régie and exercice from 1."))
    period_start: date = strawberry.field(description="First issue date covered (Europe/Paris).")
    period_end: date = strawberry.field(description="Last issue date covered (Europe/Paris).")
    created_at: datetime = strawberry.field(description="When the file was built.")
    created_by_id: strawberry.ID | None = strawberry.field(description=(
        "The user who built it; null when built from the command line."))
    invoices_count: int = strawberry.field(description="How many invoices (pièces) the file carries.")
    total_cents: int = strawberry.field(description="Amount of the bordereau (`MtBordHt`), in euro cents.")
    file_name: str = strawberry.field(description="Name of the XML file.")
    download_url: str = strawberry.field(description=(
        "Where to download the XML (`/files/pes_export/<id>`, same session): staff of the régie only."))
    left_out: list[PesLeftOutInvoice] = strawberry.field(description=(
        "Not paginated: the invoices of this period left out for an incomplete debtor (a handful at most)."))

    @classmethod
    def from_model(cls, export: PesExportModel) -> PesExport:
        regie = get_settings().regie(export.regie_code)
        by = export.created_by_id  # type: ignore[attr-defined]
        return cls(id=strawberry.ID(str(export.id)), regie_code=export.regie_code,
                   regie_name=regie.name if regie else export.regie_code, exercice=export.exercice,
                   bordereau_number=export.bordereau_number, period_start=export.period_start,
                   period_end=export.period_end, created_at=export.created_at,
                   created_by_id=strawberry.ID(str(by)) if by else None, invoices_count=export.invoices_count,
                   total_cents=export.total_cents, file_name=export.file_name,
                   download_url=f"/files/pes_export/{export.id}",
                   left_out=[PesLeftOutInvoice(invoice_id=strawberry.ID(str(x["invoice_id"])), number=x["number"],
                                               reason=x["reason"]) for x in export.left_out])


@strawberry.type
class PesQuery:
    @strawberry.field(description=(
        "Staff: past PES exports, newest first, of the régies of the caller's services (admins: all). "
        "Errors: FORBIDDEN (families), INVALID_PAGE."))
    async def pes_exports(
        self, info: Info,
        regie_code: Annotated[str | None, strawberry.argument(description="Only this régie's exports.")] = None,
        limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0,
    ) -> Page[PesExport] | None:
        qs = await service.pes_exports(actor(info), regie_code)
        return await paginate(qs, limit, offset, PesExport.from_model)


@strawberry.type
class PesMutation:
    @strawberry.mutation(description=(
        "Staff: build the PES V2 ORMC file of a régie's invoices issued from `start` to `end` (one year at "
        "most: one exercice), for the comptable public (Hélios). Invoices already exported are left out, "
        "so each is handed over once; invoices whose debtor is incomplete are left out and listed in "
        "`leftOut`. Download the file at `downloadUrl`. " + _WHO + " Errors: NOT_FOUND (unknown régie), "
        "FORBIDDEN, INVALID_PERIOD, PES_NOT_CONFIGURED, PES_ALREADY_EXPORTED, PES_NOTHING_TO_EXPORT."))
    async def build_pes_export(
        self, info: Info,
        regie_code: Annotated[str, strawberry.argument(description="Code of the régie (`[[regies]] code`).")],
        start: Annotated[date, strawberry.argument(description="First issue date of the invoices (YYYY-MM-DD).")],
        end: Annotated[date, strawberry.argument(
            description="Last issue date of the invoices (YYYY-MM-DD), in the same year.")],
    ) -> PesExport | None:
        export = await service.export_pes(actor(info), regie_code, start, end)
        return PesExport.from_model(export)


async def _pes_download(actor_: Actor, object_id: str) -> FileDownload:
    export, content = await service.pes_export_file(actor_, object_id)
    return FileDownload(filename=export.file_name, content_type="application/xml", content=content)


downloads = {"pes_export": _pes_download}
contribution = GraphQLContribution(query=PesQuery, mutation=PesMutation)
