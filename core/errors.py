"""Errors a client can act on: a stable machine-readable `code`, a French message, the field at fault.

Services raise `PortailError`; the GraphQL view copies `code` and `field` into `extensions`.
Anything else is an internal error: logged, and answered with a generic message.
"""

from __future__ import annotations

from typing import Any


class PortailError(Exception):
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.details = details or {}

    @property
    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"code": self.code}
        if self.field:
            ext["field"] = self.field
        if self.details:
            ext.update(self.details)
        return ext


class NotAuthenticated(PortailError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Vous devez être connecté.") -> None:
        super().__init__(message)


class Forbidden(PortailError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "Vous n'avez pas accès à cette ressource.") -> None:
        super().__init__(message)


class NotFound(PortailError):
    """Also used for objects that exist but belong to someone else: nothing leaks."""

    code = "NOT_FOUND"

    def __init__(self, what: str = "objet") -> None:
        super().__init__(f"{what.capitalize()} introuvable.", details={"entity": what})


class ValidationError(PortailError):
    code = "VALIDATION_ERROR"


class Conflict(PortailError):
    code = "CONFLICT"


# Every code the API answers with, and what it means, for the `ErrorCode` enum of the schema
# (docs/graphql.md). Core's here; each plugin returns its own from `portail_error_codes`, and
# tests/test_schema_conventions.py fails when the code base raises a code no one lists.
ERROR_CODES: dict[str, str] = {
    # any operation
    "BAD_REQUEST": "The request cannot be processed as sent (generic; a more precise code is used where one exists).",
    "UNAUTHENTICATED": "No valid session: log in (or the session expired).",
    "FORBIDDEN": "The caller is logged in but their role may not do this.",
    "NOT_FOUND": "No such object for this caller: missing, or belonging to someone they may not see "
                 "(the two are deliberately indistinguishable). `extensions.entity` names the kind.",
    "VALIDATION_ERROR": "An input value is refused (generic); `extensions.field` names the argument.",
    "CONFLICT": "The object changed state meanwhile (another agent, another tab): reload and retry.",
    "INVALID_ID": "An ID argument is not a positive decimal id in range; `extensions.field` names it.",
    "INVALID_TEXT": "A text argument holds control characters; `extensions.field` names it.",
    "INVALID_PAGE": "`limit` outside 1…200 (or the field's maximum) or a negative `offset`.",
    # billing: PES V2 ORMC export to the comptable public (docs/pes.md)
    "INVALID_PERIOD": "An end before its start (dates or times); for a PES export, a period over two years.",
    "PES_NOT_CONFIGURED": "The régie has no Hélios codes (`[regies.pes]` in the configuration): it cannot export.",
    "PES_ALREADY_EXPORTED": "Every invoice of the period was already handed over in an earlier PES export.",
    "PES_NOTHING_TO_EXPORT": "The period has no invoice to hand over (none issued, or all left out for an "
                             "incomplete debtor: the message lists them).",
    # the GraphQL layer and the HTTP edge
    "GRAPHQL_VALIDATION_FAILED": "The document does not parse or validate against the schema, a variable has "
                                 "the wrong type, or a depth / alias / token limit is exceeded.",
    "INTERNAL_SERVER_ERROR": "An unexpected server fault: logged with a request id; the message is generic.",
    "REQUEST_TOO_LARGE": "HTTP 413: the body or the query document exceeds the configured limit.",
    "CSRF_REJECTED": "HTTP 403: a cookie-authenticated request without the custom header or an allowed Origin.",
    # accounts and sessions
    "EMAIL_NOT_CONFIRMED": "The account's email address is not confirmed yet: follow the mailed link first "
                           "(`resendConfirmation` sends a new one).",
    "INVALID_EMAIL": "An email address is malformed; `extensions.field` names it.",
    "WEAK_PASSWORD": "The new password is too short or too simple for the password policy (message says why).",
    "INVALID_CREDENTIALS": "Login refused: unknown email or wrong password (indistinguishable on purpose).",
    "TOO_MANY_ATTEMPTS": "Too many failed logins for this address or IP: wait before trying again.",
    "INVALID_TOKEN": "A confirmation or password-reset token is unknown, already used or expired.",
    "EMAIL_TAKEN": "An account already uses this email address.",
    "HOUSEHOLD_HAS_ACCOUNT": "The household already has an account: pass `additionalAccess: true` to add one.",
    "INVALID_ROLE": "The role is not one of family, agent, admin.",
    "UNKNOWN_SERVICE": "A service code is not configured in `[[services]]`.",
    "PASSWORD_REQUIRED": "An account opened by the services must choose its password when confirming its email.",
    # generic input rules
    "REQUIRED": "A mandatory value is missing or blank; `extensions.field` names it.",
    "TOO_LONG": "A text exceeds its maximum length (the message gives it); `extensions.field` names it.",
    "TOO_MANY": "A list argument holds more items than allowed (the message gives the maximum).",
    "NEGATIVE_VALUE": "A number that cannot be negative (income, quotient familial, children) is.",
    "DATE_IN_FUTURE": "A date that must be today or earlier (income given on…) is in the future.",
    "INVALID_DATE": "A date is malformed or out of its allowed range (a payment dated in the future…).",
    "INVALID_DATES": "Two dates are inconsistent (an expiry before the publication date…).",
    "INVALID_YEAR": "A year argument is outside the supported range.",
    "INVALID_STATUS": "A status argument or transition is not allowed from the object's current status.",
    # files
    "INVALID_FILE_TYPE": "The uploaded file is not a PNG, JPEG or PDF (checked on its content, not its name).",
    "EMPTY_FILE": "The uploaded file is empty.",
    "FILE_TOO_LARGE": "The uploaded file exceeds the configured maximum size.",
    "TOO_MANY_FILES": "More attachments than a démarche accepts.",
    "PDF_ERROR": "A PDF (invoice, attestation) could not be generated; retry later.",
    # household file
    "INVALID_COUNTRY": "The country is not an ISO 3166-1 alpha-2 code.",
    "INVALID_FAMILY_SITUATION": "The family situation is not one of the `FamilySituation` values.",
    "INVALID_REGIME": "The régime is not one of the `Regime` values.",
    "INVALID_SEX": "The child's sex is not F or M.",
    "PHONE_REQUIRED": "At least one phone number is required for this person.",
    "BIRTH_DATE_REQUIRED": "A child needs a birth date, or an expected birth date when not born yet.",
    "BIRTH_DATE_IN_FUTURE": "A birth date is in the future (use expectedBirthDate for a child « à naître »).",
    "INVALID_BIRTH_DATE": "A birth date is implausible (more than 30 years ago).",
    "EXPECTED_BIRTH_DATE_NOT_IN_FUTURE": "The expected birth date of a child « à naître » is not in the future.",
    "MEDICAL_ANSWER_REQUIRED": "Every configured medical question needs a yes / no answer.",
    "MEDICAL_TEXT_REQUIRED": "A « yes » to this medical question needs its detail text.",
    "UNKNOWN_QUESTION": "A medical answer names a question code that is not configured.",
    "DUPLICATE_ANSWER": "The same question or authorisation code is answered twice.",
    "UNKNOWN_AUTHORIZATION": "An authorisation code is not configured.",
    "FILE_INCOMPLETE": "The household file still has problems (`problems`): it cannot be confirmed up to date.",
    # documents
    "UNKNOWN_DOCUMENT_TYPE": "The document type code is not one of `documentTypes`.",
    "CHILD_REQUIRED": "This document type is per child: `childId` is required.",
    "CHILD_NOT_ALLOWED": "This document type is per household: `childId` must be left out.",
    "REASON_REQUIRED": "Refusing a document requires a reason (mailed to the family).",
    # démarches
    "UNKNOWN_DEMARCHE_TYPE": "The démarche type code is not one of `demarcheTypes`.",
    "INVALID_DATA": "The démarche `data` is not an object of field names to values.",
    "INVALID_BOOL": "A démarche field of kind BOOL did not get true / false.",
    "INVALID_CHOICE": "A démarche field of kind CHOICE got a value not in its `choices`.",
    "UNKNOWN_CHILD": "A démarche field of kind CHILD names no child of the household.",
    "DEMARCHE_CLOSED": "The démarche is accepted, refused or closed: it can no longer change.",
    "RESPONSE_REQUIRED": "Refusing a démarche requires a response to the family.",
    "ATTACHMENTS_NOT_ALLOWED": "This démarche type takes no attachments.",
    # billing
    "BILLING_CONFLICT": "Another billing run is in progress on the same households: retry in a moment.",
    "NOT_PAYABLE": "A credit note cannot be paid.",
    "OVERPAYMENT": "The payment exceeds the invoice's balance.",
    "INVALID_METHOD": "The payment method is not one the portal knows.",
    "INVALID_AMOUNT": "An amount in cents is zero, negative or out of range.",
    "INVALID_CREDIT": "A credit note needs either an amount or lines, not both nor neither.",
    "NOT_CORRECTABLE": "A credit note cannot itself be corrected by a credit note.",
    "ALREADY_REVERSED": "The payment was already reversed.",
    "CREDIT_EXCEEDS_BALANCE": "The credit note exceeds what remains to be credited on the invoice.",
    "INVALID_LINE": "A line id is not a line of this invoice, or the line is already credited.",
    "NOTHING_TO_PAY": "The invoice has no balance left to pay.",
    "INVOICE_IN_SEPA_BATCH": "The invoice is being collected by SEPA direct debit: it cannot be paid by card now.",
    "CARD_PAYMENT_IN_PROGRESS": "A card payment of this invoice is already in progress: wait for its result.",
    "PAYFIP_UNAVAILABLE": "The DGFiP card payment service (PayFiP) cannot be reached: retry later.",
    "PAYFIP_REFUSED": "PayFiP refused the operation.",
    "PAYFIP_PENDING": "PayFiP has not given the payment's result yet.",
    "PAYFIP_UNKNOWN_OPERATION": "PayFiP does not know this operation.",
    "PAYFIP_AMOUNT_OUT_OF_RANGE": "The amount is outside what PayFiP accepts for a card payment.",
    "OPERATION_MISMATCH": "A PayFiP result does not match the operation it claims to settle.",
    "AMOUNT_MISMATCH": "A PayFiP result's amount differs from the operation's.",
    "INVALID_ID_OP": "PayFiP notification (HTTP 400): the operation id is missing.",
    "UNKNOWN_OPERATION": "PayFiP notification (HTTP 404): no such operation.",
    "ALREADY_PROCESSED": "PayFiP notification (HTTP 409): the operation was already processed.",
    "NOT_FINAL": "PayFiP notification (HTTP 409): the payment is not final yet.",
    # RGPD
    "ERASURE_BLOCKED": "Erasure refused while invoices are unpaid or a contract or mandate is in force "
                       "(`extensions` lists the reasons in French).",
}
