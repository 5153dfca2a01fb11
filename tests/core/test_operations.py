"""Operations seen from outside, in process: mail claimed once by concurrent senders, Date and
Message-ID headers, health endpoints, request ids and JSON log lines, Prometheus metrics, vendored
GraphiQL, PDF rendering off the event loop, maintenance once. The multi-process proofs (uvicorn
workers, `portail` commands) are in tests/test_cluster.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
from collections import Counter
from dataclasses import replace

import httpx
import pytest

from core.app import create_app
from core.mail.models import OutboxMail, OutboxStatus
from core.mail.service import queue_mail, send_all_pending, send_pending
from core.ops.logs import configure_logging
from core.ops.models import Lease
from core.plugins import load_plugins
from core.timeutil import now
from tests.conftest import make_family

RESET_REQUEST = "mutation($email: String!) { requestPasswordReset(email: $email) { ok } }"


async def _queue(n: int) -> None:
    for i in range(n):
        await queue_mail(f"parent{i}@example.org", "mail/password_reset",
                         {"link": f"http://x/{i}", "user": {"first_name": "Camille"}})


# ---- mail ---------------------------------------------------------------------------------------

async def test_concurrent_senders_deliver_each_mail_once(mailbox):
    await _queue(60)
    # Four senders at once (workers and `portail mail send` do exactly this), small batches.
    results = await asyncio.gather(*(send_pending(limit=7, ignore_schedule=True) for _ in range(4)),
                                   *(send_all_pending() for _ in range(2)))
    await send_all_pending()  # whatever the first round left
    ids = Counter(m["Message-ID"] for m in mailbox.messages)
    assert len(ids) == 60 and set(ids.values()) == {1}
    assert sum(sent for sent, _ in results) <= 60
    assert await OutboxMail.filter(status=OutboxStatus.SENT).count() == 60
    assert await OutboxMail.exclude(claimed_by="").count() == 0  # every lease released


async def test_mail_has_date_and_stable_message_id_across_retries(gql, settings, mailbox):
    from core import config

    await make_family("panne@example.org")
    await gql.ok(RESET_REQUEST, email="panne@example.org")
    stored = await OutboxMail.get(to="panne@example.org")
    assert re.fullmatch(r"<[^@<>\s]+@[^@<>\s]+>", stored.message_id)
    config.activate(replace(settings, smtp=replace(settings.smtp, port=1)))  # SMTP down
    try:
        assert await send_pending(ignore_schedule=True) == (0, 1)
    finally:
        config.activate(settings)
    retried = await OutboxMail.get(id=stored.id)
    assert retried.claimed_by == "" and retried.claimed_until is None  # released, not lost
    assert await send_all_pending() == (1, 0)
    message = mailbox.to("panne@example.org")[0]
    assert message["Message-ID"] == stored.message_id
    assert message["Date"].datetime.tzinfo is not None


async def test_mail_claimed_by_another_process_is_left_to_it(mailbox):
    await _queue(3)
    first = await OutboxMail.all().order_by("id").first()
    await OutboxMail.filter(id=first.id).update(claimed_by="other-host:42", claimed_until=now().replace(year=now().year + 1))
    assert await send_all_pending() == (2, 0)
    assert (await OutboxMail.get(id=first.id)).status == OutboxStatus.PENDING
    assert len(mailbox.messages) == 2


async def test_one_smtp_connection_per_batch(smtp_server, mailbox, monkeypatch):
    import aiosmtplib

    connects = []
    original = aiosmtplib.SMTP.connect

    async def counting_connect(self, *args, **kwargs):
        connects.append(1)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(aiosmtplib.SMTP, "connect", counting_connect)
    await _queue(12)
    assert await send_pending(ignore_schedule=True) == (12, 0)
    assert len(connects) == 1 and len(mailbox.messages) == 12


# ---- maintenance --------------------------------------------------------------------------------

async def test_maintenance_runs_once_when_due_and_never_twice_at_once(host):
    from datetime import timedelta

    from core.ops.service import run_maintenance
    from core.timeutil import today

    results = await asyncio.gather(*(run_maintenance(host, today()) for _ in range(5)))
    assert sum(r is not None for r in results) == 1
    assert await run_maintenance(host, today()) is None  # not due for an hour
    assert (await Lease.get(name="maintenance")).runs == 1
    # Forced (the CLI) runs now, but not while another process holds the lease.
    assert await run_maintenance(host, today(), force=True) is not None
    await Lease.filter(name="maintenance").update(holder="other:1", until=now() + timedelta(minutes=5))
    assert await run_maintenance(host, today(), force=True) is None
    assert (await Lease.get(name="maintenance")).runs == 2


# ---- health -------------------------------------------------------------------------------------

async def test_liveness_and_readiness(http):
    live = await http.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await http.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


async def test_readiness_503_with_a_pending_migration(http):
    from tortoise import connections

    conn = connections.get("default")
    _, rows = await conn.execute_query("SELECT name FROM tortoise_migrations WHERE app = 'core'")
    latest = max(row["name"] for row in rows)
    await conn.execute_query(f"DELETE FROM tortoise_migrations WHERE app = 'core' AND name = '{latest}'")
    try:
        ready = await http.get("/health/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not_ready" and body["checks"]["database"] == "ok"
        assert body["checks"]["migrations"] == f"en attente : core.{latest}"
        assert (await http.get("/health")).status_code == 503
        assert (await http.get("/health/live")).status_code == 200
    finally:
        from tortoise.migrations.api import migrate

        from core.db import tortoise_config
        from core.plugins import get_host

        await migrate(config=tortoise_config(get_host()), fake=True)
    assert (await http.get("/health/ready")).status_code == 200


# ---- request id, logs, metrics ------------------------------------------------------------------

async def test_request_id_header_and_json_log_line_without_personal_data(http, capsys):
    configure_logging("json", "INFO")
    try:
        capsys.readouterr()
        response = await http.post("/graphql", headers={"X-Request-ID": "req-abc.123"},
                                   json={"query": "mutation MotDePasseOublie($e: String!) "
                                                  "{ requestPasswordReset(email: $e) { ok } }",
                                         "variables": {"e": "secret.person@example.org"}})
        generated = await http.get("/health/live")
        err = capsys.readouterr().err
    finally:
        configure_logging("text", "INFO")
    assert response.headers["X-Request-ID"] == "req-abc.123"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("request_id") == "req-abc.123" and line["logger"] == "portail.access"]
    assert len(access) == 1, err
    line = access[0]
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")
    assert line["operation"] == "MotDePasseOublie" and line["outcome"] == "ok"
    assert line["status"] == 200 and line["route"] == "/graphql" and isinstance(line["duration_ms"], float)
    leaks = [x for x in err.splitlines() if "secret.person" in x or "requestPasswordReset" in x]
    assert not leaks, leaks


async def test_malformed_request_id_is_replaced(http):
    response = await http.get("/health/live", headers={"X-Request-ID": "bad id\nwith newline"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + ("{" if labels else " ")) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_operations_outcomes_mail_and_logins(http, gql):
    before = (await http.get("/metrics")).text
    await gql.ok("query Accueil { __typename }")
    await gql.ok("query Accueil { __typename }")
    await gql.execute('mutation Connexion { login(email: "x@example.org", password: "nope") { token } }')
    await gql.execute("query Casse { champInconnu }")
    await _queue(2)
    response = await http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    delta = lambda name, **labels: _metric(text, name, **labels) - _metric(before, name, **labels)  # noqa: E731
    assert delta("portail_graphql_requests_total", operation="Accueil", outcome="ok") == 2
    assert delta("portail_graphql_requests_total", operation="Connexion", outcome="rejected") == 1
    assert delta("portail_graphql_requests_total", operation="Casse", outcome="invalid") == 1
    assert delta("portail_graphql_request_duration_seconds_count", operation="Accueil") == 2
    assert delta("portail_login_failures_total", reason="invalid_credentials") == 1
    assert _metric(text, "portail_outbox_pending") == 2
    assert _metric(text, "portail_outbox_oldest_age_seconds") >= 0
    assert _metric(text, "portail_database_up") == 1
    assert "portail_http_request_duration_seconds_bucket" in text
    await send_all_pending()
    after = (await http.get("/metrics")).text
    assert _metric(after, "portail_outbox_pending") == 0
    assert _metric(after, "portail_mail_sent_total") - _metric(text, "portail_mail_sent_total") == 2


# ---- GraphiQL -----------------------------------------------------------------------------------

async def test_graphiql_uses_only_local_assets_which_are_served(http):
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', page.text) if not a.startswith("data:")]
    assert len(assets) == 7 and all(a.startswith("/graphiql/static/") for a in assets), assets
    assert "unpkg.com" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    # Each tag pins its file by hash (subresource integrity): the served bytes must match it.
    pinned = dict(re.findall(r'(?:src|href)="(/graphiql/static/[^"]+)"\s+integrity="sha384-([^"]+)"', page.text))
    assert set(pinned) == set(assets)
    for asset in assets:
        served = await http.get(asset)
        assert served.status_code == 200, asset
        assert base64.b64encode(hashlib.sha384(served.content).digest()).decode() == pinned[asset], asset


@pytest.mark.parametrize("security", [{"graphiql": False}, {"introspection": False}])
async def test_graphiql_off_is_404(settings, security):
    host = load_plugins(replace(settings, security=replace(settings.security, **security)))
    app = create_app(host, manage_db=False, background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portail.test") as client:
        assert (await client.get("/graphql", headers={"Accept": "text/html"})).status_code == 404
        assert (await client.get("/graphiql/static/graphiql.min.js")).status_code == 404
        ok = await client.post("/graphql", json={"query": "{ __typename }"})
        assert ok.json()["data"] == {"__typename": "Query"}


# ---- CPU-bound work off the event loop ----------------------------------------------------------

async def test_pdf_rendering_leaves_the_event_loop_free():
    from core.pdf import render_pdf

    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    rows = "".join(f"<tr><td>ligne {i}</td><td>{i},00 €</td></tr>" for i in range(300))
    task = asyncio.create_task(ticker())
    logging.getLogger("xhtml2pdf").setLevel(logging.ERROR)
    pdf = await render_pdf("mail/_layout.html", {"subject": "Test", "text": rows})
    done.set()
    await task
    assert pdf.startswith(b"%PDF")
    assert ticks > 20  # the loop kept running other tasks while xhtml2pdf worked in its thread


async def test_metrics_token_when_configured(settings):
    """`[metrics] token`: Prometheus sends it as a bearer token; anyone else gets a 401 and no metric."""
    token = "m3tr1cs-" + "x" * 24
    host = load_plugins(replace(settings, metrics=replace(settings.metrics, token=token)))
    app = create_app(host, manage_db=False, background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portail.test") as client:
        for headers in ({}, {"Authorization": "Bearer faux"}, {"Authorization": token}):
            refused = await client.get(settings.metrics.path, headers=headers)
            assert refused.status_code == 401 and "portail_" not in refused.text
            assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        served = await client.get(settings.metrics.path, headers={"Authorization": f"Bearer {token}"})
        assert served.status_code == 200 and "portail_graphql_requests_total" in served.text


def test_metrics_token_too_short_is_refused_by_the_configuration(settings):
    from pathlib import Path

    from core.config import ConfigError, settings_from_dict

    raw = {**settings.raw, "metrics": {"token": "court"}}
    with pytest.raises(ConfigError, match="token"):
        settings_from_dict(raw, Path("."))


def test_a_server_process_settles_the_garbage_collector():
    """What exists when a server has started is not walked again by the collector, and young
    collections are rarer (GC_THRESHOLDS); cycles made afterwards are still collected."""
    import gc
    import weakref

    from core.app import GC_THRESHOLDS, settle_garbage_collector

    before = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 1000

        class Node:
            pass

        cycle = Node()
        cycle.self = cycle
        alive = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert alive() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
