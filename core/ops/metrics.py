"""Prometheus metrics (prometheus-client): counters and histograms updated in process, plus gauges
read from the database at scrape time (outbox backlog) and from the connection pool.

Several worker processes: set `PROMETHEUS_MULTIPROC_DIR` to an empty folder shared by the workers
of one host (`portail serve --workers N` creates one when it is unset); counters and histograms
are then summed over the workers at each scrape.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter("portail_graphql_requests", "GraphQL operations by name and outcome",
                   ["operation", "outcome"])
LATENCY = Histogram("portail_graphql_request_duration_seconds", "GraphQL operation latency", ["operation"],
                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
HTTP_REQUESTS = Counter("portail_http_requests", "HTTP requests by route and status class", ["route", "status"])
HTTP_LATENCY = Histogram("portail_http_request_duration_seconds", "HTTP request latency", ["route"],
                         buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
MAIL_SENT = Counter("portail_mail_sent", "Mails delivered to the SMTP server")
MAIL_FAILED = Counter("portail_mail_failed", "Mails given up after max_attempts")
MAIL_ATTEMPTS_FAILED = Counter("portail_mail_failed_attempts", "Failed delivery attempts (retried later)")
LOGIN_FAILURES = Counter("portail_login_failures", "Refused logins: invalid_credentials or throttled",
                         ["reason"])

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_OPERATIONS = 500
_seen_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    """A bounded label: the client-chosen operation name when well-formed, else `anonymous`/`other`.

    Clients pick operation names; a scraper must not be flooded with unbounded label values."""
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "other"
    if name not in _seen_operations:
        if len(_seen_operations) >= _MAX_OPERATIONS:
            return "other"
        _seen_operations.add(name)
    return name


class _ScrapeTimeGauges(Collector):
    """Gauges measured when scraped (not stored in process memory, so right with several workers)."""

    def __init__(self, values: dict[str, tuple[str, float]]) -> None:
        self.values = values

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, (doc, value) in self.values.items():
            yield GaugeMetricFamily(name, doc, value=value)


def _pool_info() -> dict[str, tuple[str, float]]:
    from tortoise import connections

    try:
        pool = getattr(connections.get("default"), "_pool", None)
    except Exception:
        return {}
    if pool is None or not hasattr(pool, "get_size"):
        return {}
    return {"portail_db_pool_size": ("Connections open in this worker's pool", pool.get_size()),
            "portail_db_pool_idle": ("Idle connections in this worker's pool", pool.get_idle_size()),
            "portail_db_pool_max": ("Maximum connections of this worker's pool", pool.get_max_size())}


async def render() -> tuple[bytes, str]:
    """The exposition text: process counters (summed over workers when multi-process) + DB gauges."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY

    from core.mail.service import outbox_backlog

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry: Any = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    gauges = _pool_info()
    try:
        backlog, oldest = await outbox_backlog()
        gauges["portail_outbox_pending"] = ("Mails waiting in the outbox", backlog)
        gauges["portail_outbox_oldest_age_seconds"] = ("Age of the oldest pending mail", oldest)
        gauges["portail_database_up"] = ("1 when the database answered this scrape", 1)
    except Exception:
        gauges["portail_database_up"] = ("1 when the database answered this scrape", 0)
    scrape = CollectorRegistry()
    scrape.register(_ScrapeTimeGauges(gauges))
    return generate_latest(registry) + generate_latest(scrape), CONTENT_TYPE_LATEST
