"""GraphQL of RGPD: export my data (JSON), erase a household (admin)."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import OkResult, actor, parse_id, parse_optional_id
from core.rgpd import service


@strawberry.type
class RgpdQuery:
    @strawberry.field(description="Right of access: everything the portal holds on the household, as JSON "
                                  "filed by plugin ({core: {...}, creche: {...}, ...}); families: their own; "
                                  "admins: any householdId.")
    async def personal_data_export(self, info: Info, household_id: strawberry.ID | None = None) -> JSON:
        return await service.export_household_data(actor(info), parse_optional_id(household_id, "householdId"))


@strawberry.type
class RgpdMutation:
    @strawberry.mutation(description="Admins: right to erasure. Refused (ERASURE_BLOCKED, reasons in French) "
                                     "while invoices are unpaid or a contract or mandate is in force; what "
                                     "public accounting and SEPA require is kept until its retention ends.")
    async def erase_household(self, info: Info, household_id: strawberry.ID) -> OkResult:
        await service.erase_household_data(actor(info), parse_id(household_id, "householdId"))
        return OkResult(message="Les données personnelles du foyer ont été effacées.")


contribution = GraphQLContribution(query=RgpdQuery, mutation=RgpdMutation)
