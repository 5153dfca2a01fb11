"""GraphQL of the household file: « Mon foyer », « Mon profil », « Mes enfants » (medical answers,
authorisations, people allowed to collect), the September update, staff search / read / edit and
the admin audit log. Thin: every rule lives in service.py / rules.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from core.config import get_settings
from core.contributions import GraphQLContribution
from core.errors import NotFound
from core.graphql_support import (
    DEFAULT_PAGE_SIZE,
    LabelledEnum,
    Limit,
    Offset,
    Page,
    actor,
    check_page,
    ctx,
    graphql_enum,
    paginate,
    parse_id,
    parse_optional_id,
)
from core.households import rules, service
from core.households.models import (
    AuditLog,
    AuthorizedPerson,
    Child,
    Household,
    Responsable,
)
from core.timeutil import today

RANK_LABELS = {1: "Moi", 2: "Autre responsable"}




def _given(obj: Any) -> dict[str, Any]:
    """The input fields the client actually sent (partial updates)."""
    return {k: v for k, v in vars(obj).items() if v is not strawberry.UNSET}


# ---- enums ----------------------------------------------------------------------------------------
class FamilySituationValue(LabelledEnum):
    MARRIED = ("marie", "Marié(e)", "Married.")
    CIVIL_PARTNERSHIP = ("pacse", "Pacsé(e)", "In a PACS (civil partnership).")
    COHABITING = ("concubinage", "En concubinage", "Living together, not married nor in a PACS.")
    SINGLE = ("celibataire", "Célibataire", "Single.")
    DIVORCED = ("divorce", "Divorcé(e)", "Divorced.")
    SEPARATED = ("separe", "Séparé(e)", "Separated.")
    WIDOWED = ("veuf", "Veuf / veuve", "Widowed.")


class RegimeValue(LabelledEnum):
    GENERAL = ("general", "Régime général (CAF)", "General social security scheme: family benefits from the CAF.")
    MSA = ("msa", "MSA", "Agricultural scheme: family benefits from the MSA.")
    OTHER = ("autre", "Autre régime", "Another scheme (SNCF, RATP, Marine…).")


class Sex(LabelledEnum):
    F = ("F", "Fille", "Female.")
    M = ("M", "Garçon", "Male.")


class HouseholdProblemCode(LabelledEnum):
    RESPONSABLE_MISSING = ("RESPONSABLE_MISSING", "Responsable manquant", "The household's responsable is not filled in.")
    ADDRESS_MISSING = ("ADDRESS_MISSING", "Adresse incomplète", "The household's address is incomplete.")
    PHONE_MISSING = ("PHONE_MISSING", "Téléphone manquant", "No phone number anywhere in the file.")
    FAMILY_SITUATION_MISSING = ("FAMILY_SITUATION_MISSING", "Situation familiale manquante",
                                "The family situation is not filled in.")
    REGIME_MISSING = ("REGIME_MISSING", "Régime manquant", "The régime (general, MSA, other) is not filled in.")
    INCOME_MISSING = ("INCOME_MISSING", "Revenus manquants",
                      "Neither an allocataire number nor a reference income / quotient familial.")
    MEDICAL_MISSING = ("MEDICAL_MISSING", "Renseignements médicaux incomplets",
                       "A child's medical questions are not all answered (`childId`).")
    AUTHORIZATIONS_MISSING = ("AUTHORIZATIONS_MISSING", "Autorisations incomplètes",
                              "A child's authorisations are not all answered (`childId`).")
    CONTACT_MISSING = ("CONTACT_MISSING", "Personne à contacter manquante",
                       "A child has no person to call or allowed to collect them (`childId`).")


graphql_enum(FamilySituationValue, name="FamilySituation", description="A household's family situation (CAF terms).")
graphql_enum(RegimeValue, name="Regime", description="The social security scheme paying the family's benefits.")
graphql_enum(Sex, description="A child's sex as the CAF and the schools record it.")
graphql_enum(HouseholdProblemCode, description="Something missing in a household file (« Mon foyer » incomplete).")


def _enum(cls: Any, value: str) -> Any:
    return cls(value) if value else None


# ---- types ----------------------------------------------------------------------------------------
@strawberry.type(name="ConfiguredQuestion", description=(
    "One configured medical question or authorisation (`[[medical_questions]]`, `[[authorizations]]`)."))
class HouseholdChoice:
    code: str = strawberry.field(description="Its code (for the answers' `code`).")
    label: str = strawberry.field(description="The French question to show.")
    requires_text: bool = strawberry.field(default=False, description="A « yes » needs a detail text.")
    help: str = strawberry.field(default="", description="French help to show under it, \"\" when none.")


@strawberry.type(name="HouseholdFormOptions", description="The configured lists the household forms use. Anyone.")
class HouseholdChoices:
    family_situations: list[FamilySituationValue] = strawberry.field(description=(
        "The family situations, in order to show. Not paginated: seven values."))
    regimes: list[RegimeValue] = strawberry.field(description="The régimes, in order. Not paginated: three values.")
    medical_questions: list[HouseholdChoice] = strawberry.field(description=(
        "The medical questions, in order. Not paginated: the configured questions."))
    authorizations: list[HouseholdChoice] = strawberry.field(description=(
        "The authorisations asked per child, in order. Not paginated: the configured ones."))


@strawberry.type(name="HouseholdProblem", description="Something missing in the household file, to show as a to-do.")
class HouseholdFileProblem:
    code: HouseholdProblemCode = strawberry.field(description="What is missing.")
    message: str = strawberry.field(description="The French sentence to show.")
    child_id: strawberry.ID | None = strawberry.field(default=None, description="The child concerned, if any.")

    @classmethod
    def from_rule(cls, p: rules.Problem) -> HouseholdFileProblem:
        return cls(code=HouseholdProblemCode(p.code), message=p.message,
                   child_id=strawberry.ID(str(p.child_id)) if p.child_id else None)


@strawberry.type(name="Responsable", description=(
    "A responsable of the household (rank 1: the account holder's, rank 2: « autre responsable »). Read by "
    "the family and staff who need to know the household."))
class HouseholdResponsable:
    id: strawberry.ID = strawberry.field(description="The responsable's id.")
    rank: int = strawberry.field(description="1 for the main responsable, 2 for the other one.")
    label: str = strawberry.field(description="French heading to show (« Moi », « Autre responsable »).")
    is_me: bool = strawberry.field(description="True when this is the logged-in account's own record.")
    civility: str = strawberry.field(description="Civility as typed (« M. », « Mme »), \"\" when none.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    birth_date: date | None = strawberry.field(description="Birth date (ISO), null when not given.")
    email: str = strawberry.field(description="Email address, \"\" when none.")
    phone_mobile: str = strawberry.field(description="Mobile phone as typed, \"\" when none.")
    phone_home: str = strawberry.field(description="Home phone as typed, \"\" when none.")
    phone_work: str = strawberry.field(description="Work phone as typed, \"\" when none.")
    address: str = strawberry.field(description="Postal address when not the household's, one text, \"\" otherwise.")
    profession: str = strawberry.field(description="Profession, \"\" when none.")
    employer: str = strawberry.field(description="Employer's name, \"\" when none.")
    employer_address: str = strawberry.field(description="Employer's address, \"\" when none.")
    employer_phone: str = strawberry.field(description="Employer's phone, \"\" when none.")

    @classmethod
    def from_model(cls, r: Responsable, user_id: int | None = None) -> HouseholdResponsable:
        return cls(id=strawberry.ID(str(r.id)), rank=r.rank, label=RANK_LABELS.get(r.rank, f"Responsable {r.rank}"),
                   is_me=user_id is not None and r.user_id == user_id,  # type: ignore[attr-defined]
                   civility=r.civility, first_name=r.first_name, last_name=r.last_name, birth_date=r.birth_date,
                   email=r.email, phone_mobile=r.phone_mobile, phone_home=r.phone_home, phone_work=r.phone_work,
                   address=r.address, profession=r.profession, employer=r.employer,
                   employer_address=r.employer_address, employer_phone=r.employer_phone)


@strawberry.type(name="MedicalAnswer", description="A child's answer to one configured medical question.")
class HouseholdMedicalAnswer:
    code: str = strawberry.field(description="The question's code.")
    label: str = strawberry.field(description="The French question.")
    requires_text: bool = strawberry.field(description="A « yes » needs a detail text.")
    answer: bool | None = strawberry.field(description="true: yes, false: no, null: not answered yet.")
    text: str = strawberry.field(description="The detail given with a « yes », \"\" otherwise.")


@strawberry.type(name="ChildMedical", description=(
    "A child's medical file. Family: its own children; staff: need-to-know, every read audited."))
class HouseholdChildMedical:
    answers: list[HouseholdMedicalAnswer] = strawberry.field(description=(
        "One per configured question, in order. Not paginated: the configured questions."))
    antecedents: str = strawberry.field(description="Medical history, free French text.")
    allergies: str = strawberry.field(description="Allergies, free French text.")
    doctor_name: str = strawberry.field(description="The family doctor's name.")
    doctor_phone: str = strawberry.field(description="The family doctor's phone.")
    has_pai: bool = strawberry.field(description="True when the child has a PAI (projet d'accueil individualisé).")
    has_aeeh: bool = strawberry.field(description="True when the family receives the AEEH (disability allowance).")


@strawberry.type(name="ChildAuthorization", description="A child's answer to one configured authorisation.")
class HouseholdChildAuthorization:
    code: str = strawberry.field(description="The authorisation's code.")
    label: str = strawberry.field(description="The French question (« Droit à l'image »).")
    granted: bool | None = strawberry.field(description="true: granted, false: refused, null: not answered yet.")


@strawberry.type(name="AuthorizedPerson", description=(
    "A person allowed to collect a child and / or to be called in an emergency."))
class HouseholdAuthorizedPerson:
    id: strawberry.ID = strawberry.field(description="The person's id.")
    child_id: strawberry.ID = strawberry.field(description="The child.")
    last_name: str = strawberry.field(description="Last name.")
    first_name: str = strawberry.field(description="First name.")
    relation: str = strawberry.field(description="Relation to the child as typed (« Grand-mère »).")
    phone_mobile: str = strawberry.field(description="Mobile phone, \"\" when none.")
    phone_home: str = strawberry.field(description="Home phone, \"\" when none.")
    email: str = strawberry.field(description="Email, \"\" when none.")
    may_collect: bool = strawberry.field(description="True when allowed to collect the child.")
    is_contact: bool = strawberry.field(description="True when to be called in an emergency.")

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


@strawberry.type(name="Child", description=(
    "A child of a household (born, or « à naître »). Family: its own; staff: households they need to know."))
class HouseholdChild:
    id: strawberry.ID = strawberry.field(description="The child's id.")
    household_id: strawberry.ID = strawberry.field(description="The household.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    sex: Sex | None = strawberry.field(description="Sex, null when not given (a child « à naître »).")
    birth_date: date | None = strawberry.field(description="Birth date (ISO), null for a child « à naître ».")
    expected_birth_date: date | None = strawberry.field(description="Due date (ISO) of a child « à naître ».")
    is_expected: bool = strawberry.field(description="« À naître »: a due date, no birth date yet")
    age_years: int | None = strawberry.field(description="Age in whole years today, null when not born.")
    age_months: int | None = strawberry.field(description="Months beyond `ageYears` (0–11), null when not born.")
    school: str = strawberry.field(description="School attended, as typed, \"\" when none.")
    school_class: str = strawberry.field(description="Class (« CE1 »), \"\" when none.")
    authorizations: list[HouseholdChildAuthorization] = strawberry.field(description=(
        "One per configured authorisation, in order. Not paginated: the configured ones."))
    authorized_people: list[HouseholdAuthorizedPerson] = strawberry.field(description=(
        "People allowed to collect or to call, in creation order. Not paginated: a handful per child."))
    problems: list[HouseholdFileProblem] = strawberry.field(description=(
        "What is missing for this child. Not paginated: at most three."))
    model: strawberry.Private[Child]

    @strawberry.field(description="The sex's French label (« Fille »), \"\" when not given.")
    def sex_label(self) -> str:
        return self.sex.label if self.sex else ""

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
                   first_name=c.first_name, last_name=c.last_name, sex=_enum(Sex, c.sex), birth_date=c.birth_date,
                   expected_birth_date=c.expected_birth_date, is_expected=c.birth_date is None,
                   age_years=age.years if age else None, age_months=age.months if age else None,
                   school=c.school, school_class=c.school_class,
                   authorizations=[HouseholdChildAuthorization(code=a.code, label=a.label, granted=granted.get(a.code))
                                   for a in settings.authorizations],
                   authorized_people=[HouseholdAuthorizedPerson.from_model(p) for p in people],
                   problems=[HouseholdFileProblem.from_rule(p) for p in rules.child_problems(c, people, settings)],
                   model=c)


@strawberry.type(name="Household", description=(
    "A household file (« Mon foyer »): address, situation, income, responsables and children. Family: its own; "
    "staff: households their services need to know; admins: all."))
class HouseholdFile:
    id: strawberry.ID = strawberry.field(description="The household's id.")
    name: str = strawberry.field(description="The household's name (usually the responsable's last name).")
    address_line1: str = strawberry.field(description="The street line as shown: number and street")
    street_number: str = strawberry.field(description="Building number of the street line (« 12 bis »)")
    street_name: str = strawberry.field(description="Street of the street line (« rue de la Paix »)")
    address_line2: str = strawberry.field(description="Address complement (building, lieu-dit), \"\" when none.")
    postal_code: str = strawberry.field(description="Postal code (5 digits in France).")
    city: str = strawberry.field(description="City.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code (« FR »)")
    phone: str = strawberry.field(description="The household's phone, \"\" when none.")
    email: str = strawberry.field(description="The household's contact email.")
    family_situation: FamilySituationValue | None = strawberry.field(description="Family situation, null when not given.")
    dependent_children: int = strawberry.field(description="Number of dependent children (for the tariffs).")
    regime: RegimeValue | None = strawberry.field(description="Social security scheme, null when not given.")
    allocataire_number: str = strawberry.field(description="CAF / MSA allocataire number, \"\" when none.")
    quotient_familial: int | None = strawberry.field(description="Quotient familial in euros (CAF), null when unknown.")
    reference_income: int | None = strawberry.field(description="Yearly reference income (N-2), in cents")
    income_given_on: date | None = strawberry.field(description="When the income / QF was given (ISO).")
    needs_yearly_update: bool = strawberry.field(description="True when the services asked for the yearly update.")
    yearly_update_done_on: date | None = strawberry.field(description="When the family last confirmed it (ISO).")
    responsables: list[HouseholdResponsable] = strawberry.field(description=(
        "The responsables, by rank. Not paginated: one or two."))
    children: list[HouseholdChild] = strawberry.field(description=(
        "The children, in creation order. Not paginated: one household's children."))
    problems: list[HouseholdFileProblem] = strawberry.field(description=(
        "What is missing in the file. Not paginated: a few items."))

    @strawberry.field(description="The family situation's French label, \"\" when not given.")
    def family_situation_label(self) -> str:
        return self.family_situation.label if self.family_situation else ""

    @strawberry.field(description="The régime's French label, \"\" when not given.")
    def regime_label(self) -> str:
        return self.regime.label if self.regime else ""

    @classmethod
    def from_bundle(cls, b: service.HouseholdBundle, user_id: int | None = None) -> HouseholdFile:
        h = b.household
        on = today()
        address = rules.postal_address(h)
        return cls(id=strawberry.ID(str(h.id)), name=h.name, address_line1=h.address_line1,
                   street_number=address.building_number, street_name=address.street_name,
                   address_line2=h.address_line2, postal_code=h.postal_code, city=h.city,
                   country=h.country, phone=h.phone, email=h.email,
                   family_situation=_enum(FamilySituationValue, h.family_situation),
                   dependent_children=h.dependent_children, regime=_enum(RegimeValue, h.regime),
                   allocataire_number=h.allocataire_number, quotient_familial=h.quotient_familial,
                   reference_income=h.reference_income_cents, income_given_on=h.income_given_on,
                   needs_yearly_update=h.needs_yearly_update, yearly_update_done_on=h.yearly_update_done_on,
                   responsables=[HouseholdResponsable.from_model(r, user_id) for r in b.responsables],
                   children=[HouseholdChild.from_model(c, b.people.get(c.id, []), on) for c in b.children],
                   problems=[HouseholdFileProblem.from_rule(p) for p in b.problems()])


@strawberry.type(description="A household in staff search results.")
class HouseholdSummary:
    id: strawberry.ID = strawberry.field(description="The household's id (read it with `household(id:)`).")
    name: str = strawberry.field(description="The household's name.")
    email: str = strawberry.field(description="Its contact email.")
    city: str = strawberry.field(description="Its city.")
    allocataire_number: str = strawberry.field(description="CAF / MSA allocataire number, \"\" when none.")
    needs_yearly_update: bool = strawberry.field(description="True when the yearly update is awaited.")

    @classmethod
    def from_model(cls, h: Household) -> HouseholdSummary:
        return cls(id=strawberry.ID(str(h.id)), name=h.name, email=h.email, city=h.city,
                   allocataire_number=h.allocataire_number, needs_yearly_update=h.needs_yearly_update)


@strawberry.type(name="AuditEntry", description="One line of the audit log: who read or changed personal data.")
class HouseholdAuditEntry:
    id: strawberry.ID = strawberry.field(description="The entry's id.")
    actor_id: strawberry.ID | None = strawberry.field(description="The account that acted, null for the system.")
    actor_email: str = strawberry.field(description="That account's email, \"\" for the system.")
    action_code: str = strawberry.field(description=(
        "What was done, snake_case. Core writes read_medical, create_household, open_account, rgpd_export, "
        "rgpd_erase; plugins add theirs (alsh_day_list, sepa_paper_mandate…): an open set, show it as is."))
    entity: str = strawberry.field(description="The kind of object concerned (household, child, user…), snake_case.")
    entity_id: int | None = strawberry.field(description="The id of that object, null when none.")
    household_id: int | None = strawberry.field(description="The household concerned, null when none.")
    at: datetime = strawberry.field(description="When (ISO 8601 with offset).")

    @classmethod
    def from_model(cls, a: AuditLog) -> HouseholdAuditEntry:
        actor_id = a.actor_id  # type: ignore[attr-defined]
        return cls(id=strawberry.ID(str(a.id)), actor_id=strawberry.ID(str(actor_id)) if actor_id else None,
                   actor_email=a.actor.email if a.actor else "", action_code=a.action, entity=a.entity,
                   entity_id=a.entity_id, household_id=a.household_id, at=a.at)


@strawberry.type(name="YearlyUpdateRequest", description="What `requestYearlyUpdate` did.")
class YearlyUpdateRequest:
    household_count: int = strawberry.field(description="How many households were asked (and mailed).")


# ---- inputs ---------------------------------------------------------------------------------------
def _u(description: str) -> Any:
    return strawberry.field(default=strawberry.UNSET, description=description + " Left out: unchanged.")


@strawberry.input(description="Household fields to change; only those sent change (partial update).")
class HouseholdInput:
    address_line1: str | None = _u("Street line; split into streetNumber / streetName when those are not given.")
    street_number: str | None = _u("Building number (« 12 bis »).")
    street_name: str | None = _u("Street name.")
    country: str | None = _u("ISO 3166-1 alpha-2 code, FR by default (INVALID_COUNTRY).")
    address_line2: str | None = _u("Address complement.")
    postal_code: str | None = _u("Postal code.")
    city: str | None = _u("City.")
    phone: str | None = _u("The household's phone.")
    email: str | None = _u("The household's contact email (INVALID_EMAIL).")
    family_situation: FamilySituationValue | None = _u("Family situation.")
    dependent_children: int | None = _u("Number of dependent children, ≥ 0.")
    regime: RegimeValue | None = _u("Social security scheme.")
    allocataire_number: str | None = _u("CAF / MSA allocataire number.")
    quotient_familial: int | None = _u("Quotient familial in euros, ≥ 0.")
    reference_income: int | None = _u("Yearly reference income (N-2), in cents, ≥ 0.")
    income_given_on: date | None = _u("When the income was given (ISO), not in the future.")

    def values(self) -> dict[str, Any]:
        data = _given(self)
        if "reference_income" in data:
            data["reference_income_cents"] = data.pop("reference_income")
        for key in ("family_situation", "regime"):
            if key in data:
                data[key] = data[key].value if data[key] is not None else ""
        return data


@strawberry.input(description="A responsable's fields to change; only those sent change (partial update).")
class ResponsableInput:
    civility: str | None = _u("Civility (« M. », « Mme »).")
    first_name: str | None = _u("First name (REQUIRED when creating).")
    last_name: str | None = _u("Last name (REQUIRED when creating).")
    birth_date: date | None = _u("Birth date (ISO).")
    email: str | None = _u("Email (INVALID_EMAIL).")
    phone_mobile: str | None = _u("Mobile phone.")
    phone_home: str | None = _u("Home phone.")
    phone_work: str | None = _u("Work phone.")
    address: str | None = _u("Postal address when not the household's.")
    profession: str | None = _u("Profession.")
    employer: str | None = _u("Employer's name.")
    employer_address: str | None = _u("Employer's address.")
    employer_phone: str | None = _u("Employer's phone.")

    def values(self) -> dict[str, Any]:
        return {k: ("" if v is None and k != "birth_date" else v) for k, v in _given(self).items()}


HouseholdResponsableInput = ResponsableInput


@strawberry.input(description="A child's fields; only those sent change (partial update).")
class ChildInput:
    first_name: str | None = _u("First name (REQUIRED when adding).")
    last_name: str | None = _u("Last name (the household's when left out on creation).")
    sex: Sex | None = _u("Sex.")
    birth_date: date | None = _u("Birth date (ISO), not in the future.")
    expected_birth_date: date | None = _u("Due date of a child « à naître » (ISO), in the future.")
    school: str | None = _u("School attended.")
    school_class: str | None = _u("Class (« CE1 »).")

    def values(self) -> dict[str, Any]:
        out = {k: ("" if v is None and not k.endswith("date") else v) for k, v in _given(self).items()}
        if isinstance(out.get("sex"), Sex):
            out["sex"] = out["sex"].value
        return out


HouseholdChildInput = ChildInput


@strawberry.input(description="The answer to one configured medical question.")
class MedicalAnswerInput:
    code: str = strawberry.field(description="The question's code (`householdFormOptions.medicalQuestions`).")
    answer: bool = strawberry.field(description="true: yes, false: no.")
    text: str = strawberry.field(default="", description="The detail, required with a « yes » when asked.")


@strawberry.input(description="A child's whole medical file (replaces the previous one).")
class ChildMedicalInput:
    answers: list[MedicalAnswerInput] = strawberry.field(description="One answer per configured question.")
    antecedents: str = strawberry.field(default="", description="Medical history, free French text.")
    allergies: str = strawberry.field(default="", description="Allergies, free French text.")
    doctor_name: str = strawberry.field(default="", description="The family doctor's name.")
    doctor_phone: str = strawberry.field(default="", description="The family doctor's phone.")
    has_pai: bool = strawberry.field(default=False, description="The child has a PAI.")
    has_aeeh: bool = strawberry.field(default=False, description="The family receives the AEEH.")


@strawberry.input(description="The answer to one configured authorisation.")
class AuthorizationAnswerInput:
    code: str = strawberry.field(description="The authorisation's code (`householdFormOptions.authorizations`).")
    granted: bool = strawberry.field(description="true: granted, false: refused.")


@strawberry.input(description="An authorised person's fields; only those sent change (partial update).")
class AuthorizedPersonInput:
    last_name: str | None = _u("Last name (REQUIRED when adding).")
    first_name: str | None = _u("First name (REQUIRED when adding).")
    relation: str | None = _u("Relation to the child (« Grand-mère »).")
    phone_mobile: str | None = _u("Mobile phone (a phone is required: PHONE_REQUIRED).")
    phone_home: str | None = _u("Home phone.")
    email: str | None = _u("Email.")
    may_collect: bool | None = _u("Allowed to collect the child.")
    is_contact: bool | None = _u("To be called in an emergency.")

    def values(self) -> dict[str, Any]:
        out = {}
        for k, v in _given(self).items():
            out[k] = (False if k in ("may_collect", "is_contact") else "") if v is None else v
        return out


@strawberry.input(description="A household opened by the services: the invitation goes to `responsable.email`.")
class HouseholdCreateInput:
    responsable: ResponsableInput = strawberry.field(description="The main responsable (email REQUIRED).")
    household: HouseholdInput | None = strawberry.field(default=None, description="The household's fields.")
    other_responsable: ResponsableInput | None = strawberry.field(default=None, description="The « autre responsable ».")
    children: list[ChildInput] = strawberry.field(default_factory=list, description="The children (TOO_MANY above 20).")


# ---- resolvers ------------------------------------------------------------------------------------
async def _child_result(child: Child) -> HouseholdChild:
    people = await AuthorizedPerson.filter(child_id=child.id).order_by("id")
    return HouseholdChild.from_model(child, list(people))


A = strawberry.argument
HouseholdIdArg = Annotated[strawberry.ID | None, A(description=(
    "Staff: the household to act on (reading: need-to-know; changing: admins, agents of `[accounts] "
    "opening_services` or of a service the household uses, FORBIDDEN otherwise); families leave it out (their own)."))]
ChildIdArg = Annotated[strawberry.ID, A(description="The child (family: one of its own).")]
_WRITE = "UNAUTHENTICATED, FORBIDDEN, EMAIL_NOT_CONFIRMED, NOT_FOUND, INVALID_ID, INVALID_TEXT"


@strawberry.type
class HouseholdsQuery:
    @strawberry.field(description=(
        "Family: « Mon foyer », the whole household file. Errors: UNAUTHENTICATED, FORBIDDEN (not a family)."))
    async def my_household(self, info: Info) -> HouseholdFile | None:
        a = actor(info)
        return HouseholdFile.from_bundle(await service.get_household(a), a.user_id)

    @strawberry.field(description=(
        "Staff (need-to-know), or the family itself: one household file. "
        "Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID."))
    async def household(self, info: Info, id: Annotated[strawberry.ID, A(
            description="The household.")]) -> HouseholdFile | None:
        a = actor(info)
        return HouseholdFile.from_bundle(await service.get_household(a, parse_optional_id(id, "id")), a.user_id)

    @strawberry.field(description=(
        "One child (family: its own children only; staff: need-to-know). "
        "Errors: UNAUTHENTICATED, NOT_FOUND, INVALID_ID."))
    async def child(self, info: Info, id: Annotated[strawberry.ID, A(description="The child.")]) -> HouseholdChild | None:
        child, people = await service.get_child(actor(info), parse_id(id, "id"))
        return HouseholdChild.from_model(child, people)

    @strawberry.field(description=(
        "Family: « Mon profil », the logged-in responsable's identity. Errors: UNAUTHENTICATED, FORBIDDEN, "
        "NOT_FOUND."))
    async def my_profile(self, info: Info) -> HouseholdResponsable | None:
        a = actor(info)
        return HouseholdResponsable.from_model(await service.get_my_profile(a), a.user_id)

    @strawberry.field(description="The configured lists the household forms use. Anyone.")
    def household_form_options(self) -> HouseholdChoices | None:
        s = get_settings()

        def conv(items: Any) -> list[HouseholdChoice]:
            return [HouseholdChoice(code=c.code, label=c.label, requires_text=c.requires_text, help=c.help) for c in items]

        return HouseholdChoices(family_situations=list(FamilySituationValue), regimes=list(RegimeValue),
                                medical_questions=conv(s.medical_questions), authorizations=conv(s.authorizations))

    @strawberry.field(description=(
        "Staff: search households by name, email, child or responsable name, allocataire number (accents and "
        "case ignored, every word must match); best matches first, then by name; empty text: all by name. "
        "Page size at most 100. Errors: UNAUTHENTICATED, FORBIDDEN, INVALID_PAGE."))
    async def search_households(self, info: Info,
                                text: Annotated[str, A(description="Words to find; \"\" lists every household.")] = "",
                                limit: Annotated[int, A(description="Page size, 1 to 100 (INVALID_PAGE otherwise).")] = 20,
                                offset: Offset = 0) -> Page[HouseholdSummary] | None:
        check_page(limit, offset, max_limit=100)
        total, rows = await service.search_households(actor(info), text, limit, offset)
        return Page(items=[HouseholdSummary.from_model(h) for h in rows], total=total, limit=limit, offset=offset)

    @strawberry.field(description=(
        "Admins: who read or changed personal data, newest first. Errors: UNAUTHENTICATED, FORBIDDEN, "
        "INVALID_ID, INVALID_PAGE."))
    async def audit_log(self, info: Info, household_id: Annotated[strawberry.ID | None, A(
            description="Only the entries about this household.")] = None,
                        limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> Page[HouseholdAuditEntry] | None:
        check_page(limit, offset)
        query = service.audit_log_query(actor(info), parse_optional_id(household_id, "householdId"))
        return await paginate(query, limit, offset, HouseholdAuditEntry.from_model)


@strawberry.type
class HouseholdsMutation:
    @strawberry.mutation(description=f"Family: update « Mon profil »; returns it. Errors: {_WRITE}, INVALID_EMAIL.")
    async def update_my_profile(self, info: Info, input: Annotated[ResponsableInput, A(
            description="The fields to change.")]) -> HouseholdResponsable | None:
        a = actor(info)
        return HouseholdResponsable.from_model(await service.update_my_profile(a, input.values()), a.user_id)

    @strawberry.mutation(description=(
        "Family, or staff allowed to change the file (admins, agents of `[accounts] opening_services` or of a "
        "service the household uses; FORBIDDEN for other agents): address, phones, situation, régime, allocataire, QF "
        f"or reference income; returns the household. Errors: {_WRITE}, INVALID_COUNTRY, INVALID_EMAIL, "
        "INVALID_FAMILY_SITUATION, INVALID_REGIME, NEGATIVE_VALUE, DATE_IN_FUTURE."))
    async def update_household(self, info: Info, input: Annotated[HouseholdInput, A(
            description="The fields to change.")], household_id: HouseholdIdArg = None) -> HouseholdFile | None:
        a = actor(info)
        return HouseholdFile.from_bundle(await service.update_household(
            a, input.values(), parse_optional_id(household_id, "householdId")), a.user_id)

    @strawberry.mutation(description=(
        f"Create or update the « autre responsable » (rank 2); returns it. Errors: {_WRITE}, REQUIRED, "
        "INVALID_EMAIL."))
    async def save_other_responsable(self, info: Info, input: Annotated[ResponsableInput, A(
            description="The fields to set.")], household_id: HouseholdIdArg = None) -> HouseholdResponsable | None:
        a = actor(info)
        row = await service.save_other_responsable(a, input.values(), parse_optional_id(household_id, "householdId"))
        return HouseholdResponsable.from_model(row, a.user_id)

    @strawberry.mutation(description=(
        f"Remove the « autre responsable »; returns the household without them. Errors: {_WRITE}."))
    async def remove_other_responsable(self, info: Info, household_id: HouseholdIdArg = None) -> HouseholdFile | None:
        a = actor(info)
        hid = parse_optional_id(household_id, "householdId")
        await service.remove_other_responsable(a, hid)
        return HouseholdFile.from_bundle(await service.get_household(a, hid), a.user_id)

    @strawberry.mutation(description=(
        "Add a born child (birthDate) or a child « à naître » (expectedBirthDate); returns it. "
        f"Errors: {_WRITE}, REQUIRED, INVALID_SEX, BIRTH_DATE_REQUIRED, BIRTH_DATE_IN_FUTURE, INVALID_BIRTH_DATE, "
        "EXPECTED_BIRTH_DATE_NOT_IN_FUTURE."))
    async def add_child(self, info: Info, input: Annotated[ChildInput, A(description="The child.")],
                        household_id: HouseholdIdArg = None) -> HouseholdChild | None:
        child = await service.add_child(actor(info), input.values(), parse_optional_id(household_id, "householdId"))
        return HouseholdChild.from_model(child, [])

    @strawberry.mutation(description=(
        f"Change a child's identity or schooling; returns it. Errors: {_WRITE}, INVALID_SEX, BIRTH_DATE_IN_FUTURE, "
        "INVALID_BIRTH_DATE, EXPECTED_BIRTH_DATE_NOT_IN_FUTURE."))
    async def update_child(self, info: Info, child_id: ChildIdArg,
                           input: Annotated[ChildInput, A(description="The fields to change.")]) -> HouseholdChild | None:
        return await _child_result(await service.update_child(actor(info), parse_id(child_id, "childId"), input.values()))

    @strawberry.mutation(description=(
        "Answers to every configured medical question, and the medical details; returns the child. "
        f"Errors: {_WRITE}, MEDICAL_ANSWER_REQUIRED, MEDICAL_TEXT_REQUIRED, UNKNOWN_QUESTION, DUPLICATE_ANSWER."))
    async def set_child_medical(self, info: Info, child_id: ChildIdArg,
                                input: Annotated[ChildMedicalInput, A(
                                    description="The whole medical file.")]) -> HouseholdChild | None:
        answers = [(a.code, a.answer, a.text) for a in input.answers]
        details = {"antecedents": input.antecedents, "allergies": input.allergies, "doctor_name": input.doctor_name,
                   "doctor_phone": input.doctor_phone, "has_pai": input.has_pai, "has_aeeh": input.has_aeeh}
        child = await service.set_child_medical(actor(info), parse_id(child_id, "childId"), answers, details)
        return await _child_result(child)

    @strawberry.mutation(description=(
        "Yes / no per configured authorisation code; returns the child. "
        f"Errors: {_WRITE}, UNKNOWN_AUTHORIZATION, DUPLICATE_ANSWER."))
    async def set_child_authorizations(self, info: Info, child_id: ChildIdArg,
                                       answers: Annotated[list[AuthorizationAnswerInput], A(
                                           description="The answers (the others keep theirs).")]) -> HouseholdChild | None:
        child = await service.set_child_authorizations(actor(info), parse_id(child_id, "childId"),
                                                       [(a.code, a.granted) for a in answers])
        return await _child_result(child)

    @strawberry.mutation(description=(
        f"Add a person allowed to collect the child and / or to be called; returns them. Errors: {_WRITE}, "
        "REQUIRED, PHONE_REQUIRED, INVALID_EMAIL."))
    async def add_authorized_person(self, info: Info, child_id: ChildIdArg,
                                    input: Annotated[AuthorizedPersonInput, A(
                                        description="The person.")]) -> HouseholdAuthorizedPerson | None:
        person = await service.add_authorized_person(actor(info), parse_id(child_id, "childId"), input.values())
        return HouseholdAuthorizedPerson.from_model(person)

    @strawberry.mutation(description=(
        f"Change an authorised person; returns them. Errors: {_WRITE}, REQUIRED, PHONE_REQUIRED, INVALID_EMAIL."))
    async def update_authorized_person(self, info: Info, id: Annotated[strawberry.ID, A(description="The person.")],
                                       input: Annotated[AuthorizedPersonInput, A(
                                           description="The fields to change.")]) -> HouseholdAuthorizedPerson | None:
        person = await service.update_authorized_person(actor(info), parse_id(id, "id"), input.values())
        return HouseholdAuthorizedPerson.from_model(person)

    @strawberry.mutation(description=(
        f"Delete an authorised person; returns their child without them. Errors: {_WRITE}."))
    async def delete_authorized_person(self, info: Info, id: Annotated[strawberry.ID, A(
            description="The person.")]) -> HouseholdChild | None:
        a = actor(info)
        child_id = await service.delete_authorized_person(a, parse_id(id, "id"))
        child, people = await service.get_child(a, child_id)
        return HouseholdChild.from_model(child, people)

    @strawberry.mutation(description=(
        "Admins and agents of `[accounts] opening_services`: create a household with its responsable(s) and "
        "children; the responsable is mailed the link that confirms the address and creates the password. "
        "Returns the household. Errors: UNAUTHENTICATED, FORBIDDEN, REQUIRED, INVALID_EMAIL, EMAIL_TAKEN, "
        "TOO_MANY, and the errors of updateHousehold and addChild."))
    async def create_family_household(self, info: Info, input: Annotated[HouseholdCreateInput, A(
            description="The household, responsables and children.")]) -> HouseholdFile | None:
        a = actor(info)
        bundle = await service.create_household(
            a, input.household.values() if input.household else {}, input.responsable.values(),
            input.other_responsable.values() if input.other_responsable else None,
            [c.values() for c in input.children])
        return HouseholdFile.from_bundle(bundle, a.user_id)

    @strawberry.mutation(description=(
        "Staff, each September: ask households to update their file (each mailed once). "
        "Errors: UNAUTHENTICATED, FORBIDDEN, INVALID_ID, REQUIRED (no ids and not all)."))
    async def request_yearly_update(self, info: Info,
                                    household_ids: Annotated[list[strawberry.ID] | None, A(
                                        description="The households to ask.")] = None,
                                    all: Annotated[bool, A(description=(
                                        "Ask every household the caller may see instead."))] = False,
                                    ) -> YearlyUpdateRequest | None:
        ids = [parse_id(h, "householdIds") for h in household_ids or []]
        return YearlyUpdateRequest(household_count=await service.request_yearly_update(actor(info), ids, all))

    @strawberry.mutation(description=(
        "Family: « mon dossier est à jour »; returns the household. Errors: UNAUTHENTICATED, FORBIDDEN, "
        "NOT_FOUND, FILE_INCOMPLETE."))
    async def confirm_yearly_update(self, info: Info, household_id: HouseholdIdArg = None) -> HouseholdFile | None:
        a = actor(info)
        return HouseholdFile.from_bundle(await service.confirm_yearly_update(
            a, parse_optional_id(household_id, "householdId")), a.user_id)


contribution = GraphQLContribution(query=HouseholdsQuery, mutation=HouseholdsMutation)
