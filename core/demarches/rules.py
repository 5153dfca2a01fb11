"""Built-in démarche types and the validation of their fields."""

from __future__ import annotations

from core.contributions import DemarcheField, DemarcheType

BUILTIN_DEMARCHE_TYPES: tuple[DemarcheType, ...] = (
    DemarcheType(code="demenagement", label="Signaler un déménagement", fields=(
        DemarcheField("date_demenagement", "Date du déménagement", kind="date"),
        DemarcheField("nouvelle_adresse", "Nouvelle adresse"),
        DemarcheField("code_postal", "Code postal"),
        DemarcheField("ville", "Ville"),
    )),
)
