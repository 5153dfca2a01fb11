"""Pure rules of documents: which document type fits which target, what is still missing.

No I/O here: the service loads types, documents and children, these functions decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from core.contributions import DocumentType
from core.documents.models import DocumentStatus
from core.errors import ValidationError

SCOPES = ("household", "child")

@dataclass(frozen=True)
class MissingDocument:
    """One document a service still waits for: never sent, awaiting review, or refused."""

    type_code: str
    label: str
    child_id: int | None
    status: str  # "missing" | "pending" | "refused"


@dataclass(frozen=True)
class DocumentFact:
    """What the rules need to know of a stored document."""

    id: int
    type_code: str
    child_id: int | None
    status: str


def find_type(types: Iterable[DocumentType], code: str) -> DocumentType:
    for t in types:
        if t.code == code:
            return t
    raise ValidationError("Type de document inconnu.", code="UNKNOWN_DOCUMENT_TYPE", field="typeCode")


def check_scope(doc_type: DocumentType, child_id: int | None) -> None:
    """A child document names its child, a household document names none.

    >>> check_scope(DocumentType("carnet_sante", "Carnet", scope="child"), None)  # raises CHILD_REQUIRED
    """
    if doc_type.scope == "child" and child_id is None:
        raise ValidationError(f"« {doc_type.label} » concerne un enfant : précisez lequel.",
                              code="CHILD_REQUIRED", field="childId")
    if doc_type.scope != "child" and child_id is not None:
        raise ValidationError(f"« {doc_type.label} » concerne la famille, pas un enfant.",
                              code="CHILD_NOT_ALLOWED", field="childId")


def _status_of(docs: Sequence[DocumentFact]) -> str | None:
    """None when an accepted document exists, else the waiting status (pending wins over refused)."""
    statuses = {d.status for d in docs}
    if DocumentStatus.ACCEPTED in statuses:
        return None
    if DocumentStatus.PENDING in statuses:
        return "pending"
    if DocumentStatus.REFUSED in statuses:
        return "refused"
    return "missing"


def targets_of(doc_type: DocumentType, child_ids: Sequence[int],
               asked: AbstractSet[tuple[str, int | None]] = frozenset()) -> list[int | None]:
    """Where `doc_type` is required: every child (child scope) or the household (None); for a
    conditional type only the targets its plugin asked for (`asked`, from portail_document_requirements).

    >>> targets_of(DocumentType("pai", "PAI", scope="child", conditional=True), [1, 2], {("pai", 2)})
    [2]
    """
    every: list[int | None] = list(child_ids) if doc_type.scope == "child" else [None]
    if not doc_type.conditional:
        return every
    return [t for t in every if (doc_type.code, t) in asked]


def missing_for_service(types: Iterable[DocumentType], docs: Sequence[DocumentFact], service: str,
                        child_ids: Sequence[int],
                        asked: AbstractSet[tuple[str, int | None]] = frozenset()) -> list[MissingDocument]:
    """Every (type, target) required by `service` without an accepted document.

    Worked example: "carnet_sante" (child, required_by creche) and two children 1 and 2, child 1 has
    an accepted one, child 2 a refused one -> [MissingDocument("carnet_sante", ..., 2, "refused")].
    A conditional type counts only for the (type, child) pairs of `asked`.
    """
    out: list[MissingDocument] = []
    for t in types:
        if service not in t.required_by:
            continue
        targets = targets_of(t, child_ids, asked)
        for target in targets:
            mine = [d for d in docs if d.type_code == t.code and (t.scope != "child" or d.child_id == target)]
            status = _status_of(mine)
            if status is not None:
                out.append(MissingDocument(t.code, t.label, target, status))
    return out


def latest_refused(docs: Sequence[DocumentFact]) -> list[DocumentFact]:
    """Refused documents not followed by a newer one of the same type and child (ids grow with time)."""
    latest: dict[tuple[str, int | None], DocumentFact] = {}
    for d in sorted(docs, key=lambda d: d.id):
        latest[(d.type_code, d.child_id)] = d
    return [d for d in latest.values() if d.status == DocumentStatus.REFUSED]


def requirer_label(code: str, services: Iterable[tuple[str, str, str]],
                   plugin_labels: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """(label, establishment names) of a `required_by` code.

    `services` are (code, name, kind) of the community, `plugin_labels` the `{code: label}` plugins
    supply (portail_services). A configured service code gives its name; a plugin code ("creche",
    "alsh_paj", "cantine") its plugin's label and the configured services whose kind it covers; a
    service kind the names of its services.

    >>> requirer_label("cantine", [], {"cantine": "Restauration scolaire"})
    ('Restauration scolaire', [])
    """
    services = list(services)
    for s_code, name, _ in services:
        if s_code == code:
            return name, [name]
    parts = set(code.split("_")) | {code}
    names = [name for _, name, kind in services if kind in parts]
    label = (plugin_labels or {}).get(code) or (", ".join(names) if names else code)
    return label, names


def check_review(accept: bool, reason: str | None) -> str:
    """A refusal says why (the family reads it). Returns the cleaned reason."""
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ValidationError("Indiquez le motif du refus : la famille le recevra.",
                              code="REASON_REQUIRED", field="reason")
    return reason
