"""Hook implementations of the prelevement plugin (SEPA direct debit).

Configuration (optional) in `[plugin.prelevement]`: `max_rejects = 2` (rejects before the mandate is
suspended), `rulebook_2016 = true` (sequence type after a change of debtor bank: RCUR + "SMNDA";
false for the pre-2016 rule: FRST), `prenotification_days = 14` (days between the pre-notification
mail and the due date). Régies (ICS, creditor account and structured address, `sepa_format`) come
from `[[regies]]`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from core.config import Settings
from core.contributions import Alert, DocumentType, DownloadHandler, GraphQLContribution
from core.hookspecs import hookimpl
from plugins.prelevement.rules import DEFAULT_PRENOTIFICATION_DAYS

if TYPE_CHECKING:
    from core.permissions import Actor

APP = "prelevement"


class PrelevementSettings(BaseModel):
    """`[plugin.prelevement]`."""

    model_config = ConfigDict(extra="forbid")
    max_rejects: int = Field(default=2, ge=1)  # suspend a mandate after N rejected debits
    rulebook_2016: bool = True  # EPC rulebook since Nov 2016: RCUR + "SMNDA" after a change of debtor bank
    prenotification_days: int = Field(default=DEFAULT_PRENOTIFICATION_DAYS, ge=1)  # days between the pre-notification mail and the due date


@hookimpl
def portail_config_model() -> type[BaseModel]:
    return PrelevementSettings


@hookimpl
def portail_models() -> dict[str, list[str]]:
    return {APP: ["plugins.prelevement.models"]}


@hookimpl
def portail_template_dirs() -> dict[str, str]:
    return {APP: str(Path(__file__).with_name("templates"))}


@hookimpl
def portail_graphql() -> GraphQLContribution:
    from plugins.prelevement.graphql import contribution

    return contribution


@hookimpl
def portail_error_codes() -> dict[str, str]:
    """Every code this plugin raises, for the schema's `ErrorCode` enum (docs/graphql.md)."""
    return {
        "REQUIRED": "A required value is empty; `extensions.field` names it.",
        "TOO_LONG": "A text is longer than allowed; `extensions.field` names it.",
        "UNKNOWN_REGIE": "No régie of this code collects by direct debit (no ICS configured).",
        "INVALID_IBAN": "The IBAN is malformed, its ISO 13616 check digits are wrong, or its country is not in SEPA.",
        "INVALID_BIC": "The BIC is not 8 or 11 characters, or names another country than the IBAN.",
        "INVALID_START_MONTH": "The first month to collect is in the past.",
        "MANDATE_EXISTS": "The household already has a pending or active mandate with this régie "
                          "(`extensions.regieCodes` lists them).",
        "NOT_PENDING": "Only a pending request can be cancelled, validated or refused.",
        "NOT_ACTIVE": "The mandate is no longer active (or pending) for this change: make a new request.",
        "INVALID_KIND": "Unknown kind of mandate document.",
        "SIGNED_ON_IN_FUTURE": "The signature date of a paper mandate is in the future.",
        "SIGNED_ON_TOO_OLD": "The paper mandate was signed more than 36 months ago (it would be lapsed).",
        "INVALID_DUE_DATE": "The collection date is in the past.",
        "NOT_A_TARGET_DAY": "The collection date is not a TARGET2 business day.",
        "PRENOTIFICATION_TOO_LATE": "The collection date leaves less than the pre-notification delay "
                                    "(`[plugin.prelevement] prenotification_days`).",
        "DUE_DATE_TOO_SOON": "The collection date is before the bank's minimum delay for the file.",
        "EMPTY_BATCH": "No unpaid invoice is covered by an active mandate: no batch was built.",
        "DEBTOR_ADDRESS_MISSING": "A debtor whose bank is outside the EEA has no complete postal address "
                                  "(required in the file); the message names the mandates.",
        "BATCH_IN_PROGRESS": "Another batch being built at the same time claims the same invoices: retry.",
        "ALREADY_SENT": "The batch was already marked sent to the bank.",
        "INVALID_REASON_CODE": "Unknown R-transaction reason code.",
        "NOT_SENT": "Only a debit sent to the bank can be rejected.",
        "INVALID_SEPA_XML": "A generated pain.008 file does not validate against its XML schema (server side).",
    }


@hookimpl
def portail_document_types(settings: Settings) -> list[DocumentType]:
    # The régie's agents (those of every service a régie bills) handle mandates and RIBs.
    regie_agents = tuple(s.code for s in settings.services if s.regie)
    return [
        DocumentType(code="mandat_sepa_signe", label="Mandat de prélèvement SEPA signé", scope="household",
                     help="Le mandat téléchargé depuis « Passer au prélèvement automatique », daté et signé.",
                     handled_by=regie_agents),
        DocumentType(code="rib", label="RIB (relevé d'identité bancaire)", scope="household",
                     help="Le RIB du compte à prélever.", handled_by=regie_agents),
    ]


async def _mandate_download(actor: Actor, object_id: str) -> Any:
    from plugins.prelevement import service

    return await service.mandate_pdf(actor, object_id)


async def _batch_download(actor: Actor, object_id: str) -> Any:
    from plugins.prelevement import service

    return await service.batch_xml(actor, object_id)


@hookimpl
def portail_downloads() -> dict[str, DownloadHandler]:
    return {"sepa_mandate": _mandate_download, "sepa_batch": _batch_download}


@hookimpl
async def portail_alerts(actor: Actor, household_id: int) -> list[Alert]:
    from plugins.prelevement import service

    return await service.alerts_for(household_id)


@hookimpl
async def portail_rgpd_export(household_id: int) -> dict[str, Any]:
    from plugins.prelevement import service

    return await service.rgpd_export(household_id)


@hookimpl
async def portail_rgpd_erasure_blockers(household_id: int) -> list[str]:
    from plugins.prelevement import service

    return await service.rgpd_erasure_blockers(household_id)


@hookimpl
async def portail_rgpd_erase(household_id: int) -> None:
    from plugins.prelevement import service

    await service.rgpd_erase(household_id)


@hookimpl
async def portail_rgpd_retention(policy: Any, today: date, dry_run: bool) -> dict[str, int]:
    from plugins.prelevement import service

    return await service.rgpd_retention(policy, today, dry_run)


@hookimpl
async def portail_demo_data(settings: Settings, today: date) -> None:
    from plugins.prelevement import service

    await service.demo_data(today)


@hookimpl
def portail_startup(settings: Settings) -> None:
    """Refuse to start with a régie that could not produce a valid remittance: unknown format, an ICS
    whose check digits are wrong (the bank rejects the whole file), no structured creditor address."""
    from plugins.prelevement.rules import SEPA_FORMATS, is_valid_ics

    for regie in settings.regies:
        if not regie.ics:
            continue
        if regie.sepa_format not in SEPA_FORMATS:
            raise ValueError(f"Régie {regie.code} : sepa_format « {regie.sepa_format} » inconnu "
                             f"(attendu : {', '.join(SEPA_FORMATS)}).")
        if not is_valid_ics(regie.ics):
            raise ValueError(f"Régie {regie.code} : identifiant créancier SEPA (ics) « {regie.ics} » invalide "
                             f"(clé de contrôle ISO 7064 MOD 97-10 fausse).")
        if not (regie.creditor_town.strip() and len(regie.creditor_country.strip()) == 2):
            raise ValueError(f"Régie {regie.code} : adresse du créancier incomplète (creditor_town et "
                             f"creditor_country obligatoires : adresse structurée exigée en SEPA).")
