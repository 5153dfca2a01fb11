"""Configuration of one community: `portail.toml` plus environment overrides (12-factor).

Lookup order for the file: `PORTAIL_CONFIG`, then `./portail.toml`, then the bundled demo config.
Environment overrides: `DATABASE_URL`, `PORTAIL_PLUGINS` (comma list), and any
`PORTAIL_<SECTION>__<KEY>` (e.g. `PORTAIL_SMTP__HOST=mail.example.org`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUNDLED_DEMO_CONFIG = Path(__file__).with_name("demo.toml")


@dataclass(frozen=True)
class Community:
    name: str
    short_name: str
    phone: str = ""
    email: str = ""
    address: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Public holidays of the community's territory (core/calendar.py): "" for metropolitan France,
    # "57" / "67" / "68" for Alsace-Moselle (Good Friday and 26 December), "971"… overseas.
    holiday_subdivision: str = ""
    school_zone: str = ""  # A, B or C (school holidays, core/calendar.py); "" when unused


@dataclass(frozen=True)
class ServiceConfig:
    """A service of the community (crèche, ALSH, jeunesse…): agents belong to services."""

    code: str
    name: str
    kind: str = "autre"
    phone: str = ""
    email: str = ""
    address: str = ""
    regie: str = ""


@dataclass(frozen=True)
class RegieConfig:
    """A régie: the public cash office that bills (own invoice numbers) and collects (own ICS)."""

    code: str
    name: str
    ics: str = ""
    creditor_name: str = ""
    creditor_iban: str = ""
    creditor_bic: str = ""
    # The creditor's structured postal address, written in pain.008 (Cdtr/PstlAdr): since
    # 15 November 2026 the SEPA schemes accept only structured or hybrid addresses (EPC153-22 v2.1).
    creditor_street: str = ""
    creditor_building_number: str = ""
    creditor_postcode: str = ""
    creditor_town: str = ""
    creditor_country: str = "FR"
    address: str = ""
    invoice_prefix: str = ""
    sepa_format: str = "pain.008.001.08"
    # Mentions of the avis des sommes à payer (CGCT L1617-5 4°; CE 17 March 2016 n° 389069): who
    # issues the titre (first name, name: the ordonnateur or the holder of their delegation) and in
    # which role; the court where it is contested; the payment deadline; the comptable public; the
    # desk of the régie (hours, accepted means).
    issuer_name: str = ""
    issuer_role: str = ""
    recourse_court: str = ""
    payment_days: int = 30
    comptable: str = ""
    desk_hours: str = ""
    desk_means: str = ""


@dataclass(frozen=True)
class Choice:
    """One entry of a configurable list (medical question, authorisation, document type…)."""

    code: str
    label: str
    requires_text: bool = False
    help: str = ""
    scope: str = "household"
    required_by: tuple[str, ...] = ()
    handled_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmtpConfig:
    host: str = ""
    port: int = 25
    username: str = ""
    password: str = ""
    use_tls: bool = False
    start_tls: bool = False
    sender: str = "Portail Famille <ne-pas-repondre@portail-famille.local>"
    max_attempts: int = 8


@dataclass(frozen=True)
class SecurityConfig:
    secret_key: str = "change-me"
    session_hours: int = 12
    remember_me_days: int = 30
    confirm_token_hours: int = 72
    reset_token_hours: int = 2
    failed_login_window_minutes: int = 15
    max_failed_logins_per_account: int = 5
    max_failed_logins_per_ip: int = 30
    cookie_secure: bool = False
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 4000
    introspection: bool = True


@dataclass(frozen=True)
class AccountsConfig:
    """`[accounts]`: who besides admins may open access to a household.

    `opening_services` lists the service codes whose agents may open a household's account and create
    a household from scratch (seed guide 001: « le compte est ouvert par les services »). Empty: admins only.
    """

    opening_services: tuple[str, ...] = ()


def _accounts(table: dict[str, Any], service_codes: set[str]) -> AccountsConfig:
    unknown_keys = set(table) - {"opening_services"}
    if unknown_keys:
        raise ValueError(f"[accounts]: unknown key(s) {', '.join(sorted(unknown_keys))}")
    value = table.get("opening_services", [])
    if isinstance(value, str):  # PORTAIL_ACCOUNTS__OPENING_SERVICES=creche,alsh
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("[accounts] opening_services must be a list of service codes")
    unknown = [v for v in value if v not in service_codes]
    if unknown:
        raise ValueError(f"[accounts] opening_services: unknown service(s) {', '.join(unknown)}")
    return AccountsConfig(opening_services=tuple(value))


@dataclass(frozen=True)
class Settings:
    community: Community
    database_url: str
    enabled_plugins: tuple[str, ...]
    smtp: SmtpConfig
    security: SecurityConfig
    storage_path: Path
    max_upload_bytes: int
    services: tuple[ServiceConfig, ...]
    regies: tuple[RegieConfig, ...]
    medical_questions: tuple[Choice, ...]
    authorizations: tuple[Choice, ...]
    document_types: tuple[Choice, ...]
    accounts: AccountsConfig = field(default_factory=AccountsConfig)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def plugin_config(self, name: str) -> dict[str, Any]:
        """The `[plugin.<name>]` table of the TOML file (empty when absent)."""
        return dict(self.raw.get("plugin", {}).get(name, {}))

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.raw.get(name, {}))

    def service(self, code: str) -> ServiceConfig | None:
        return next((s for s in self.services if s.code == code), None)

    def regie(self, code: str) -> RegieConfig | None:
        return next((r for r in self.regies if r.code == code), None)


def _coerce(value: str, current: Any) -> Any:
    if isinstance(current, bool):
        return value.strip().lower() in {"1", "true", "yes", "on", "oui"}
    if isinstance(current, int):
        return int(value)
    if isinstance(current, list):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def apply_env_overrides(raw: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """Environment wins over the file: `PORTAIL_SECTION__KEY=value`."""
    for key, value in environ.items():
        if not key.startswith("PORTAIL_") or "__" not in key:
            continue
        section, _, name = key[len("PORTAIL_"):].lower().partition("__")
        table = raw.setdefault(section, {})
        table[name] = _coerce(value, table.get(name, ""))
    if environ.get("DATABASE_URL"):
        raw.setdefault("database", {})["url"] = environ["DATABASE_URL"]
    if "PORTAIL_PLUGINS" in environ:
        raw.setdefault("plugins", {})["enabled"] = _coerce(environ["PORTAIL_PLUGINS"], [])
    return raw


def _choices(items: list[dict[str, Any]], **defaults: Any) -> tuple[Choice, ...]:
    out = []
    for item in items:
        data = {**defaults, **item}
        data["required_by"] = tuple(data.get("required_by", ()))
        data["handled_by"] = tuple(data.get("handled_by", ()))
        out.append(Choice(**data))
    return tuple(out)


def _postgres_url(url: str) -> str:
    # Tortoise names the asyncpg scheme "postgres"; accept the usual "postgresql" spellings too.
    for prefix in ("postgresql+asyncpg://", "postgresql://", "asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix):]
    return url


def settings_from_dict(raw: dict[str, Any], base_dir: Path) -> Settings:
    from core.calendar import normalize_subdivision, normalize_zone

    community = Community(**raw.get("community", {"name": "Communauté de communes", "short_name": "CC"}))
    normalize_subdivision(community.holiday_subdivision)  # an unknown subdivision or zone fails at start-up
    normalize_zone(community.school_zone)
    database_url = _postgres_url(str(raw.get("database", {}).get("url", "sqlite://data/portail.sqlite3")))
    storage = raw.get("storage", {})
    storage_path = Path(storage.get("path", "data/files"))
    if not storage_path.is_absolute():
        storage_path = base_dir / storage_path
    households = raw.get("households", {})
    services = tuple(ServiceConfig(**s) for s in raw.get("services", []))
    return Settings(
        community=community,
        database_url=database_url,
        enabled_plugins=tuple(raw.get("plugins", {}).get("enabled", [])),
        smtp=SmtpConfig(**raw.get("smtp", {})),
        security=SecurityConfig(**raw.get("security", {})),
        storage_path=storage_path,
        max_upload_bytes=int(storage.get("max_upload_bytes", 5 * 1024 * 1024)),
        services=services,
        regies=tuple(RegieConfig(**r) for r in raw.get("regies", [])),
        medical_questions=_choices(households.get("medical_questions", [])),
        authorizations=_choices(households.get("authorizations", [])),
        document_types=_choices(raw.get("document_types", [])),
        accounts=_accounts(dict(raw.get("accounts", {})), {s.code for s in services}),
        raw=raw,
    )


def load_settings(path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    candidates = [path, environ.get("PORTAIL_CONFIG"), "portail.toml"]
    config_path = next((Path(p) for p in candidates if p and Path(p).exists()), BUNDLED_DEMO_CONFIG)
    raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    base_dir = Path.cwd() if config_path == BUNDLED_DEMO_CONFIG else config_path.resolve().parent
    return settings_from_dict(apply_env_overrides(raw, environ), base_dir)


_active: Settings | None = None


def activate(settings: Settings) -> Settings:
    """Make `settings` the process-wide configuration (the app factory and tests call this)."""
    global _active
    _active = settings
    return settings


def get_settings() -> Settings:
    """The active configuration, loaded from file and environment on first use."""
    return _active if _active is not None else activate(load_settings())
