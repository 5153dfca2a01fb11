"""GraphQL of SEPA direct debit (prefix `Prelevement`, docs/graphql.md): thin types and resolvers
over `service.py`. Money in euro cents, months as `YearMonth`, IBANs only ever masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.config import get_settings
from core.contributions import GraphQLContribution
from core.graphql_support import (
    LabelledEnum,
    Limit,
    Offset,
    Page,
    YearMonth,
    actor,
    ctx,
    graphql_enum,
    page_of,
    paginate,
    parse_id,
)
from plugins.prelevement import rules, service
from plugins.prelevement.models import (
    BatchStatus,
    DebitStatus,
    MandateStatus,
    SepaBatch,
    SepaDebit,
    SepaMandate,
    SepaMandateVersion,
)

STAFF = "Agents of a service billed by the régie, and admins"
FAMILY_OR_STAFF = ("The mandate's household (family account), or an agent of a service billed by its régie who "
                   "may see the household (need-to-know), or an admin")


# ---- enums ------------------------------------------------------------------------------------
class PrelevementMandateStatus(LabelledEnum):
    PENDING = (MandateStatus.PENDING, MandateStatus.LABELS[MandateStatus.PENDING],
               "Requested by the family, waiting for the régie's decision (and the signed form).")
    ACTIVE = (MandateStatus.ACTIVE, MandateStatus.LABELS[MandateStatus.ACTIVE],
              "Validated (or signed on paper at the desk): the régie's invoices are collected by direct debit.")
    REFUSED = (MandateStatus.REFUSED, MandateStatus.LABELS[MandateStatus.REFUSED],
               "Refused by the régie; `refusalReason` says why. The family may ask again.")
    CANCELLED = (MandateStatus.CANCELLED, MandateStatus.LABELS[MandateStatus.CANCELLED],
                 "The family withdrew its pending request.")
    STOPPED = (MandateStatus.STOPPED, MandateStatus.LABELS[MandateStatus.STOPPED],
               "Stopped by the family or the régie; later invoices are paid another way.")
    SUSPENDED = (MandateStatus.SUSPENDED, MandateStatus.LABELS[MandateStatus.SUSPENDED],
                 "Suspended after too many rejected debits (`[plugin.prelevement] max_rejects`).")
    LAPSED = (MandateStatus.LAPSED, MandateStatus.LABELS[MandateStatus.LAPSED],
              "Caduc: no collection for 36 months (EPC SDD Core rulebook 4.5.1); a new mandate is needed.")


class PrelevementBatchStatus(LabelledEnum):
    BUILT = (BatchStatus.BUILT, "Constituée", "The pain.008 file is built and downloadable, not yet sent to the bank.")
    SENT = (BatchStatus.SENT, "Envoyée à la banque",
            "Marked sent to the bank: its invoices are recorded paid at the due date.")


class PrelevementDebitStatus(LabelledEnum):
    BUILT = (DebitStatus.BUILT, "Prévu", "In a batch not yet sent to the bank (the family was pre-notified).")
    SENT = (DebitStatus.SENT, "Envoyé", "Sent to the bank; the invoice is recorded paid at the due date.")
    REJECTED = (DebitStatus.REJECTED, "Rejeté",
                "Rejected by the debtor's bank (R-transaction): the payment is reversed, the invoice is due again.")


class PrelevementSequence(LabelledEnum):
    """SEPA sequence types, EPC SDD Core rulebook (EPC016-09, attribute AT-21 « Transaction type »)."""

    FRST = (rules.SEQ_FRST, "Premier prélèvement", "First collection of a recurrent mandate.")
    RCUR = (rules.SEQ_RCUR, "Prélèvement récurrent", "A following collection of a recurrent mandate.")
    FNAL = (rules.SEQ_FNAL, "Dernier prélèvement", "The last collection of a mandate (it was stopped meanwhile).")
    OOFF = (rules.SEQ_OOFF, "Prélèvement ponctuel", "The single collection of a one-off mandate.")


class PrelevementFormat(LabelledEnum):
    """The ISO 20022 pain.008 message version a régie's bank accepts (`sepa_format` in `[[regies]]`)."""

    PAIN_008_001_08 = ("pain.008.001.08", "pain.008.001.08",
                       "ISO 20022 version 2019 (EPC SDD Core rulebook 2023+), structured addresses.")
    PAIN_008_001_02 = ("pain.008.001.02", "pain.008.001.02", "ISO 20022 version 2009, still accepted by some banks.")


class PrelevementRejectReason(LabelledEnum):
    """The R-transaction reason codes the API records (ISO 20022 ExternalStatusReason1Code)."""

    AC01 = ("AC01", rules.REJECT_REASONS["AC01"], "Incorrect account number.")
    AC04 = ("AC04", rules.REJECT_REASONS["AC04"], "Closed account.")
    AC06 = ("AC06", rules.REJECT_REASONS["AC06"], "Blocked account.")
    AG01 = ("AG01", rules.REJECT_REASONS["AG01"], "Transaction forbidden on this type of account.")
    AM04 = ("AM04", rules.REJECT_REASONS["AM04"], "Insufficient funds.")
    MD01 = ("MD01", rules.REJECT_REASONS["MD01"], "No mandate.")
    MD02 = ("MD02", rules.REJECT_REASONS["MD02"], "Mandate data missing or incorrect.")
    MD06 = ("MD06", rules.REJECT_REASONS["MD06"], "Refund requested by the debtor.")
    MD07 = ("MD07", rules.REJECT_REASONS["MD07"], "Debtor deceased.")
    MS02 = ("MS02", rules.REJECT_REASONS["MS02"], "Refused by the debtor.")
    MS03 = ("MS03", rules.REJECT_REASONS["MS03"], "Reason not specified.")
    RC01 = ("RC01", rules.REJECT_REASONS["RC01"], "Incorrect BIC.")
    SL01 = ("SL01", rules.REJECT_REASONS["SL01"], "Specific service of the debtor's bank.")


class PrelevementDocumentKind(LabelledEnum):
    SIGNED_MANDATE = (service.DOC_SIGNED, "Mandat de prélèvement SEPA signé",
                      "The mandate form downloaded from `mandatePdfUrl`, dated and signed.")
    RIB = (service.DOC_RIB, "RIB", "The « relevé d'identité bancaire » of the account to debit.")


class PrelevementVersionReason(LabelledEnum):
    CREATION = ("creation", "Création", "Version 1: the account given with the request (or the paper form).")
    ACCOUNT_CHANGE = ("changement de compte", "Changement de compte",
                      "The family changed its bank account (same mandate, same RUM).")


graphql_enum(PrelevementMandateStatus, description="Where a SEPA mandate stands.")
graphql_enum(PrelevementBatchStatus, description="Where a debit batch (one pain.008 file) stands.")
graphql_enum(PrelevementDebitStatus, description="Where one debit (one invoice of a batch) stands.")
graphql_enum(PrelevementSequence, description=(
    "The SEPA sequence type of a collection, EPC SDD Core rulebook (EPC016-09) attribute AT-21: FRST, RCUR, "
    "FNAL, OOFF. Since the November 2016 rulebook a change of debtor bank keeps RCUR (amendment « SMNDA »)."))
graphql_enum(PrelevementFormat, description="The pain.008 version of a régie's remittance files.")
graphql_enum(PrelevementRejectReason, description=(
    "Reason code of a rejected debit (R-transaction), ISO 20022 ExternalStatusReason1Code; the subset a régie "
    "records here."))
graphql_enum(PrelevementDocumentKind, description="A document a family sends back for its mandate.")
graphql_enum(PrelevementVersionReason, description="Why a version of a mandate's debtor account was created.")


# ---- types ------------------------------------------------------------------------------------
@strawberry.type(description="A régie (public cash office) that collects by SEPA direct debit: each has its own "
                             "creditor identifier (ICS).")
class PrelevementRegie:
    code: str = strawberry.field(description="The régie's code in the configuration (`[[regies]]`), e.g. `cdc`.")
    name: str = strawberry.field(description="The régie's name, to show.")
    ics: str = strawberry.field(description="SEPA creditor identifier (ICS), e.g. `FR12ZZZ123456`, printed on "
                                            "the mandate form.")
    creditor_name: str = strawberry.field(description="The creditor name printed on the mandate and bank statements.")
    sepa_format: PrelevementFormat = strawberry.field(description="The pain.008 version of its remittance files.")


@strawberry.type(description="One version of a mandate's debtor account: version 1 at the request, one more per "
                             "change of account. The IBAN is masked.")
class PrelevementMandateVersion:
    version: int = strawberry.field(description="1, 2, … in order.")
    account_holder: str = strawberry.field(description="The account holder's name.")
    masked_iban: str = strawberry.field(description="Masked IBAN: country, key and last 4 characters only "
                                                    "(« FR76 **** **** **** **** ***0 185 »).")
    bic: str = strawberry.field(description="BIC of the debtor's bank, 8 or 11 characters.")
    bank_name: str = strawberry.field(description="The bank's name as typed by the family (may be empty).")
    reason: PrelevementVersionReason = strawberry.field(description="Why this version exists.")
    reason_label: str = strawberry.field(description="French label of `reason`.")
    created_at: datetime = strawberry.field(description="When this version was recorded.")

    @classmethod
    def from_model(cls, v: SepaMandateVersion) -> PrelevementMandateVersion:
        reason = PrelevementVersionReason(v.reason) if v.reason in {r.value for r in PrelevementVersionReason} \
            else PrelevementVersionReason.ACCOUNT_CHANGE
        return cls(version=v.version, account_holder=v.account_holder, masked_iban=rules.mask_iban(v.iban),
                   bic=v.bic, bank_name=v.bank_name, reason=reason, reason_label=reason.label,
                   created_at=v.created_at)


async def _load_versions(keys: list[int]) -> list[list[PrelevementMandateVersion]]:
    rows = await SepaMandateVersion.filter(mandate_id__in=keys).order_by("version")
    out: dict[int, list[PrelevementMandateVersion]] = {k: [] for k in keys}
    for row in rows:
        out[row.mandate_id].append(PrelevementMandateVersion.from_model(row))  # type: ignore[attr-defined]
    return [out[k] for k in keys]


async def _load_household_names(keys: list[int]) -> list[str]:
    from core.households.models import Household

    names = dict(await Household.filter(id__in=keys).values_list("id", "name"))
    return [names.get(k, "") for k in keys]


@strawberry.type(description="A SEPA Core direct debit mandate of one household for one régie. Seen by the "
                             "household and by the agents of the régie's services (need-to-know), admins.")
class PrelevementMandate:
    id: strawberry.ID = strawberry.field(description="The mandate's id.")
    household_id: strawberry.ID = strawberry.field(description="The debtor household's id.")
    regie_code: str = strawberry.field(description="The creditor régie's code (see `prelevementRegies`).")
    regie_name: str = strawberry.field(description="The creditor régie's name.")
    rum: str = strawberry.field(description="Unique mandate reference (RUM), at most 35 characters, e.g. "
                                            "`CDC-000042-20261123-7F3A9C`; unchanged by a change of account.")
    status: PrelevementMandateStatus = strawberry.field(description="Where the mandate stands.")
    status_label: str = strawberry.field(description="French label of `status` (« Prélèvement actif »).")
    account_holder: str = strawberry.field(description="The account holder's name (current version).")
    masked_iban: str = strawberry.field(description="Masked IBAN of the current account: « FR76 **** **** **** **** "
                                                    "***0 185 »; the IBAN is never shown whole.")
    bic: str = strawberry.field(description="BIC of the debtor's bank, 8 or 11 characters.")
    bank_name: str = strawberry.field(description="The bank's name (may be empty).")
    start_month: YearMonth = strawberry.field(description="First month whose invoices are collected.")
    information: str = strawberry.field(description="Free note from the family with its request (may be empty).")
    version: int = strawberry.field(description="Number of the current account version (1 + changes of account).")
    refusal_reason: str = strawberry.field(description="Why the régie refused the request (empty unless REFUSED).")
    status_reason: str = strawberry.field(description="Why it was stopped or suspended (may be empty).")
    signed_on: date | None = strawberry.field(description="Date the debtor signed the mandate; null until known.")
    last_collection_on: date | None = strawberry.field(description="Due date of the last collection sent; null "
                                                                   "before the first (the next one is then FRST).")
    reject_count: int = strawberry.field(description="How many debits of this mandate were rejected.")
    has_signed_mandate: bool = strawberry.field(description="True when the signed form was sent back (or scanned).")
    has_rib: bool = strawberry.field(description="True when a RIB was sent.")
    mandate_pdf_url: str = strawberry.field(description="Relative URL of the mandate form (PDF) to print, date and "
                                                        "sign; same permissions as the mandate.")
    created_at: datetime = strawberry.field(description="When the request (or the paper mandate) was recorded.")

    @strawberry.field(description="The household's name (for staff lists).")
    async def household_name(self, info: Info) -> str:
        return await ctx(info).loader("sepa_household_names", _load_household_names).load(int(self.household_id))

    @strawberry.field(description="Every version of the debtor account, oldest first. Not paginated: one per "
                                  "change of account, a handful.")
    async def versions(self, info: Info) -> list[PrelevementMandateVersion]:
        return await ctx(info).loader("sepa_mandate_versions", _load_versions).load(int(self.id))

    @classmethod
    def from_model(cls, m: SepaMandate) -> PrelevementMandate:
        reg = get_settings().regie(m.regie_code)
        status = PrelevementMandateStatus(m.status)
        return cls(
            id=strawberry.ID(str(m.id)), household_id=strawberry.ID(str(m.household_id)),  # type: ignore[attr-defined]
            regie_code=m.regie_code, regie_name=reg.name if reg else m.regie_code, rum=m.rum, status=status,
            status_label=status.label, account_holder=m.account_holder,
            masked_iban=rules.mask_iban(m.iban), bic=m.bic, bank_name=m.bank_name, start_month=m.start_month,
            information=m.information, version=m.version, refusal_reason=m.refusal_reason,
            status_reason=m.status_reason, signed_on=m.signed_on, last_collection_on=m.last_collection_on,
            reject_count=m.reject_count, has_signed_mandate=m.signed_document_id is not None,  # type: ignore[attr-defined]
            has_rib=m.rib_document_id is not None, mandate_pdf_url=f"/files/sepa_mandate/{m.id}",  # type: ignore[attr-defined]
            created_at=m.created_at)


@strawberry.type(description="One collection of a batch: one invoice debited on one mandate.")
class PrelevementDebit:
    id: strawberry.ID = strawberry.field(description="The debit's id.")
    mandate_id: strawberry.ID = strawberry.field(description="The mandate debited.")
    household_id: strawberry.ID = strawberry.field(description="The debtor household.")
    invoice_id: strawberry.ID = strawberry.field(description="The invoice collected.")
    invoice_number: str = strawberry.field(description="The invoice's number, as printed.")
    amount_cents: int = strawberry.field(description="Amount collected, in euro cents.")
    sequence_type: PrelevementSequence = strawberry.field(description="SEPA sequence type in the file.")
    end_to_end_id: str = strawberry.field(description="End-to-end identifier of the transaction (at most 35 "
                                                      "characters), quoted by the bank in a reject.")
    amended: bool = strawberry.field(description="True when the collection carries a mandate amendment (change of "
                                                 "account since the previous collection).")
    status: PrelevementDebitStatus = strawberry.field(description="Where the debit stands.")
    status_label: str = strawberry.field(description="French label of `status`.")
    reject_reason: PrelevementRejectReason | None = strawberry.field(description="The bank's reason code; null "
                                                                               "unless REJECTED.")
    reject_reason_label: str | None = strawberry.field(description="French label of `rejectReason`.")

    @classmethod
    def from_model(cls, d: SepaDebit) -> PrelevementDebit:
        status = PrelevementDebitStatus(d.status)
        reason = PrelevementRejectReason(d.reject_code) if d.reject_code else None
        return cls(id=strawberry.ID(str(d.id)), mandate_id=strawberry.ID(str(d.mandate_id)),  # type: ignore[attr-defined]
                   household_id=strawberry.ID(str(d.household_id)), invoice_id=strawberry.ID(str(d.invoice_id)),
                   invoice_number=d.invoice_number, amount_cents=d.amount_cents,
                   sequence_type=PrelevementSequence(d.sequence_type), end_to_end_id=d.end_to_end_id,
                   amended=d.amended, status=status, status_label=status.label, reject_reason=reason,
                   reject_reason_label=reason.label if reason else None)


@strawberry.type(description="A pain.008 remittance of one régie for one collection date. Seen by the agents of "
                             "the régie's services and admins.")
class PrelevementBatch:
    id: strawberry.ID = strawberry.field(description="The batch's id.")
    regie_code: str = strawberry.field(description="The creditor régie's code.")
    due_date: date = strawberry.field(description="Collection date (the debtor's account is debited that day).")
    message_id: str = strawberry.field(description="The file's message identifier (MsgId), unique.")
    sepa_format: PrelevementFormat = strawberry.field(description="The pain.008 version of the file.")
    status: PrelevementBatchStatus = strawberry.field(description="Where the batch stands.")
    status_label: str = strawberry.field(description="French label of `status`.")
    count: int = strawberry.field(description="Number of debits in the file.")
    total_cents: int = strawberry.field(description="Control sum of the file, in euro cents.")
    created_at: datetime = strawberry.field(description="When the batch was built.")
    sent_at: datetime | None = strawberry.field(description="When it was marked sent to the bank; null before.")
    download_url: str = strawberry.field(description="Relative URL of the pain.008 XML file to send to the bank.")

    @strawberry.field(description="The debits of the batch, in the file's order (by id). Errors: INVALID_PAGE.")
    async def debits(self, limit: Limit = 50, offset: Offset = 0) -> Page[PrelevementDebit]:
        return await paginate(SepaDebit.filter(batch_id=int(self.id)).order_by("id"), limit, offset,
                              PrelevementDebit.from_model)

    @classmethod
    def from_model(cls, b: SepaBatch) -> PrelevementBatch:
        status = PrelevementBatchStatus(b.status)
        return cls(id=strawberry.ID(str(b.id)), regie_code=b.regie_code, due_date=b.due_date, message_id=b.message_id,
                   sepa_format=PrelevementFormat(b.sepa_format), status=status, status_label=status.label,
                   count=b.count, total_cents=b.total_cents, created_at=b.created_at, sent_at=b.sent_at,
                   download_url=f"/files/sepa_batch/{b.id}")


ACCOUNT_FIELDS = {
    "account_holder": "The account holder's name, 1 to 140 characters.",
    "iban": "The IBAN to debit, spaces and case free (« fr76 3000 1007 9412 3456 7890 185 »); checked (ISO 13616 "
            "key, SEPA country).",
    "bic": "BIC of the bank, 8 or 11 characters, same country as the IBAN; may be empty for a French IBAN.",
    "bank_name": "The bank's name (required when the BIC is empty).",
}


@strawberry.input(description="« Adhérer au prélèvement automatique »: the family's request.")
class PrelevementMandateRequestInput:
    regie_codes: list[str] = strawberry.field(description="The régies to pay by direct debit (codes of "
                                                          "`prelevementRegies`): one mandate each.")
    account_holder: str = strawberry.field(description=ACCOUNT_FIELDS["account_holder"])
    iban: str = strawberry.field(description=ACCOUNT_FIELDS["iban"])
    start_month: YearMonth = strawberry.field(description="First month to collect, not in the past.")
    bic: str = strawberry.field(default="", description=ACCOUNT_FIELDS["bic"])
    bank_name: str = strawberry.field(default="", description=ACCOUNT_FIELDS["bank_name"])
    information: str = strawberry.field(default="", description="A note for the régie (at most 2000 characters).")


@strawberry.input(description="A mandate the debtor signed on paper at the régie's desk.")
class PrelevementPaperMandateInput:
    regie_code: str = strawberry.field(description="The creditor régie's code.")
    account_holder: str = strawberry.field(description=ACCOUNT_FIELDS["account_holder"])
    iban: str = strawberry.field(description=ACCOUNT_FIELDS["iban"])
    start_month: YearMonth = strawberry.field(description="First month to collect, not in the past.")
    signed_on: date = strawberry.field(description="The date the debtor signed the paper form (not in the future, "
                                                   "at most 36 months ago).")
    bic: str = strawberry.field(default="", description=ACCOUNT_FIELDS["bic"])
    bank_name: str = strawberry.field(default="", description=ACCOUNT_FIELDS["bank_name"])
    information: str = strawberry.field(default="", description="A note kept with the mandate.")


@strawberry.input(description="The new debtor account of a mandate.")
class PrelevementAccountChangeInput:
    account_holder: str = strawberry.field(description=ACCOUNT_FIELDS["account_holder"])
    iban: str = strawberry.field(description=ACCOUNT_FIELDS["iban"])
    bic: str = strawberry.field(default="", description=ACCOUNT_FIELDS["bic"])
    bank_name: str = strawberry.field(default="", description=ACCOUNT_FIELDS["bank_name"])


@strawberry.type(description="The answer of `uploadPrelevementDocument`: the stored document and the mandate.")
class PrelevementDocumentPayload:
    document_id: strawberry.ID = strawberry.field(description="The new household document (core `Document`).")
    mandate: PrelevementMandate = strawberry.field(description="The mandate, with `hasSignedMandate` / `hasRib`.")


MandateId = Annotated[strawberry.ID, strawberry.argument(description="The mandate's id.")]
RegieCode = Annotated[str, strawberry.argument(description="The régie's code (see `prelevementRegies`).")]


@strawberry.type
class PrelevementQuery:
    @strawberry.field(description="Régies a family may pay by direct debit (those with an ICS). Anyone logged in or "
                                  "not. Not paginated: the régies of the community's configuration, a handful.")
    def prelevement_regies(self) -> list[PrelevementRegie] | None:
        return [PrelevementRegie(code=r.code, name=r.name, ics=r.ics, creditor_name=r.creditor_name or r.name,
                                 sepa_format=PrelevementFormat(r.sepa_format)) for r in service.sepa_regies()]

    @strawberry.field(description=(
        "The mandates of one household, newest first (pending requests, current debits, history). Family: its "
        "own household (`householdId` ignored). Staff: `householdId` required, only the mandates of their "
        "régies for a household they may see. Not paginated: at most a few per régie of one household. "
        "Errors: UNAUTHENTICATED, REQUIRED, NOT_FOUND, INVALID_ID."))
    async def prelevement_mandates(
            self, info: Info,
            household_id: Annotated[strawberry.ID | None, strawberry.argument(
                description="Staff: the household (required). Family: ignored.")] = None,
    ) -> list[PrelevementMandate] | None:
        hid = parse_id(household_id, "householdId") if household_id is not None else None
        rows = await service.household_mandates(actor(info), hid)
        return [PrelevementMandate.from_model(m) for m in rows]

    @strawberry.field(description=f"One mandate. {FAMILY_OR_STAFF}. Errors: UNAUTHENTICATED, NOT_FOUND.")
    async def prelevement_mandate(self, info: Info, id: MandateId) -> PrelevementMandate | None:
        return PrelevementMandate.from_model(await service.get_mandate(actor(info), parse_id(id)))

    @strawberry.field(description=(
        f"The mandates of a régie, newest first, optionally of one status. {STAFF}; an agent sees those of "
        "households using one of their services (need-to-know). Errors: UNKNOWN_REGIE, FORBIDDEN, INVALID_PAGE."))
    async def prelevement_regie_mandates(
            self, info: Info, regie_code: RegieCode,
            status: Annotated[PrelevementMandateStatus | None, strawberry.argument(
                description="Only the mandates of this status (all when null).")] = None,
            limit: Limit = 50, offset: Offset = 0) -> Page[PrelevementMandate] | None:
        rows = await service.regie_mandates(actor(info), regie_code, status.value if status else None)
        return page_of([PrelevementMandate.from_model(m) for m in rows], limit, offset)

    @strawberry.field(description=f"The debit batches of a régie, newest first. {STAFF}. "
                                  "Errors: UNKNOWN_REGIE, FORBIDDEN, INVALID_PAGE.")
    async def prelevement_batches(self, info: Info, regie_code: RegieCode, limit: Limit = 50,
                                  offset: Offset = 0) -> Page[PrelevementBatch] | None:
        query = service.regie_batches(actor(info), regie_code)
        return await paginate(query, limit, offset, PrelevementBatch.from_model)

    @strawberry.field(description=f"One debit batch. {STAFF}. Errors: UNAUTHENTICATED, NOT_FOUND.")
    async def prelevement_batch(
            self, info: Info,
            id: Annotated[strawberry.ID, strawberry.argument(description="The batch's id.")]) -> PrelevementBatch | None:
        return PrelevementBatch.from_model(await service.get_batch(actor(info), parse_id(id)))


@strawberry.type
class PrelevementMutation:
    @strawberry.mutation(description=(
        "« Adhérer au prélèvement automatique »: one PENDING mandate per chosen régie, mailed to the family. "
        "Family with a confirmed account. Errors: UNAUTHENTICATED, FORBIDDEN, REQUIRED, UNKNOWN_REGIE, "
        "INVALID_IBAN, INVALID_BIC, TOO_LONG, INVALID_START_MONTH, MANDATE_EXISTS."))
    async def request_prelevement_mandate(
            self, info: Info,
            input: Annotated[PrelevementMandateRequestInput, strawberry.argument(description="The request form.")],
    ) -> list[PrelevementMandate] | None:
        rows = await service.request_mandate(actor(info), input.regie_codes, input.account_holder, input.iban,
                                             input.bic, input.bank_name, input.start_month, input.information)
        return [PrelevementMandate.from_model(m) for m in rows]

    @strawberry.mutation(description="« Annuler ma demande »: the family withdraws a PENDING request (CANCELLED). "
                                     "Family of the mandate. Errors: NOT_FOUND, NOT_PENDING.")
    async def cancel_prelevement_mandate(self, info: Info, mandate_id: MandateId) -> PrelevementMandate | None:
        return PrelevementMandate.from_model(await service.cancel_request(actor(info), parse_id(mandate_id, "mandateId")))

    @strawberry.mutation(description=(
        f"Stop an ACTIVE or SUSPENDED mandate (STOPPED). {FAMILY_OR_STAFF}. A debit already built but not sent "
        "goes as the last one (FNAL). Errors: NOT_FOUND, NOT_ACTIVE."))
    async def stop_prelevement_mandate(
            self, info: Info, mandate_id: MandateId,
            reason: Annotated[str, strawberry.argument(description="Why (optional, at most 500 characters).")] = "",
    ) -> PrelevementMandate | None:
        return PrelevementMandate.from_model(await service.stop_mandate(actor(info), parse_id(mandate_id, "mandateId"),
                                                                        reason))

    @strawberry.mutation(description=(
        "Change of bank account: a new version of the same mandate (same RUM), sent as an amendment with the next "
        "collection. Family of the mandate, PENDING or ACTIVE. Errors: NOT_FOUND, NOT_ACTIVE, REQUIRED, "
        "INVALID_IBAN, INVALID_BIC, TOO_LONG."))
    async def change_prelevement_mandate_account(
            self, info: Info, mandate_id: MandateId,
            input: Annotated[PrelevementAccountChangeInput, strawberry.argument(description="The new account.")],
    ) -> PrelevementMandate | None:
        m = await service.change_account(actor(info), parse_id(mandate_id, "mandateId"), input.account_holder,
                                         input.iban, input.bic, input.bank_name)
        return PrelevementMandate.from_model(m)

    @strawberry.mutation(description=(
        "Send back the signed mandate or a RIB (PDF, PNG or JPEG): a household document linked to the mandate. "
        "Family of the mandate, PENDING or ACTIVE. Errors: NOT_FOUND, NOT_ACTIVE, and the upload codes of core "
        "(file type, size)."))
    async def upload_prelevement_document(
            self, info: Info, mandate_id: MandateId,
            kind: Annotated[PrelevementDocumentKind, strawberry.argument(description="Which document.")],
            file: Annotated[Upload, strawberry.argument(description="The file (multipart upload).")],
    ) -> PrelevementDocumentPayload | None:
        mid = parse_id(mandate_id, "mandateId")
        document = await service.upload_document(actor(info), mid, kind.value, file)
        mandate = await service.get_mandate(actor(info), mid)
        return PrelevementDocumentPayload(document_id=strawberry.ID(str(document.id)),
                                          mandate=PrelevementMandate.from_model(mandate))

    @strawberry.mutation(description=f"Validate a PENDING request: the mandate becomes ACTIVE, the family is mailed. "
                                     f"{STAFF} (need-to-know). Errors: NOT_FOUND, NOT_PENDING.")
    async def validate_prelevement_mandate(self, info: Info, mandate_id: MandateId) -> PrelevementMandate | None:
        return PrelevementMandate.from_model(await service.validate_mandate(actor(info),
                                                                            parse_id(mandate_id, "mandateId")))

    @strawberry.mutation(description=(
        f"Register a mandate signed on paper at the desk: ACTIVE at once, with the optional scan of the signed "
        f"form; audited, the family is mailed. {STAFF}, for any household, even one that uses none of the régie's "
        "services yet (the mandate is then read through need-to-know like any other). Errors: UNKNOWN_REGIE, FORBIDDEN, NOT_FOUND, REQUIRED, INVALID_IBAN, INVALID_BIC, "
        "TOO_LONG, INVALID_START_MONTH, SIGNED_ON_IN_FUTURE, SIGNED_ON_TOO_OLD, MANDATE_EXISTS."))
    async def register_prelevement_paper_mandate(
            self, info: Info,
            household_id: Annotated[strawberry.ID, strawberry.argument(description="The debtor household.")],
            input: Annotated[PrelevementPaperMandateInput, strawberry.argument(description="The paper form.")],
            file: Annotated[Upload | None, strawberry.argument(
                description="Optional scan of the signed form (PDF, PNG or JPEG).")] = None,
    ) -> PrelevementMandate | None:
        m = await service.register_paper_mandate(
            actor(info), parse_id(household_id, "householdId"), input.regie_code, input.account_holder, input.iban,
            input.bic, input.bank_name, input.start_month, input.signed_on, input.information, file)
        return PrelevementMandate.from_model(m)

    @strawberry.mutation(description=f"Refuse a PENDING request, the reason mailed to the family. {STAFF} "
                                     "(need-to-know). Errors: NOT_FOUND, NOT_PENDING, REQUIRED.")
    async def refuse_prelevement_mandate(
            self, info: Info, mandate_id: MandateId,
            reason: Annotated[str, strawberry.argument(description="The reason shown to the family (required).")],
    ) -> PrelevementMandate | None:
        return PrelevementMandate.from_model(await service.refuse_mandate(actor(info),
                                                                          parse_id(mandate_id, "mandateId"), reason))

    @strawberry.mutation(description=(
        f"Build the pain.008 batch of a régie for a due date: every unpaid invoice covered by an ACTIVE mandate; "
        f"each family is pre-notified by mail. {STAFF}. Errors: UNKNOWN_REGIE, FORBIDDEN, INVALID_DUE_DATE, "
        "NOT_A_TARGET_DAY, PRENOTIFICATION_TOO_LATE, DUE_DATE_TOO_SOON, EMPTY_BATCH, DEBTOR_ADDRESS_MISSING, "
        "BATCH_IN_PROGRESS."))
    async def build_prelevement_batch(
            self, info: Info, regie_code: RegieCode,
            due_date: Annotated[date, strawberry.argument(
                description="Collection date: a TARGET2 business day, far enough for the pre-notification.")],
    ) -> PrelevementBatch | None:
        return PrelevementBatch.from_model(await service.build_batch(actor(info), regie_code, due_date))

    @strawberry.mutation(description=f"The file was sent to the bank: the batch is SENT and its invoices recorded "
                                     f"paid at the due date. {STAFF}. Errors: NOT_FOUND, ALREADY_SENT.")
    async def mark_prelevement_batch_sent(
            self, info: Info,
            batch_id: Annotated[strawberry.ID, strawberry.argument(description="The batch's id.")],
    ) -> PrelevementBatch | None:
        return PrelevementBatch.from_model(await service.mark_batch_sent(actor(info), parse_id(batch_id, "batchId")))

    @strawberry.mutation(description=(
        f"Record a reject (R-transaction) of one SENT debit: the payment is reversed, the family mailed, the mandate "
        f"SUSPENDED after `max_rejects` rejects. {STAFF}. Errors: NOT_FOUND, NOT_SENT."))
    async def record_prelevement_reject(
            self, info: Info,
            debit_id: Annotated[strawberry.ID, strawberry.argument(description="The rejected debit's id.")],
            reason: Annotated[PrelevementRejectReason, strawberry.argument(
                description="The reason code given by the bank.")],
    ) -> PrelevementDebit | None:
        return PrelevementDebit.from_model(await service.record_reject(actor(info), parse_id(debit_id, "debitId"),
                                                                       reason.value))


contribution = GraphQLContribution(query=PrelevementQuery, mutation=PrelevementMutation)
