"""Hook implementations of the canteen plugin (core/hookspecs.py documents each hook)."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cantine import graphql, service
from cantine.models import CantineRegistration
from core.contributions import DocumentType
from core.hookspecs import hookimpl
from core.households.graphql import HouseholdChild
from core.rgpd.walk import export_tables


class CantineSettings(BaseModel):
    """`[plugin.cantine]`: the price of a meal and the régie that bills it (default: the first one)."""

    model_config = ConfigDict(extra="forbid")
    meal_cents: int = Field(default=380, ge=0)
    regie: str = ""


@hookimpl
def portail_startup(settings) -> None:
    if (regie := CantineSettings(**settings.plugin_config("cantine")).regie) and settings.regie(regie) is None:
        raise ValueError(f"[plugin.cantine] regie : régie « {regie} » inconnue")


@hookimpl
def portail_document_types(settings) -> list[DocumentType]:
    return [DocumentType(code=service.ATTESTATION, label="Attestation d'allergie", scope="child", conditional=True,
                         help="Certificat du médecin décrivant l'allergie.", required_by=(service.SERVICE,))]


# The hooks that only hand over a value or a function of service.py.
portail_config_model = hookimpl(lambda: CantineSettings)
portail_models = hookimpl(lambda: {"cantine": ["cantine.models"]})
portail_template_dirs = hookimpl(lambda: {"cantine": str(Path(__file__).with_name("templates"))})
portail_graphql = hookimpl(lambda: graphql.contribution)
portail_type_fields = hookimpl(lambda: {HouseholdChild: graphql.ChildCantine})
portail_services = hookimpl(lambda: {service.SERVICE: "Restauration scolaire"})
portail_error_codes = hookimpl(lambda: {
    "CANTINE_INVALID_WEEKDAYS": "Canteen days must be ISO weekdays 1 (Monday) to 5 (Friday), at least one."})
portail_document_requirements = hookimpl(service.allergy_attestations)
portail_household_services = hookimpl(service.household_services)
portail_invoice_lines = hookimpl(service.invoice_lines)
portail_rgpd_export = hookimpl(lambda household_id: export_tables("cantine", household_id))
portail_rgpd_erase = hookimpl(lambda household_id: CantineRegistration.filter(household_id=household_id).delete())
