"""The hand-written baseline of bench_dashboard.py: a plain Starlette endpoint that answers the home
page query of `bench/dashboard.graphql` with raw SQL (one statement per part, no ORM objects, no
GraphQL) and returns the same JSON as `/graphql`. Served by uvicorn like the app:

    DATABASE_URL=… uvicorn --factory bench.dashboard_baseline:create_app
"""

from __future__ import annotations

import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

# The GraphQL enum names of the stored invoice states (core.billing.graphql.InvoiceStatus).
INVOICE_STATUS = {"non_soldee": "UNPAID", "partiellement_payee": "PARTIALLY_PAID", "soldee": "PAID"}


def _d(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns dates as text
        return value[:10]
    return value.isoformat()


class Baseline:
    def __init__(self, postgres: bool) -> None:
        self.p = (lambda i: f"${i}") if postgres else (lambda i: "?")

    async def rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        from tortoise import connections

        return await connections.get("default").execute_query_dict(sql, params)

    async def answer(self, token: str) -> dict[str, Any] | None:
        from core.accounts.rules import hash_token
        from core.timeutil import now, today

        p = self.p
        session = await self.rows(
            f"SELECT u.household_id FROM core_auth_token t JOIN core_user u ON u.id = t.user_id "
            f"WHERE t.token_hash = {p(1)} AND t.purpose = 'session' AND t.used_at IS NULL AND t.expires_at > {p(2)} "
            f"AND u.is_active", [hash_token(token), now()])
        if not session or session[0]["household_id"] is None:
            return None
        hid = session[0]["household_id"]
        on = today()
        household = (await self.rows(
            f"SELECT id, name, postal_code, city, email, phone, quotient_familial, dependent_children "
            f"FROM core_household WHERE id = {p(1)}", [hid]))[0]
        children = await self.rows(
            f"SELECT id, first_name, last_name, sex, birth_date, expected_birth_date, school, school_class "
            f"FROM core_child WHERE household_id = {p(1)}", [hid])
        children.sort(key=lambda c: (_d(c["birth_date"]) or _d(c["expected_birth_date"]) or "9999-12-31", c["id"]))
        news = await self.rows(
            f"SELECT id, title, body, service_code, published_on, expires_on FROM core_news_item "
            f"WHERE published_on <= {p(1)} AND (expires_on IS NULL OR expires_on >= {p(2)}) "
            f"ORDER BY published_on DESC, id DESC LIMIT 5", [on, on])
        documents = await self.rows(
            f"SELECT d.id, d.type_code, d.status, d.child_id, d.valid_until, f.original_filename, d.uploaded_at "
            f"FROM core_document d JOIN core_stored_file f ON f.id = d.file_id WHERE d.household_id = {p(1)} "
            f"ORDER BY d.uploaded_at DESC, d.id DESC", [hid])
        invoices = await self.rows(
            f"SELECT id, number, kind, regie_code, issued_on, period_start, period_end, total_cents, paid_cents, "
            f"credited_cents, status FROM core_invoice WHERE household_id = {p(1)} "
            f"ORDER BY issued_on DESC, id DESC", [hid])
        unread = await self.rows(
            f"SELECT COUNT(*) AS n FROM messagerie_message m JOIN messagerie_thread t ON t.id = m.thread_id "
            f"WHERE t.household_id = {p(1)} AND m.from_staff AND m.read_at IS NULL", [hid])

        def balance(i: dict[str, Any]) -> int:
            return 0 if i["kind"] == "credit_note" else max(0, i["total_cents"] - i["paid_cents"] - i["credited_cents"])

        return {"data": {
            "home": {
                "children": [{"id": str(c["id"]), "firstName": c["first_name"], "birthDate": _d(c["birth_date"]),
                              "expectedBirthDate": _d(c["expected_birth_date"])} for c in children],
                "news": [{"id": str(n["id"]), "title": n["title"], "body": n["body"], "serviceCode": n["service_code"],
                          "publishedOn": _d(n["published_on"]), "expiresOn": _d(n["expires_on"])} for n in news],
            },
            "myHousehold": {
                "id": str(household["id"]), "name": household["name"], "postalCode": household["postal_code"],
                "city": household["city"], "email": household["email"], "phone": household["phone"],
                "quotientFamilial": household["quotient_familial"],
                "dependentChildren": household["dependent_children"],
                "children": [{"id": str(c["id"]), "firstName": c["first_name"], "lastName": c["last_name"],
                              "sex": c["sex"], "birthDate": _d(c["birth_date"]), "school": c["school"],
                              "schoolClass": c["school_class"]} for c in children],
            },
            "myDocuments": {"total": len(documents), "items": [
                {"id": str(d["id"]), "typeCode": d["type_code"], "status": d["status"].upper(),
                 "childId": str(d["child_id"]) if d["child_id"] is not None else None,
                 "validUntil": _d(d["valid_until"]), "filename": d["original_filename"]}
                for d in documents[:50]]},
            "myInvoiceTotals": {"count": len(invoices), "totalCents": sum(i["total_cents"] for i in invoices)},
            "myInvoices": {
                "total": len(invoices),
                "items": [{"id": str(i["id"]), "number": i["number"], "regieCode": i["regie_code"],
                           "issuedOn": _d(i["issued_on"]), "periodStart": _d(i["period_start"]),
                           "periodEnd": _d(i["period_end"]), "totalCents": i["total_cents"],
                           "paidCents": i["paid_cents"], "creditedCents": i["credited_cents"],
                           "balanceCents": balance(i), "status": INVOICE_STATUS[i["status"]]}
                          for i in invoices[:50]],
            },
            "messagerieUnreadCount": unread[0]["n"],
        }}


def create_app() -> Starlette:
    from core.app import bootstrap
    from core.db import close_db, init_db

    host = bootstrap()
    baseline = Baseline(os.environ.get("DATABASE_URL", "").startswith("postgres"))

    @asynccontextmanager
    async def lifespan(app: Starlette):  # noqa: ANN202
        await init_db(host)
        yield
        await close_db()

    async def dashboard(request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        answer = await baseline.answer(auth[7:].strip()) if auth.lower().startswith("bearer ") else None
        if answer is None:
            return JSONResponse({"errors": [{"message": "unauthenticated"}]}, status_code=401)
        return JSONResponse(answer)

    return Starlette(routes=[Route("/dashboard", dashboard, methods=["POST"])], lifespan=lifespan)



