"""GraphQL of the home page: alerts, quick access to the children, latest news."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import actor
from core.home import service
from core.news.graphql import NewsEntry


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
    alert_count: int = strawberry.field(description=(
        "The sum of `count` over `alerts`, i.e. the number of items the family must act on (each missing "
        "or refused document, each item a plugin alert counts), NOT the number of alerts: alerts of counts "
        "3, 2 and 2 give 7. This is the N of « Vous avez N alertes »; the number of alert lines is the "
        "length of `alerts`."))
    alerts: list[HomeAlert]
    children: list[HomeChild] = strawberry.field(description="« Accès rapide »")
    news: list[NewsEntry] = strawberry.field(description="« Mes actus »")


@strawberry.type
class HomeQuery:
    @strawberry.field(description="The family's home page.")
    async def home(self, info: Info, news_limit: int = 5) -> HomePageInfo:
        page = await service.home(actor(info), news_limit)
        return HomePageInfo(
            alert_count=page.alert_count,
            alerts=[HomeAlert(code=a.code, message=a.message, count=a.count, severity=a.severity, link=a.link,
                              child_id=strawberry.ID(str(a.child_id)) if a.child_id is not None else None)
                    for a in page.alerts],
            children=[HomeChild(id=strawberry.ID(str(c.id)), first_name=c.first_name, birth_date=c.birth_date,
                                expected_birth_date=c.expected_birth_date) for c in page.children],
            news=[NewsEntry.from_model(n) for n in page.news],
        )


contribution = GraphQLContribution(query=HomeQuery)
