"""GraphQL of news (« Mes actus »)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import (
    DEFAULT_PAGE_SIZE,
    Limit,
    Offset,
    OkResult,
    Page,
    actor,
    paginate,
    parse_id,
)
from core.news import service
from core.news.models import NewsItem


@strawberry.type(name="News", description=(
    "A news item of the community or of one service (« Mes actus »), public to every visitor once published."))
class NewsEntry:
    id: strawberry.ID = strawberry.field(description="The news item's id.")
    title: str = strawberry.field(description="Its title, French, at most 200 characters.")
    body: str = strawberry.field(description="Its text, French, plain text with line breaks.")
    service_code: str = strawberry.field(description="Code of the service publishing it, \"\" for the whole community.")
    published_on: date = strawberry.field(description="Publication date (ISO): shown from that day.")
    expires_on: date | None = strawberry.field(description="Last day shown (ISO), null: shown until deleted.")

    @classmethod
    def from_model(cls, n: NewsItem) -> NewsEntry:
        return cls(id=strawberry.ID(str(n.id)), title=n.title, body=n.body, service_code=n.service_code,
                   published_on=n.published_on, expires_on=n.expires_on)


@strawberry.type
class NewsQuery:
    @strawberry.field(description=(
        "« Mes actus »: news published today or earlier and not expired, newest publication date first (then "
        "newest id). Anyone may read, even logged out. Errors: INVALID_PAGE."))
    async def news(self, limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> Page[NewsEntry] | None:
        return await paginate(service.current_news_query(), limit, offset, NewsEntry.from_model)


@strawberry.type
class NewsMutation:
    @strawberry.mutation(description=(
        "Staff: publish a news item for one of their services (admins: any, or the whole community). "
        "Errors: UNAUTHENTICATED, FORBIDDEN, REQUIRED, TOO_LONG, INVALID_DATES."))
    async def publish_news(
            self, info: Info,
            title: Annotated[str, strawberry.argument(description="Title, French, at most 200 characters.")],
            body: Annotated[str, strawberry.argument(description="Text, French, plain text.")],
            published_on: Annotated[date, strawberry.argument(description="First day shown (ISO).")],
            service_code: Annotated[str | None, strawberry.argument(
                description="The publishing service's code; null: the whole community (admins only).")] = None,
            expires_on: Annotated[date | None, strawberry.argument(
                description="Last day shown (ISO), not before publishedOn; null: until deleted.")] = None,
    ) -> NewsEntry | None:
        item = await service.publish_news(actor(info), title, body, service_code, published_on, expires_on)
        return NewsEntry.from_model(item)

    @strawberry.mutation(description=(
        "Staff of the publishing service (admins: any): delete a news item; nothing remains to return. "
        "Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID."))
    async def delete_news(self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(
            description="The news item's id.")]) -> OkResult | None:
        await service.delete_news(actor(info), parse_id(id))
        return OkResult(message="Actualité supprimée.")


contribution = GraphQLContribution(query=NewsQuery, mutation=NewsMutation)
