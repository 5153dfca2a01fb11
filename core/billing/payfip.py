"""Online card payment through PayFiP (DGFiP), web-service flow.

1. `start_card_payment(actor, invoice_id)`: the provider creates an operation for the invoice's
   debt reference (refdet) and amount and answers an `idOp`; the family is redirected to the
   provider's payment page with that idOp.
2. The provider notifies `POST /payfip/notification` with the idOp only. `payfip_notification`
   never believes the caller: it fetches the result back from the provider, checks the client
   number, the debt reference and the amount, and marks the invoice paid exactly once.

The provider speaks the PayFiP web-service operations (`creerPaiementSecurise`,
`recupererDetailPaiementSecurise`) with the same field names, as JSON over HTTPS
(`HttpPayfipProvider`); configuration in `[payfip]`:
`base_url`, `payment_url`, `numcli` (or `[payfip.regies.<code>] numcli`), `saisie` (T test / W prod).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import httpx
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

DEFAULT_PAYMENT_URL = "https://www.payfip.gouv.fr/tpa/paiementws.web"
RESULT_PAID = "P"
RESULT_REFUSED = "R"
RESULT_ABANDONED = "A"


class PayfipError(PortailError):
    code = "PAYFIP_ERROR"


@dataclass(frozen=True)
class PayfipCreated:
    id_op: str
    redirect_url: str


@dataclass(frozen=True)
class PayfipResult:
    id_op: str
    resultrans: str  # P paid, R refused, A abandoned (anything else: not final)
    amount_cents: int
    refdet: str
    numcli: str
    numauto: str = ""
    paid_on: date | None = None


class PayfipProvider(Protocol):
    async def create_operation(self, *, numcli: str, refdet: str, amount_cents: int, email: str,
                               url_notification: str, url_redirect: str, objet: str) -> PayfipCreated: ...

    async def fetch_result(self, id_op: str) -> PayfipResult: ...


class HttpPayfipProvider:
    """PayFiP web service client. `transport` lets tests talk to a simulator in-process."""

    def __init__(self, base_url: str, payment_url: str = DEFAULT_PAYMENT_URL, saisie: str = "T",
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.payment_url = payment_url
        self.saisie = saisie
        self.transport = transport
        self.timeout = timeout

    async def _post(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
                response = await client.post(f"{self.base_url}/{operation}", json=payload)
        except httpx.HTTPError as exc:
            raise PayfipError("Le service de paiement en ligne ne répond pas.", code="PAYFIP_UNAVAILABLE") from exc
        if response.status_code == 404:
            raise PayfipError("Opération inconnue du service de paiement.", code="PAYFIP_UNKNOWN_OPERATION")
        if response.status_code >= 400:
            raise PayfipError("Le service de paiement en ligne a refusé la demande.", code="PAYFIP_REJECTED")
        try:
            return response.json()
        except ValueError as exc:
            raise PayfipError("Réponse illisible du service de paiement.", code="PAYFIP_BAD_RESPONSE") from exc

    async def create_operation(self, *, numcli: str, refdet: str, amount_cents: int, email: str,
                               url_notification: str, url_redirect: str, objet: str) -> PayfipCreated:
        data = await self._post("creerPaiementSecurise", {
            "numcli": numcli, "exer": str(today().year), "refdet": refdet, "objet": objet[:100],
            "montant": str(amount_cents), "mel": email, "urlnotif": url_notification,
            "urlredirect": url_redirect, "saisie": self.saisie})
        id_op = str(data.get("idOp") or "")
        if not id_op:
            raise PayfipError("Réponse illisible du service de paiement.", code="PAYFIP_BAD_RESPONSE")
        return PayfipCreated(id_op=id_op, redirect_url=f"{self.payment_url}?idop={id_op}")

    async def fetch_result(self, id_op: str) -> PayfipResult:
        data = await self._post("recupererDetailPaiementSecurise", {"idOp": id_op})
        try:
            paid_on = None
            if data.get("dattrans"):  # DDMMYYYY
                d = str(data["dattrans"])
                paid_on = date(int(d[4:8]), int(d[2:4]), int(d[0:2]))
            return PayfipResult(id_op=str(data.get("idOp", id_op)), resultrans=str(data.get("resultrans", "")),
                                amount_cents=int(data.get("montant")), refdet=str(data.get("refdet", "")),
                                numcli=str(data.get("numcli", "")), numauto=str(data.get("numauto", "")),
                                paid_on=paid_on)
        except (TypeError, ValueError) as exc:
            raise PayfipError("Réponse illisible du service de paiement.", code="PAYFIP_BAD_RESPONSE") from exc


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
    return HttpPayfipProvider(base_url=cfg["base_url"], payment_url=cfg.get("payment_url", DEFAULT_PAYMENT_URL),
                              saisie=str(cfg.get("saisie", "T")))


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
        raise NotificationError(exc.message, exc.code, 400 if exc.code == "PAYFIP_UNKNOWN_OPERATION" else 502) from exc
    invoice = await Invoice.get(id=op.invoice_id)  # type: ignore[attr-defined]
    if (result.id_op != id_op or result.refdet != rules.payfip_refdet(invoice.number)
            or result.numcli != numcli_for(invoice.regie_code)):
        log.warning("payfip %s: result does not match the operation (%s)", id_op, result)
        raise NotificationError("Le résultat ne correspond pas à l'opération.", "OPERATION_MISMATCH", 400)
    if result.amount_cents != op.amount_cents:
        log.warning("payfip %s: amount %s != %s", id_op, result.amount_cents, op.amount_cents)
        raise NotificationError("Le montant ne correspond pas à l'opération.", "AMOUNT_MISMATCH", 400)
    raw = {"resultrans": result.resultrans, "montant": result.amount_cents, "numauto": result.numauto}
    if result.resultrans == RESULT_PAID:
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
    if result.resultrans in (RESULT_REFUSED, RESULT_ABANDONED):
        status = PayfipStatus.REFUSED if result.resultrans == RESULT_REFUSED else PayfipStatus.ABANDONED
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
