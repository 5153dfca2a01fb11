"""Online card payment through PayFiP (DGFiP), web-service flow ("paiement sécurisé", TPA).

1. `start_card_payment(actor, invoice_id)`: the provider creates an operation for the invoice's
   debt reference (refdet) and amount and answers an `idOp`; the family is redirected to the
   provider's payment page with that idOp (`{payment_url}?idop=<idOp>`).
2. The provider notifies `POST /payfip/notification` with the idOp only. `payfip_notification`
   never believes the caller: it fetches the result back from the provider, checks the client
   number, the debt reference (hence the invoice) and the amount, and marks the invoice paid
   exactly once.

Wire format (`HttpPayfipProvider`): SOAP 1.1, `POST text/xml; charset=utf-8` with `SOAPAction: ""`
to `base_url` (production `https://www.tipi.budget.gouv.fr/tpa/services/securite`), operations in
the `PaiementSecuriseService` namespace (`NS_PAI`), parameters as unqualified children of `<arg0>`,
answers as unqualified children of `<return>`:

- `creerPaiementSecurise(arg0: exer, mel, montant (cents), numcli (6 digits), objet, refdet,
  saisie (T test / X activation / W production), urlnotif, urlredirect) -> return/idOp`;
- `recupererDetailPaiementSecurise(arg0: idOp) -> return: dattrans (ddMMyyyy), heurtrans (HHmm),
  exer, idOp, mel, montant, numauto, numcli, objet, refdet, resultrans, saisie`.
  `resultrans`: P paid (card), V paid (direct debit), R refused (card), Z refused (direct debit),
  A abandoned.
- Errors are SOAP Faults whose `detail` holds `FonctionnelleErreur` (`code`, `libelle`,
  `descriptif`: P1 = unknown / purged idOp, P5 = result not known yet, i.e. payment in progress)
  or `Tech*Erreur` (technical). A functional fault maps to `PAYFIP_REFUSED` (P1 on a result fetch:
  `PAYFIP_UNKNOWN_OPERATION`, P5: `PAYFIP_PENDING`), everything else — technical fault, network
  error, timeout, unreadable answer — to `PAYFIP_UNAVAILABLE`.

Sources used (public code, read for the protocol only): the field lists of the PayFiP plugin of
dafap/SchoolBusManager (module/SbmPaiement/src/Plugin/PayFiP/config/payfip.config.php); Entr'ouvert's
eopayment `payfip_ws.py` (service URL, namespace, FonctionnelleErreur code/libelle/descriptif, P1/P5,
resultrans P/V/R/Z/A, objet restricted to [A-Za-z0-9 ] and 100 chars); public Odoo / TypeScript
PayFiP clients (unqualified `<arg0>` children, `<idOp>` spelling, Tech*Erreur detail types).

Configuration in `[payfip]`: `base_url` (empty = card payment off), `payment_url`, `numcli` (or
`[payfip.regies.<code>] numcli`), `saisie` (T test / X activation / W production), `timeout` (s).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from urllib.parse import quote

import httpx
from lxml import etree
from starlette.requests import Request
from starlette.responses import JSONResponse
from tortoise.transactions import in_transaction

from core.billing import rules
from core.billing.models import Invoice, InvoiceKind, PayfipOperation, PayfipStatus, PaymentMethod
from core.billing.service import apply_payment, get_invoice_for
from core.config import get_settings
from core.errors import Conflict, NotFound, PortailError, ValidationError
from core.permissions import Actor, require_user
from core.timeutil import now, today

log = logging.getLogger("portail.billing.payfip")

DEFAULT_BASE_URL = "https://www.tipi.budget.gouv.fr/tpa/services/securite"
DEFAULT_PAYMENT_URL = "https://www.payfip.gouv.fr/tpa/paiementws.web"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS_PAI = ("http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/"
          "contrat_paiement_securise/PaiementSecuriseService")
OP_CREATE = "creerPaiementSecurise"
OP_DETAIL = "recupererDetailPaiementSecurise"
MAX_RESPONSE_BYTES = 1_000_000

RESULT_PAID = "P"  # card
RESULT_PAID_DEBIT = "V"  # direct debit
RESULT_REFUSED = "R"  # card
RESULT_REFUSED_DEBIT = "Z"  # direct debit
RESULT_ABANDONED = "A"
PAID_RESULTS = frozenset({RESULT_PAID, RESULT_PAID_DEBIT})
REFUSED_RESULTS = frozenset({RESULT_REFUSED, RESULT_REFUSED_DEBIT})

# No DTD, no entity expansion, no network access: the answer is untrusted input.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

UNAVAILABLE_MESSAGE = "Le service de paiement en ligne ne répond pas. Réessayez plus tard."
UNREADABLE_MESSAGE = "Réponse illisible du service de paiement en ligne. Réessayez plus tard."


class PayfipError(PortailError):
    code = "PAYFIP_UNAVAILABLE"

    def __init__(self, message: str, *, code: str | None = None, provider_code: str = "") -> None:
        super().__init__(message, code=code)
        self.provider_code = provider_code


@dataclass(frozen=True)
class PayfipCreated:
    id_op: str
    redirect_url: str


@dataclass(frozen=True)
class PayfipResult:
    id_op: str
    resultrans: str  # P/V paid, R/Z refused, A abandoned (anything else: not final)
    amount_cents: int
    refdet: str
    numcli: str
    numauto: str = ""
    paid_on: date | None = None


class PayfipProvider(Protocol):
    async def create_operation(self, *, numcli: str, refdet: str, amount_cents: int, email: str,
                               url_notification: str, url_redirect: str, objet: str) -> PayfipCreated: ...

    async def fetch_result(self, id_op: str) -> PayfipResult: ...


def normalize_objet(text: str) -> str:
    """PayFiP's `objet`: ASCII letters, digits and spaces, 100 characters at most."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"[^A-Za-z0-9 ]", " ", ascii_text)
    return re.sub(r"\s+", " ", ascii_text).strip()[:100]


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element) -> dict[str, str]:
    """Text of the element children by local name (namespace-agnostic, comments skipped)."""
    return {_local(c): (c.text or "").strip() for c in element if isinstance(c.tag, str)}


def soap_request(operation: str, fields: list[tuple[str, str]]) -> bytes:
    """`<soapenv:Envelope><soapenv:Body><pai:{operation}><arg0><field>value</field>…` built with
    lxml (values escaped by the serializer, never concatenated)."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV, "pai": NS_PAI})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    arg0 = etree.SubElement(etree.SubElement(body, f"{{{NS_PAI}}}{operation}"), "arg0")
    for name, value in fields:
        try:
            etree.SubElement(arg0, name).text = value
        except ValueError as exc:  # control characters: not representable in XML
            raise PayfipError("Données invalides pour le paiement en ligne.", code="PAYFIP_REFUSED") from exc
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


class HttpPayfipProvider:
    """PayFiP SOAP web-service client. `transport` lets tests talk to a simulator in-process."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, payment_url: str = DEFAULT_PAYMENT_URL,
                 saisie: str = "T", transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 15.0) -> None:
        self.base_url = base_url
        self.payment_url = payment_url
        self.saisie = saisie
        self.transport = transport
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))

    async def _call(self, operation: str, fields: list[tuple[str, str]]) -> dict[str, str]:
        payload = soap_request(operation, fields)
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
                response = await client.post(self.base_url, content=payload, headers={
                    "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        except httpx.HTTPError as exc:
            log.warning("payfip %s: %s", operation, exc.__class__.__name__)
            raise PayfipError(UNAVAILABLE_MESSAGE, code="PAYFIP_UNAVAILABLE") from exc
        return self._parse(operation, response)

    def _parse(self, operation: str, response: httpx.Response) -> dict[str, str]:
        unreadable = PayfipError(UNREADABLE_MESSAGE, code="PAYFIP_UNAVAILABLE")
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise unreadable
        try:
            root = etree.fromstring(response.content, _PARSER)
        except (etree.XMLSyntaxError, ValueError) as exc:
            log.warning("payfip %s: unreadable answer (HTTP %s)", operation, response.status_code)
            raise unreadable from exc
        body = root.find(f"{{{SOAP_ENV}}}Body") if root.tag == f"{{{SOAP_ENV}}}Envelope" else None
        first = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
        if first is None:
            log.warning("payfip %s: no SOAP body (HTTP %s)", operation, response.status_code)
            raise unreadable
        if first.tag == f"{{{SOAP_ENV}}}Fault":
            raise self._fault(operation, first)
        ret = next((c for c in first if _local(c) == "return"), None)
        if response.status_code != 200 or first.tag != f"{{{NS_PAI}}}{operation}Response" or ret is None:
            log.warning("payfip %s: unexpected answer %s (HTTP %s)", operation, first.tag, response.status_code)
            raise unreadable
        return _children(ret)

    def _fault(self, operation: str, fault: etree._Element) -> PayfipError:
        parts = _children(fault)
        detail = next((c for c in fault if _local(c) == "detail"), None)
        error = next((c for c in detail if isinstance(c.tag, str)), None) if detail is not None else None
        kind = _local(error) if error is not None else ""
        info = _children(error) if error is not None else {}
        code = info.get("code", "")
        log.warning("payfip %s: fault %s %s %s (%s)", operation, parts.get("faultcode"), kind, code,
                    info.get("descriptif") or info.get("libelle") or parts.get("faultstring", ""))
        if kind != "FonctionnelleErreur" or not code:
            return PayfipError(UNAVAILABLE_MESSAGE, code="PAYFIP_UNAVAILABLE", provider_code=code)
        if operation == OP_DETAIL and code == "P1":
            return PayfipError("Opération inconnue du service de paiement.", code="PAYFIP_UNKNOWN_OPERATION",
                               provider_code=code)
        if operation == OP_DETAIL and code == "P5":
            return PayfipError("Paiement en cours, résultat pas encore connu.", code="PAYFIP_PENDING",
                               provider_code=code)
        return PayfipError(f"Le service de paiement en ligne a refusé la demande (code {code}).",
                           code="PAYFIP_REFUSED", provider_code=code)

    async def create_operation(self, *, numcli: str, refdet: str, amount_cents: int, email: str,
                               url_notification: str, url_redirect: str, objet: str) -> PayfipCreated:
        data = await self._call(OP_CREATE, [
            ("exer", str(today().year)), ("mel", email), ("montant", str(amount_cents)), ("numcli", numcli),
            ("objet", normalize_objet(objet)), ("refdet", refdet), ("saisie", self.saisie),
            ("urlnotif", url_notification), ("urlredirect", url_redirect)])
        id_op = data.get("idOp", "")
        if not id_op or len(id_op) > 80 or not id_op.isprintable():
            raise PayfipError(UNREADABLE_MESSAGE, code="PAYFIP_UNAVAILABLE")
        return PayfipCreated(id_op=id_op, redirect_url=f"{self.payment_url}?idop={quote(id_op, safe='')}")

    async def fetch_result(self, id_op: str) -> PayfipResult:
        data = await self._call(OP_DETAIL, [("idOp", id_op)])
        try:
            paid_on = None
            if d := data.get("dattrans"):  # ddMMyyyy
                if len(d) != 8 or not d.isdigit():
                    raise ValueError(d)
                paid_on = date(int(d[4:8]), int(d[2:4]), int(d[0:2]))
            return PayfipResult(id_op=data.get("idOp", ""), resultrans=data.get("resultrans", ""),
                                amount_cents=int(data.get("montant", "")), refdet=data.get("refdet", ""),
                                numcli=data.get("numcli", ""), numauto=data.get("numauto", ""), paid_on=paid_on)
        except ValueError as exc:
            raise PayfipError(UNREADABLE_MESSAGE, code="PAYFIP_UNAVAILABLE") from exc


_provider_override: PayfipProvider | None = None


def set_provider(provider: PayfipProvider | None) -> None:
    """Replace the configured provider (tests use a simulator speaking the same protocol)."""
    global _provider_override
    _provider_override = provider


def get_provider() -> PayfipProvider:
    if _provider_override is not None:
        return _provider_override
    cfg = get_settings().section("payfip")
    if not cfg.get("base_url"):
        raise Conflict("Le paiement en ligne n'est pas disponible.", code="PAYFIP_UNAVAILABLE")
    return HttpPayfipProvider(base_url=cfg["base_url"], payment_url=cfg.get("payment_url") or DEFAULT_PAYMENT_URL,
                              saisie=str(cfg.get("saisie") or "T"), timeout=float(cfg.get("timeout") or 15))


def numcli_for(regie_code: str) -> str:
    cfg = get_settings().section("payfip")
    per_regie = (cfg.get("regies") or {}).get(regie_code) or {}
    return str(per_regie.get("numcli") or cfg.get("numcli") or "")


# ---- use cases -------------------------------------------------------------------------------


async def start_card_payment(actor: Actor, invoice_id: int | str) -> PayfipCreated:
    """The family pays the current balance of one of its invoices by card."""
    user = require_user(actor)
    invoice = await get_invoice_for(actor, invoice_id)
    if actor.is_staff and invoice.household_id != actor.household_id:  # type: ignore[attr-defined]
        raise NotFound("facture")  # card payment is for the family itself
    if invoice.kind != InvoiceKind.INVOICE or invoice.balance_cents <= 0:
        raise ValidationError("Cette facture n'a rien à payer.", code="NOTHING_TO_PAY", field="invoiceId")
    numcli = numcli_for(invoice.regie_code)
    if not numcli:
        raise Conflict("Le paiement en ligne n'est pas disponible pour cette régie.", code="PAYFIP_UNAVAILABLE")
    public = get_settings().community.public_url.rstrip("/")
    created = await get_provider().create_operation(
        numcli=numcli, refdet=rules.payfip_refdet(invoice.number), amount_cents=invoice.balance_cents,
        email=user.email, url_notification=f"{public}/payfip/notification",
        url_redirect=f"{public}/factures/{invoice.id}", objet=f"Facture {invoice.number}")
    await PayfipOperation.create(id_op=created.id_op, invoice_id=invoice.id, amount_cents=invoice.balance_cents,
                                 started_by_id=user.id)
    return created


class NotificationError(PortailError):
    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status


async def handle_notification(id_op: str) -> str:
    """Process a PayFiP notification; returns the operation's final status."""
    if not id_op or len(id_op) > 80:
        raise NotificationError("idOp manquant.", "INVALID_ID_OP", 400)
    op = await PayfipOperation.get_or_none(id_op=id_op)
    if op is None:
        raise NotificationError("Opération inconnue.", "UNKNOWN_OPERATION", 404)
    if op.status != PayfipStatus.PENDING:
        raise NotificationError("Opération déjà traitée.", "ALREADY_PROCESSED", 409)
    try:
        result = await get_provider().fetch_result(id_op)
    except PayfipError as exc:
        if exc.code == "PAYFIP_PENDING":  # P5: the card holder has not finished yet
            raise NotificationError("Paiement non finalisé.", "NOT_FINAL", 409) from exc
        status = 400 if exc.code in ("PAYFIP_UNKNOWN_OPERATION", "PAYFIP_REFUSED") else 502
        raise NotificationError(exc.message, exc.code, status) from exc
    except PortailError as exc:  # card payment switched off meanwhile
        raise NotificationError(exc.message, exc.code, 503) from exc
    invoice = await Invoice.get(id=op.invoice_id)  # type: ignore[attr-defined]
    if (result.id_op != id_op or result.refdet != rules.payfip_refdet(invoice.number)
            or result.numcli != numcli_for(invoice.regie_code)):
        log.warning("payfip %s: result does not match the operation (%s)", id_op, result)
        raise NotificationError("Le résultat ne correspond pas à l'opération.", "OPERATION_MISMATCH", 400)
    if result.amount_cents != op.amount_cents:
        log.warning("payfip %s: amount %s != %s", id_op, result.amount_cents, op.amount_cents)
        raise NotificationError("Le montant ne correspond pas à l'opération.", "AMOUNT_MISMATCH", 400)
    raw = {"resultrans": result.resultrans, "montant": result.amount_cents, "numauto": result.numauto}
    if result.resultrans in PAID_RESULTS:
        async with in_transaction():
            claimed = await PayfipOperation.filter(id=op.id, status=PayfipStatus.PENDING).update(
                status=PayfipStatus.PAID, completed_at=now(), provider_result=raw)
            if claimed != 1:
                raise NotificationError("Opération déjà traitée.", "ALREADY_PROCESSED", 409)
            # The money is taken: record it even if the balance changed meanwhile.
            payment = await apply_payment(invoice.id, result.amount_cents, PaymentMethod.PAYFIP,
                                          reference=f"{id_op} {result.numauto}".strip(),
                                          paid_on=result.paid_on or today(), allow_overpayment=True)
            await PayfipOperation.filter(id=op.id).update(payment_id=payment.id)
        return PayfipStatus.PAID
    if result.resultrans in REFUSED_RESULTS or result.resultrans == RESULT_ABANDONED:
        status = PayfipStatus.REFUSED if result.resultrans in REFUSED_RESULTS else PayfipStatus.ABANDONED
        claimed = await PayfipOperation.filter(id=op.id, status=PayfipStatus.PENDING).update(
            status=status, completed_at=now(), provider_result=raw)
        if claimed != 1:
            raise NotificationError("Opération déjà traitée.", "ALREADY_PROCESSED", 409)
        return status
    raise NotificationError("Paiement non finalisé.", "NOT_FINAL", 409)


async def payfip_notification(request: Request) -> JSONResponse:
    """Starlette handler of `POST /payfip/notification` (form field, JSON key or query `idOp`)."""
    id_op = request.query_params.get("idOp") or request.query_params.get("idop") or ""
    if not id_op:
        ctype = request.headers.get("content-type", "")
        try:
            if ctype.startswith("application/json"):
                body = await request.json()
                id_op = str(body.get("idOp") or body.get("idop") or "") if isinstance(body, dict) else ""
            else:
                form = await request.form()
                id_op = str(form.get("idOp") or form.get("idop") or "")
        except Exception:  # malformed body: same answer as a missing idOp
            id_op = ""
    try:
        status = await handle_notification(id_op.strip())
    except NotificationError as exc:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)
    return JSONResponse({"status": status})
