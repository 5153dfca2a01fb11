"""GraphQL of the home page: alerts, quick access to the children, latest news."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import actor
from core.home import service
from core.news.graphql import NewsEntry
from core.news.service import current_news
from core.permissions import own_household_id


@strawberry.type
class HomeAlert:
    code: str
    message: str
    count: int = strawberry.field(description="How many items this alert is about (documents, messages…), ≥ 1.")
    severity: str = strawberry.field(description="info | warning")
    child_id: strawberry.ID | None
    link: str


@strawberry.type
class HomeChild:
    id: strawberry.ID
    first_name: str
    birth_date: date | None
    expected_birth_date: date | None


@strawberry.type
class HomePageInfo:
    """Each part is read only when the query asks for it (a screen showing the children only does
    not compute the alerts of every plugin); alerts are computed once per request for both
    `alertCount` and `alerts`."""

    household_id: strawberry.Private[int]
    news_limit: strawberry.Private[int]

    @strawberry.field(description=(
        "The sum of `count` over `alerts`, i.e. the number of items the family must act on (each missing "
        "or refused document, each item a plugin alert counts), NOT the number of alerts: alerts of counts "
        "3, 2 and 2 give 7. This is the N of « Vous avez N alertes »; the number of alert lines is the "
        "length of `alerts`."))
    async def alert_count(self, info: Info) -> int:
        return sum(a.count for a in await service.alerts(actor(info), self.household_id))

    @strawberry.field
    async def alerts(self, info: Info) -> list[HomeAlert]:
        return [HomeAlert(code=a.code, message=a.message, count=a.count, severity=a.severity, link=a.link,
                          child_id=strawberry.ID(str(a.child_id)) if a.child_id is not None else None)
                for a in await service.alerts(actor(info), self.household_id)]

    @strawberry.field(description="« Accès rapide »")
    async def children(self) -> list[HomeChild]:
        return [HomeChild(id=strawberry.ID(str(c.id)), first_name=c.first_name, birth_date=c.birth_date,
                          expected_birth_date=c.expected_birth_date)
                for c in await service.children(self.household_id)]

    @strawberry.field(description="« Mes actus »")
    async def news(self) -> list[NewsEntry]:
        return [NewsEntry.from_model(n) for n in await current_news(self.news_limit)]


@strawberry.type
class HomeQuery:
    @strawberry.field(description="The family's home page.")
    async def home(self, info: Info, news_limit: int = 5) -> HomePageInfo:
        return HomePageInfo(household_id=own_household_id(actor(info)), news_limit=news_limit)


contribution = GraphQLContribution(query=HomeQuery)
