"""A third-party plugin as another community would write it (a ludothèque, the toy library), for
tests/test_plugin_extension_points.py: its own service and label, a deposit cheque required only for
the children who borrow, a field on the core child type. Registered by name in those tests only."""

from __future__ import annotations

import strawberry

from core.contributions import DocumentType
from core.hookspecs import hookimpl

BORROWERS: dict[int, int] = {}  # child id -> toys borrowed (the tests fill it)


@strawberry.type
class ChildLudotheque:
    @strawberry.field(description="Toys the child has borrowed from the ludothèque (ludotheque plugin).")
    def ludotheque_loans(self) -> int:
        return BORROWERS.get(int(self.id), 0)  # type: ignore[attr-defined]


@hookimpl
def portail_services() -> dict[str, str]:
    return {"ludotheque": "Ludothèque intercommunale"}


@hookimpl
def portail_document_types(settings) -> list[DocumentType]:
    return [DocumentType(code="caution_ludotheque", label="Chèque de caution", scope="child", conditional=True,
                         required_by=("ludotheque",))]


@hookimpl
async def portail_document_requirements(household_id: int, child_ids: list[int]) -> set[tuple[str, int | None]]:
    return {("caution_ludotheque", c) for c in child_ids if c in BORROWERS}


@hookimpl
def portail_type_fields() -> dict[type | str, type]:
    from core.households.graphql import HouseholdChild  # the class: its GraphQL name may change

    return {HouseholdChild: ChildLudotheque}
