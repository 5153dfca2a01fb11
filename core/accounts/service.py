"""Account use cases: self-registration, staff-opened accounts, confirmation, login, sessions,
password change and reset. Tokens are random, single-use, expiring, stored hashed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core.accounts.models import AuthToken, LoginFailure, LoginThrottle, Role, TokenPurpose, User
from core.accounts.rules import check_password_strength, hash_token, new_token, normalize_email
from core.compiled_query import CompiledQuery
from core.config import get_settings
from core.errors import NotFound, PortailError, ValidationError
from core.households.models import AuditLog, Household, Responsable
from core.mail.service import queue_mail
from core.permissions import Actor, require_account_opener, require_user
from core.plugins import get_host
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
    """Blocking (argon2 takes ~100 ms of CPU): request handlers use `hash_password_async`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Blocking: request handlers use `verify_password_async`."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    """argon2 in a worker thread (it releases the GIL), so one login does not stall every other
    request of the process."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


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
    # Both paths do the same work, so the answer time does not tell whether the address has an
    # account: one argon2 hash (kept for a new account, dropped otherwise) and one queued mail.
    password_hash = await hash_password_async(password)
    try:
        async with in_transaction():
            if await User.exists(email=email):
                await _mail_existing_holder(email)
                return
            household = await Household.create(name=last_name.strip().upper(), email=email)
            user = await User.create(email=email, password_hash=password_hash, role=Role.FAMILY,
                                     household=household, first_name=first_name.strip(), last_name=last_name.strip())
            await Responsable.create(household=household, rank=1, user=user, first_name=user.first_name,
                                     last_name=user.last_name, email=email)
            await _send_confirmation(user, staff_opened=False)
    except IntegrityError:
        # A concurrent registration of the same address won the unique email: same answer and
        # same mail as when it already existed.
        await _mail_existing_holder(email)


async def _mail_existing_holder(email: str) -> None:
    """Tell the holder of the address (not the caller) that someone tried to register with it."""
    existing = await User.get(email=email)
    await queue_mail(email, "mail/register_existing", {"user": existing, "link": _link("mot-de-passe-oublie", "")},
                     household_id=existing.household_id)  # type: ignore[attr-defined]


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
            user.password_hash = await hash_password_async(password)
        user.email_confirmed_at = user.email_confirmed_at or now()
        await user.save(update_fields=["password_hash", "email_confirmed_at"])
    return user


async def resend_confirmation(actor: Actor) -> None:
    user = require_user(actor)
    if user.email_confirmed_at is None:
        await _send_confirmation(user, staff_opened=False)


def _throttle_keys(email: str, ip: str) -> dict[str, int]:
    """{row key: limit}. Keys are hashed: the table holds no address and no IP."""
    sec = get_settings().security
    keys = {"a:" + hash_token(email): sec.max_failed_logins_per_account}
    if ip:
        keys["i:" + hash_token(ip)] = sec.max_failed_logins_per_ip
    return keys


async def _claim_attempt(keys: dict[str, int]) -> None:
    """Take one attempt on every key, or none (TOO_MANY_ATTEMPTS when one is at its limit).

    The rows are locked (SELECT … FOR UPDATE, in key order) while they are read and bumped, so
    parallel logins are counted one after the other: with a limit of 5, at most 5 passwords of
    one account are ever checked in a window, however many requests arrive at once."""
    at = now()
    since = at - timedelta(minutes=get_settings().security.failed_login_window_minutes)
    await LoginThrottle.bulk_create([LoginThrottle(key=k, window_start=at, attempts=0) for k in sorted(keys)],
                                    ignore_conflicts=True)
    async with in_transaction():
        rows = await LoginThrottle.filter(key__in=list(keys)).order_by("key").select_for_update()
        for row in rows:
            if row.window_start < since:
                row.window_start, row.attempts = at, 0  # the window has passed: start a new one
            if row.attempts >= keys[row.key]:
                raise TooManyAttempts()
        for row in rows:
            row.attempts += 1
            await row.save(update_fields=["window_start", "attempts"])


async def _give_back_attempt(email: str, ip: str) -> None:
    """A successful login: the account's failures are forgiven, its IP gets its attempt back."""
    keys = _throttle_keys(email, ip)
    account_key = next(iter(keys))
    await LoginThrottle.filter(key=account_key).update(attempts=0)
    other = [k for k in keys if k != account_key]
    if other:
        await LoginThrottle.filter(key__in=other, attempts__gt=0).update(attempts=F("attempts") - 1)


async def login(email: str, password: str, remember_me: bool, ip: str) -> tuple[str, AuthToken]:
    """Returns the opaque session token (sent as HttpOnly cookie and usable as Bearer)."""
    try:
        email = normalize_email(email)
    except ValidationError:
        raise InvalidCredentials() from None
    await _claim_attempt(_throttle_keys(email, ip))  # before the password is checked
    user = await User.get_or_none(email=email)
    # An unknown or inactive account is checked against the dummy hash: same work, same answer.
    known_hash = user.password_hash if user is not None and user.is_active else None
    if not await verify_password_async(known_hash, password) or user is None:
        await LoginFailure.create(email=email, ip=ip)
        raise InvalidCredentials()
    sec = get_settings().security
    lifetime = timedelta(days=sec.remember_me_days) if remember_me else timedelta(hours=sec.session_hours)
    async with in_transaction():
        await LoginFailure.filter(email=email).delete()
        await _give_back_attempt(email, ip)
        user.last_login_at = now()
        await user.save(update_fields=["last_login_at"])
        return await _issue_token(user, TokenPurpose.SESSION, lifetime, remember=remember_me)


async def forget_old_attempts() -> int:
    """Maintenance: throttle rows whose window has passed (they would be reset on next use)."""
    since = now() - timedelta(minutes=get_settings().security.failed_login_window_minutes)
    return await LoginThrottle.filter(window_start__lt=since).delete()


_OPEN_SESSION = CompiledQuery(lambda token_hash: AuthToken.filter(
    token_hash=token_hash, purpose=TokenPurpose.SESSION, used_at__isnull=True).select_related("user").first())


async def actor_from_session(token: str | None, ip: str) -> Actor:
    if not token:
        return Actor.anonymous(ip)
    row = await _OPEN_SESSION.all(hash_token(token))
    if row is None or row.expires_at <= now() or not row.user.is_active:
        return Actor.anonymous(ip)
    return Actor.for_user(row.user, ip=ip, session_token_id=row.id)


async def logout(actor: Actor) -> None:
    if actor.session_token_id is not None:
        await AuthToken.filter(id=actor.session_token_id).update(used_at=now())


async def change_password(actor: Actor, current_password: str, new_password: str) -> None:
    user = require_user(actor)
    if not await verify_password_async(user.password_hash, current_password):
        raise ValidationError("Mot de passe actuel incorrect.", code="INVALID_CREDENTIALS", field="currentPassword")
    check_password_strength(new_password)
    new_hash = await hash_password_async(new_password)
    async with in_transaction():
        user.password_hash = new_hash
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
    new_hash = await hash_password_async(new_password)
    async with in_transaction():
        row = await _consume_token(token, TokenPurpose.RESET)
        user = row.user
        user.password_hash = new_hash
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
    # A configured `[[services]]` code, or the code of a service an enabled plugin runs (portail_services).
    known = {s.code for s in get_settings().services} | set(get_host().services())
    unknown = [s for s in services if s not in known]
    if unknown:
        raise ValidationError(f"Service(s) inconnu(s) : {', '.join(unknown)} (services connus : "
                              f"{', '.join(sorted(known)) or 'aucun'})", code="UNKNOWN_SERVICE", field="services")
    taken = ValidationError("Un compte existe déjà pour cette adresse.", code="EMAIL_TAKEN", field="email")
    if await User.exists(email=email):
        raise taken
    try:
        return await User.create(email=email, password_hash=await hash_password_async(password), role=role,
                                 services=services, first_name=first_name, last_name=last_name,
                                 email_confirmed_at=now())
    except IntegrityError:  # created meanwhile by a concurrent call: the unique email decides
        raise taken from None
