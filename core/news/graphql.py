"""GraphQL of news (« Mes actus »)."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import OkResult, actor, parse_id
from core.news import service
from core.news.models import NewsItem


@strawberry.type
class NewsEntry:
    id: strawberry.ID
    title: str
    body: str
    service_code: str
    published_on: date
    expires_on: date | None

    @classmethod
    def from_model(cls, n: NewsItem) -> NewsEntry:
        return cls(id=strawberry.ID(str(n.id)), title=n.title, body=n.body, service_code=n.service_code,
                   published_on=n.published_on, expires_on=n.expires_on)


@strawberry.type
class NewsQuery:
    @strawberry.field(description="« Mes actus »: published and not expired, newest first.")
    async def news(self, limit: int = 10) -> list[NewsEntry]:
        return [NewsEntry.from_model(n) for n in await service.current_news(limit)]


@strawberry.type
class NewsMutation:
    @strawberry.mutation(description="Staff: publish a news item (for one of your services, or for all).")
    async def publish_news(self, info: Info, title: str, body: str, published_on: date,
                           service_code: str | None = None, expires_on: date | None = None) -> NewsEntry:
        item = await service.publish_news(actor(info), title, body, service_code, published_on, expires_on)
        return NewsEntry.from_model(item)

    @strawberry.mutation(description="Staff: delete a news item.")
    async def delete_news(self, info: Info, id: strawberry.ID) -> OkResult:
        await service.delete_news(actor(info), parse_id(id))
        return OkResult(message="Actualité supprimée.")


contribution = GraphQLContribution(query=NewsQuery, mutation=NewsMutation)
