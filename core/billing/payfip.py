"""Online card payment through PayFiP (DGFiP), web-service flow ("paiement sécurisé", TPA).

1. `start_card_payment(actor, invoice_id)`: the provider creates an operation for the invoice's
   debt reference (refdet) and amount and answers an `idOp`; the family is redirected to the
   provider's payment page with that idOp (`{payment_url}?idop=<idOp>`).
2. The provider notifies `POST /payfip/notification` with the idOp only. `payfip_notification`
   never believes the caller: it fetches the result back from the provider, checks the client
   number, the debt reference (hence the invoice) and the amount, and marks the invoice paid
   exactly once.

Wire format (`HttpPayfipProvider`): SOAP 1.1, `POST text/xml; charset=utf-8` with `SOAPAction: ""`
to `base_url` (default: the current production endpoint `https://www.payfip.gouv.fr/tpa/services/securite`,
the one Entr'ouvert's eopayment `payfip_ws.py` uses since PayFiP replaced TIPI's
`www.tipi.budget.gouv.fr` host, whose WSDL it serves at `…/securite?wsdl`), operations in
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

Configuration in `[payfip]`: `numcli` (or `[payfip.regies.<code>] numcli`; empty = card payment off
for that régie), `base_url` and `payment_url` (default: PayFiP's production endpoints), `saisie`
(T test / X activation / W production), `timeout` (s), `pending_minutes` (20: how long an operation
stays in progress before the reconciliation expires it).
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from lxml import etree
from starlette.requests import Request
from starlette.responses import JSONResponse
from tortoise.transactions import in_transaction

from core.billing import rules
from core.billing.models import (
    Collection,
    Invoice,
    InvoiceKind,
    PayfipOperation,
    PayfipStatus,
    Payment,
    PaymentMethod,
)
from core.billing.service import apply_payment, get_invoice_for, release_collection
from core.config import get_settings
from core.errors import Conflict, NotFound, PortailError, ValidationError
from core.formatting import euros
from core.permissions import Actor, require_user
from core.timeutil import now, today

log = logging.getLogger("portail.billing.payfip")

DEFAULT_BASE_URL = "https://www.payfip.gouv.fr/tpa/services/securite"
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
    return HttpPayfipProvider(base_url=cfg.get("base_url") or DEFAULT_BASE_URL, payment_url=cfg.get("payment_url") or DEFAULT_PAYMENT_URL,
                              saisie=str(cfg.get("saisie") or "T"), timeout=float(cfg.get("timeout") or 15))


def numcli_for(regie_code: str) -> str:
    cfg = get_settings().section("payfip")
    per_regie = (cfg.get("regies") or {}).get(regie_code) or {}
    return str(per_regie.get("numcli") or cfg.get("numcli") or "")


# ---- use cases -------------------------------------------------------------------------------
#
# One collection channel at a time (`Invoice.collection`): starting a card payment claims the
# invoice for "card" under the invoice's row lock, together with a placeholder operation row, before
# the provider is called; a SEPA batch claims "sepa" the same way (core.billing.service
# .claim_collection). The claim is released, under the same lock, once no operation of the invoice
# is pending any more.
#
# PayFiP's timings (Entr'ouvert eopayment, payfip_ws.py `Payment.payment_status`): an idOp is valid
# 15 minutes; until a result exists `recupererDetailPaiementSecurise` answers the P5 fault; a
# P5 (or an "A" abandoned result, the card holder may still come back) later than about 20 minutes
# after creation means the payment will never happen; the provider's nightly job purges unused
# idOps, which then answer P1. Amounts accepted: 1 € to 100,000 € (eopayment `minimal_amount` /
# `maximal_amount`, `clean_amount(max_amount=100000)`).

MIN_AMOUNT_CENTS = 100
MAX_AMOUNT_CENTS = 10_000_000
PLACEHOLDER = "new-"  # id_op of an operation whose creation at the provider is under way


def pending_window() -> timedelta:
    """How long an operation may stay in progress before it is expired (`[payfip] pending_minutes`)."""
    return timedelta(minutes=float(get_settings().section("payfip").get("pending_minutes") or 20))


async def _finish(op: PayfipOperation, status: str, raw: dict[str, Any], *, allow_from: tuple[str, ...] = (
        PayfipStatus.PENDING,), payment: Callable[[], Awaitable[Payment]] | None = None) -> bool:
    """Move an operation to its final status exactly once, under the invoice's row lock, record the
    payment if any, and release the card claim when nothing is pending on the invoice any more."""
    invoice_id = op.invoice_id  # type: ignore[attr-defined]
    async with in_transaction():
        await Invoice.filter(id=invoice_id).select_for_update().first()
        claimed = await PayfipOperation.filter(id=op.id, status__in=allow_from).update(
            status=status, completed_at=now(), provider_result=raw)
        if claimed != 1:
            return False
        if payment is not None:
            paid = await payment()
            await PayfipOperation.filter(id=op.id).update(payment_id=paid.id)
        if not await PayfipOperation.filter(invoice_id=invoice_id, status=PayfipStatus.PENDING).exists():
            await release_collection([invoice_id], Collection.CARD)
    return True


async def _drop_placeholder(op: PayfipOperation) -> None:
    """The provider never gave an idOp: forget the operation and release the claim."""
    invoice_id = op.invoice_id  # type: ignore[attr-defined]
    async with in_transaction():
        await Invoice.filter(id=invoice_id).select_for_update().first()
        await PayfipOperation.filter(id=op.id, status=PayfipStatus.PENDING).delete()
        if not await PayfipOperation.filter(invoice_id=invoice_id, status=PayfipStatus.PENDING).exists():
            await release_collection([invoice_id], Collection.CARD)


async def _claim_for_card(invoice_id: int, user_id: int) -> PayfipOperation:
    """Claim the invoice for a card payment and create its placeholder operation, or say why not.

    An operation still pending on the invoice is first asked to the provider (the family coming
    back after closing the payment page should not wait for the sweep)."""
    for attempt in range(2):
        async with in_transaction():
            invoice = await Invoice.filter(id=invoice_id).select_for_update().first()
            if invoice is None:
                raise NotFound("facture")
            if invoice.kind != InvoiceKind.INVOICE or invoice.balance_cents <= 0:
                raise ValidationError("Cette facture n'a rien à payer.", code="NOTHING_TO_PAY", field="invoiceId")
            if invoice.collection == Collection.SEPA:
                raise Conflict("Cette facture est dans une remise de prélèvement SEPA : elle sera prélevée "
                               "à l'échéance annoncée.", code="INVOICE_IN_SEPA_BATCH")
            amount = invoice.balance_cents
            if not MIN_AMOUNT_CENTS <= amount <= MAX_AMOUNT_CENTS:
                raise ValidationError(
                    f"Le paiement en ligne accepte de {euros(MIN_AMOUNT_CENTS)} à {euros(MAX_AMOUNT_CENTS)} ; "
                    f"le restant dû est de {euros(amount)} : payez à la régie.",
                    code="PAYFIP_AMOUNT_OUT_OF_RANGE", field="invoiceId")
            pending = await PayfipOperation.filter(invoice_id=invoice.id, status=PayfipStatus.PENDING)
            if not pending:
                await Invoice.filter(id=invoice.id).update(collection=Collection.CARD, collection_at=now())
                return await PayfipOperation.create(id_op=f"{PLACEHOLDER}{secrets.token_hex(16)}",
                                                    invoice_id=invoice.id, amount_cents=amount,
                                                    started_by_id=user_id)
        if attempt == 0:
            for op in pending:
                if not op.id_op.startswith(PLACEHOLDER):
                    with contextlib.suppress(PortailError):
                        await settle_operation(op)
    raise Conflict("Un paiement par carte est déjà en cours pour cette facture. Réessayez dans quelques "
                   "minutes.", code="CARD_PAYMENT_IN_PROGRESS")


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
    provider = get_provider()
    public = get_settings().community.public_url.rstrip("/")
    op = await _claim_for_card(invoice.id, user.id)
    try:
        created = await provider.create_operation(
            numcli=numcli, refdet=rules.payfip_refdet(invoice.number), amount_cents=op.amount_cents,
            email=user.email, url_notification=f"{public}/payfip/notification",
            url_redirect=f"{public}/factures/{invoice.id}", objet=f"Facture {invoice.number}")
        await PayfipOperation.filter(id=op.id).update(id_op=created.id_op)
    except BaseException:
        await _drop_placeholder(op)
        raise
    return created


class NotificationError(PortailError):
    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status


async def settle_operation(op: PayfipOperation) -> str:
    """Fetch the result of one operation from the provider and record it exactly once.

    Returns the operation's status afterwards (PENDING while the card holder may still pay).
    Raises PayfipError when the provider gives no usable answer (P1 after marking the operation
    expired, unavailable, mismatching result) and NotificationError(ALREADY_PROCESSED)."""
    in_window = now() - op.created_at < pending_window()
    try:
        result = await get_provider().fetch_result(op.id_op)
    except PayfipError as exc:
        if exc.code == "PAYFIP_UNKNOWN_OPERATION" or (exc.code == "PAYFIP_PENDING" and not in_window):
            # Purged by the provider (P1) or never finished in the idOp's lifetime: no payment.
            await _finish(op, PayfipStatus.EXPIRED, {"code": exc.provider_code})
            if exc.code == "PAYFIP_UNKNOWN_OPERATION":
                raise
            return PayfipStatus.EXPIRED
        if exc.code == "PAYFIP_PENDING":
            return PayfipStatus.PENDING
        raise
    invoice = await Invoice.get(id=op.invoice_id)  # type: ignore[attr-defined]
    if (result.id_op != op.id_op or result.refdet != rules.payfip_refdet(invoice.number)
            or result.numcli != numcli_for(invoice.regie_code)):
        log.warning("payfip %s: result does not match the operation (%s)", op.id_op, result)
        raise PayfipError("Le résultat ne correspond pas à l'opération.", code="OPERATION_MISMATCH")
    if result.amount_cents != op.amount_cents:
        log.warning("payfip %s: amount %s != %s", op.id_op, result.amount_cents, op.amount_cents)
        raise PayfipError("Le montant ne correspond pas à l'opération.", code="AMOUNT_MISMATCH")
    raw = {"resultrans": result.resultrans, "montant": result.amount_cents, "numauto": result.numauto}
    if result.resultrans in PAID_RESULTS:
        async def record() -> Payment:
            # The money is taken: record it even if the balance changed meanwhile.
            return await apply_payment(invoice.id, result.amount_cents, PaymentMethod.PAYFIP,
                                       reference=f"{op.id_op} {result.numauto}".strip(),
                                       paid_on=result.paid_on or today(), allow_overpayment=True)
        # A late "paid" is believed even after the operation was expired: the card was debited.
        if not await _finish(op, PayfipStatus.PAID, raw, payment=record, allow_from=(
                PayfipStatus.PENDING, PayfipStatus.EXPIRED, PayfipStatus.ABANDONED)):
            raise NotificationError("Opération déjà traitée.", "ALREADY_PROCESSED", 409)
        return PayfipStatus.PAID
    if result.resultrans in REFUSED_RESULTS or (result.resultrans == RESULT_ABANDONED and not in_window):
        status = PayfipStatus.REFUSED if result.resultrans in REFUSED_RESULTS else PayfipStatus.ABANDONED
        if not await _finish(op, status, raw):
            raise NotificationError("Opération déjà traitée.", "ALREADY_PROCESSED", 409)
        return status
    # "A" within the idOp's lifetime: the card holder may come back and pay with the same idOp.
    return PayfipStatus.PENDING


RECHECKABLE = (PayfipStatus.PENDING, PayfipStatus.EXPIRED, PayfipStatus.ABANDONED)


async def handle_notification(id_op: str) -> str:
    """Process a PayFiP notification; returns the operation's final status."""
    if not id_op or len(id_op) > 80:
        raise NotificationError("idOp manquant.", "INVALID_ID_OP", 400)
    op = await PayfipOperation.get_or_none(id_op=id_op)
    if op is None or id_op.startswith(PLACEHOLDER):
        raise NotificationError("Opération inconnue.", "UNKNOWN_OPERATION", 404)
    if op.status not in RECHECKABLE:
        raise NotificationError("Opération déjà traitée.", "ALREADY_PROCESSED", 409)
    try:
        status = await settle_operation(op)
    except PayfipError as exc:
        status_code = 400 if exc.code in ("PAYFIP_UNKNOWN_OPERATION", "PAYFIP_REFUSED", "OPERATION_MISMATCH",
                                          "AMOUNT_MISMATCH") else 502
        raise NotificationError(exc.message, exc.code, status_code) from exc
    except NotificationError:
        raise
    except PortailError as exc:  # card payment switched off meanwhile
        raise NotificationError(exc.message, exc.code, 503) from exc
    if status == PayfipStatus.PENDING:
        raise NotificationError("Paiement non finalisé.", "NOT_FINAL", 409)
    if op.status != PayfipStatus.PENDING and status != PayfipStatus.PAID:
        raise NotificationError("Opération déjà traitée.", "ALREADY_PROCESSED", 409)
    return status


async def reconcile_pending(limit: int = 500) -> dict[str, int]:
    """The maintenance sweep: ask the provider the result of every pending operation (a lost
    notification must not leave a paid invoice open, nor let a SEPA batch debit it again), expire
    those past their lifetime, drop placeholders of crashed starts, release orphan card claims."""
    counts = {"payfip_paid": 0, "payfip_closed": 0, "payfip_pending": 0, "payfip_errors": 0}
    window = pending_window()
    ops = await PayfipOperation.filter(status=PayfipStatus.PENDING).order_by("id").limit(limit)
    if ops:
        for op in ops:
            if op.id_op.startswith(PLACEHOLDER):
                if now() - op.created_at >= window:  # the start crashed between claim and provider
                    await _drop_placeholder(op)
                    counts["payfip_closed"] += 1
                continue
            try:
                status = await settle_operation(op)
            except PayfipError as exc:
                if exc.code == "PAYFIP_UNKNOWN_OPERATION":
                    counts["payfip_closed"] += 1
                else:
                    counts["payfip_errors"] += 1
                continue
            except NotificationError:  # settled meanwhile by the notification
                continue
            key = {PayfipStatus.PAID: "payfip_paid", PayfipStatus.PENDING: "payfip_pending"}.get(status, "payfip_closed")
            counts[key] += 1
    # A card claim whose operations are all over (should not happen; belt and braces).
    stale = await Invoice.filter(collection=Collection.CARD, collection_at__lt=now() - window).values_list(
        "id", flat=True)
    for invoice_id in stale:
        async with in_transaction():
            await Invoice.filter(id=invoice_id).select_for_update().first()
            if not await PayfipOperation.filter(invoice_id=invoice_id, status=PayfipStatus.PENDING).exists():
                await release_collection([invoice_id], Collection.CARD)
    return {k: v for k, v in counts.items() if v}


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
