"""Core demo data: the households of the two seed guides, the demo agents and an admin.

Demo passwords are printed by `portail demo`; they are for a local demo only.
"""

from __future__ import annotations

from datetime import date

from core.accounts.models import Role, User
from core.accounts.service import hash_password
from core.config import Settings
from core.households.models import AuthorizedPerson, Child, Household, Responsable
from core.timeutil import now

DEMO_PASSWORD = "portail2024"  # noqa: S105 - demo only, shown in the README
DEMO_ACCOUNTS = {
    "admin@demo.portail-famille.fr": (Role.ADMIN, []),
    "agent.creche@demo.portail-famille.fr": (Role.AGENT, ["creche_la_ritournelle", "creche_au_fil_de_l_eau",
                                                           "creche_il_etait_une_fois", "creche_petit_a_petit"]),
    "agent.alsh@demo.portail-famille.fr": (Role.AGENT, ["alsh", "jeunesse"]),
    "patricia.testbo@demo.portail-famille.fr": (Role.FAMILY, []),
    "cce@demo.portail-famille.fr": (Role.FAMILY, []),
}


DEMO_MARK = "admin@demo.portail-famille.fr"  # its presence marks a database the demo filled


async def database_state() -> str:
    """"empty" (no account, no household), "demo" (filled by the demo) or "other" (someone's data)."""
    if await User.exists(email=DEMO_MARK):
        return "demo"
    if await User.exists() or await Household.exists():
        return "other"
    return "empty"


def _years_ago(today: date, years: int, month: int, day: int) -> date:
    return date(today.year - years, month, day)


async def load_core_demo(settings: Settings, today: date) -> None:
    if await User.exists(email=DEMO_MARK):
        return
    pw = hash_password(DEMO_PASSWORD)
    for email, (role, services) in DEMO_ACCOUNTS.items():
        if role != Role.FAMILY:
            first, last = email.split("@")[0].split(".")[0].capitalize(), "Démo"
            await User.create(email=email, password_hash=pw, role=role, services=services, first_name=first,
                              last_name=last, email_confirmed_at=now())

    # TESTBO family (crèche guide): Elena, Valentine, Luc, Chloé.
    testbo = await Household.create(
        name="TESTBO", address_line1="51 Chemin du Port de l'Homme", postal_code="33360", city="LATRESNE",
        phone="05 56 20 83 60", email="patricia.testbo@demo.portail-famille.fr", family_situation="marie",
        dependent_children=4, regime="general", allocataire_number="1234567", quotient_familial=850,
        reference_income_cents=4_200_000, income_given_on=date(today.year, 1, 15), needs_yearly_update=True)
    patricia = await User.create(email="patricia.testbo@demo.portail-famille.fr", password_hash=pw, role=Role.FAMILY,
                                 household=testbo, first_name="Patricia", last_name="TESTBO", email_confirmed_at=now())
    await Responsable.create(household=testbo, rank=1, user=patricia, civility="Mme", first_name="Patricia",
                             last_name="TESTBO", email=patricia.email, phone_mobile="06 06 14 12 50",
                             profession="Infirmière", employer="CHU de Bordeaux")
    await Responsable.create(household=testbo, rank=2, civility="M.", first_name="Patrice", last_name="TESTBO",
                             phone_mobile="06 06 14 12 51", profession="Technicien")
    kids = [("Elena", 6, 3, 12, "F"), ("Valentine", 4, 7, 2, "F"), ("Luc", 2, 1, 20, "M"), ("Chloé", 1, 5, 9, "F")]
    for first, years, month, day, sex in kids:
        child = await Child.create(
            household=testbo, first_name=first, last_name="TESTBO", sex=sex,
            birth_date=_years_ago(today, years, month, day), doctor_name="Dr Martin", doctor_phone="05 56 20 00 00",
            medical_answers={q.code: {"answer": False, "text": ""} for q in settings.medical_questions},
            authorizations={a.code: a.code == "antipyretiques" for a in settings.authorizations})
        await AuthorizedPerson.create(child=child, last_name="TESTBO", first_name="Berte",
                                      relation="grand-mère/grand-père", phone_mobile="06 06 14 12 56",
                                      email="berte.btestbo@gmail.com", may_collect=True, is_contact=False)

    # CCE family (ALSH guide): Junior (6 years) and Enfant (4 years).
    cce = await Household.create(
        name="CCE", address_line1="57 aa", postal_code="33820", city="BRAUD ET ST LOUIS",
        email="cce@demo.portail-famille.fr", family_situation="marie", dependent_children=2, regime="msa",
        allocataire_number="7654321")  # no QF on file: the maximum tariff applies
    cce_user = await User.create(email="cce@demo.portail-famille.fr", password_hash=pw, role=Role.FAMILY,
                                 household=cce, first_name="cce", last_name="CCE", email_confirmed_at=now())
    await Responsable.create(household=cce, rank=1, user=cce_user, civility="M.", first_name="cce",
                             last_name="CCE", email=cce_user.email)
    for first, years in (("Junior", 6), ("Enfant", 4)):
        await Child.create(household=cce, first_name=first, last_name="CCE",
                           birth_date=_years_ago(today, years, 2, 1),
                           medical_answers={q.code: {"answer": False, "text": ""} for q in settings.medical_questions},
                           authorizations={a.code: False for a in settings.authorizations})
