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
