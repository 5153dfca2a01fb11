"""« Mes actus »: agents publish news items, everyone reads those published and not expired."""

from __future__ import annotations

from datetime import date

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.compiled_query import BoundQuery, CompiledQuery
from core.errors import NotFound, ValidationError
from core.news.models import NewsItem
from core.permissions import Actor, require_staff
from core.timeutil import today

MAX_LIMIT = 50


async def publish_news(actor: Actor, title: str, body: str, service_code: str | None, published_on: date,
                       expires_on: date | None = None) -> NewsItem:
    """An agent publishes for one of their services; a news item without service needs any staff."""
    user = require_staff(actor, service_code or None)
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise ValidationError("Le titre est obligatoire.", code="REQUIRED", field="title")
    if len(title) > 200:
        raise ValidationError("Le titre fait 200 caractères au plus.", code="TOO_LONG", field="title")
    if not body:
        raise ValidationError("Le texte est obligatoire.", code="REQUIRED", field="body")
    if expires_on is not None and expires_on < published_on:
        raise ValidationError("La date d'expiration précède la date de publication.", code="INVALID_DATES",
                              field="expiresOn")
    async with in_transaction():
        return await NewsItem.create(title=title, body=body, service_code=service_code or "",
                                     published_on=published_on, expires_on=expires_on, author=user)


async def delete_news(actor: Actor, news_id: int) -> None:
    require_staff(actor)
    async with in_transaction():
        item = await NewsItem.get_or_none(id=news_id)
        if item is None:
            raise NotFound("actualité")
        require_staff(actor, item.service_code or None)
        await item.delete()


CURRENT_NEWS = CompiledQuery(lambda on: NewsItem.filter(
    Q(published_on__lte=on), Q(expires_on__isnull=True) | Q(expires_on__gte=on)).order_by("-published_on", "-id"))


def current_news_query(on: date | None = None) -> BoundQuery[NewsItem]:
    """Published (on or before `on`, today by default) and not expired, newest first (then newest id)."""
    on = on or today()
    return CURRENT_NEWS.bind(on)


async def current_news(limit: int = 10, on: date | None = None) -> list[NewsItem]:
    """Published (on or before today) and not expired, newest first."""
    return await current_news_query(on).page(max(1, min(limit, MAX_LIMIT)), 0)
