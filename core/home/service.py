"""The family's home page: « Vous avez N alertes », quick access to the children, « Mes actus »."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass

from core.config import get_settings
from core.contributions import Alert
from core.documents.rules import latest_refused, missing_for_service
from core.documents.service import document_types, requirement_facts, requirer
from core.households.models import Child
from core.households.service import load_bundle
from core.news.models import NewsItem
from core.news.service import current_news
from core.permissions import Actor, own_household_id
from core.plugins import get_host
from core.request_memo import memoised


@dataclass(frozen=True)
class HomePage:
    alerts: list[Alert]
    children: list[Child]
    news: list[NewsItem]

    @property
    def alert_count(self) -> int:
        """Items to act on, summed over the alerts (3 alerts of counts 3, 2, 2 -> 7): the portal's
        « Vous avez N alertes » counts documents and messages, not alert lines."""
        return sum(a.count for a in self.alerts)


def _enabled_requirers() -> list[str]:
    """`required_by` codes of an enabled plugin or a configured service (a plugin that is off asks nothing)."""
    host = get_host()
    on = set(host.plugin_names()) | set(host.services()) | {s.code for s in get_settings().services}
    return sorted({c for t in document_types() for c in t.required_by if c in on})


async def core_alerts(household_id: int) -> list[Alert]:
    """Missing documents per enabled service, refused documents, and the households area's alerts."""
    facts, child_ids, asked = await requirement_facts(household_id)
    types = document_types()
    alerts: list[Alert] = []
    for code in _enabled_requirers():
        missing = [m for m in missing_for_service(types, facts, code, child_ids, asked) if m.status == "missing"]
        if missing:
            label, _ = requirer(code)
            alerts.append(Alert(code="DOCUMENTS_MISSING",
                                message=f"{len(missing)} document(s) à transmettre pour : {label}",
                                count=len(missing), severity="warning", link=f"documents?service={code}"))
    refused = latest_refused(facts)
    if refused:
        alerts.append(Alert(code="DOCUMENTS_REFUSED",
                            message=f"{len(refused)} document(s) refusé(s) : merci d'en déposer un nouveau",
                            count=len(refused), severity="warning", link="documents"))
    # core/households/service.py is written in parallel: use its alerts when it defines them.
    if importlib.util.find_spec("core.households.service") is None:
        return alerts
    households_service = importlib.import_module("core.households.service")
    if hasattr(households_service, "household_alerts"):
        result = households_service.household_alerts(household_id)
        if inspect.isawaitable(result):
            result = await result
        alerts.extend(result or [])
    return alerts


async def alerts(actor: Actor, household_id: int) -> list[Alert]:
    """Core's alerts then every plugin's, read once per request (core.request_memo)."""
    async def load() -> list[Alert]:
        return await core_alerts(household_id) + await get_host().alerts(actor, household_id)

    return await memoised(("home_alerts", household_id), load)


async def children(household_id: int) -> list[Child]:
    """Oldest first, children still expected last: the household bundle's (read once per request with
    the household file and the alerts)."""
    return (await load_bundle(household_id)).children


async def home(actor: Actor, news_limit: int = 5) -> HomePage:
    household_id = own_household_id(actor)
    return HomePage(alerts=await alerts(actor, household_id), children=await children(household_id),
                    news=await current_news(news_limit))
