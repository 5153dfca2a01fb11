"""GraphQL of accounts: registration, confirmation, login / logout, passwords, who am I."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from core.accounts import service
from core.accounts.models import User
from core.contributions import GraphQLContribution
from core.graphql_support import SESSION_COOKIE, OkResult, actor, ctx, parse_id
from core.http_security import cookie_secure

SAME_ANSWER = "Si cette adresse correspond à un compte, un email vient d'être envoyé."


@strawberry.type
class Me:
    id: strawberry.ID
    email: str
    role: str
    first_name: str
    last_name: str
    email_confirmed: bool
    services: list[str]
    household_id: strawberry.ID | None

    @classmethod
    def from_model(cls, user: User) -> Me:
        hid = user.household_id  # type: ignore[attr-defined]
        return cls(id=strawberry.ID(str(user.id)), email=user.email, role=user.role, first_name=user.first_name,
                   last_name=user.last_name, email_confirmed=user.email_confirmed_at is not None,
                   services=list(user.services or []), household_id=strawberry.ID(str(hid)) if hid else None)


@strawberry.type
class LoginResult:
    token: str
    expires_at: datetime
    user: Me


@strawberry.input
class RegisterInput:
    email: str
    password: str
    first_name: str
    last_name: str


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The logged-in user, or null.")
    def me(self, info: Info) -> Me | None:
        user = actor(info).user
        return Me.from_model(user) if user else None


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="« Je veux créer mon dossier »: sends a confirmation mail.")
    async def register(self, input: RegisterInput) -> OkResult:
        await service.register(input.email, input.password, input.first_name, input.last_name)
        return OkResult(message="Un email de confirmation vient de vous être envoyé.")

    @strawberry.mutation(description="Confirm the email with the mailed token; staff-opened accounts set their password here.")
    async def confirm_email(self, token: str, password: str | None = None) -> OkResult:
        await service.confirm_email(token, password)
        return OkResult(message="Votre adresse email est confirmée.")

    @strawberry.mutation
    async def resend_confirmation(self, info: Info) -> OkResult:
        await service.resend_confirmation(actor(info))
        return OkResult(message="Un nouvel email de confirmation vient de vous être envoyé.")

    @strawberry.mutation(description="Opens a session: HttpOnly cookie for browsers, token for Bearer clients.")
    async def login(self, info: Info, email: str, password: str, remember_me: bool = False) -> LoginResult:
        c = ctx(info)
        token, row = await service.login(email, password, remember_me, c.actor.ip)
        if c.response is not None:
            max_age = int((row.expires_at - row.created_at).total_seconds()) if remember_me else None
            c.response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
                                  secure=cookie_secure(c.settings), path="/")
        await row.fetch_related("user")
        return LoginResult(token=token, expires_at=row.expires_at, user=Me.from_model(row.user))

    @strawberry.mutation
    async def logout(self, info: Info) -> OkResult:
        c = ctx(info)
        await service.logout(c.actor)
        if c.response is not None:
            c.response.delete_cookie(SESSION_COOKIE, path="/")
        return OkResult()

    @strawberry.mutation
    async def change_password(self, info: Info, current_password: str, new_password: str) -> OkResult:
        await service.change_password(actor(info), current_password, new_password)
        return OkResult(message="Mot de passe modifié.")

    @strawberry.mutation(description="« Mot de passe oublié »: same answer whether or not the email exists.")
    async def request_password_reset(self, email: str) -> OkResult:
        await service.request_password_reset(email)
        return OkResult(message=SAME_ANSWER)

    @strawberry.mutation
    async def reset_password(self, token: str, new_password: str) -> OkResult:
        await service.reset_password(token, new_password)
        return OkResult(message="Votre mot de passe a été modifié. Vous pouvez vous connecter.")

    @strawberry.mutation(description=(
        "Admins and agents of `[accounts] opening_services`: open the account of a household; the family gets a "
        "mail to set its password. A household that already has an account needs `additionalAccess: true`, and "
        "its current holders are mailed. Written to the audit log."))
    async def open_family_account(self, info: Info, household_id: strawberry.ID, email: str, first_name: str,
                                  last_name: str, additional_access: bool = False) -> Me:
        user = await service.open_account_for_household(actor(info), parse_id(household_id, "householdId"), email,
                                                        first_name, last_name, additional_access=additional_access)
        return Me.from_model(user)


contribution = GraphQLContribution(query=AccountsQuery, mutation=AccountsMutation)
