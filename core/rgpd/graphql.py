"""GraphQL of RGPD: export my data (JSON), erase a household (admin)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import OkResult, actor, parse_id, parse_optional_id
from core.rgpd import service


@strawberry.type
class RgpdQuery:
    @strawberry.field(description=(
        "Right of access (RGPD art. 15): everything the portal holds on the household, as JSON filed by area "
        "({core: {...}, creche: {...}, ...}); families: their own (householdId left out); admins: any "
        "householdId. Written to the audit log. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID."))
    async def personal_data_export(self, info: Info, household_id: Annotated[
            strawberry.ID | None, strawberry.argument(
                description="Admins: the household to export; families leave it out.")] = None) -> JSON | None:
        return await service.export_household_data(actor(info), parse_optional_id(household_id, "householdId"))


@strawberry.type
class RgpdMutation:
    @strawberry.mutation(description=(
        "Admins: right to erasure (RGPD art. 17); the household's personal data no longer exists afterwards, "
        "hence no object returned. Refused while invoices are unpaid or a contract or mandate is in force; "
        "what public accounting and SEPA require is kept until its retention ends. "
        "Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID, ERASURE_BLOCKED."))
    async def erase_household(self, info: Info, household_id: Annotated[strawberry.ID, strawberry.argument(
            description="The household to erase.")]) -> OkResult | None:
        await service.erase_household_data(actor(info), parse_id(household_id, "householdId"))
        return OkResult(message="Les données personnelles du foyer ont été effacées.")


contribution = GraphQLContribution(query=RgpdQuery, mutation=RgpdMutation)
