"""GraphQL of SEPA direct debit: thin types and resolvers over `service.py`."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.config import get_settings
from core.contributions import GraphQLContribution
from core.graphql_support import actor, ctx
from plugins.prelevement import rules, service
from plugins.prelevement.models import (
    MandateStatus,
    SepaBatch,
    SepaDebit,
    SepaMandate,
    SepaMandateVersion,
)


@strawberry.type
class SepaRegie:
    code: str
    name: str
    ics: str
    creditor_name: str
    sepa_format: str


@strawberry.type(name="SepaMandateVersion")
class SepaMandateVersionType:
    version: int
    account_holder: str
    masked_iban: str
    bic: str
    bank_name: str
    reason: str
    created_at: datetime

    @classmethod
    def from_model(cls, v: SepaMandateVersion) -> SepaMandateVersionType:
        return cls(version=v.version, account_holder=v.account_holder, masked_iban=rules.mask_iban(v.iban),
                   bic=v.bic, bank_name=v.bank_name, reason=v.reason, created_at=v.created_at)


async def _load_versions(keys: list[int]) -> list[list[SepaMandateVersionType]]:
    rows = await SepaMandateVersion.filter(mandate_id__in=keys).order_by("version")
    out: dict[int, list[SepaMandateVersionType]] = {k: [] for k in keys}
    for row in rows:
        out[row.mandate_id].append(SepaMandateVersionType.from_model(row))  # type: ignore[attr-defined]
    return [out[k] for k in keys]


async def _load_household_names(keys: list[int]) -> list[str]:
    from core.households.models import Household

    names = dict(await Household.filter(id__in=keys).values_list("id", "name"))
    return [names.get(k, "") for k in keys]


@strawberry.type(name="SepaMandate")
class SepaMandateType:
    id: strawberry.ID
    household_id: strawberry.ID
    regie_code: str
    regie_name: str
    rum: str
    status: str
    status_label: str
    account_holder: str
    masked_iban: str = strawberry.field(description="« FR76 **** **** **** **** ***0 185 »: the IBAN is never shown whole.")
    bic: str
    bank_name: str
    start_month: date
    information: str
    version: int
    refusal_reason: str
    status_reason: str
    signed_on: date | None
    last_collection_on: date | None
    reject_count: int
    has_signed_mandate: bool
    has_rib: bool
    mandate_pdf_url: str
    created_at: datetime

    @strawberry.field
    async def household_name(self, info: Info) -> str:
        return await ctx(info).loader("sepa_household_names", _load_household_names).load(int(self.household_id))

    @strawberry.field(description="Every version of the debtor account (creation, changes of account).")
    async def versions(self, info: Info) -> list[SepaMandateVersionType]:
        return await ctx(info).loader("sepa_mandate_versions", _load_versions).load(int(self.id))

    @classmethod
    def from_model(cls, m: SepaMandate) -> SepaMandateType:
        reg = get_settings().regie(m.regie_code)
        return cls(
            id=strawberry.ID(str(m.id)), household_id=strawberry.ID(str(m.household_id)),  # type: ignore[attr-defined]
            regie_code=m.regie_code, regie_name=reg.name if reg else m.regie_code, rum=m.rum, status=m.status,
            status_label=MandateStatus.LABELS.get(m.status, m.status), account_holder=m.account_holder,
            masked_iban=rules.mask_iban(m.iban), bic=m.bic, bank_name=m.bank_name, start_month=m.start_month,
            information=m.information, version=m.version, refusal_reason=m.refusal_reason,
            status_reason=m.status_reason, signed_on=m.signed_on, last_collection_on=m.last_collection_on,
            reject_count=m.reject_count, has_signed_mandate=m.signed_document_id is not None,  # type: ignore[attr-defined]
            has_rib=m.rib_document_id is not None, mandate_pdf_url=f"/files/sepa_mandate/{m.id}",  # type: ignore[attr-defined]
            created_at=m.created_at)


@strawberry.type(name="SepaDebit")
class SepaDebitType:
    id: strawberry.ID
    mandate_id: strawberry.ID
    household_id: strawberry.ID
    invoice_id: strawberry.ID
    invoice_number: str
    amount_cents: int
    sequence_type: str
    end_to_end_id: str
    amended: bool
    status: str
    reject_code: str

    @classmethod
    def from_model(cls, d: SepaDebit) -> SepaDebitType:
        return cls(id=strawberry.ID(str(d.id)), mandate_id=strawberry.ID(str(d.mandate_id)),  # type: ignore[attr-defined]
                   household_id=strawberry.ID(str(d.household_id)), invoice_id=strawberry.ID(str(d.invoice_id)),
                   invoice_number=d.invoice_number, amount_cents=d.amount_cents, sequence_type=d.sequence_type,
                   end_to_end_id=d.end_to_end_id, amended=d.amended, status=d.status, reject_code=d.reject_code)


async def _load_debits(keys: list[int]) -> list[list[SepaDebitType]]:
    rows = await SepaDebit.filter(batch_id__in=keys).order_by("id")
    out: dict[int, list[SepaDebitType]] = {k: [] for k in keys}
    for row in rows:
        out[row.batch_id].append(SepaDebitType.from_model(row))  # type: ignore[attr-defined]
    return [out[k] for k in keys]


@strawberry.type(name="SepaBatch")
class SepaBatchType:
    id: strawberry.ID
    regie_code: str
    due_date: date
    message_id: str
    sepa_format: str
    status: str
    count: int
    total_cents: int
    created_at: datetime
    sent_at: datetime | None
    download_url: str

    @strawberry.field
    async def debits(self, info: Info) -> list[SepaDebitType]:
        return await ctx(info).loader("sepa_batch_debits", _load_debits).load(int(self.id))

    @classmethod
    def from_model(cls, b: SepaBatch) -> SepaBatchType:
        return cls(id=strawberry.ID(str(b.id)), regie_code=b.regie_code, due_date=b.due_date, message_id=b.message_id,
                   sepa_format=b.sepa_format, status=b.status, count=b.count, total_cents=b.total_cents,
                   created_at=b.created_at, sent_at=b.sent_at, download_url=f"/files/sepa_batch/{b.id}")


@strawberry.input
class SepaMandateRequestInput:
    regie_codes: list[str]
    account_holder: str
    iban: str
    bic: str = ""
    bank_name: str = ""
    start_month: date
    information: str = ""


@strawberry.input
class SepaPaperMandateInput:
    regie_code: str
    account_holder: str
    iban: str
    bic: str = ""
    bank_name: str = ""
    start_month: date
    signed_on: date = strawberry.field(description="The date the debtor signed the paper form (not in the future).")
    information: str = ""


@strawberry.input
class SepaAccountChangeInput:
    account_holder: str
    iban: str
    bic: str = ""
    bank_name: str = ""


@strawberry.type
class SepaDocumentResult:
    document_id: strawberry.ID
    mandate: SepaMandateType


@strawberry.type
class SepaQuery:
    @strawberry.field(description="Régies a family may choose for direct debit.")
    def sepa_regies(self) -> list[SepaRegie]:
        return [SepaRegie(code=r.code, name=r.name, ics=r.ics, creditor_name=r.creditor_name or r.name,
                          sepa_format=r.sepa_format) for r in service.sepa_regies()]

    @strawberry.field(description="Family: my mandates (demandes en cours, prélèvements actuels, history). "
                                  "Staff: the mandates of a household on their régies.")
    async def sepa_mandates(self, info: Info, household_id: strawberry.ID | None = None) -> list[SepaMandateType]:
        rows = await service.household_mandates(actor(info), int(household_id) if household_id else None)
        return [SepaMandateType.from_model(m) for m in rows]

    @strawberry.field
    async def sepa_mandate(self, info: Info, id: strawberry.ID) -> SepaMandateType:
        return SepaMandateType.from_model(await service.get_mandate(actor(info), id))

    @strawberry.field(description="Staff: the mandates of a régie, optionally of one status (pending, active…).")
    async def sepa_regie_mandates(self, info: Info, regie_code: str, status: str | None = None) -> list[SepaMandateType]:
        rows = await service.regie_mandates(actor(info), regie_code, status)
        return [SepaMandateType.from_model(m) for m in rows]

    @strawberry.field(description="Staff: the debit batches of a régie.")
    async def sepa_batches(self, info: Info, regie_code: str) -> list[SepaBatchType]:
        return [SepaBatchType.from_model(b) for b in await service.regie_batches(actor(info), regie_code)]

    @strawberry.field
    async def sepa_batch(self, info: Info, id: strawberry.ID) -> SepaBatchType:
        return SepaBatchType.from_model(await service.get_batch(actor(info), id))


@strawberry.type
class SepaMutation:
    @strawberry.mutation(description="« Adhérer au prélèvement automatique »: one pending mandate per régie.")
    async def sepa_request_mandate(self, info: Info, input: SepaMandateRequestInput) -> list[SepaMandateType]:
        rows = await service.request_mandate(actor(info), input.regie_codes, input.account_holder, input.iban,
                                             input.bic, input.bank_name, input.start_month, input.information)
        return [SepaMandateType.from_model(m) for m in rows]

    @strawberry.mutation(description="« Annuler ma demande ».")
    async def sepa_cancel_request(self, info: Info, mandate_id: strawberry.ID) -> SepaMandateType:
        return SepaMandateType.from_model(await service.cancel_request(actor(info), mandate_id))

    @strawberry.mutation(description="Stop an active direct debit (family or staff of the régie).")
    async def sepa_stop_mandate(self, info: Info, mandate_id: strawberry.ID, reason: str = "") -> SepaMandateType:
        return SepaMandateType.from_model(await service.stop_mandate(actor(info), mandate_id, reason))

    @strawberry.mutation(description="Change of bank account: a new version of the same mandate (same RUM).")
    async def sepa_change_account(self, info: Info, mandate_id: strawberry.ID,
                                  input: SepaAccountChangeInput) -> SepaMandateType:
        m = await service.change_account(actor(info), mandate_id, input.account_holder, input.iban, input.bic,
                                         input.bank_name)
        return SepaMandateType.from_model(m)

    @strawberry.mutation(description="Send back the signed mandate (kind « mandat_sepa_signe ») or a RIB (« rib »).")
    async def sepa_upload_document(self, info: Info, mandate_id: strawberry.ID, kind: str,
                                   file: Upload) -> SepaDocumentResult:
        document = await service.upload_document(actor(info), mandate_id, kind, file)
        mandate = await service.get_mandate(actor(info), mandate_id)
        return SepaDocumentResult(document_id=strawberry.ID(str(document.id)),
                                  mandate=SepaMandateType.from_model(mandate))

    @strawberry.mutation(description="Staff: validate a pending request (the debit becomes active).")
    async def sepa_validate_mandate(self, info: Info, mandate_id: strawberry.ID) -> SepaMandateType:
        return SepaMandateType.from_model(await service.validate_mandate(actor(info), mandate_id))

    @strawberry.mutation(description="Staff of the régie: register a mandate signed on paper at the desk; active at "
                                     "once, with the optional scan of the signed form. The family is mailed.")
    async def sepa_register_paper_mandate(self, info: Info, household_id: strawberry.ID, input: SepaPaperMandateInput,
                                          file: Upload | None = None) -> SepaMandateType:
        m = await service.register_paper_mandate(
            actor(info), household_id, input.regie_code, input.account_holder, input.iban, input.bic,
            input.bank_name, input.start_month, input.signed_on, input.information, file)
        return SepaMandateType.from_model(m)

    @strawberry.mutation(description="Staff: refuse a pending request, with the reason mailed to the family.")
    async def sepa_refuse_mandate(self, info: Info, mandate_id: strawberry.ID, reason: str) -> SepaMandateType:
        return SepaMandateType.from_model(await service.refuse_mandate(actor(info), mandate_id, reason))

    @strawberry.mutation(description="Staff: a pain.008 batch of every unpaid invoice covered by an active mandate.")
    async def sepa_build_batch(self, info: Info, regie_code: str, due_date: date) -> SepaBatchType:
        return SepaBatchType.from_model(await service.build_batch(actor(info), regie_code, due_date))

    @strawberry.mutation(description="Staff: the file was sent to the bank; invoices are recorded paid at the due date.")
    async def sepa_mark_batch_sent(self, info: Info, batch_id: strawberry.ID) -> SepaBatchType:
        return SepaBatchType.from_model(await service.mark_batch_sent(actor(info), batch_id))

    @strawberry.mutation(description="Staff: record a reject (R-transaction, e.g. AM04, MD01) of one debit.")
    async def sepa_record_reject(self, info: Info, debit_id: strawberry.ID, reason_code: str) -> SepaDebitType:
        return SepaDebitType.from_model(await service.record_reject(actor(info), debit_id, reason_code))


contribution = GraphQLContribution(query=SepaQuery, mutation=SepaMutation)
