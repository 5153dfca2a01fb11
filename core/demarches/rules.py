"""Built-in démarche types and the validation of their fields (pure: no I/O)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from core.contributions import DemarcheField, DemarcheType
from core.demarches.models import DemarcheStatus
from core.errors import ValidationError

MAX_TEXT = 5000
SITUATIONS = ("celibataire", "marie", "pacse", "concubinage", "separe", "divorce", "veuf")

BUILTIN_DEMARCHE_TYPES: tuple[DemarcheType, ...] = (
    DemarcheType(code="demenagement", label="Signaler un déménagement", fields=(
        DemarcheField("date_demenagement", "Date du déménagement", kind="date"),
        DemarcheField("nouvelle_adresse", "Nouvelle adresse"),
        DemarcheField("code_postal", "Code postal"),
        DemarcheField("ville", "Ville"),
    )),
    DemarcheType(code="changement_situation", label="Changement de situation familiale", fields=(
        DemarcheField("nouvelle_situation", "Nouvelle situation familiale", kind="choice", choices=SITUATIONS),
        DemarcheField("date_changement", "Date du changement", kind="date"),
        DemarcheField("commentaire", "Précisions", required=False),
    )),
    DemarcheType(code="demande_pai", label="Demande de PAI (projet d'accueil individualisé)", fields=(
        DemarcheField("enfant", "Enfant concerné", kind="child"),
        DemarcheField("pathologie", "Pathologie ou trouble de santé"),
        DemarcheField("medecin", "Médecin qui suit l'enfant", required=False),
        DemarcheField("commentaire", "Précisions", required=False),
    )),
    DemarcheType(code="nouvel_enfant", label="Déclarer un nouvel enfant", fields=(
        DemarcheField("prenom", "Prénom"),
        DemarcheField("nom", "Nom"),
        DemarcheField("date_naissance", "Date de naissance (ou date prévue)", kind="date"),
        DemarcheField("a_naitre", "Enfant à naître", kind="bool", required=False),
        DemarcheField("sexe", "Sexe", kind="choice", choices=("F", "M"), required=False),
    )),
    # Handled by the community's school service (kind « scolaire »), see handling_service().
    DemarcheType(code="inscription_scolaire", label="Inscription scolaire", service="scolaire", fields=(
        DemarcheField("enfant", "Enfant", kind="child"),
        DemarcheField("ecole", "École"),
        DemarcheField("classe", "Classe", kind="choice",
                      choices=("TPS", "PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2")),
        DemarcheField("date_rentree", "Date d'entrée", kind="date"),
    )),
    DemarcheType(code="demande_information", label="Demande d'information", fields=(
        # Choices are the community's services, filled in at run time (with_service_choices).
        DemarcheField("service", "Service concerné", kind="choice"),
        DemarcheField("message", "Votre message"),
    )),
)

# Field whose value names the service a démarche is addressed to (when its type names none).
SERVICE_FIELD = "service"
PROCESS_STATUSES = (DemarcheStatus.IN_PROGRESS, DemarcheStatus.ACCEPTED, DemarcheStatus.REFUSED,
                    DemarcheStatus.CLOSED)
FINAL_STATUSES = (DemarcheStatus.ACCEPTED, DemarcheStatus.REFUSED, DemarcheStatus.CLOSED)


def with_service_choices(types: Iterable[DemarcheType], service_codes: Iterable[str]) -> list[DemarcheType]:
    """Give a "service" choice field without choices the community's service codes."""
    codes = tuple(service_codes)
    out = []
    for t in types:
        fields = tuple(dataclasses.replace(f, choices=codes) if f.name == SERVICE_FIELD and f.kind == "choice"
                       and not f.choices else f for f in t.fields)
        out.append(dataclasses.replace(t, fields=fields))
    return out


def handling_service(type_code: str, default: str, configured: Mapping[str, str],
                     services: Sequence[tuple[str, str]]) -> str:
    """The code of the service that handles a démarche type, "" when none.

    `configured` is `[demarches] handling_services` (type code -> service code or kind) and wins over
    the type's `default` (what the built-in or plugin type declares). A service code is taken as is;
    a kind gives the first configured service of that kind (`services`: (code, kind) in config
    order); no match -> "" (addressed to no service: the agents of the household's services see it).
    Worked example: default "scolaire", services [("alsh", "alsh"), ("scolaire_latresne", "scolaire")]
    -> "scolaire_latresne"; with configured {"inscription_scolaire": "alsh"} -> "alsh".
    """
    target = configured.get(type_code, default)
    if not target:
        return ""
    codes = [code for code, _ in services]
    if target in codes:
        return target
    return next((code for code, kind in services if kind == target), "")


def with_handling_services(types: Iterable[DemarcheType], configured: Mapping[str, str],
                           services: Sequence[tuple[str, str]]) -> list[DemarcheType]:
    """The types with `service` resolved to a configured service code (see handling_service)."""
    return [dataclasses.replace(t, service=handling_service(t.code, t.service, configured, services)) for t in types]


def find_type(types: Iterable[DemarcheType], code: str) -> DemarcheType:
    for t in types:
        if t.code == code:
            return t
    raise ValidationError("Type de démarche inconnu.", code="UNKNOWN_DEMARCHE_TYPE", field="typeCode")


def _error(f: DemarcheField, message: str, code: str) -> ValidationError:
    return ValidationError(f"{f.label} : {message}", code=code, field=f.name)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_data(fields: Iterable[DemarcheField], data: Mapping[str, Any] | None,
                  child_ids: Iterable[int]) -> dict[str, Any]:
    """Check `data` against `fields`; returns the cleaned data (unknown keys dropped).

    Worked examples: {"date_demenagement": "2024-13-01"} -> INVALID_DATE on date_demenagement,
    {"classe": "6e"} -> INVALID_CHOICE on classe, {"enfant": 99} (not a child of the household)
    -> UNKNOWN_CHILD on enfant, a missing required field -> REQUIRED on that field.
    """
    if data is not None and not isinstance(data, Mapping):
        raise ValidationError("Les données de la démarche sont mal formées.", code="INVALID_DATA", field="data")
    data = data or {}
    own_children = set(child_ids)
    clean: dict[str, Any] = {}
    for f in fields:
        value = data.get(f.name)
        if _empty(value) or (f.kind == "bool" and value is None):
            if f.required and f.kind != "bool":
                raise _error(f, "ce champ est obligatoire.", "REQUIRED")
            if f.kind == "bool":
                clean[f.name] = False
            continue
        if f.kind == "date":
            try:
                clean[f.name] = date.fromisoformat(str(value).strip()).isoformat()
            except ValueError:
                raise _error(f, "date invalide (format attendu AAAA-MM-JJ).", "INVALID_DATE") from None
        elif f.kind == "bool":
            if not isinstance(value, bool):
                raise _error(f, "valeur oui/non attendue.", "INVALID_BOOL")
            clean[f.name] = value
        elif f.kind == "choice":
            if str(value) not in f.choices:
                raise _error(f, "valeur non proposée.", "INVALID_CHOICE")
            clean[f.name] = str(value)
        elif f.kind == "child":
            try:
                child_id = int(value)
            except (TypeError, ValueError):
                raise _error(f, "enfant inconnu.", "UNKNOWN_CHILD") from None
            if child_id not in own_children:
                raise _error(f, "enfant inconnu.", "UNKNOWN_CHILD")
            clean[f.name] = child_id
        else:
            if not isinstance(value, str | int | float):
                raise _error(f, "texte attendu.", "INVALID_TEXT")
            text = str(value).strip()
            if len(text) > MAX_TEXT:
                raise _error(f, f"{MAX_TEXT} caractères au plus.", "TOO_LONG")
            clean[f.name] = text
    return clean


def child_of(fields: Iterable[DemarcheField], clean: Mapping[str, Any]) -> int | None:
    """The child a démarche concerns: the value of its first "child" field."""
    return next((clean.get(f.name) for f in fields if f.kind == "child" and clean.get(f.name)), None)


def service_of(demarche_type: DemarcheType, clean: Mapping[str, Any]) -> str:
    """The type's service, else the service the family chose (information request), else ""."""
    return demarche_type.service or str(clean.get(SERVICE_FIELD) or "")


def check_processing(current: str, new: str, response: str | None) -> str:
    """Staff move a démarche forward. A refusal says why. A closed démarche stays closed."""
    response = (response or "").strip()
    if new not in PROCESS_STATUSES:
        raise ValidationError("Statut invalide.", code="INVALID_STATUS", field="status")
    if current == DemarcheStatus.CLOSED:
        raise ValidationError("Cette démarche est close.", code="DEMARCHE_CLOSED", field="status")
    if new == DemarcheStatus.REFUSED and not response:
        raise ValidationError("Indiquez la raison du refus : la famille la recevra.",
                              code="RESPONSE_REQUIRED", field="response")
    return response
