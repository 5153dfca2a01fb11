"""The one place that decides who may see and change what.

A family sees and changes only its own household; an agent only what belongs to the services
they are a member of; an admin everything in the community. Every service calls these functions
before it reads or writes; a denied access to an object looks exactly like a missing object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.accounts.models import Role, User
from core.config import get_settings
from core.errors import Forbidden, NotAuthenticated, NotFound, PortailError


class EmailNotConfirmed(PortailError):
    code = "EMAIL_NOT_CONFIRMED"

    def __init__(self) -> None:
        super().__init__("Votre adresse email n'est pas encore confirmée : aucune demande ne peut être "
                         "prise en compte avant sa confirmation.")


@dataclass(frozen=True)
class Actor:
    """Who is calling: built once per request from the session."""

    user: User | None
    ip: str = ""
    session_token_id: int | None = None
    services: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def anonymous(cls, ip: str = "") -> Actor:
        return cls(user=None, ip=ip)

    @classmethod
    def for_user(cls, user: User, ip: str = "", session_token_id: int | None = None) -> Actor:
        return cls(user=user, ip=ip, session_token_id=session_token_id, services=frozenset(user.services or ()))

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.user is not None and self.user.role in (Role.AGENT, Role.ADMIN)

    @property
    def is_family(self) -> bool:
        return self.user is not None and self.user.role == Role.FAMILY

    @property
    def household_id(self) -> int | None:
        return self.user.household_id if self.user is not None else None  # type: ignore[attr-defined]

    @property
    def user_id(self) -> int:
        if self.user is None:
            raise NotAuthenticated()
        return self.user.id


def require_user(actor: Actor) -> User:
    if actor.user is None:
        raise NotAuthenticated()
    return actor.user


def require_staff(actor: Actor, service: str | None = None) -> User:
    """An agent of `service` (any service when None) or an admin."""
    user = require_user(actor)
    if actor.is_admin:
        return user
    if user.role != Role.AGENT or (service is not None and service not in actor.services):
        raise Forbidden()
    return user


def require_staff_of_any(actor: Actor, services: set[str] | frozenset[str]) -> User:
    user = require_staff(actor)
    if not actor.is_admin and not (actor.services & set(services)):
        raise Forbidden()
    return user


def require_admin(actor: Actor) -> User:
    user = require_user(actor)
    if not actor.is_admin:
        raise Forbidden()
    return user


def may_open_accounts(actor: Actor) -> bool:
    """Opening access to a household (an account on it, or a new household) is an admin act, or a
    right the community gives explicitly to the agents of `[accounts] opening_services`."""
    if actor.is_admin:
        return True
    return (actor.user is not None and actor.user.role == Role.AGENT
            and bool(actor.services & set(get_settings().accounts.opening_services)))


def require_account_opener(actor: Actor) -> User:
    user = require_user(actor)
    if not may_open_accounts(actor):
        raise Forbidden("Seuls les administrateurs et les services habilités peuvent ouvrir l'accès à un foyer.")
    return user


def can_access_household(actor: Actor, household_id: int) -> bool:
    """Families: their own household. Staff: any household (scoping by service is per object)."""
    if actor.user is None:
        return False
    if actor.is_staff:
        return True
    return actor.household_id == household_id


def require_household(actor: Actor, household_id: int | None, what: str = "foyer") -> int:
    """Raise NotFound unless the caller may act on this household; returns its id."""
    require_user(actor)
    if household_id is None or not can_access_household(actor, household_id):
        raise NotFound(what)
    return household_id


def own_household_id(actor: Actor) -> int:
    """The caller's own household (families only)."""
    user = require_user(actor)
    if actor.household_id is None:
        raise NotFound("foyer")
    return user.household_id  # type: ignore[attr-defined]


# ---- need-to-know: what staff sees of a household ---------------------------------------------------
# THE rule. Any agent finds a household by search and reads its file (names, address, phones). Its
# personal data by service (documents, children's medical data, crèche contracts and planning, bookings,
# invoices, mandates, messages) is shown to an agent only for the services the household USES: it has a
# request, contract, booking, thread, démarche or invoice line with that service, as core and each
# plugin report through the `portail_household_services` hook. Objects that belong to one service (a
# contract, a booking, a thread) are further shown only to that service's agents. A document is shown
# when its type is required or handled by one of the agent's services, in any household: a family sends
# the documents a service requires BEFORE it uses that service (no booking without them), so the
# service's agents must be able to review them first. Admins see everything.
# A denied object answers NOT_FOUND, exactly like a missing one.


async def household_services(household_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """The service codes each household uses, from core and every enabled plugin (one call, batched)."""
    from core.plugins import get_host

    ids = sorted(set(household_ids))
    if not ids:
        return {}
    return await get_host().household_services(ids)


async def staff_need_to_know(actor: Actor, household_ids: Iterable[int]) -> dict[int, frozenset[str]] | None:
    """For an agent: per household, the agent's services that household uses (empty: nothing to see).
    None for an admin (everything). Families get empty sets (they go through `require_household`)."""
    require_user(actor)
    ids = set(household_ids)
    if actor.is_admin:
        return None
    if not actor.is_staff:
        return {hid: frozenset() for hid in ids}
    used = await household_services(ids)
    return {hid: frozenset(actor.services & used.get(hid, frozenset())) for hid in ids}


async def may_see_household_data(actor: Actor, household_id: int) -> bool:
    """Own household for a family; for an agent, a household using one of their services; admins all."""
    if actor.user is None:
        return False
    if actor.is_family:
        return actor.household_id == household_id
    scope = await staff_need_to_know(actor, [household_id])
    return scope is None or bool(scope[household_id])


async def require_household_data(actor: Actor, household_id: int | None, what: str = "foyer") -> int:
    """NotFound unless the caller may see this household's personal data (see the rule above)."""
    require_user(actor)
    if household_id is None or not await may_see_household_data(actor, household_id):
        raise NotFound(what)
    return household_id


async def may_edit_household(actor: Actor, household_id: int) -> bool:
    """Who may change a household's file (identity, address, responsables, children with their medical
    data and authorizations, authorized people): the family itself; admins; the agents the community
    empowers to open accounts (`[accounts] opening_services`: the desk that creates and completes files
    for families who come in person); and the agents of a service the household uses (need-to-know,
    the rule above). Any other agent still finds the household and reads its basic file, but cannot
    change it: a crèche agent does not rewrite who may collect the children of a family it never saw."""
    if actor.user is None:
        return False
    if not actor.is_staff:
        return actor.household_id == household_id
    if actor.is_admin or may_open_accounts(actor):
        return True
    return await may_see_household_data(actor, household_id)


async def require_household_edit(actor: Actor, household_id: int | None, what: str = "foyer") -> int:
    """NotFound for a household the caller cannot reach at all (another family's); Forbidden for an
    agent who can read its basic file but may not change it (`may_edit_household`)."""
    household_id = require_household(actor, household_id, what)
    if not await may_edit_household(actor, household_id):
        raise Forbidden("Ce foyer n'utilise aucun de vos services : seuls les administrateurs, les services "
                        "habilités à ouvrir les comptes et les services qu'il utilise peuvent modifier son dossier.")
    return household_id


def document_type_needed(required_by: Iterable[str], services: Iterable[str]) -> bool:
    """A document type concerns these services when one of them requires or handles it (pass the type's
    `required_by` + `handled_by`; a plugin code such as "creche" covers the configured services of that kind)."""
    from core.documents.service import covers

    required = list(required_by)
    return any(covers(r, s) for s in services for r in required)


def require_confirmed(actor: Actor) -> User:
    """A family request (booking, démarche, mandate, document) needs a confirmed email."""
    user = require_user(actor)
    if actor.is_family and user.email_confirmed_at is None:
        raise EmailNotConfirmed()
    return user


def require_service_member(actor: Actor, service: str) -> None:
    """Staff of `service` or admin; families never."""
    require_staff(actor, service)
