"""GraphQL of the home page: alerts, quick access to the children, latest news."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import LabelledEnum, actor, graphql_enum
from core.home import service
from core.news.graphql import NewsEntry
from core.news.service import current_news
from core.permissions import own_household_id


class AlertSeverity(LabelledEnum):
    INFO = ("info", "Information", "Worth knowing; nothing blocks the family.")
    WARNING = ("warning", "Action requise", "The family must act (send a document, answer a message…).")


graphql_enum(AlertSeverity, description="How pressing a home-page alert is (its colour on screen).")


@strawberry.type(name="Alert", description=(
    "One line of « Vous avez N alertes » on the family's home page: something to do, from core or a plugin."))
class HomeAlert:
    code: str = strawberry.field(description=(
        "What the alert is about, UPPER_SNAKE: core's DOCUMENTS_MISSING, DOCUMENTS_REFUSED and the household "
        "file's …_MISSING codes; plugins add their own (open set: show `message`, branch on known codes only)."))
    message: str = strawberry.field(description="The French sentence to show.")
    count: int = strawberry.field(description="How many items this alert is about (documents, messages…), ≥ 1.")
    severity: AlertSeverity = strawberry.field(description="How pressing it is.")
    child_id: strawberry.ID | None = strawberry.field(description="The child it is about, null for the household.")
    link: str = strawberry.field(description=(
        "Where to act: a path of the family front end relative to its root (« documents?service=creche »), "
        "\"\" when none."))

    @strawberry.field(description="The severity's French label to show.")
    def severity_label(self) -> str:
        return self.severity.label


@strawberry.type(name="ChildShortcut", description="A child in the home page's « Accès rapide » (first name and age).")
class HomeChild:
    id: strawberry.ID = strawberry.field(description="The child's id (read it in full with `child(id:)`).")
    first_name: str = strawberry.field(description="First name.")
    birth_date: date | None = strawberry.field(description="Birth date (ISO), null for a child « à naître ».")
    expected_birth_date: date | None = strawberry.field(description="Due date (ISO) of a child « à naître ».")


@strawberry.type(name="HomePage", description="The family's home page, in one query.")
class HomePageInfo:
    """Each part is read only when the query asks for it (a screen showing the children only does
    not compute the alerts of every plugin); alerts are computed once per request for both
    `actionCount` and `alerts`."""

    household_id: strawberry.Private[int]
    news_limit: strawberry.Private[int]

    @strawberry.field(description=(
        "The number of items the family must act on: the sum of `count` over `alerts` (each missing or "
        "refused document, each item a plugin alert counts), NOT the number of alerts: alerts of counts 3, 2 "
        "and 2 give 7. This is the N of « Vous avez N alertes »; the number of alert lines is the length of "
        "`alerts`."))
    async def action_count(self, info: Info) -> int:
        return sum(a.count for a in await service.alerts(actor(info), self.household_id))

    @strawberry.field(description="The alerts, core's first then each plugin's. Not paginated: a few per household.")
    async def alerts(self, info: Info) -> list[HomeAlert]:
        return [HomeAlert(code=a.code, message=a.message, count=a.count, severity=AlertSeverity(a.severity),
                          link=a.link, child_id=strawberry.ID(str(a.child_id)) if a.child_id is not None else None)
                for a in await service.alerts(actor(info), self.household_id)]

    @strawberry.field(description=(
        "« Accès rapide »: the household's children, oldest first. Not paginated: one household's children."))
    async def children(self) -> list[HomeChild]:
        return [HomeChild(id=strawberry.ID(str(c.id)), first_name=c.first_name, birth_date=c.birth_date,
                          expected_birth_date=c.expected_birth_date)
                for c in await service.children(self.household_id)]

    @strawberry.field(description=(
        "« Mes actus »: the latest `newsLimit` news, newest first (all of them: `news`). Not paginated: "
        "bounded by newsLimit."))
    async def news(self) -> list[NewsEntry]:
        return [NewsEntry.from_model(n) for n in await current_news(self.news_limit)]


@strawberry.type
class HomeQuery:
    @strawberry.field(description=(
        "Family: the home page of the caller's household. Errors: UNAUTHENTICATED, FORBIDDEN (not a family)."))
    async def home(self, info: Info, news_limit: Annotated[int, strawberry.argument(
            description="How many news items to include, 1 to 50.")] = 5) -> HomePageInfo | None:
        return HomePageInfo(household_id=own_household_id(actor(info)), news_limit=news_limit)


contribution = GraphQLContribution(query=HomeQuery)
