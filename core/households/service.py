"""Household file use cases: the family's own file, staff search / read / edit, the yearly September
update, file completeness (used by the ALSH booking gate and the home page alerts), medical access
audit, RGPD export and erasure.

Every function taking an `actor` checks access through core.permissions: a family acts on its own
household only (another family's id looks like a missing one), staff on any household.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from core.accounts.rules import normalize_email
from core.compiled_query import CompiledQuery
from core.config import get_settings
from core.contributions import Alert
from core.db import lock_rows
from core.errors import NotFound, ValidationError
from core.households import rules
from core.households.models import AuditLog, AuthorizedPerson, Child, Household, Responsable
from core.permissions import (
    Actor,
    own_household_id,
    require_account_opener,
    require_admin,
    require_household,
    require_household_data,
    require_household_edit,
    require_staff,
    require_user,
    staff_need_to_know,
)
from core.request_memo import memoised
from core.timeutil import now, today

RESPONSABLE_FIELDS = ("civility", "first_name", "last_name", "birth_date", "email", "phone_mobile", "phone_home",
                      "phone_work", "address", "profession", "employer", "employer_address", "employer_phone")
HOUSEHOLD_FIELDS = ("address_line1", "street_number", "street_name", "address_line2", "postal_code", "city",
                    "country", "phone", "email", "family_situation",
                    "dependent_children", "regime", "allocataire_number", "quotient_familial",
                    "reference_income_cents", "income_given_on")
CHILD_FIELDS = ("first_name", "last_name", "sex", "birth_date", "expected_birth_date", "school", "school_class")
MAX_CHILDREN_AT_CREATION = 20
PERSON_FIELDS = ("last_name", "first_name", "relation", "phone_mobile", "phone_home", "email", "may_collect",
                 "is_contact")


@dataclass
class HouseholdBundle:
    """A household with everything its file shows, loaded in a fixed number of queries."""

    household: Household
    responsables: list[Responsable]
    children: list[Child]
    people: dict[int, list[AuthorizedPerson]] = field(default_factory=dict)

    def problems(self) -> list[rules.Problem]:
        return rules.file_problems(self.household, self.responsables, self.children, get_settings(), self.people)


# ---- helpers ------------------------------------------------------------------------------------
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _clean(model: type, data: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """Keep the allowed keys, trim strings, check lengths against the model (a clear TOO_LONG, not a 500)."""
    allowed = set(allowed)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in allowed:
            continue
        if isinstance(value, str):
            value = value.strip()
            max_length = getattr(model._meta.fields_map[key], "max_length", None)
            if max_length and len(value) > max_length:
                raise ValidationError(f"Texte trop long ({max_length} caractères au plus).", code="TOO_LONG",
                                      field=_camel(key))
        out[key] = value
    if out.get("email"):
        try:
            out["email"] = normalize_email(out["email"])
        except ValidationError as exc:
            raise ValidationError(exc.message, code="INVALID_EMAIL", field="email") from None
    return out


def _target_household(actor: Actor, household_id: int | None) -> int:
    """The household a call acts on: the family's own, or the one staff names explicitly."""
    require_user(actor)
    if household_id is None:
        if actor.is_staff:
            raise ValidationError("Précisez le foyer.", code="REQUIRED", field="householdId")
        return own_household_id(actor)
    return require_household(actor, household_id)


async def _editable_household(actor: Actor, household_id: int | None) -> int:
    """`_target_household` for a change: staff must also be allowed to edit it (core.permissions)."""
    return await require_household_edit(actor, _target_household(actor, household_id))


async def _household(household_id: int) -> Household:
    household = await Household.get_or_none(id=household_id)
    if household is None:
        raise NotFound("foyer")
    return household


async def _child(actor: Actor, child_id: int, *, edit: bool = False) -> Child:
    require_user(actor)
    child = await Child.get_or_none(id=child_id)
    if child is None:
        raise NotFound("enfant")
    if edit:
        await require_household_edit(actor, child.household_id, "enfant")  # type: ignore[attr-defined]
    else:
        require_household(actor, child.household_id, "enfant")  # type: ignore[attr-defined]
    return child


async def _person(actor: Actor, person_id: int) -> AuthorizedPerson:
    """An authorized person, to change or delete (the caller must be allowed to edit the household)."""
    require_user(actor)
    person = await AuthorizedPerson.get_or_none(id=person_id).select_related("child")
    if person is None:
        raise NotFound("personne autorisée")
    await require_household_edit(actor, person.child.household_id, "personne autorisée")  # type: ignore[attr-defined]
    return person


async def load_bundle(household_id: int) -> HouseholdBundle:
    """Four queries whatever the number of children: household, responsables, children, people;
    read once per GraphQL query operation (core.request_memo): the home page's alerts, the household
    file and the problems share it."""
    return await memoised(("household_bundle", household_id), lambda: _load_bundle(household_id))


_HOUSEHOLD = CompiledQuery(lambda household_id: Household.filter(id=household_id).first())
_RESPONSABLES = CompiledQuery(lambda household_id: Responsable.filter(household_id=household_id).order_by("rank", "id"))
_CHILDREN = CompiledQuery(lambda household_id: Child.filter(household_id=household_id))
_PEOPLE = CompiledQuery(lambda household_id: AuthorizedPerson.filter(child__household_id=household_id).order_by("id"))


async def _load_bundle(household_id: int) -> HouseholdBundle:
    # Four reads at once (each on its own pooled connection; one after the other inside a transaction).
    household, responsables, children, persons = await asyncio.gather(
        _HOUSEHOLD.all(household_id), _RESPONSABLES.all(household_id), _CHILDREN.all(household_id),
        _PEOPLE.all(household_id))
    if household is None:
        raise NotFound("foyer")
    children = sorted(children, key=lambda c: (c.birth_date or c.expected_birth_date or date.max, c.id))
    people: dict[int, list[AuthorizedPerson]] = {c.id: [] for c in children}
    for person in persons:
        people[person.child_id].append(person)  # type: ignore[attr-defined]
    return HouseholdBundle(household=household, responsables=responsables, children=children, people=people)


# ---- reading --------------------------------------------------------------------------------------
async def get_household(actor: Actor, household_id: int | None = None) -> HouseholdBundle:
    """`myHousehold` (no id, families) and staff's `household(id)`."""
    if household_id is not None and not actor.is_family:
        require_staff(actor)
    return await load_bundle(_target_household(actor, household_id))


async def get_child(actor: Actor, child_id: int) -> tuple[Child, list[AuthorizedPerson]]:
    child = await _child(actor, child_id)
    people = await AuthorizedPerson.filter(child_id=child.id).order_by("id")
    return child, list(people)


async def search_households(actor: Actor, text: str = "", limit: int = 20, offset: int = 0) -> tuple[int, list[Household]]:
    """Staff search by household name, email, allocataire number, responsable or child name:
    accents, case and punctuation ignored (« Hélène » finds « HELENE »), every word of the query
    must be found, best matches first (`rules.search_rank`), then by name."""
    require_staff(actor)
    limit = max(1, min(limit, 100))
    offset = max(0, offset)
    query = Household.filter(erased_at__isnull=True)
    tokens = rules.search_tokens(text)
    if not tokens:
        total = await query.count()
        return total, list(await query.order_by("name", "id").offset(offset).limit(limit))
    for token in tokens:
        query = query.filter(search_text__contains=token)
    names = {hid: rules.search_key(name) for hid, name in await query.values_list("id", "name")}
    ranked = sorted(names, key=lambda hid: (-rules.search_rank(names[hid], tokens), names[hid], hid))
    page = ranked[offset:offset + limit]
    by_id = {h.id: h for h in await Household.filter(id__in=page)}
    return len(ranked), [by_id[i] for i in page]


async def refresh_search_index(household_ids: list[int]) -> None:
    """Recompute `Household.search_text` from the file (name, email, allocataire number, the
    responsables' names and emails, the children's names). Called by the model signals; an update
    query, so it fires no signal itself."""
    ids = sorted({i for i in household_ids if i})
    if not ids:
        return
    parts: dict[int, list[str]] = {i: [] for i in ids}
    for hid, name, email, allocataire in await Household.filter(id__in=ids).values_list(
            "id", "name", "email", "allocataire_number"):
        parts[hid] += [name, email, allocataire]
    for hid, first, last, email in await Responsable.filter(household_id__in=ids).values_list(
            "household_id", "first_name", "last_name", "email"):
        parts[hid] += [first, last, email]
    for hid, first, last in await Child.filter(household_id__in=ids).values_list("household_id", "first_name", "last_name"):
        parts[hid] += [first, last]
    for hid, values in parts.items():
        await Household.filter(id=hid).update(search_text=rules.search_index(*values))


# ---- profile and household ----------------------------------------------------------------------
async def get_my_profile(actor: Actor) -> Responsable:
    household_id = own_household_id(actor)
    row = await Responsable.get_or_none(household_id=household_id, user_id=actor.user_id)
    if row is None:
        row = await Responsable.get_or_none(household_id=household_id, rank=1)
    if row is None:
        raise NotFound("profil")
    return row


def _check_responsable(data: dict[str, Any]) -> None:
    for key, label in (("first_name", "Prénom"), ("last_name", "Nom")):
        if key in data:
            data[key] = rules.required_text(data[key], _camel(key), label)
    if data.get("birth_date") is not None and data["birth_date"] > today():
        raise ValidationError("La date de naissance ne peut pas être dans le futur.", code="BIRTH_DATE_IN_FUTURE",
                              field="birthDate")


async def update_my_profile(actor: Actor, data: dict[str, Any]) -> Responsable:
    values = _clean(Responsable, data, RESPONSABLE_FIELDS)
    _check_responsable(values)
    async with in_transaction():
        row = await get_my_profile(actor)
        if values:
            row.update_from_dict(values)
            await row.save(update_fields=list(values))
    return row


def _household_values(data: dict[str, Any]) -> dict[str, Any]:
    """The household fields of `data`, checked and normalised (shared by update and creation)."""
    values = _clean(Household, data, HOUSEHOLD_FIELDS)
    if "family_situation" in values:
        values["family_situation"] = rules.check_family_situation(values["family_situation"] or "")
    if "regime" in values:
        values["regime"] = rules.check_regime(values["regime"] or "")
    for key in ("dependent_children", "quotient_familial", "reference_income_cents"):
        if key in values:
            rules.check_non_negative(values[key], "referenceIncome" if key == "reference_income_cents" else _camel(key))
    if values.get("dependent_children") is None and "dependent_children" in values:
        values["dependent_children"] = 0
    if "income_given_on" in values:
        rules.check_income_date(values["income_given_on"], today())
    elif "quotient_familial" in values or "reference_income_cents" in values:
        values["income_given_on"] = today()
    for key in ("address_line1", "street_number", "street_name", "address_line2", "postal_code", "city", "phone",
                "email", "allocataire_number"):
        if key in values and values[key] is None:
            values[key] = ""
    if "country" in values:
        values["country"] = rules.check_country(values["country"])
    return values


async def update_household(actor: Actor, data: dict[str, Any], household_id: int | None = None) -> HouseholdBundle:
    target = await _editable_household(actor, household_id)
    values = _household_values(data)
    async with in_transaction():
        household = await _household(target)
        _structure_street(values, household)
        if values:
            household.update_from_dict(values)
            await household.save(update_fields=[*values, "updated_at"])
    return await load_bundle(target)


def _structure_street(values: dict[str, Any], current: Household) -> None:
    """Keep the display street line and its structured parts in step: parts given win (the missing
    one taken from the file), otherwise a new display line is split into number and street."""
    if "street_number" in values or "street_name" in values:
        number = values.get("street_number", current.street_number).strip()
        street = values.get("street_name", current.street_name).strip()
        if number and not street:
            raise ValidationError("Indiquez le nom de la voie.", code="REQUIRED", field="streetName")
        values["street_number"], values["street_name"] = number, street
        values["address_line1"] = rules.street_line(number, street)
    elif "address_line1" in values:
        values["street_number"], values["street_name"] = rules.split_street(values["address_line1"])


async def save_other_responsable(actor: Actor, data: dict[str, Any], household_id: int | None = None) -> Responsable:
    """Create or update the "autre responsable" (rank 2)."""
    target = await _editable_household(actor, household_id)
    values = _clean(Responsable, data, RESPONSABLE_FIELDS)
    _check_responsable(values)
    async with in_transaction():
        await _household(target)
        # Two saves at once: the second waits for the first and updates the row it created.
        await lock_rows(Household, [target])
        row = await Responsable.get_or_none(household_id=target, rank=2)
        if row is None:
            for key, label in (("first_name", "Prénom"), ("last_name", "Nom")):
                rules.required_text(values.get(key), _camel(key), label)
            return await Responsable.create(household_id=target, rank=2, **values)
        if values:
            row.update_from_dict(values)
            await row.save(update_fields=list(values))
    return row


async def remove_other_responsable(actor: Actor, household_id: int | None = None) -> None:
    target = await _editable_household(actor, household_id)
    async with in_transaction():
        await _household(target)
        deleted = await Responsable.filter(household_id=target, rank=2).delete()
    if not deleted:
        raise NotFound("autre responsable")


# ---- children -------------------------------------------------------------------------------------
def _check_child(values: dict[str, Any]) -> None:
    for key, label in (("first_name", "Prénom"), ("last_name", "Nom")):
        if key in values:
            values[key] = rules.required_text(values[key], _camel(key), label)
    if "sex" in values:
        values["sex"] = rules.check_sex(values["sex"] or "")


def _new_child_values(data: dict[str, Any]) -> dict[str, Any]:
    values = _clean(Child, data, CHILD_FIELDS)
    for key, label in (("first_name", "Prénom"), ("last_name", "Nom")):
        rules.required_text(values.get(key), _camel(key), label)
    _check_child(values)
    rules.check_child_dates(values.get("birth_date"), values.get("expected_birth_date"), today())
    if values.get("birth_date") is not None:
        values["expected_birth_date"] = None
    return values


async def add_child(actor: Actor, data: dict[str, Any], household_id: int | None = None) -> Child:
    target = await _editable_household(actor, household_id)
    values = _new_child_values(data)
    async with in_transaction():
        await _household(target)
        return await Child.create(household_id=target, **values)


async def update_child(actor: Actor, child_id: int, data: dict[str, Any]) -> Child:
    values = _clean(Child, data, CHILD_FIELDS)
    _check_child(values)
    async with in_transaction():
        child = await _child(actor, child_id, edit=True)
        birth = values.get("birth_date", child.birth_date)
        expected = values.get("expected_birth_date", child.expected_birth_date)
        if "birth_date" in values or "expected_birth_date" in values:
            if birth is not None and "birth_date" not in values and "expected_birth_date" in values:
                birth = None  # a due date given alone turns the child back into an expected child
            rules.check_child_dates(birth, expected, today())
            values["birth_date"] = birth
            values["expected_birth_date"] = None if birth is not None else expected
        if values:
            child.update_from_dict(values)
            await child.save(update_fields=[*values, "updated_at"])
    return child


async def set_child_medical(actor: Actor, child_id: int, answers: list[tuple[str, bool, str]],
                            details: dict[str, Any]) -> Child:
    values = _clean(Child, details, ("antecedents", "allergies", "doctor_name", "doctor_phone", "has_pai", "has_aeeh"))
    stored = rules.medical_answers(answers, get_settings().medical_questions, values.get("antecedents", ""))
    async with in_transaction():
        child = await _child(actor, child_id)
        # Medical data: need-to-know for staff, whoever may change the rest of the file; the others get
        # the answer of a missing child.
        await require_household_data(actor, child.household_id, "enfant")  # type: ignore[attr-defined]
        values["medical_answers"] = stored
        child.update_from_dict(values)
        await child.save(update_fields=[*values, "updated_at"])
    return child


async def set_child_authorizations(actor: Actor, child_id: int, answers: list[tuple[str, bool]]) -> Child:
    async with in_transaction():
        child = await _child(actor, child_id, edit=True)
        child.authorizations = rules.authorization_answers(answers, get_settings().authorizations,
                                                           child.authorizations)
        await child.save(update_fields=["authorizations", "updated_at"])
    return child


# ---- a household opened by the services (seed guide 001) ------------------------------------------
@contextmanager
def _at(prefix: str) -> Iterator[None]:
    """Name the input a validation error comes from: `responsable.email`, `children.1.birthDate`."""
    try:
        yield
    except ValidationError as exc:
        exc.field = f"{prefix}.{exc.field}" if exc.field else prefix
        raise


def _new_responsable_values(data: dict[str, Any], *, email_required: bool) -> dict[str, Any]:
    values = _clean(Responsable, data, RESPONSABLE_FIELDS)
    _check_responsable(values)
    for key, label in (("first_name", "Prénom"), ("last_name", "Nom")):
        values[key] = rules.required_text(values.get(key), _camel(key), label)
    if email_required and not values.get("email"):
        raise ValidationError("L'adresse email du responsable est obligatoire : l'invitation y est envoyée.",
                              code="REQUIRED", field="email")
    return values


async def create_household(actor: Actor, household_data: dict[str, Any], responsable_data: dict[str, Any],
                           other_data: dict[str, Any] | None, children_data: list[dict[str, Any]]) -> HouseholdBundle:
    """An authorised agent opens a household from scratch: its responsable(s) and children in one go, then
    the responsable gets the invitation mail (confirm the address, create the password). Everything is
    checked before anything is written; the act is written to the audit log."""
    from core.accounts.service import invite_family_user

    staff = require_account_opener(actor)
    with _at("household"):
        household_values = _household_values(household_data)
        _structure_street(household_values, Household())
    with _at("responsable"):
        first = _new_responsable_values(responsable_data, email_required=True)
    second = None
    if other_data is not None:
        with _at("otherResponsable"):
            second = _new_responsable_values(other_data, email_required=False)
    if len(children_data) > MAX_CHILDREN_AT_CREATION:
        raise ValidationError(f"{MAX_CHILDREN_AT_CREATION} enfants au plus.", code="TOO_MANY", field="children")
    children = []
    for i, data in enumerate(children_data):
        with _at(f"children.{i}"):
            children.append(_new_child_values(data))
    household_values.setdefault("email", first["email"])
    async with in_transaction():
        household = await Household.create(name=first["last_name"].upper(), **household_values)
        holder = await Responsable.create(household=household, rank=1, **first)
        if second is not None:
            await Responsable.create(household=household, rank=2, **second)
        for values in children:
            await Child.create(household=household, **values)
        with _at("responsable"):
            user = await invite_family_user(household, first["email"], first["first_name"], first["last_name"],
                                            responsable=holder)
        await AuditLog.create(actor_id=staff.id, action="create_household", entity="household",
                              entity_id=household.id, household_id=household.id,
                              detail={"user_id": user.id, "children": len(children),
                                      "other_responsable": second is not None})
    return await load_bundle(household.id)


# ---- authorized people ----------------------------------------------------------------------------
async def add_authorized_person(actor: Actor, child_id: int, data: dict[str, Any]) -> AuthorizedPerson:
    values = _clean(AuthorizedPerson, data, PERSON_FIELDS)
    rules.check_authorized_person(values.get("last_name", ""), values.get("phone_mobile", ""),
                                  values.get("phone_home", ""))
    async with in_transaction():
        child = await _child(actor, child_id, edit=True)
        return await AuthorizedPerson.create(child_id=child.id, **values)


async def update_authorized_person(actor: Actor, person_id: int, data: dict[str, Any]) -> AuthorizedPerson:
    values = _clean(AuthorizedPerson, data, PERSON_FIELDS)
    async with in_transaction():
        person = await _person(actor, person_id)
        merged = {k: values.get(k, getattr(person, k)) for k in ("last_name", "phone_mobile", "phone_home")}
        rules.check_authorized_person(merged["last_name"], merged["phone_mobile"], merged["phone_home"])
        if values:
            person.update_from_dict(values)
            await person.save(update_fields=list(values))
    return person


async def delete_authorized_person(actor: Actor, person_id: int) -> int:
    """Delete the person; returns the id of their child."""
    async with in_transaction():
        person = await _person(actor, person_id)
        await person.delete()
    return person.child_id  # type: ignore[attr-defined]


# ---- yearly update and completeness ---------------------------------------------------------------
async def request_yearly_update(actor: Actor, household_ids: list[int] | None = None, all_households: bool = False) -> int:
    """Staff, each September: ask families to check and complete their file. Returns how many.

    Each household concerned gets one mail per request (`mail/yearly_update_requested`, link to the
    portal), queued in the same transaction as the flag: to the household's contact address, else
    its first active account. Households with no address at all are flagged but not mailed.
    """
    require_staff(actor)
    query = Household.filter(erased_at__isnull=True)
    if all_households:  # a mail to every family: admins and the desk that opens accounts
        require_account_opener(actor)
    else:
        if not household_ids:
            raise ValidationError("Choisissez des foyers ou « tous ».", code="REQUIRED", field="householdIds")
        for household_id in sorted(set(household_ids)):
            await require_household_edit(actor, household_id)
        query = query.filter(id__in=household_ids)
    from core.accounts.models import User
    from core.mail.service import queue_mail

    async with in_transaction():
        households = await query.order_by("id").values_list("id", "email")
        ids = [hid for hid, _ in households]
        if not ids:
            return 0
        await Household.filter(id__in=ids).update(needs_yearly_update=True)
        accounts: dict[int, str] = {}
        for hid, email in await User.filter(household_id__in=ids, is_active=True).order_by("-id").values_list(
                "household_id", "email"):
            accounts[hid] = email  # ordered by -id: the first account wins
        for hid, email in households:
            to = email or accounts.get(hid, "")
            if to:
                await queue_mail(to, "mail/yearly_update_requested", {}, household_id=hid)
        return len(ids)


async def confirm_yearly_update(actor: Actor, household_id: int | None = None) -> HouseholdBundle:
    """The family confirms its file is up to date: refused while something is missing."""
    target = await _editable_household(actor, household_id)
    async with in_transaction():
        bundle = await load_bundle(target)
        problems = bundle.problems()
        if problems:
            raise ValidationError("Votre dossier est incomplet : " + " ".join(p.message for p in problems),
                                  code="FILE_INCOMPLETE",
                                  details={"problems": [{"code": p.code, "childId": p.child_id} for p in problems]})
        household = bundle.household
        household.needs_yearly_update = False
        household.yearly_update_done_on = today()
        await household.save(update_fields=["needs_yearly_update", "yearly_update_done_on", "updated_at"])
    return bundle


async def household_file_problems(household_id: int) -> list[rules.Problem]:
    """What is missing in a household file (household and every child). No permission check:
    for core and plugins, which check access themselves."""
    return (await load_bundle(household_id)).problems()


async def child_file_problems(child_id: int) -> list[rules.Problem]:
    """What blocks this child's bookings: the household's problems plus the child's own.
    Each problem has `.code`, `.message` and `.child_id`. No permission check."""
    child = await Child.get_or_none(id=child_id)
    if child is None:
        raise NotFound("enfant")
    bundle = await load_bundle(child.household_id)  # type: ignore[attr-defined]
    return [p for p in bundle.problems() if p.child_id in (None, child_id)]


async def household_alerts(household_id: int) -> list[Alert]:
    """Home-page alerts: the September update to do, and what is missing in the file."""
    try:
        bundle = await load_bundle(household_id)
    except NotFound:
        return []
    household = bundle.household
    alerts: list[Alert] = []
    if household.needs_yearly_update:
        alerts.append(Alert(code="HOUSEHOLD_YEARLY_UPDATE", severity="warning", link="/ma-famille",
                            message="Mettez à jour votre dossier : obligatoire pour chaque rentrée scolaire en septembre."))
    problems = bundle.problems()
    household_level = [p for p in problems if p.child_id is None]
    if household_level:
        alerts.append(Alert(code="HOUSEHOLD_FILE_INCOMPLETE", count=len(household_level), severity="warning",
                            link="/mon-foyer", message="Informations du foyer à compléter : "
                            + " ".join(p.message for p in household_level)))
    names = {c.id: c.first_name for c in bundle.children}
    by_child: dict[int, list[rules.Problem]] = {}
    for p in problems:
        if p.child_id is not None:
            by_child.setdefault(p.child_id, []).append(p)
    for child_id, items in by_child.items():
        alerts.append(Alert(code="CHILD_FILE_INCOMPLETE", count=len(items), severity="warning", child_id=child_id,
                            link=f"/mes-enfants/{child_id}",
                            message=f"Fiche de {names.get(child_id, 'l’enfant')} à compléter : "
                            + " ".join(p.message for p in items)))
    return alerts


# ---- audit of staff access to medical data --------------------------------------------------------
async def medical_visible(actor: Actor, household_ids: set[int]) -> set[int]:
    """The households whose children's medical data the caller may read (need-to-know, one lookup)."""
    scope = await staff_need_to_know(actor, household_ids)
    if scope is None:
        return set(household_ids)
    if actor.is_family:
        return {hid for hid in household_ids if hid == actor.household_id}
    return {hid for hid, services in scope.items() if services}


async def audit_medical_reads(actor: Actor, keys: list[tuple[int, int]]) -> None:
    """One insert for all the children whose medical data a staff member just read."""
    if not keys or not actor.is_staff:
        return
    await AuditLog.bulk_create([AuditLog(actor_id=actor.user_id, action="read_medical", entity="child",
                                         entity_id=child_id, household_id=household_id,
                                         detail={"ip": actor.ip} if actor.ip else {})
                                for child_id, household_id in keys])


def audit_log_query(actor: Actor, household_id: int | None = None) -> Any:
    """Admins: the audit log, newest first (then newest id), optionally about one household."""
    require_admin(actor)
    query = AuditLog.all()
    if household_id is not None:
        query = query.filter(household_id=household_id)
    return query.order_by("-at", "-id").select_related("actor")


async def audit_log(actor: Actor, household_id: int | None = None, limit: int = 200) -> list[AuditLog]:
    return list(await audit_log_query(actor, household_id).limit(max(1, min(limit, 1000))))


# ---- RGPD ---------------------------------------------------------------------------------------------
def _jsonable(row: Any, names: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


async def export_household(household_id: int) -> dict[str, Any]:
    """The household file as JSON-able data (RGPD right of access)."""
    bundle = await load_bundle(household_id)
    h = bundle.household
    return {
        "household": {"id": h.id, "name": h.name, **_jsonable(h, HOUSEHOLD_FIELDS),
                      "needs_yearly_update": h.needs_yearly_update,
                      "yearly_update_done_on": h.yearly_update_done_on.isoformat() if h.yearly_update_done_on else None},
        "responsables": [{"id": r.id, "rank": r.rank, **_jsonable(r, RESPONSABLE_FIELDS)} for r in bundle.responsables],
        "children": [{"id": c.id, **_jsonable(c, CHILD_FIELDS),
                      **_jsonable(c, ("doctor_name", "doctor_phone", "allergies", "antecedents", "has_pai", "has_aeeh",
                                      "medical_answers", "authorizations")),
                      "authorized_people": [{"id": p.id, **_jsonable(p, PERSON_FIELDS)} for p in bundle.people[c.id]]}
                     for c in bundle.children],
    }


async def erase_household(household_id: int, *, keep_debtor: bool = False) -> None:
    """Anonymise the household, its responsables, children and authorized people (ids are kept).

    With `keep_debtor` (the household has invoices still in their accounting retention) the debtor
    record the invoices rely on stays: the household name, its postal address and the first
    responsable's civility and names. A titre de recettes must designate its debtor precisely
    (natural person: nom, prénom, adresse; instruction codificatrice n° 11-022-M0 du 16 décembre 2011
    on the recovery of local authorities' receipts) and is kept 10 years (core/rgpd/rules.py); RGPD
    art. 17.3.b lets a legal obligation override erasure. The retention purge calls this again
    without `keep_debtor` once the last invoice is gone.
    """
    async with in_transaction():
        household = await Household.get_or_none(id=household_id)
        if household is None:
            raise NotFound("foyer")
        identity: dict[str, Any] = {} if keep_debtor else {
            "name": "ANONYME", "address_line1": "", "street_number": "", "street_name": "", "address_line2": "",
            "postal_code": "", "city": ""}
        await Household.filter(id=household.id).update(
            **identity, phone="", email="", family_situation="", allocataire_number="", quotient_familial=None,
            reference_income_cents=None, income_given_on=None, erased_at=household.erased_at or now(),
            search_text="")  # an erased household is never found by the staff search
        others = {"civility": "", "first_name": "Anonyme", "last_name": "ANONYME"}
        contact = dict(birth_date=None, email="", phone_mobile="", phone_home="", phone_work="", address="",
                       profession="", employer="", employer_address="", employer_phone="")
        first = await Responsable.filter(household_id=household.id).order_by("rank").first()
        await Responsable.filter(household_id=household.id).update(**others, **contact)
        if keep_debtor and first is not None:
            await Responsable.filter(id=first.id).update(civility=first.civility, first_name=first.first_name,
                                                         last_name=first.last_name)
        child_ids = await Child.filter(household_id=household.id).values_list("id", flat=True)
        await Child.filter(household_id=household.id).update(
            first_name="Anonyme", last_name="ANONYME", sex="", birth_date=None, expected_birth_date=None, school="",
            school_class="", doctor_name="", doctor_phone="", allergies="", antecedents="", has_pai=False,
            has_aeeh=False, medical_answers={}, authorizations={})
        if child_ids:
            await AuthorizedPerson.filter(child_id__in=list(child_ids)).update(
                last_name="ANONYME", first_name="", relation="", phone_mobile="", phone_home="", email="")
