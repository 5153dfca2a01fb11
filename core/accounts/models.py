"""Accounts, their single-use tokens (session, email confirmation, password reset) and login failures."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Role:
    FAMILY = "family"
    AGENT = "agent"
    ADMIN = "admin"
    ALL = (FAMILY, AGENT, ADMIN)


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255, null=True)
    role = fields.CharField(max_length=16, default=Role.FAMILY)
    # Service codes (from the community config) an agent belongs to.
    services = fields.JSONField(default=list)
    household = fields.ForeignKeyField("core.Household", related_name="members", null=True,
                                       on_delete=fields.SET_NULL)
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, default="")
    email_confirmed_at = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_user"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class TokenPurpose:
    SESSION = "session"
    CONFIRM = "confirm"  # confirm the email (and, for staff-opened accounts, create the password)
    RESET = "reset"


class AuthToken(Model):
    """Opaque random tokens: only their SHA-256 is stored."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("core.User", related_name="tokens", on_delete=fields.CASCADE)
    purpose = fields.CharField(max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    remember = fields.BooleanField(default=False)

    class Meta:
        table = "core_auth_token"


class LoginFailure(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, db_index=True)
    ip = fields.CharField(max_length=64, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "core_login_failure"


class LoginThrottle(Model):
    """Login attempts in the current window, per account (`a:<email>`) or per IP (`i:<ip>`).
    A login claims one attempt on each row under a row lock BEFORE its password is checked, so
    parallel guesses cannot all pass the limit; a successful login gives its attempt back."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=300, unique=True)
    window_start = fields.DatetimeField()
    attempts = fields.IntField(default=0)

    class Meta:
        table = "core_login_throttle"
