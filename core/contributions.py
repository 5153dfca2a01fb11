"""Plain value types exchanged between core and plugins through the hooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.permissions import Actor


@dataclass(frozen=True)
class GraphQLContribution:
    query: type | None = None
    mutation: type | None = None
    subscription: type | None = None
    types: tuple[type, ...] = ()


@dataclass(frozen=True)
class DocumentType:
    """A kind of document a family sends: `scope` is "household" or "child"."""

    code: str
    label: str
    scope: str = "household"
    help: str = ""
    required_by: tuple[str, ...] = ()
    # Services (or plugin codes) that see and review this type without requiring it: a signed crèche
    # contract, an absence certificate, a RIB. Agents see a household's document only when its type is
    # required or handled by one of their services the household uses (core.permissions).
    handled_by: tuple[str, ...] = ()
    # True: required only where the declaring plugin's `portail_document_requirements` says (per
    # household / child, e.g. an allergy attestation for the children registered with an allergy),
    # not for every child of every household using a service of `required_by`.
    conditional: bool = False


@dataclass(frozen=True)
class DemarcheField:
    name: str
    label: str
    kind: str = "text"  # text | date | bool | choice | child
    required: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemarcheType:
    code: str
    label: str
    fields: tuple[DemarcheField, ...] = ()
    # Who handles it: a configured service code or a service kind ("scolaire", "creche"); resolved to
    # a service code by core.demarches.rules.handling_service, `[demarches] handling_services` wins.
    # "" = addressed to no service (the family chooses one, or the household's services see it).
    service: str = ""
    allows_attachments: bool = True


@dataclass(frozen=True)
class Alert:
    code: str
    message: str
    count: int = 1
    severity: str = "info"  # info | warning
    child_id: int | None = None
    link: str = ""


@dataclass(frozen=True)
class FileDownload:
    filename: str
    content_type: str
    content: bytes
    inline: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)


DownloadHandler = Callable[["Actor", str], Awaitable[FileDownload]]
JSON = dict[str, Any]
