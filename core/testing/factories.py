"""Factories for tests: a family (account, household, responsable, children) and staff accounts,
created straight in the database (registration and login have their own tests)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.accounts.models import AuthToken, Role, TokenPurpose, User
from core.accounts.rules import hash_token, new_token
from core.households.models import Child, Household, Responsable
from core.timeutil import now

PASSWORD = "motdepasse123"
"""The password of every account the factories create."""
_PASSWORD_HASH: str | None = None


def password_hash() -> str:
    """argon2 hash of `PASSWORD`, computed once per process (argon2 is slow on purpose)."""
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        from core.accounts.service import hash_password

        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


async def make_family(email: str = "famille@example.org", *, confirmed: bool = True, children: int = 2,
                      name: str = "DUPONT", quotient_familial: int | None = 800) -> tuple[User, Household, list[Child]]:
    """A family account (`PASSWORD`, email confirmed unless `confirmed=False`), its household in
    LATRESNE and `children` children aged 3, 5, 7… (first names Enfant1, Enfant2…)."""
    household = await Household.create(name=name, email=email, address_line1="1 rue de la Paix", postal_code="33360",
                                       city="LATRESNE", quotient_familial=quotient_familial, dependent_children=children)
    user = await User.create(email=email, password_hash=password_hash(), role=Role.FAMILY, household=household,
                             first_name="Camille", last_name=name, email_confirmed_at=now() if confirmed else None)
    await Responsable.create(household=household, rank=1, user=user, first_name="Camille", last_name=name, email=email)
    kids = [await Child.create(household=household, first_name=f"Enfant{i + 1}", last_name=name,
                               birth_date=now().date() - timedelta(days=365 * (3 + 2 * i)))
            for i in range(children)]
    return user, household, kids


async def make_staff(email: str = "agent@example.org", *, services: list[str] | None = None,
                     role: str = Role.AGENT) -> User:
    """An agent of `services` (codes of the community's services), or an admin with `role=Role.ADMIN`."""
    return await User.create(email=email, password_hash=password_hash(), role=role, services=services or [],
                             first_name="Agent", last_name="TEST", email_confirmed_at=now())


async def session_token(user: User, lifetime: timedelta = timedelta(hours=2)) -> str:
    """A session without going through argon2 each time (login itself is tested in test_accounts)."""
    token = new_token()
    await AuthToken.create(user=user, purpose=TokenPurpose.SESSION, token_hash=hash_token(token),
                           expires_at=now() + lifetime)
    return token


async def uses_service(household: Household | Any, *service_codes: str) -> None:
    """Make the household USE these services (core.permissions' need-to-know rule): a démarche
    addressed to each, the lightest core record that says so whatever plugins are on."""
    from core.demarches.models import Demarche

    for code in service_codes:
        await Demarche.create(household=household, type_code="information", service_code=code, data={})
