"""The hand-written baseline of bench_dashboard.py: a plain Starlette endpoint that answers the home
page query of `bench/dashboard.graphql` with raw SQL (one statement per part, no ORM objects, no
GraphQL) and returns the same JSON as `/graphql`. The plannings apply the plugins' pure rules
(`plugins.creche.rules`, `plugins.alsh_paj.rules`: day status, opening, effective state) and their
French label tables, as a hand-written endpoint of the same product would. Served by uvicorn like
the app:

    DATABASE_URL=… uvicorn --factory bench.dashboard_baseline:create_app
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from core.timeutil import month_bounds  # noqa: E402

# The GraphQL enum names of the stored invoice states (core.billing.graphql.InvoiceStatus).
INVOICE_STATUS = {"non_soldee": "UNPAID", "partiellement_payee": "PARTIALLY_PAID", "soldee": "PAID"}


def _d(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns dates as text
        return value[:10]
    return value.isoformat()


def _day(value: Any) -> date:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _datetime(value: Any) -> str:
    """As the API shows it: ISO 8601 in Europe/Paris."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if isinstance(value, str):  # SQLite
        value = datetime.fromisoformat(value)
    return value.astimezone(ZoneInfo("Europe/Paris")).isoformat()


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
            "messagerieThreads": await self.threads(hid),
            "crechePlanning": await self.creche_planning(hid, children, on),
            "alshPajPlanning": await self.alsh_planning(hid, on),
        }}

    async def threads(self, hid: int) -> dict[str, Any]:
        from core.config import get_settings
        from plugins.messagerie.graphql import MessagerieThreadStatus

        p, settings = self.p, get_settings()
        rows = await self.rows(
            f"SELECT t.id, t.service, t.status, t.last_message_at, c.first_name, COUNT(*) OVER () AS total "
            f"FROM messagerie_thread t LEFT JOIN core_child c ON c.id = t.child_id WHERE t.household_id = {p(1)} "
            f"ORDER BY t.last_message_at DESC, t.id DESC LIMIT 10", [hid])
        unread: dict[int, int] = {}
        if rows:
            ids = [r["id"] for r in rows]
            marks = ", ".join(p(i + 1) for i in range(len(ids)))
            for r in await self.rows(f"SELECT thread_id, COUNT(*) AS n FROM messagerie_message WHERE thread_id IN "
                                     f"({marks}) AND from_staff AND read_at IS NULL GROUP BY thread_id", ids):
                unread[r["thread_id"]] = r["n"]
        items = []
        for r in rows:
            service = settings.service(r["service"])
            status = MessagerieThreadStatus(r["status"])
            items.append({"id": str(r["id"]), "service": r["service"], "serviceName": service.name if service else
                          r["service"], "status": status.name, "statusLabel": status.label,
                          "childName": r["first_name"], "lastMessageAt": _datetime(r["last_message_at"]),
                          "unreadCount": unread.get(r["id"], 0)})
        return {"total": rows[0]["total"] if rows else 0, "items": items}

    async def creche_planning(self, hid: int, children: list[dict[str, Any]], on: date) -> list[dict[str, Any]]:
        from core import calendar as fr_calendar
        from core.config import get_settings
        from plugins.creche import rules
        from plugins.creche.graphql import CrecheDayStatus

        p = self.p
        start, end = month_bounds(on)
        ests = {e["id"]: e for e in await self.rows(
            "SELECT id, service_code, opening_hours, closure_days FROM creche_establishment", [])}
        contracts = await self.rows(
            f"SELECT k.id, k.child_id, k.establishment_id, k.start_date, k.end_date, k.schedule FROM creche_contract k "
            f"JOIN core_child c ON c.id = k.child_id WHERE c.household_id = {p(1)} AND k.start_date <= {p(2)} "
            f"AND k.status <> 'draft' ORDER BY k.id", [hid, end])
        attendance = await self.rows(
            f"SELECT a.child_id, a.day, a.arrival, a.departure FROM creche_attendance a JOIN core_child c "
            f"ON c.id = a.child_id WHERE c.household_id = {p(1)} AND a.day >= {p(2)} AND a.day <= {p(3)}",
            [hid, start, end])
        absences = await self.rows(
            f"SELECT a.child_id, a.start_date, a.end_date, a.kind, a.status, a.deductible FROM creche_absence a "
            f"JOIN core_child c ON c.id = a.child_id WHERE c.household_id = {p(1)} AND a.start_date <= {p(2)} "
            f"AND a.end_date >= {p(3)} AND a.status <> 'refused' ORDER BY a.id", [hid, end, start])
        occasionals = await self.rows(
            f"SELECT o.child_id, o.day, o.establishment_id, o.status, o.start_time, o.end_time "
            f"FROM creche_occasional_care o JOIN core_child c ON c.id = o.child_id WHERE c.household_id = {p(1)} "
            f"AND o.day >= {p(2)} AND o.day <= {p(3)} AND o.status NOT IN ('refused', 'cancelled')", [hid, start, end])
        waiting = await self.rows(
            f"SELECT r.child_id, r.start_date FROM creche_place_request r JOIN core_child c ON c.id = r.child_id "
            f"WHERE c.household_id = {p(1)} AND r.status IN ('recue', 'en_commission', 'liste_attente')", [hid])
        def hhmm(minutes: int | None) -> str | None:
            return rules.fmt_hhmm(minutes) if minutes is not None else None

        cfg = rules.Config.from_dict(get_settings().plugin_config("creche"))
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        holidays = fr_calendar.public_holidays_between(start, end, fr_calendar.community_subdivision())
        opening = {i: {int(k): (rules.parse_hhmm(v[0]), rules.parse_hhmm(v[1]))
                       for k, v in (_json(e["opening_hours"]) or {}).items()} for i, e in ests.items()}
        shut = {i: {date.fromisoformat(d) for d in _json(e["closure_days"]) or []} | holidays for i, e in ests.items()}
        schedules = {k["id"]: rules.schedule_from_json(_json(k["schedule"])) for k in contracts}
        out = []
        for child in children:
            cid = child["id"]
            c_contracts = [k for k in contracts if k["child_id"] == cid]
            c_att = {_day(a["day"]): a for a in attendance if a["child_id"] == cid}
            c_abs = [a for a in absences if a["child_id"] == cid]
            c_occ = {_day(o["day"]): o for o in occasionals if o["child_id"] == cid}
            c_wait = [w for w in waiting if w["child_id"] == cid]
            plan = []
            for d in days:
                contract = next((k for k in c_contracts if _day(k["start_date"]) <= d
                                 and (k["end_date"] is None or d <= _day(k["end_date"]))), None)
                occ = c_occ.get(d)
                est_id = contract["establishment_id"] if contract else occ["establishment_id"] if occ else None
                est = ests.get(est_id)
                is_open = rules.is_open(d, opening[est_id], shut[est_id]) if est else d.weekday() < 5 and d not in holidays
                planned = schedules[contract["id"]].get(d.weekday()) if contract and is_open else None
                att = c_att.get(d)
                actual = ((rules.parse_hhmm(att["arrival"]),
                           rules.parse_hhmm(att["departure"]) if att["departure"] else None) if att else None)
                absence = next((a for a in c_abs if _day(a["start_date"]) <= d <= _day(a["end_date"])), None)
                absence_state = None
                if absence is not None and (planned or occ):
                    absence_state = ("cancellation" if absence["kind"] == "cancellation" else "excused"
                                     if absence["status"] == "validated" and absence["deductible"] else "absence")
                facts = rules.DayFacts(
                    day=d, today=on, open=is_open, planned=planned, attendance=actual, absence=absence_state,
                    occasional=(occ["status"], rules.parse_hhmm(occ["start_time"]), rules.parse_hhmm(occ["end_time"]))
                    if occ else None,
                    contract_ended_before=contract is None and any(k["end_date"] is not None and _day(k["end_date"]) < d
                                                                   for k in c_contracts),
                    waiting=any(_day(w["start_date"]) <= d for w in c_wait))
                if occ and not planned:
                    planned = (rules.parse_hhmm(occ["start_time"]), rules.parse_hhmm(occ["end_time"]))
                stored = rules.day_status(facts, cfg)
                status = CrecheDayStatus(stored) if stored is not None else None
                plan.append({"date": d.isoformat(), "status": status.name if status else None,
                             "statusLabel": status.label if status else None,
                             "serviceCode": est["service_code"] if est else None,
                             "plannedArrival": hhmm(planned[0]) if planned else None,
                             "plannedDeparture": hhmm(planned[1]) if planned else None,
                             "arrival": hhmm(actual[0]) if actual else None,
                             "departure": hhmm(actual[1]) if actual else None})
            out.append({"childId": str(cid), "firstName": child["first_name"], "days": plan})
        return out

    async def alsh_planning(self, hid: int, on: date) -> list[dict[str, Any]]:
        from plugins.alsh_paj import rules
        from plugins.alsh_paj.graphql import AlshPajLineState, AlshPajPresence

        p = self.p
        first, last = month_bounds(on)
        lines = await self.rows(
            f"SELECT l.id, l.date, l.unit_id, u.name AS unit, l.state, l.present, l.absence_justified, "
            f"b.id AS booking_id, b.number, b.child_id, c.first_name, c.last_name, e.name AS establishment, "
            f"m.name AS mode, pe.name AS period FROM alsh_line l JOIN alsh_booking b ON b.id = l.booking_id "
            f"JOIN alsh_unit u ON u.id = l.unit_id JOIN core_child c ON c.id = b.child_id "
            f"JOIN alsh_period pe ON pe.id = b.period_id JOIN alsh_mode m ON m.id = pe.mode_id "
            f"JOIN alsh_establishment e ON e.id = m.establishment_id WHERE b.household_id = {p(1)} "
            f"AND l.date >= {p(2)} AND l.date <= {p(3)} AND l.state NOT IN ('annulee', 'refusee') "
            f"ORDER BY l.date, b.child_id, l.unit_id", [hid, first, last])
        ranks: dict[int, int] = {}
        waiting = [ln for ln in lines if ln["state"] == "liste_attente"]
        if waiting:
            units, days = sorted({ln["unit_id"] for ln in waiting}), sorted({_day(ln["date"]) for ln in waiting})
            marks_u = ", ".join(p(i + 1) for i in range(len(units)))
            marks_d = ", ".join(p(len(units) + i + 1) for i in range(len(days)))
            counters: dict[tuple[int, date], int] = {}
            for r in await self.rows(f"SELECT id, unit_id, date FROM alsh_line WHERE state = 'liste_attente' "
                                     f"AND unit_id IN ({marks_u}) AND date IN ({marks_d}) ORDER BY id", [*units, *days]):
                key = (r["unit_id"], _day(r["date"]))
                counters[key] = counters.get(key, 0) + 1
                ranks[r["id"]] = counters[key]
        out = []
        for ln in lines:
            day = _day(ln["date"])
            state = AlshPajLineState(rules.effective_state(ln["state"], day, on))
            presence = (AlshPajPresence.NOT_MARKED if ln["present"] is None else AlshPajPresence.PRESENT
                        if ln["present"] else AlshPajPresence.JUSTIFIED_ABSENCE if ln["absence_justified"]
                        else AlshPajPresence.ABSENT)
            out.append({
                "bookingId": str(ln["booking_id"]), "bookingNumber": rules.booking_number(ln["number"]),
                "childId": str(ln["child_id"]), "childName": f"{ln['first_name']} {ln['last_name']}",
                "establishment": ln["establishment"], "mode": ln["mode"], "period": ln["period"],
                "line": {"id": str(ln["id"]), "date": day.isoformat(), "unitId": str(ln["unit_id"]), "unit": ln["unit"],
                         "state": state.name, "stateLabel": state.label,
                         "waitingRank": ranks.get(ln["id"]) if state is AlshPajLineState.WAITING_LIST else None,
                         "presence": presence.name, "presenceLabel": presence.label}})
        return out


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



