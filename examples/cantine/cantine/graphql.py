"""GraphQL of the canteen (docs/graphql.md): its type, a mutation and a field on the core child type."""

from typing import Annotated

import strawberry
from strawberry.types import Info

from cantine import service
from core.contributions import GraphQLContribution
from core.graphql_support import actor, ctx, parse_id


@strawberry.type(description="A child's canteen registration: seen where the child is (family, staff).")
class CantineRegistration:
    child_id: strawberry.ID = strawberry.field(description="The registered child.")
    weekdays: list[int] = strawberry.field(description="Meal days, ISO 8601 weekdays (1 = Monday … 5 = Friday).")
    has_allergy: bool = strawberry.field(description="Registered with an allergy: the allergy attestation is then required.")

    @classmethod
    def of(cls, reg) -> "CantineRegistration":
        return cls(child_id=strawberry.ID(str(reg.child_id)), weekdays=reg.weekdays, has_allergy=reg.allergy)


@strawberry.type
class ChildCantine:
    @strawberry.field(description="The child's canteen registration, null when not registered (cantine plugin).")
    async def cantine_registration(self, info: Info) -> CantineRegistration | None:
        reg = await ctx(info).loader("cantine.registrations", service.registrations_of).load(int(self.id))
        return CantineRegistration.of(reg) if reg else None


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Family: register a child for the canteen, or change its days and allergy; a mail "
                         "confirms it. Errors: NOT_FOUND, INVALID_ID, CANTINE_INVALID_WEEKDAYS.")
    async def register_cantine_child(self, info: Info, child_id: Annotated[strawberry.ID, strawberry.argument(description="One of your children.")],
                                     weekdays: Annotated[list[int], strawberry.argument(description="ISO 8601 weekdays, 1 (Monday) to 5.")],
                                     has_allergy: Annotated[bool, strawberry.argument(description="A food allergy.")]) -> CantineRegistration | None:
        reg = await service.register(actor(info), parse_id(child_id, "childId"), weekdays, has_allergy)
        return CantineRegistration.of(reg)


contribution = GraphQLContribution(mutation=Mutation)
