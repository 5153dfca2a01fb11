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
    "INVALID_PERIOD": "The period's end precedes its start (or, for a PES export, it spans two years).",
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
}
