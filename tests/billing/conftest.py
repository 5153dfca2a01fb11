"""Billing fixtures: a test plugin contributing invoice lines, a PayFiP simulator speaking the
web-service protocol (served in-process through httpx), a notification endpoint."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.billing import payfip
from core.billing.types import BillingPeriod, InvoiceLineDraft
from core.config import get_settings
from core.hookspecs import hookimpl
from core.plugins import get_host

MARCH = BillingPeriod(date(2023, 3, 1), date(2023, 3, 31))


class LinesPlugin:
    """Returns the drafts put in `self.lines` for the asked households (counts its calls)."""

    def __init__(self) -> None:
        self.lines: list[InvoiceLineDraft] = []
        self.calls: list[list[int]] = []

    @hookimpl
    async def portail_invoice_lines(self, period: BillingPeriod, household_ids: list[int]) -> list[InvoiceLineDraft]:
        self.calls.append(list(household_ids))
        wanted = set(household_ids)
        return [d for d in self.lines if d.household_id in wanted]

    def add(self, household_id: int, key: str, designation: str, qty: str, unit: int, *, regie: str = "cdc",
            child_id: int | None = None, establishment: str = "ALSH BRAUD ET ST LOUIS / MERCREDIS",
            service: str = "alsh") -> None:
        from decimal import Decimal

        from core.billing.rules import round_cents

        self.lines.append(InvoiceLineDraft(
            household_id=household_id, regie_code=regie, source_key=key, designation=designation, quantity=qty,
            unit_price_cents=unit, amount_cents=round_cents(Decimal(qty) * unit), child_id=child_id,
            establishment=establishment, service_code=service))


@pytest.fixture
def lines_plugin(host: Any) -> Iterator[LinesPlugin]:
    plugin = LinesPlugin()
    get_host().register(plugin, "billing_test_lines")
    try:
        yield plugin
    finally:
        get_host().unregister("billing_test_lines")


class PayfipSimulator:
    """The provider side: operations created by `creerPaiementSecurise`, the card holder's outcome
    set by `pay()`, results served by `recupererDetailPaiementSecurise`."""

    def __init__(self) -> None:
        self.ops: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.tamper_amount = 0
        self.app = Starlette(routes=[
            Route("/ws/creerPaiementSecurise", self.create, methods=["POST"]),
            Route("/ws/recupererDetailPaiementSecurise", self.detail, methods=["POST"]),
        ])

    async def create(self, request: Request) -> JSONResponse:
        body = await request.json()
        required = ("numcli", "exer", "refdet", "montant", "mel", "urlnotif", "urlredirect", "saisie")
        if any(not body.get(k) for k in required) or not str(body["montant"]).isdigit():
            return JSONResponse({"code": "P5", "descriptif": "paramètre invalide"}, status_code=400)
        id_op = f"op{next(self._ids):06d}"
        self.ops[id_op] = {**body, "resultrans": "", "idOp": id_op}
        return JSONResponse({"idOp": id_op})

    async def detail(self, request: Request) -> JSONResponse:
        body = await request.json()
        op = self.ops.get(str(body.get("idOp")))
        if op is None:
            return JSONResponse({"code": "P1", "descriptif": "idOp inconnu"}, status_code=404)
        return JSONResponse({
            "idOp": op["idOp"], "numcli": op["numcli"], "exer": op["exer"], "refdet": op["refdet"],
            "montant": str(int(op["montant"]) + self.tamper_amount), "mel": op["mel"], "saisie": op["saisie"],
            "resultrans": op["resultrans"], "numauto": op.get("numauto", ""), "dattrans": op.get("dattrans", ""),
            "heurtrans": op.get("heurtrans", "")})

    def pay(self, id_op: str, outcome: str = "P") -> None:
        op = self.ops[id_op]
        op["resultrans"] = outcome
        if outcome == "P":
            op.update(numauto="123456", dattrans=date.today().strftime("%d%m%Y"), heurtrans="1200")


@pytest.fixture
def payfip_sim(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[PayfipSimulator]:
    sim = PayfipSimulator()
    monkeypatch.setitem(get_settings().raw, "payfip", {"numcli": "012345", "base_url": "http://payfip.sim/ws",
                                                       "payment_url": "http://payfip.sim/tpa/paiementws.web"})
    payfip.set_provider(payfip.HttpPayfipProvider(base_url="http://payfip.sim/ws",
                                                  payment_url="http://payfip.sim/tpa/paiementws.web",
                                                  transport=httpx.ASGITransport(app=sim.app)))
    try:
        yield sim
    finally:
        payfip.set_provider(None)


@pytest.fixture
async def notify(database: None) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client of the notification route as core/app.py mounts it."""
    app = Starlette(routes=[Route("/payfip/notification", payfip.payfip_notification, methods=["POST"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portail.test") as client:
        yield client
