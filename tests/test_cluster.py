"""Several processes on one database, as production runs them: real `portail serve --workers 2`
(uvicorn) and real `portail` commands in subprocesses. Each test is bounded by deadlines; nothing
asserts on time. PostgreSQL tests use a fresh schema of the test database each."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import Mailbox, free_port

PORTAIL = str(Path(sys.executable).with_name("portail"))
DEMO_CONFIG = str(Path(__file__).parents[1] / "core" / "demo.toml")
DATABASE_URL = os.environ.get("DATABASE_URL", "")
on_postgres = pytest.mark.skipif(not DATABASE_URL.startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)")


def _env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PORTAIL_", "PROMETHEUS_")) and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url, PORTAIL_CONFIG=DEMO_CONFIG, PORTAIL_STORAGE__PATH=str(tmp_path / "files"),
               **extra)
    return env


def _wait_until(check: Callable[[], Any], what: str, deadline_s: float = 90) -> Any:
    """Poll `check` until it returns something truthy; fail (not assert a duration) past the deadline."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"gave up waiting: {what}")


@contextmanager
def _server(env: dict[str, str], port: int, log_path: Path, *args: str):
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([PORTAIL, "serve", "--no-migrate", "--port", str(port), *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def live() -> bool:
        if proc.poll() is not None:
            pytest.fail("server exited: " + log_path.read_text(errors="replace")[-3000:])
        try:
            return httpx.get(f"{base}/health/live", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait_until(live, "server start", 60)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return lines


# ---- readiness, migration status, JSON logs (SQLite: runs everywhere) ---------------------------

def test_readiness_follows_migrations_and_json_logs_carry_the_request(tmp_path):
    env = _env(f"sqlite://{tmp_path / 'fresh.sqlite3'}", tmp_path, PORTAIL_LOGGING__FORMAT="json",
               PORTAIL_PLUGINS="creche")
    port = free_port()
    with _server(env, port, tmp_path / "server.log") as base:
        assert httpx.get(f"{base}/health/live").status_code == 200
        ready = httpx.get(f"{base}/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "ok"
        assert "core.0001_initial" in ready.json()["checks"]["migrations"]

        status = subprocess.run([PORTAIL, "db", "status"], env=env, capture_output=True, text=True, timeout=120)
        assert status.returncode == 1 and "en attente" in status.stdout and "creche" in status.stdout
        migrate = subprocess.run([PORTAIL, "db", "migrate"], env=env, capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr
        status = subprocess.run([PORTAIL, "db", "status"], env=env, capture_output=True, text=True, timeout=120)
        assert status.returncode == 0 and "Base à jour" in status.stdout and "en attente" not in status.stdout

        assert httpx.get(f"{base}/health/ready").json() == {"status": "ready", "checks": {"database": "ok",
                                                                                           "migrations": "ok"}}
        answer = httpx.post(f"{base}/graphql", headers={"X-Request-ID": "trace-42"},
                            json={"query": "query Bonjour { __typename }"})
        assert answer.headers["X-Request-ID"] == "trace-42"
    line = next(x for x in _json_lines(tmp_path / "server.log") if x.get("request_id") == "trace-42")
    assert {"time", "level", "logger", "message", "duration_ms"} <= set(line)
    assert (line["operation"], line["outcome"], line["status"]) == ("Bonjour", "ok", 200)


def test_readiness_503_when_the_database_is_unreachable(tmp_path):
    closed = free_port()  # nothing listens there
    env = _env(f"postgres://postgres@127.0.0.1:{closed}/portail", tmp_path)
    with _server(env, free_port(), tmp_path / "server.log") as base:
        assert httpx.get(f"{base}/health/live").status_code == 200
        ready = httpx.get(f"{base}/health/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready" and ready.json()["checks"]["database"].startswith("injoignable")
        assert httpx.get(f"{base}/health", timeout=10).status_code == 503


def test_two_concurrent_migrations_on_a_fresh_sqlite_file(tmp_path):
    env = _env(f"sqlite://{tmp_path / 'fresh.sqlite3'}", tmp_path)
    procs = [subprocess.Popen([PORTAIL, "db", "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outputs]


@pytest.mark.parametrize(("options", "seen"), [((), "127.0.0.1"),
                                              (("--forwarded-allow-ips", "127.0.0.1"), "203.0.113.9")])
def test_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path, options, seen):
    """The client address (login throttling, audit) is the TCP peer unless the peer is a trusted proxy."""
    import sqlite3

    db = tmp_path / "portail.sqlite3"
    env = _env(f"sqlite://{db}", tmp_path, PORTAIL_PLUGINS="")
    assert subprocess.run([PORTAIL, "db", "migrate"], env=env, capture_output=True, timeout=180).returncode == 0
    with _server(env, free_port(), tmp_path / "server.log", *options) as base:
        answer = httpx.post(f"{base}/graphql", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10,
                            json={"query": 'mutation { login(email: "x@example.org", password: "faux") { token } }'})
        assert answer.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    with sqlite3.connect(db) as conn:
        assert [row[0] for row in conn.execute("SELECT ip FROM core_login_failure")] == [seen]


# ---- PostgreSQL: a fresh schema per test --------------------------------------------------------

@pytest.fixture
def pg_schema() -> Any:
    import asyncpg

    from core.ops.service import asyncpg_dsn

    name = f"ops_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(DATABASE_URL))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f"CREATE SCHEMA {name}"))
    separator = "&" if "?" in DATABASE_URL else "?"
    yield name, f"{DATABASE_URL}{separator}schema={name}"
    asyncio.run(run(f"DROP SCHEMA {name} CASCADE"))


def _pg(schema: str, sql: str, *args: Any) -> Any:
    import asyncpg

    from core.ops.service import asyncpg_dsn

    async def run() -> Any:
        conn = await asyncpg.connect(asyncpg_dsn(DATABASE_URL), server_settings={"search_path": schema})
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def _queue_mails(schema: str, start: int, count: int) -> None:
    _pg(schema, """
        INSERT INTO core_outbox_mail (to, subject, text_body, html_body, template, status, attempts, last_error,
                                      next_attempt_at, created_at, message_id, claimed_by)
        SELECT 'parent' || i || '@example.org', 'Mail ' || i, 'Bonjour ' || i, '', 'test', 'pending', 0, '',
               now(), now(), '<mail-' || i || '@portail.test>', ''
        FROM generate_series($1::int, $2::int) AS i""".replace("(to,", '("to",'), start, start + count - 1)


@on_postgres
def test_two_concurrent_migrations_on_a_fresh_postgres_database(pg_schema, tmp_path):
    schema, url = pg_schema
    env = _env(url, tmp_path)
    procs = [subprocess.Popen([PORTAIL, "db", "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:].decode(errors="replace") for o in outputs]
    applied = _pg(schema, 'SELECT app, name FROM tortoise_migrations')
    assert len(applied) == len({(r["app"], r["name"]) for r in applied})  # each recorded once
    status = subprocess.run([PORTAIL, "db", "status"], env=env, capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stdout


@on_postgres
def test_two_workers_and_mail_send_through_an_smtp_outage_deliver_each_mail_once(pg_schema, tmp_path):
    """150 mails queued while SMTP is down; two uvicorn workers try them, `portail mail send` too;
    SMTP comes back, 150 more are queued, and the workers race two `portail mail send`: the sink
    receives each of the 300 Message-IDs exactly once. The workers also run maintenance once."""
    schema, url = pg_schema
    smtp_port = free_port()
    env = _env(url, tmp_path, PORTAIL_SMTP__HOST="127.0.0.1", PORTAIL_SMTP__PORT=str(smtp_port),
               PORTAIL_BACKGROUND__POLL_SECONDS="0.3", PORTAIL_LOGGING__FORMAT="json",
               PORTAIL_LOGGING__LEVEL="DEBUG", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    assert subprocess.run([PORTAIL, "db", "migrate"], env=env, capture_output=True, timeout=180).returncode == 0
    _queue_mails(schema, 1, 150)
    count = lambda sql: _pg(schema, sql)[0][0]  # noqa: E731

    mailbox = Mailbox()
    with _server(env, free_port(), tmp_path / "server.log", "--workers", "2") as base:
        # SMTP down: the workers' attempts fail and are released with a backoff, nothing is lost.
        _wait_until(lambda: count("SELECT count(*) FROM core_outbox_mail WHERE attempts >= 1") == 150,
                    "every mail tried during the outage")
        during = subprocess.run([PORTAIL, "mail", "send"], env=env, capture_output=True, text=True, timeout=120)
        assert during.returncode == 0 and "0 envoyé(s)" in during.stdout, during.stdout + during.stderr
        assert count("SELECT count(*) FROM core_outbox_mail WHERE status = 'pending'") == 150

        controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        try:
            _queue_mails(schema, 151, 150)  # new mail is due at once: the workers take it
            senders = [subprocess.Popen([PORTAIL, "mail", "send"], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True) for _ in range(2)]
            outputs = [s.communicate(timeout=180) for s in senders]
            assert [s.returncode for s in senders] == [0, 0], outputs
            _wait_until(lambda: count("SELECT count(*) FROM core_outbox_mail WHERE status = 'sent'") == 300,
                        "all 300 mails sent")
            metrics = httpx.get(f"{base}/metrics", timeout=10).text
        finally:
            controller.stop()

    ids = Counter(m["Message-ID"] for m in mailbox.messages)
    assert len(ids) == 300 and set(ids.values()) == {1}, [k for k, v in ids.items() if v > 1][:5]
    assert all(m["Date"] for m in mailbox.messages)
    by_cli = sum(int(re.search(r"(\d+) envoyé", out).group(1)) for out, _ in outputs)
    by_workers = _metric_total(metrics, "portail_mail_sent_total")
    assert by_cli + by_workers == 300  # the workers' counters are summed across both processes
    assert by_cli > 0 and by_workers > 0  # both kinds of sender took part
    assert count("SELECT count(*) FROM core_outbox_mail WHERE claimed_by <> ''") == 0

    # Maintenance: both workers looked at it on every tick; it ran once (due again in an hour).
    lines = _json_lines(tmp_path / "server.log")
    runs = [x for x in lines if x.get("message") == "maintenance run"]
    looked = {x["pid"] for x in lines if str(x.get("message", "")).startswith("maintenance")}
    assert len(runs) == 1 and len(looked) == 2
    assert _pg(schema, "SELECT runs FROM core_lease WHERE name = 'maintenance'")[0]["runs"] == 1


def _metric_total(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " "))
