"""Pure rules of accounts: password policy, email normalisation, token generation and hashing."""

from __future__ import annotations

import hashlib
import re
import secrets

from core.errors import ValidationError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


def normalize_email(email: str) -> str:
    value = (email or "").strip().lower()
    if not EMAIL_RE.match(value) or len(value) > 254:
        raise ValidationError("Adresse email invalide.", code="INVALID_EMAIL", field="email")
    return value


def check_password_strength(password: str) -> None:
    """At least 10 characters mixing letters and digits (ANSSI-style minimum for a family portal)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Le mot de passe doit contenir au moins {MIN_PASSWORD_LENGTH} caractères.",
                              code="WEAK_PASSWORD", field="password")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise ValidationError("Le mot de passe doit contenir des lettres et des chiffres.",
                              code="WEAK_PASSWORD", field="password")


def new_token() -> str:
    """256 bits of randomness, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
