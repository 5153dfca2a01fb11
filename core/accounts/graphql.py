"""GraphQL of accounts: registration, confirmation, login / logout, passwords, who am I."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from core.accounts import service
from core.accounts.models import Role, User
from core.contributions import GraphQLContribution
from core.graphql_support import (
    SESSION_COOKIE,
    LabelledEnum,
    OkResult,
    actor,
    ctx,
    graphql_enum,
    parse_id,
)
from core.http_security import cookie_secure

A = strawberry.argument
SAME_ANSWER = "Si cette adresse correspond à un compte, un email vient d'être envoyé."


class UserRole(LabelledEnum):
    FAMILY = (Role.FAMILY, "Famille", "A responsable of a household: sees and changes that household only.")
    AGENT = (Role.AGENT, "Agent", "Staff of one or more services (`services`): sees what those services need "
                                  "to know (need-to-know).")
    ADMIN = (Role.ADMIN, "Administrateur", "Staff administering the portal: sees everything, audit log, outbox.")


graphql_enum(UserRole, description="What an account is and may do.")


@strawberry.type(name="User", description="An account of the portal (the caller with `me`).")
class Me:
    id: strawberry.ID = strawberry.field(description="The account's id.")
    email: str = strawberry.field(description="Login and contact address (lower case).")
    role: UserRole = strawberry.field(description="What the account is.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    email_confirmed: bool = strawberry.field(description=(
        "True once the mailed link was followed; most family actions need it (EMAIL_NOT_CONFIRMED)."))
    services: list[str] = strawberry.field(description=(
        "Agents: codes of the services they work for (`[[services]]`), empty for families. Not paginated."))
    household_id: strawberry.ID | None = strawberry.field(description="Families: their household, else null.")

    @strawberry.field(description="The role's French label to show.")
    def role_label(self) -> str:
        return self.role.label

    @classmethod
    def from_model(cls, user: User) -> Me:
        hid = user.household_id  # type: ignore[attr-defined]
        return cls(id=strawberry.ID(str(user.id)), email=user.email, role=UserRole(user.role),
                   first_name=user.first_name, last_name=user.last_name,
                   email_confirmed=user.email_confirmed_at is not None,
                   services=list(user.services or []), household_id=strawberry.ID(str(hid)) if hid else None)


@strawberry.type(name="LoginPayload", description="An open session.")
class LoginResult:
    token: str = strawberry.field(description=(
        "The session token for `Authorization: Bearer` clients (browsers use the HttpOnly cookie set with it)."))
    expires_at: datetime = strawberry.field(description="When the session ends (ISO 8601 with offset).")
    user: Me = strawberry.field(description="The account logged in.")


@strawberry.input(description="« Je veux créer mon dossier »: a family's own account.")
class RegisterInput:
    email: str = strawberry.field(description="Login and contact address; a confirmation link is mailed to it.")
    password: str = strawberry.field(description="The password (policy: WEAK_PASSWORD explains what is missing).")
    first_name: str = strawberry.field(description="First name of the responsable.")
    last_name: str = strawberry.field(description="Last name of the responsable.")


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The logged-in account, or null when logged out (never an error).")
    def me(self, info: Info) -> Me | None:
        user = actor(info).user
        return Me.from_model(user) if user else None


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description=(
        "Anyone: « Je veux créer mon dossier », creates a family account and mails the confirmation link "
        "(no session opened). Errors: INVALID_EMAIL, WEAK_PASSWORD, EMAIL_TAKEN, REQUIRED, TOO_LONG."))
    async def register(self, input: Annotated[RegisterInput, A(description="The new account.")]) -> OkResult | None:
        await service.register(input.email, input.password, input.first_name, input.last_name)
        return OkResult(message="Un email de confirmation vient de vous être envoyé.")

    @strawberry.mutation(description=(
        "Anyone holding the mailed token: confirm the email; accounts opened by the services set their "
        "password here. Errors: INVALID_TOKEN, PASSWORD_REQUIRED, WEAK_PASSWORD."))
    async def confirm_email(self, token: Annotated[str, A(description="The token of the mailed link.")],
                            password: Annotated[str | None, A(description=(
                                "The password to set (accounts opened by the services only).")
                            )] = None) -> OkResult | None:
        await service.confirm_email(token, password)
        return OkResult(message="Votre adresse email est confirmée.")

    @strawberry.mutation(description=(
        "Logged-in account with an unconfirmed email: mail the confirmation link again (nothing is sent "
        "when it is already confirmed). Errors: UNAUTHENTICATED."))
    async def resend_confirmation(self, info: Info) -> OkResult | None:
        await service.resend_confirmation(actor(info))
        return OkResult(message="Un nouvel email de confirmation vient de vous être envoyé.")

    @strawberry.mutation(description=(
        "Anyone: open a session (HttpOnly cookie for browsers, `token` for Bearer clients). "
        "Errors: INVALID_CREDENTIALS, TOO_MANY_ATTEMPTS."))
    async def login(self, info: Info, email: Annotated[str, A(description="The account's email.")],
                    password: Annotated[str, A(description="Its password.")],
                    remember_me: Annotated[bool, A(description=(
                        "Keep the session (and cookie) for the long configured lifetime instead of the browser "
                        "session."))] = False) -> LoginResult | None:
        c = ctx(info)
        token, row = await service.login(email, password, remember_me, c.actor.ip)
        if c.response is not None:
            max_age = int((row.expires_at - row.created_at).total_seconds()) if remember_me else None
            c.response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
                                  secure=cookie_secure(c.settings), path="/")
        await row.fetch_related("user")
        return LoginResult(token=token, expires_at=row.expires_at, user=Me.from_model(row.user))

    @strawberry.mutation(description="Anyone: end the current session (no error when there is none).")
    async def logout(self, info: Info) -> OkResult | None:
        c = ctx(info)
        await service.logout(c.actor)
        if c.response is not None:
            c.response.delete_cookie(SESSION_COOKIE, path="/")
        return OkResult()

    @strawberry.mutation(description=(
        "Logged-in account: change the password. "
        "Errors: UNAUTHENTICATED, INVALID_CREDENTIALS (wrong current password), WEAK_PASSWORD."))
    async def change_password(self, info: Info,
                              current_password: Annotated[str, A(description="The current password.")],
                              new_password: Annotated[str, A(description="The new one.")]) -> OkResult | None:
        await service.change_password(actor(info), current_password, new_password)
        return OkResult(message="Mot de passe modifié.")

    @strawberry.mutation(description=(
        "Anyone: « Mot de passe oublié », mails a reset link; the same answer whether or not the email exists "
        "(no error)."))
    async def request_password_reset(self, email: Annotated[str, A(
            description="The account's email.")]) -> OkResult | None:
        await service.request_password_reset(email)
        return OkResult(message=SAME_ANSWER)

    @strawberry.mutation(description=(
        "Anyone holding the mailed token: set a new password. Errors: INVALID_TOKEN, WEAK_PASSWORD."))
    async def reset_password(self, token: Annotated[str, A(description="The token of the mailed link.")],
                             new_password: Annotated[str, A(description="The new password.")]) -> OkResult | None:
        await service.reset_password(token, new_password)
        return OkResult(message="Votre mot de passe a été modifié. Vous pouvez vous connecter.")

    @strawberry.mutation(description=(
        "Admins and agents of `[accounts] opening_services`: open the account of a household; the family gets a "
        "mail to set its password. A household that already has an account needs `additionalAccess: true`, and "
        "its current holders are mailed. Written to the audit log. Returns the new account. Errors: "
        "UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ID, INVALID_EMAIL, EMAIL_TAKEN, HOUSEHOLD_HAS_ACCOUNT."))
    async def open_family_account(
            self, info: Info,
            household_id: Annotated[strawberry.ID, A(description="The household the account is for.")],
            email: Annotated[str, A(description="The family's email: the link is mailed there.")],
            first_name: Annotated[str, A(description="First name of the account holder.")],
            last_name: Annotated[str, A(description="Last name of the account holder.")],
            additional_access: Annotated[bool, A(description=(
                "Required (true) when the household already has an account.")) ] = False) -> Me | None:
        user = await service.open_account_for_household(actor(info), parse_id(household_id, "householdId"), email,
                                                        first_name, last_name, additional_access=additional_access)
        return Me.from_model(user)


contribution = GraphQLContribution(query=AccountsQuery, mutation=AccountsMutation)
