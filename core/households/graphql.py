"""GraphQL of the household file: « Mon foyer », « Mon profil », « Mes enfants » (medical answers,
authorisations, people allowed to collect), the September update, staff search / read / edit and
the admin audit log. Thin: every rule lives in service.py / rules.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from core.config import get_settings
from core.contributions import GraphQLContribution
from core.errors import NotFound
from core.graphql_support import OkResult, actor, ctx, parse_id, parse_optional_id
from core.households import rules, service
from core.households.models import (
    AuditLog,
    AuthorizedPerson,
    Child,
    FamilySituation,
    Household,
    Regime,
    Responsable,
)
from core.timeutil import today

RANK_LABELS = {1: "Moi", 2: "Autre responsable"}




def _given(obj: Any) -> dict[str, Any]:
    """The input fields the client actually sent (partial updates)."""
    return {k: v for k, v in vars(obj).items() if v is not strawberry.UNSET}


# ---- types ----------------------------------------------------------------------------------------
@strawberry.type
class HouseholdChoice:
    code: str
    label: str
    requires_text: bool = False
    help: str = ""


@strawberry.type
class HouseholdChoices:
    family_situations: list[str]
    regimes: list[str]
    medical_questions: list[HouseholdChoice]
    authorizations: list[HouseholdChoice]


@strawberry.type
class HouseholdFileProblem:
    code: str
    message: str
    child_id: strawberry.ID | None = None

    @classmethod
    def from_rule(cls, p: rules.Problem) -> HouseholdFileProblem:
        return cls(code=p.code, message=p.message, child_id=strawberry.ID(str(p.child_id)) if p.child_id else None)


@strawberry.type
class HouseholdResponsable:
    id: strawberry.ID
    rank: int
    label: str
    is_me: bool
    civility: str
    first_name: str
    last_name: str
    birth_date: date | None
    email: str
    phone_mobile: str
    phone_home: str
    phone_work: str
    address: str
    profession: str
    employer: str
    employer_address: str
    employer_phone: str

    @classmethod
    def from_model(cls, r: Responsable, user_id: int | None = None) -> HouseholdResponsable:
        return cls(id=strawberry.ID(str(r.id)), rank=r.rank, label=RANK_LABELS.get(r.rank, f"Responsable {r.rank}"),
                   is_me=user_id is not None and r.user_id == user_id,  # type: ignore[attr-defined]
                   civility=r.civility, first_name=r.first_name, last_name=r.last_name, birth_date=r.birth_date,
                   email=r.email, phone_mobile=r.phone_mobile, phone_home=r.phone_home, phone_work=r.phone_work,
                   address=r.address, profession=r.profession, employer=r.employer,
                   employer_address=r.employer_address, employer_phone=r.employer_phone)


@strawberry.type
class HouseholdMedicalAnswer:
    code: str
    label: str
    requires_text: bool
    answer: bool | None = strawberry.field(description="null: not answered yet")
    text: str


@strawberry.type
class HouseholdChildMedical:
    answers: list[HouseholdMedicalAnswer]
    antecedents: str
    allergies: str
    doctor_name: str
    doctor_phone: str
    has_pai: bool
    has_aeeh: bool


@strawberry.type
class HouseholdChildAuthorization:
    code: str
    label: str
    granted: bool | None = strawberry.field(description="null: not answered yet")


@strawberry.type
class HouseholdAuthorizedPerson:
    id: strawberry.ID
    child_id: strawberry.ID
    last_name: str
    first_name: str
    relation: str
    phone_mobile: str
    phone_home: str
    email: str
    may_collect: bool
    is_contact: bool

    @classmethod
    def from_model(cls, p: AuthorizedPerson) -> HouseholdAuthorizedPerson:
        return cls(id=strawberry.ID(str(p.id)), child_id=strawberry.ID(str(p.child_id)),  # type: ignore[attr-defined]
                   last_name=p.last_name, first_name=p.first_name, relation=p.relation, phone_mobile=p.phone_mobile,
                   phone_home=p.phone_home, email=p.email, may_collect=p.may_collect, is_contact=p.is_contact)


def _medical(c: Child) -> HouseholdChildMedical:
    stored = c.medical_answers or {}
    answers = [HouseholdMedicalAnswer(code=q.code, label=q.label, requires_text=q.requires_text,
                                      answer=stored[q.code]["answer"] if q.code in stored else None,
                                      text=stored.get(q.code, {}).get("text", ""))
               for q in get_settings().medical_questions]
    return HouseholdChildMedical(answers=answers, antecedents=c.antecedents, allergies=c.allergies,
                                 doctor_name=c.doctor_name, doctor_phone=c.doctor_phone, has_pai=c.has_pai,
                                 has_aeeh=c.has_aeeh)


async def _audit_batch(info: Info, keys: list[tuple[int, int]]) -> list[bool]:
    """Staff reads of medical data: need-to-know checked for the whole batch, the visible ones audited."""
    seen = await service.medical_visible(actor(info), {hid for _, hid in keys})
    await service.audit_medical_reads(actor(info), [k for k in keys if k[1] in seen])
    return [k[1] in seen for k in keys]


@strawberry.type
class HouseholdChild:
    id: strawberry.ID
    household_id: strawberry.ID
    first_name: str
    last_name: str
    sex: str
    birth_date: date | None
    expected_birth_date: date | None
    is_expected: bool = strawberry.field(description="« À naître »: a due date, no birth date yet")
    age_years: int | None
    age_months: int | None
    school: str
    school_class: str
    authorizations: list[HouseholdChildAuthorization]
    authorized_people: list[HouseholdAuthorizedPerson]
    problems: list[HouseholdFileProblem]
    model: strawberry.Private[Child]

    @strawberry.field(description=(
        "Medical answers; every staff read is written to the audit log. An agent of a service the household "
        "does not use gets null with a NOT_FOUND error (need-to-know, core.permissions)."))
    async def medical(self, info: Info) -> HouseholdChildMedical | None:
        if actor(info).is_staff:
            loader = ctx(info).loader("households.audit_medical", lambda keys: _audit_batch(info, keys))
            if not await loader.load((self.model.id, self.model.household_id)):  # type: ignore[attr-defined]
                raise NotFound("enfant")
        return _medical(self.model)

    @classmethod
    def from_model(cls, c: Child, people: list[AuthorizedPerson], on: date | None = None) -> HouseholdChild:
        settings = get_settings()
        age = rules.child_age(c.birth_date, on or today())
        granted = c.authorizations or {}
        return cls(id=strawberry.ID(str(c.id)), household_id=strawberry.ID(str(c.household_id)),  # type: ignore[attr-defined]
                   first_name=c.first_name, last_name=c.last_name, sex=c.sex, birth_date=c.birth_date,
                   expected_birth_date=c.expected_birth_date, is_expected=c.birth_date is None,
                   age_years=age.years if age else None, age_months=age.months if age else None,
                   school=c.school, school_class=c.school_class,
                   authorizations=[HouseholdChildAuthorization(code=a.code, label=a.label, granted=granted.get(a.code))
                                   for a in settings.authorizations],
                   authorized_people=[HouseholdAuthorizedPerson.from_model(p) for p in people],
                   problems=[HouseholdFileProblem.from_rule(p) for p in rules.child_problems(c, people, settings)],
                   model=c)


@strawberry.type
class HouseholdFile:
    id: strawberry.ID
    name: str
    address_line1: str = strawberry.field(description="The street line as shown: number and street")
    street_number: str = strawberry.field(description="Building number of the street line (« 12 bis »)")
    street_name: str = strawberry.field(description="Street of the street line (« rue de la Paix »)")
    address_line2: str
    postal_code: str
    city: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code (« FR »)")
    phone: str
    email: str
    family_situation: str
    dependent_children: int
    regime: str
    allocataire_number: str
    quotient_familial: int | None
    reference_income: int | None = strawberry.field(description="Yearly reference income (N-2), in cents")
    income_given_on: date | None
    needs_yearly_update: bool
    yearly_update_done_on: date | None
    responsables: list[HouseholdResponsable]
    children: list[HouseholdChild]
    problems: list[HouseholdFileProblem] = strawberry.field(description="What is missing in the file")

    @classmethod
    def from_bundle(cls, b: service.HouseholdBundle, user_id: int | None = None) -> HouseholdFile:
        h = b.household
        on = today()
        address = rules.postal_address(h)
        return cls(id=strawberry.ID(str(h.id)), name=h.name, address_line1=h.address_line1,
                   street_number=address.building_number, street_name=address.street_name, address_line2=h.address_line2, postal_code=h.postal_code, city=h.city,
                   country=h.country, phone=h.phone, email=h.email,
                   family_situation=h.family_situation, dependent_children=h.dependent_children, regime=h.regime,
                   allocataire_number=h.allocataire_number, quotient_familial=h.quotient_familial,
                   reference_income=h.reference_income_cents, income_given_on=h.income_given_on,
                   needs_yearly_update=h.needs_yearly_update, yearly_update_done_on=h.yearly_update_done_on,
                   responsables=[HouseholdResponsable.from_model(r, user_id) for r in b.responsables],
                   children=[HouseholdChild.from_model(c, b.people.get(c.id, []), on) for c in b.children],
                   problems=[HouseholdFileProblem.from_rule(p) for p in b.problems()])


@strawberry.type
class HouseholdSummary:
    id: strawberry.ID
    name: str
    email: str
    city: str
    allocataire_number: str
    needs_yearly_update: bool

    @classmethod
    def from_model(cls, h: Household) -> HouseholdSummary:
        return cls(id=strawberry.ID(str(h.id)), name=h.name, email=h.email, city=h.city,
                   allocataire_number=h.allocataire_number, needs_yearly_update=h.needs_yearly_update)


@strawberry.type
class HouseholdSearchResult:
    total: int
    items: list[HouseholdSummary]


@strawberry.type
class HouseholdAuditEntry:
    id: strawberry.ID
    actor_id: strawberry.ID | None
    actor_email: str
    action: str
    entity: str
    entity_id: int | None
    household_id: int | None
    at: datetime

    @classmethod
    def from_model(cls, a: AuditLog) -> HouseholdAuditEntry:
        actor_id = a.actor_id  # type: ignore[attr-defined]
        return cls(id=strawberry.ID(str(a.id)), actor_id=strawberry.ID(str(actor_id)) if actor_id else None,
                   actor_email=a.actor.email if a.actor else "", action=a.action, entity=a.entity,
                   entity_id=a.entity_id, household_id=a.household_id, at=a.at)


# ---- inputs ---------------------------------------------------------------------------------------
@strawberry.input
class HouseholdInput:
    address_line1: str | None = strawberry.field(
        default=strawberry.UNSET, description="Street line; split into streetNumber / streetName when those are not given")
    street_number: str | None = strawberry.UNSET
    street_name: str | None = strawberry.UNSET
    country: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 3166-1 alpha-2 code, FR by default")
    address_line2: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    family_situation: str | None = strawberry.field(default=strawberry.UNSET,
                                                    description=f"One of {', '.join(FamilySituation.CHOICES)}")
    dependent_children: int | None = strawberry.UNSET
    regime: str | None = strawberry.field(default=strawberry.UNSET, description=f"One of {', '.join(Regime.CHOICES)}")
    allocataire_number: str | None = strawberry.UNSET
    quotient_familial: int | None = strawberry.UNSET
    reference_income: int | None = strawberry.field(default=strawberry.UNSET, description="In cents")
    income_given_on: date | None = strawberry.UNSET

    def values(self) -> dict[str, Any]:
        data = _given(self)
        if "reference_income" in data:
            data["reference_income_cents"] = data.pop("reference_income")
        return data


@strawberry.input
class HouseholdResponsableInput:
    civility: str | None = strawberry.UNSET
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    birth_date: date | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone_mobile: str | None = strawberry.UNSET
    phone_home: str | None = strawberry.UNSET
    phone_work: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    profession: str | None = strawberry.UNSET
    employer: str | None = strawberry.UNSET
    employer_address: str | None = strawberry.UNSET
    employer_phone: str | None = strawberry.UNSET

    def values(self) -> dict[str, Any]:
        return {k: ("" if v is None and k != "birth_date" else v) for k, v in _given(self).items()}


@strawberry.input
class HouseholdChildInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    sex: str | None = strawberry.UNSET
    birth_date: date | None = strawberry.UNSET
    expected_birth_date: date | None = strawberry.field(default=strawberry.UNSET,
                                                        description="Due date of a child « à naître »")
    school: str | None = strawberry.UNSET
    school_class: str | None = strawberry.UNSET

    def values(self) -> dict[str, Any]:
        return {k: ("" if v is None and not k.endswith("date") else v) for k, v in _given(self).items()}


@strawberry.input
class HouseholdMedicalAnswerInput:
    code: str
    answer: bool
    text: str = ""


@strawberry.input
class HouseholdChildMedicalInput:
    answers: list[HouseholdMedicalAnswerInput]
    antecedents: str = ""
    allergies: str = ""
    doctor_name: str = ""
    doctor_phone: str = ""
    has_pai: bool = False
    has_aeeh: bool = False


@strawberry.input
class HouseholdAuthorizationInput:
    code: str
    granted: bool


@strawberry.input
class HouseholdAuthorizedPersonInput:
    last_name: str | None = strawberry.UNSET
    first_name: str | None = strawberry.UNSET
    relation: str | None = strawberry.UNSET
    phone_mobile: str | None = strawberry.UNSET
    phone_home: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    may_collect: bool | None = strawberry.UNSET
    is_contact: bool | None = strawberry.UNSET

    def values(self) -> dict[str, Any]:
        out = {}
        for k, v in _given(self).items():
            out[k] = (False if k in ("may_collect", "is_contact") else "") if v is None else v
        return out


@strawberry.input
class HouseholdCreateInput:
    """A household opened by the services: the invitation goes to `responsable.email`."""

    responsable: HouseholdResponsableInput
    household: HouseholdInput | None = None
    other_responsable: HouseholdResponsableInput | None = None
    children: list[HouseholdChildInput] = strawberry.field(default_factory=list)


# ---- resolvers ------------------------------------------------------------------------------------
async def _child_result(child: Child) -> HouseholdChild:
    people = await AuthorizedPerson.filter(child_id=child.id).order_by("id")
    return HouseholdChild.from_model(child, list(people))


@strawberry.type
class HouseholdsQuery:
    @strawberry.field(description="Family: « Mon foyer », the whole household file.")
    async def my_household(self, info: Info) -> HouseholdFile:
        a = actor(info)
        return HouseholdFile.from_bundle(await service.get_household(a), a.user_id)

    @strawberry.field(description="Staff (or the family itself): one household file.")
    async def household(self, info: Info, id: strawberry.ID) -> HouseholdFile:
        a = actor(info)
        return HouseholdFile.from_bundle(await service.get_household(a, parse_optional_id(id, "id")), a.user_id)

    @strawberry.field(description="One child of the household (family: its own children only).")
    async def household_child(self, info: Info, id: strawberry.ID) -> HouseholdChild:
        child, people = await service.get_child(actor(info), parse_id(id, "id"))
        return HouseholdChild.from_model(child, people)

    @strawberry.field(description="Family: « Mon profil », identity of my responsable.")
    async def my_profile(self, info: Info) -> HouseholdResponsable:
        a = actor(info)
        return HouseholdResponsable.from_model(await service.get_my_profile(a), a.user_id)

    @strawberry.field(description="The configured lists the household forms use.")
    def household_choices(self) -> HouseholdChoices:
        s = get_settings()

        def conv(items: Any) -> list[HouseholdChoice]:
            return [HouseholdChoice(code=c.code, label=c.label, requires_text=c.requires_text, help=c.help) for c in items]

        return HouseholdChoices(family_situations=list(FamilySituation.CHOICES), regimes=list(Regime.CHOICES),
                                medical_questions=conv(s.medical_questions), authorizations=conv(s.authorizations))

    @strawberry.field(description="Staff: search households by name, email, child name, allocataire number.")
    async def search_households(self, info: Info, text: str = "", limit: int = 20, offset: int = 0) -> HouseholdSearchResult:
        total, rows = await service.search_households(actor(info), text, limit, offset)
        return HouseholdSearchResult(total=total, items=[HouseholdSummary.from_model(h) for h in rows])

    @strawberry.field(description="Admin: who read or changed personal data.")
    async def audit_log(self, info: Info, household_id: strawberry.ID | None = None) -> list[HouseholdAuditEntry]:
        rows = await service.audit_log(actor(info), parse_optional_id(household_id, "householdId"))
        return [HouseholdAuditEntry.from_model(r) for r in rows]


@strawberry.type
class HouseholdsMutation:
    @strawberry.mutation(description="Family: update « Mon profil ».")
    async def update_my_profile(self, info: Info, input: HouseholdResponsableInput) -> HouseholdResponsable:
        a = actor(info)
        return HouseholdResponsable.from_model(await service.update_my_profile(a, input.values()), a.user_id)

    @strawberry.mutation(description="Address, phones, situation, régime, allocataire, QF or reference income.")
    async def update_household(self, info: Info, input: HouseholdInput,
                               household_id: strawberry.ID | None = None) -> HouseholdFile:
        a = actor(info)
        return HouseholdFile.from_bundle(await service.update_household(a, input.values(), parse_optional_id(household_id, "householdId")),
                                         a.user_id)

    @strawberry.mutation(description="Create or update the « autre responsable » (rank 2).")
    async def save_other_responsable(self, info: Info, input: HouseholdResponsableInput,
                                     household_id: strawberry.ID | None = None) -> HouseholdResponsable:
        a = actor(info)
        row = await service.save_other_responsable(a, input.values(), parse_optional_id(household_id, "householdId"))
        return HouseholdResponsable.from_model(row, a.user_id)

    @strawberry.mutation
    async def remove_other_responsable(self, info: Info, household_id: strawberry.ID | None = None) -> OkResult:
        await service.remove_other_responsable(actor(info), parse_optional_id(household_id, "householdId"))
        return OkResult()

    @strawberry.mutation(description="A born child (birthDate) or a child « à naître » (expectedBirthDate).")
    async def add_child(self, info: Info, input: HouseholdChildInput,
                        household_id: strawberry.ID | None = None) -> HouseholdChild:
        child = await service.add_child(actor(info), input.values(), parse_optional_id(household_id, "householdId"))
        return HouseholdChild.from_model(child, [])

    @strawberry.mutation
    async def update_child(self, info: Info, child_id: strawberry.ID, input: HouseholdChildInput) -> HouseholdChild:
        return await _child_result(await service.update_child(actor(info), parse_id(child_id, "childId"), input.values()))

    @strawberry.mutation(description="Answers to every configured medical question, and the medical details.")
    async def set_child_medical(self, info: Info, child_id: strawberry.ID,
                                input: HouseholdChildMedicalInput) -> HouseholdChild:
        answers = [(a.code, a.answer, a.text) for a in input.answers]
        details = {"antecedents": input.antecedents, "allergies": input.allergies, "doctor_name": input.doctor_name,
                   "doctor_phone": input.doctor_phone, "has_pai": input.has_pai, "has_aeeh": input.has_aeeh}
        child = await service.set_child_medical(actor(info), parse_id(child_id, "childId"), answers, details)
        return await _child_result(child)

    @strawberry.mutation(description="Yes / no per configured authorisation code.")
    async def set_child_authorizations(self, info: Info, child_id: strawberry.ID,
                                       answers: list[HouseholdAuthorizationInput]) -> HouseholdChild:
        child = await service.set_child_authorizations(actor(info), parse_id(child_id, "childId"),
                                                       [(a.code, a.granted) for a in answers])
        return await _child_result(child)

    @strawberry.mutation(description="A person allowed to collect the child and/or to be called.")
    async def add_authorized_person(self, info: Info, child_id: strawberry.ID,
                                    input: HouseholdAuthorizedPersonInput) -> HouseholdAuthorizedPerson:
        person = await service.add_authorized_person(actor(info), parse_id(child_id, "childId"), input.values())
        return HouseholdAuthorizedPerson.from_model(person)

    @strawberry.mutation
    async def update_authorized_person(self, info: Info, id: strawberry.ID,
                                       input: HouseholdAuthorizedPersonInput) -> HouseholdAuthorizedPerson:
        person = await service.update_authorized_person(actor(info), parse_id(id, "id"), input.values())
        return HouseholdAuthorizedPerson.from_model(person)

    @strawberry.mutation
    async def delete_authorized_person(self, info: Info, id: strawberry.ID) -> OkResult:
        await service.delete_authorized_person(actor(info), parse_id(id, "id"))
        return OkResult()

    @strawberry.mutation(description=(
        "Admins and agents of `[accounts] opening_services`: create a household with its responsable(s) and "
        "children; the responsable is mailed the link that confirms the address and creates the password."))
    async def create_family_household(self, info: Info, input: HouseholdCreateInput) -> HouseholdFile:
        a = actor(info)
        bundle = await service.create_household(
            a, input.household.values() if input.household else {}, input.responsable.values(),
            input.other_responsable.values() if input.other_responsable else None,
            [c.values() for c in input.children])
        return HouseholdFile.from_bundle(bundle, a.user_id)

    @strawberry.mutation(description="Staff, each September: ask households to update their file. Returns how many.")
    async def request_yearly_update(self, info: Info, household_ids: list[strawberry.ID] | None = None,
                                    all: bool = False) -> int:
        ids = [parse_id(h, "householdIds") for h in household_ids or []]
        return await service.request_yearly_update(actor(info), ids, all)

    @strawberry.mutation(description="Family: « mon dossier est à jour » (refused while the file is incomplete).")
    async def confirm_yearly_update(self, info: Info, household_id: strawberry.ID | None = None) -> HouseholdFile:
        a = actor(info)
        return HouseholdFile.from_bundle(await service.confirm_yearly_update(a, parse_optional_id(household_id, "householdId")), a.user_id)


contribution = GraphQLContribution(query=HouseholdsQuery, mutation=HouseholdsMutation)
