"""The one place that decides who may see and change what.

A family sees and changes only its own household; an agent only what belongs to the services
they are a member of; an admin everything in the community. Every service calls these functions
before it reads or writes; a denied access to an object looks exactly like a missing object.
"""

from __future__ import annotations

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


def require_confirmed(actor: Actor) -> User:
    """A family request (booking, démarche, mandate, document) needs a confirmed email."""
    user = require_user(actor)
    if actor.is_family and user.email_confirmed_at is None:
        raise EmailNotConfirmed()
    return user


def require_service_member(actor: Actor, service: str) -> None:
    """Staff of `service` or admin; families never."""
    require_staff(actor, service)
