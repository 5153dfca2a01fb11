"""Billing fixtures: a test plugin contributing invoice lines, a PayFiP simulator speaking the
SOAP web-service protocol (served in-process through httpx), a notification endpoint."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.billing import payfip
from core.billing.types import BillingPeriod, InvoiceLineDraft
from core.config import get_settings
from core.hookspecs import hookimpl
from core.plugins import get_host
from core.timeutil import today

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
            service: str = "alsh", **extra: Any) -> None:
        from decimal import Decimal

        from core.billing.rules import round_cents

        self.lines.append(InvoiceLineDraft(
            household_id=household_id, regie_code=regie, source_key=key, designation=designation, quantity=qty,
            unit_price_cents=unit, amount_cents=round_cents(Decimal(qty) * unit), child_id=child_id,
            establishment=establishment, service_code=service, **extra))


@pytest.fixture
def lines_plugin(host: Any) -> Iterator[LinesPlugin]:
    plugin = LinesPlugin()
    get_host().register(plugin, "billing_test_lines")
    try:
        yield plugin
    finally:
        get_host().unregister("billing_test_lines")


SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS_PAI = ("http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/"
          "contrat_paiement_securise/PaiementSecuriseService")
FAULT_FUNCTIONAL = "fr.gouv.finances.cp.tpa.webservice.exceptions.FonctionnelleErreur"
SIM_URL = "http://payfip.sim/tpa/services/securite"
SIM_PAYMENT_URL = "http://payfip.sim/tpa/paiementws.web"
SIM_NUMCLI = "012345"
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _text_children(element: Any) -> dict[str, str]:
    return {etree.QName(c).localname: (c.text or "") for c in element if isinstance(c.tag, str)}


class PayfipSimulator:
    """The provider side, speaking PayFiP's SOAP 1.1 web service on one endpoint
    (`/tpa/services/securite`): operations created by `creerPaiementSecurise`, the card holder's
    outcome set by `pay()`, results served by `recupererDetailPaiementSecurise` (SOAP Fault P5
    until then, P1 for an unknown idOp). Written independently of the client (own lxml code), so
    a wire-format mistake on either side shows.

    Test knobs: `fault_next = (kind, code, text)` answers the next call with that SOAP Fault,
    `raw_next = bytes` answers the next call with that body verbatim, `down = exc` makes the
    transport raise (network error / timeout), `tamper_amount` alters the montant answered."""

    def __init__(self) -> None:
        self.ops: dict[str, dict[str, str]] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []  # (operation, HTTP headers)
        self._ids = itertools.count(1)
        self.tamper_amount = 0
        self.fault_next: tuple[str, str, str] | None = None
        self.raw_next: bytes | None = None
        self.down: Exception | None = None
        self.app = Starlette(routes=[Route("/tpa/services/securite", self.endpoint, methods=["POST"])])

    # ---- SOAP plumbing -------------------------------------------------------------------------

    @staticmethod
    def _envelope(payload: Any, status: int = 200) -> Response:
        env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
        etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(payload)
        return Response(etree.tostring(env, xml_declaration=True, encoding="UTF-8"), status_code=status,
                        media_type="text/xml; charset=utf-8")

    def fault(self, kind: str, code: str, text: str, faultcode: str = "soap:Server") -> Response:
        """SOAP 1.1 Fault, HTTP 500, `detail/<kind>/{code, libelle, descriptif, severite}`."""
        fault = etree.Element(f"{{{SOAP_ENV}}}Fault")
        etree.SubElement(fault, "faultcode").text = faultcode
        etree.SubElement(fault, "faultstring").text = (
            FAULT_FUNCTIONAL if kind == "FonctionnelleErreur" else f"fr.gouv.finances.cp.tpa.webservice.exceptions.{kind}")
        error = etree.SubElement(etree.SubElement(fault, "detail"), f"{{{NS_PAI}}}{kind}", nsmap={"ns1": NS_PAI})
        for name, value in (("code", code), ("descriptif", text), ("libelle", f"{code} : {text}"), ("severite", "2")):
            etree.SubElement(error, name).text = value
        return self._envelope(fault, status=500)

    def _answer(self, operation: str, fields: list[tuple[str, str]]) -> Response:
        response = etree.Element(f"{{{NS_PAI}}}{operation}Response", nsmap={"ns2": NS_PAI})
        ret = etree.SubElement(response, "return")
        for name, value in fields:
            etree.SubElement(ret, name).text = value
        return self._envelope(response)

    async def endpoint(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("text/xml") or "soapaction" not in request.headers:
            return self.fault("TechProtocolaireErreur", "T1", "requête non SOAP 1.1", "soap:Client")
        try:
            root = etree.fromstring(await request.body(), _SAFE)
        except etree.XMLSyntaxError:
            return self.fault("TechProtocolaireErreur", "T1", "XML invalide", "soap:Client")
        body = root.find(f"{{{SOAP_ENV}}}Body") if root.tag == f"{{{SOAP_ENV}}}Envelope" else None
        call = body[0] if body is not None and len(body) else None
        arg0 = call.find("arg0") if call is not None else None  # unqualified, as in the WSDL
        if call is None or arg0 is None or etree.QName(call).namespace != NS_PAI:
            return self.fault("TechProtocolaireErreur", "T1", "enveloppe invalide", "soap:Client")
        operation = etree.QName(call).localname
        self.calls.append((operation, dict(request.headers)))
        if self.raw_next is not None:
            raw, self.raw_next = self.raw_next, None
            return Response(raw, media_type="text/xml; charset=utf-8")
        if self.fault_next is not None:
            (kind, code, text), self.fault_next = self.fault_next, None
            return self.fault(kind, code, text)
        fields = _text_children(arg0)
        if operation == "creerPaiementSecurise":
            return self.create(fields)
        if operation == "recupererDetailPaiementSecurise":
            return self.detail(fields)
        return self.fault("TechProtocolaireErreur", "T1", f"opération inconnue {operation}", "soap:Client")

    # ---- operations ----------------------------------------------------------------------------

    def create(self, f: dict[str, str]) -> Response:
        checks = {
            "exer": re.fullmatch(r"\d{4}", f.get("exer", "")), "montant": re.fullmatch(r"[1-9]\d*", f.get("montant", "")),
            "numcli": f.get("numcli") == SIM_NUMCLI, "refdet": re.fullmatch(r"[A-Za-z0-9]{1,30}", f.get("refdet", "")),
            "saisie": f.get("saisie") in ("T", "X", "W"), "mel": "@" in f.get("mel", ""),
            "objet": re.fullmatch(r"[A-Za-z0-9 ]{0,100}", f.get("objet", "")),
            "urlnotif": f.get("urlnotif", "").startswith("http"), "urlredirect": f.get("urlredirect", "").startswith("http"),
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:  # the simulator's own code: the real service has one per parameter
            return self.fault("FonctionnelleErreur", "SIM", f"paramètre invalide : {', '.join(wrong)}")
        id_op = f"op{next(self._ids):06d}"
        self.ops[id_op] = {**f, "idOp": id_op, "resultrans": ""}
        return self._answer("creerPaiementSecurise", [("idOp", id_op)])

    def detail(self, f: dict[str, str]) -> Response:
        op = self.ops.get(f.get("idOp", ""))
        if op is None:
            return self.fault("FonctionnelleErreur", "P1", "IdOp incorrect")
        if not op["resultrans"]:
            return self.fault("FonctionnelleErreur", "P5", "résultat de la transaction non connu")
        return self._answer("recupererDetailPaiementSecurise", [
            ("dattrans", op.get("dattrans", "")), ("exer", op["exer"]), ("heurtrans", op.get("heurtrans", "")),
            ("idOp", op["idOp"]), ("mel", op["mel"]), ("montant", str(int(op["montant"]) + self.tamper_amount)),
            ("numauto", op.get("numauto", "")), ("numcli", op["numcli"]), ("objet", op.get("objet", "")),
            ("refdet", op["refdet"]), ("resultrans", op["resultrans"]), ("saisie", op["saisie"])])

    def pay(self, id_op: str, outcome: str = "P") -> None:
        op = self.ops[id_op]
        op["resultrans"] = outcome
        if outcome in ("P", "V"):
            op.update(numauto="123456", dattrans=today().strftime("%d%m%Y"), heurtrans="1200")


class SimTransport(httpx.AsyncBaseTransport):
    """In-process transport to the simulator; `sim.down` simulates a network failure."""

    def __init__(self, sim: PayfipSimulator) -> None:
        self.sim = sim
        self.asgi = httpx.ASGITransport(app=sim.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.sim.down is not None:
            raise self.sim.down
        return await self.asgi.handle_async_request(request)


@pytest.fixture
def payfip_sim(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[PayfipSimulator]:
    sim = PayfipSimulator()
    monkeypatch.setitem(get_settings().raw, "payfip", {"numcli": SIM_NUMCLI, "base_url": SIM_URL,
                                                       "payment_url": SIM_PAYMENT_URL})
    payfip.set_provider(payfip.HttpPayfipProvider(base_url=SIM_URL, payment_url=SIM_PAYMENT_URL,
                                                  transport=SimTransport(sim), timeout=5))
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
