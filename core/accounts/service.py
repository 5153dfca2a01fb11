"""Account use cases: self-registration, staff-opened accounts, confirmation, login, sessions,
password change and reset. Tokens are random, single-use, expiring, stored hashed."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.accounts.models import AuthToken, LoginFailure, Role, TokenPurpose, User
from core.accounts.rules import check_password_strength, hash_token, new_token, normalize_email
from core.config import get_settings
from core.errors import NotFound, PortailError, ValidationError
from core.households.models import AuditLog, Household, Responsable
from core.mail.service import queue_mail
from core.permissions import Actor, require_account_opener, require_user
from core.timeutil import now

_hasher = PasswordHasher()  # argon2id with the library's current defaults
# Verifying against this hash keeps the timing of an unknown email close to a known one.
_DUMMY_HASH = _hasher.hash("portail-famille-dummy-password-1")


class InvalidCredentials(PortailError):
    code = "INVALID_CREDENTIALS"

    def __init__(self) -> None:
        super().__init__("Identifiant ou mot de passe incorrect.")


class TooManyAttempts(PortailError):
    code = "TOO_MANY_ATTEMPTS"

    def __init__(self) -> None:
        super().__init__("Trop de tentatives de connexion. Réessayez dans quelques minutes.")


class InvalidToken(PortailError):
    code = "INVALID_TOKEN"

    def __init__(self) -> None:
        super().__init__("Ce lien n'est pas valide ou a expiré. Demandez-en un nouveau.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def _issue_token(user: User, purpose: str, lifetime: timedelta, *, remember: bool = False) -> tuple[str, AuthToken]:
    token = new_token()
    row = await AuthToken.create(user=user, purpose=purpose, token_hash=hash_token(token),
                                 expires_at=now() + lifetime, remember=remember)
    return token, row


async def _consume_token(token: str, purpose: str) -> AuthToken:
    """Mark a single-use token used; the conditional UPDATE makes a replay lose the race too."""
    row = await AuthToken.get_or_none(token_hash=hash_token(token or ""), purpose=purpose).select_related("user")
    if row is None or row.used_at is not None or row.expires_at <= now():
        raise InvalidToken()
    updated = await AuthToken.filter(id=row.id, used_at__isnull=True).update(used_at=now())
    if updated != 1:
        raise InvalidToken()
    return row


def _link(path: str, token: str) -> str:
    return f"{get_settings().community.public_url.rstrip('/')}/{path}?token={token}"


async def _send_confirmation(user: User, *, staff_opened: bool) -> None:
    token, _ = await _issue_token(user, TokenPurpose.CONFIRM, timedelta(hours=get_settings().security.confirm_token_hours))
    template = "mail/account_opened" if staff_opened else "mail/confirm_email"
    await queue_mail(user.email, template, {"user": user, "link": _link("confirmer", token)},
                     household_id=user.household_id)  # type: ignore[attr-defined]


async def register(email: str, password: str, first_name: str, last_name: str) -> None:
    """Self-registration ("Je veux créer mon dossier"). Answers the same whether the email exists."""
    email = normalize_email(email)
    check_password_strength(password)
    if not first_name.strip() or not last_name.strip():
        raise ValidationError("Nom et prénom sont obligatoires.", code="REQUIRED", field="lastName")
    async with in_transaction():
        existing = await User.get_or_none(email=email)
        if existing is not None:
            # Tell the owner of the address, not the caller.
            await queue_mail(email, "mail/register_existing", {"user": existing, "link": _link("mot-de-passe-oublie", "")})
            return
        household = await Household.create(name=last_name.strip().upper(), email=email)
        user = await User.create(email=email, password_hash=hash_password(password), role=Role.FAMILY,
                                 household=household, first_name=first_name.strip(), last_name=last_name.strip())
        await Responsable.create(household=household, rank=1, user=user, first_name=user.first_name,
                                 last_name=user.last_name, email=email)
        await _send_confirmation(user, staff_opened=False)


class HouseholdHasAccount(PortailError):
    code = "HOUSEHOLD_HAS_ACCOUNT"

    def __init__(self) -> None:
        super().__init__("Ce foyer a déjà un compte. Pour ouvrir un second accès, confirmez-le : "
                         "le titulaire actuel en sera informé par email.", field="additionalAccess")


async def invite_family_user(household: Household, email: str, first_name: str, last_name: str,
                             responsable: Responsable | None = None) -> User:
    """Create a family account without password on `household` and mail the confirmation link that
    creates the password. Call inside the caller's transaction; `email` must be normalised."""
    if await User.exists(email=email):
        raise ValidationError("Un compte existe déjà pour cette adresse.", code="EMAIL_TAKEN", field="email")
    try:
        user = await User.create(email=email, password_hash=None, role=Role.FAMILY, household=household,
                                 first_name=first_name.strip(), last_name=last_name.strip())
    except IntegrityError:  # the same address taken by a concurrent request
        raise ValidationError("Un compte existe déjà pour cette adresse.", code="EMAIL_TAKEN", field="email") from None
    if responsable is None:
        responsable = await Responsable.filter(household=household, user=None).order_by("rank").first()
    if responsable is not None:
        responsable.user = user
        await responsable.save(update_fields=["user_id"])
    await _send_confirmation(user, staff_opened=True)
    return user


async def open_account_for_household(actor: Actor, household_id: int, email: str, first_name: str,
                                     last_name: str, *, additional_access: bool = False) -> User:
    """An authorised agent (admin, or `[accounts] opening_services`) opens the family's account: the
    family gets a mail to confirm and set a password. A household that already has an account holder
    gets a second access only when asked explicitly, and every current holder is mailed about it; each
    opening is written to the audit log."""
    staff = require_account_opener(actor)
    email = normalize_email(email)
    if not first_name.strip() or not last_name.strip():
        raise ValidationError("Nom et prénom sont obligatoires.", code="REQUIRED", field="lastName")
    async with in_transaction():
        # The household row is locked so that two openings at once see each other's account.
        household = await Household.filter(id=household_id, erased_at__isnull=True).select_for_update().first()
        if household is None:
            raise NotFound("foyer")
        holders = await User.filter(household_id=household.id, role=Role.FAMILY, is_active=True).order_by("id")
        if holders and not additional_access:
            raise HouseholdHasAccount()
        user = await invite_family_user(household, email, first_name, last_name)
        for holder in holders:
            await queue_mail(holder.email, "mail/account_access_added",
                             {"holder": holder, "user": user, "staff": staff, "household": household},
                             household_id=household.id)
        await AuditLog.create(actor_id=staff.id, action="open_account", entity="user", entity_id=user.id,
                              household_id=household.id,
                              detail={"email": email, "additional_access": bool(holders),
                                      "holders_mailed": [h.id for h in holders]})
    return user


async def confirm_email(token: str, password: str | None = None) -> User:
    """Confirm the address; an account opened by staff must set its password here."""
    async with in_transaction():
        row = await _consume_token(token, TokenPurpose.CONFIRM)
        user = row.user
        if user.password_hash is None:
            if not password:
                raise ValidationError("Créez votre mot de passe pour activer votre compte.",
                                      code="PASSWORD_REQUIRED", field="password")
            check_password_strength(password)
            user.password_hash = hash_password(password)
        user.email_confirmed_at = user.email_confirmed_at or now()
        await user.save(update_fields=["password_hash", "email_confirmed_at"])
    return user


async def resend_confirmation(actor: Actor) -> None:
    user = require_user(actor)
    if user.email_confirmed_at is None:
        await _send_confirmation(user, staff_opened=False)


async def _throttled(email: str, ip: str) -> bool:
    sec = get_settings().security
    since = now() - timedelta(minutes=sec.failed_login_window_minutes)
    per_account = await LoginFailure.filter(email=email, created_at__gte=since).count()
    if per_account >= sec.max_failed_logins_per_account:
        return True
    return bool(ip) and await LoginFailure.filter(ip=ip, created_at__gte=since).count() >= sec.max_failed_logins_per_ip


async def login(email: str, password: str, remember_me: bool, ip: str) -> tuple[str, AuthToken]:
    """Returns the opaque session token (sent as HttpOnly cookie and usable as Bearer)."""
    try:
        email = normalize_email(email)
    except ValidationError:
        raise InvalidCredentials() from None
    if await _throttled(email, ip):
        raise TooManyAttempts()
    user = await User.get_or_none(email=email)
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        await LoginFailure.create(email=email, ip=ip)
        raise InvalidCredentials()
    sec = get_settings().security
    lifetime = timedelta(days=sec.remember_me_days) if remember_me else timedelta(hours=sec.session_hours)
    async with in_transaction():
        await LoginFailure.filter(email=email).delete()
        user.last_login_at = now()
        await user.save(update_fields=["last_login_at"])
        return await _issue_token(user, TokenPurpose.SESSION, lifetime, remember=remember_me)


async def actor_from_session(token: str | None, ip: str) -> Actor:
    if not token:
        return Actor.anonymous(ip)
    row = await AuthToken.get_or_none(token_hash=hash_token(token), purpose=TokenPurpose.SESSION,
                                      used_at__isnull=True).select_related("user")
    if row is None or row.expires_at <= now() or not row.user.is_active:
        return Actor.anonymous(ip)
    return Actor.for_user(row.user, ip=ip, session_token_id=row.id)


async def logout(actor: Actor) -> None:
    if actor.session_token_id is not None:
        await AuthToken.filter(id=actor.session_token_id).update(used_at=now())


async def change_password(actor: Actor, current_password: str, new_password: str) -> None:
    user = require_user(actor)
    if not verify_password(user.password_hash, current_password):
        raise ValidationError("Mot de passe actuel incorrect.", code="INVALID_CREDENTIALS", field="currentPassword")
    check_password_strength(new_password)
    async with in_transaction():
        user.password_hash = hash_password(new_password)
        await user.save(update_fields=["password_hash"])
        # Other sessions end: a changed password is often a response to a leak.
        await AuthToken.filter(user=user, purpose=TokenPurpose.SESSION, used_at__isnull=True) \
            .exclude(id=actor.session_token_id or 0).update(used_at=now())


async def request_password_reset(email: str) -> None:
    """Same answer whether or not the email exists; only its owner gets the link."""
    try:
        email = normalize_email(email)
    except ValidationError:
        return
    user = await User.get_or_none(email=email, is_active=True)
    if user is None:
        return
    async with in_transaction():
        token, _ = await _issue_token(user, TokenPurpose.RESET, timedelta(hours=get_settings().security.reset_token_hours))
        await queue_mail(user.email, "mail/password_reset", {"user": user, "link": _link("nouveau-mot-de-passe", token)},
                         household_id=user.household_id)  # type: ignore[attr-defined]


async def reset_password(token: str, new_password: str) -> None:
    check_password_strength(new_password)
    async with in_transaction():
        row = await _consume_token(token, TokenPurpose.RESET)
        user = row.user
        user.password_hash = hash_password(new_password)
        # Following a mailed link proves the address.
        user.email_confirmed_at = user.email_confirmed_at or now()
        await user.save(update_fields=["password_hash", "email_confirmed_at"])
        await AuthToken.filter(user=user, purpose=TokenPurpose.SESSION, used_at__isnull=True).update(used_at=now())


async def create_staff(email: str, password: str, first_name: str, last_name: str, role: str,
                       services: list[str]) -> User:
    """CLI/admin: create an agent or an admin (confirmed, password set)."""
    if role not in (Role.AGENT, Role.ADMIN):
        raise ValidationError("Rôle invalide.", code="INVALID_ROLE", field="role")
    email = normalize_email(email)
    check_password_strength(password)
    known = {s.code for s in get_settings().services}
    unknown = [s for s in services if s not in known]
    if unknown:
        raise ValidationError(f"Service(s) inconnu(s) : {', '.join(unknown)}", code="UNKNOWN_SERVICE", field="services")
    if await User.exists(email=email):
        raise ValidationError("Un compte existe déjà pour cette adresse.", code="EMAIL_TAKEN", field="email")
    return await User.create(email=email, password_hash=hash_password(password), role=role, services=services,
                             first_name=first_name, last_name=last_name, email_confirmed_at=now())
