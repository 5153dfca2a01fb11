"""Configuration of one community: `portail.toml` plus environment overrides (12-factor), typed and strict.

The file is `--config PATH` / `PORTAIL_CONFIG`, else `./portail.toml`; a file that does not exist is
an error, never a silent fallback. The bundled demo (`core/demo.toml`) is used only when asked for
(`portail demo`, the tests). Environment overrides: `DATABASE_URL`, `PORTAIL_PLUGINS` (comma list)
and any `PORTAIL_<SECTION>__<KEY>` (`PORTAIL_SMTP__PORT=587`, `PORTAIL_PLUGIN__CRECHE__CARENCE_DAYS=3`).

Every value, from the file or from the environment, is validated by the typed section models below
(pydantic, `extra="forbid"`): `PORTAIL_SECURITY__INTROSPECTION=false` is the boolean False, an
unknown key, a missing key or a bad type is a `ConfigError` whose lines each name the file, the
section, the key and the environment variable it came from. `[plugin.<name>]` tables are validated
by the plugin's own model (hook `portail_config_model`) when the plugins are loaded.

Adding a key: a field with its default in the section's dataclass. Adding a section: a frozen
dataclass here, a field of `ConfigFile`, and the same field on `Settings` (copied by name).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass

from core.rgpd.rules import RetentionPolicy

BUNDLED_DEMO_CONFIG = Path(__file__).with_name("demo.toml")
STRICT = ConfigDict(extra="forbid")
ENV_PREFIX = "PORTAIL_"


class ConfigError(ValueError):
    """A configuration the portal refuses to run with; each line names one mistake."""

    def __init__(self, lines: str | Iterable[str]) -> None:
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))


def _split_list(value: Any) -> Any:
    """A list from the environment: `a,b,c` or a JSON list `["a", "b"]`."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return value
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


StrList = Annotated[tuple[str, ...], BeforeValidator(_split_list)]
"""A list of strings, accepted from the environment as `a,b,c` (use it in plugin models too)."""


# ---- sections ------------------------------------------------------------------------------------
@dataclass(frozen=True, config=STRICT)
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


@dataclass(frozen=True, config=STRICT)
class ServiceConfig:
    """A service of the community (crèche, ALSH, jeunesse…): agents belong to services."""

    code: str
    name: str
    kind: str = "autre"
    phone: str = ""
    email: str = ""
    address: str = ""
    regie: str = ""


@dataclass(frozen=True, config=STRICT)
class PesConfig:
    """The codes of a régie's budget in Hélios, for the PES V2 ORMC export (`[regies.pes]`, docs/pes.md).

    Given by the comptable public (the SGC): every key without a default is required once the table
    exists, and each is checked against the format of the DGFiP PES V2 schema (the type named in the
    comment, from `PES_V2/Class_EntetePES.xsd` and `NS_Recette/r0/Class_LigneTitreAller.xsd`)."""

    # EnTetePES/IdPost (Base_TexteCodique7): the poste comptable's codique, 6 or 7 digits (or 02A/02B + 3-4 digits).
    id_post: Annotated[str, Field(pattern=r"^(\d{6,7}|02[AB]\d{3,4})$")]
    # EnTetePES/IdColl (Base_Num14_Light): the budget collectivité's SIRET, 14 digits.
    id_coll: Annotated[str, Field(pattern=r"^\d{14}$")]
    # EnTetePES/CodCol (Base_CodeCol3): the collectivité's code in Hélios, 3 characters.
    cod_col: Annotated[str, Field(pattern=r"^[0-9A-Z]{3}$")]
    # EnTetePES/CodBud (Base_CodeBud2): the budget's code, 2 characters.
    cod_bud: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
    # InfoLignePiece/CodProdLoc (Base_Alphanum4): the local product code of every line…
    cod_prod_loc: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,4}$")]
    # …or per service code (`[regies.pes.products] alsh = "ALSH"`), the lines of other services keeping cod_prod_loc.
    products: dict[str, Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,4}$")]] = Field(default_factory=dict)
    # InfoLignePiece/Nature (Base_Num12): the imputation by nature; the schema proposes 588 for ORMC titres.
    nature: Annotated[str, Field(pattern=r"^\d{1,12}$")] = "588"
    # InfoLignePiece/Fonction (Base_Num10_Light): the function code (M14, M52, M57, M71 only); "" = not sent.
    fonction: Annotated[str, Field(pattern=r"^(\d{1,10})?$")] = ""
    libelle_col_bud: Annotated[str, Field(max_length=38)] = ""  # EnTetePES/LibelleColBud, optional
    objet: Annotated[str, Field(max_length=160)] = ""  # BlocBordereau/Objet; "" = « Factures <régie> <période> »


@dataclass(frozen=True, config=STRICT)
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
    # Hélios codes for the PES V2 ORMC export of the régie's invoices (None: the export refuses, PES_NOT_CONFIGURED).
    pes: PesConfig | None = None


@dataclass(frozen=True, config=STRICT)
class Choice:
    """One entry of a configurable list (medical question, authorisation, document type…)."""

    code: str
    label: str
    requires_text: bool = False
    help: str = ""
    scope: Literal["household", "child"] = "household"
    required_by: StrList = ()
    handled_by: StrList = ()


@dataclass(frozen=True, config=STRICT)
class SmtpConfig:
    host: str = ""
    port: int = Field(default=25, ge=1, le=65535)
    username: str = ""
    password: str = ""
    use_tls: bool = False
    start_tls: bool = False
    sender: str = "Portail Famille <ne-pas-repondre@portail-famille.local>"
    max_attempts: int = Field(default=8, ge=1)


@dataclass(frozen=True, config=STRICT)
class SecurityConfig:
    session_hours: int = Field(default=12, ge=1)
    remember_me_days: int = Field(default=30, ge=1)
    confirm_token_hours: int = Field(default=72, ge=1)
    reset_token_hours: int = Field(default=2, ge=1)
    failed_login_window_minutes: int = Field(default=15, ge=1)
    max_failed_logins_per_account: int = Field(default=5, ge=1)
    max_failed_logins_per_ip: int = Field(default=30, ge=1)
    cookie_secure: bool = False
    graphql_max_depth: int = Field(default=12, ge=0)
    graphql_max_aliases: int = Field(default=30, ge=0)
    graphql_max_tokens: int = Field(default=4000, ge=0)
    introspection: bool = True
    # Request size, enforced while the body is read (core/http_security.py): JSON bodies, the GraphQL
    # document itself, and how many files of `[storage] max_upload_bytes` one multipart request may carry.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_query_chars: int = Field(default=100_000, ge=100)
    max_upload_files: int = Field(default=5, ge=1)
    # Origins of single-page front ends allowed to call the API with credentials (CORS), e.g.
    # ["https://famille.example.org"]; empty: same origin only.
    cors_origins: StrList = ()
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks); empty: none.
    trusted_proxies: StrList = ()
    # GraphiQL at GET /graphql, served from the package (no CDN); off whenever introspection is off.
    graphiql: bool = True


@dataclass(frozen=True, config=STRICT)
class LoggingConfig:
    """`[logging]`: lines on standard error, human-readable or one JSON object per line."""

    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


@dataclass(frozen=True, config=STRICT)
class MetricsConfig:
    """`[metrics]`: Prometheus exposition (docs/operations.md)."""

    enabled: bool = True
    path: str = Field(default="/metrics", pattern=r"^/[A-Za-z0-9_./-]*$")
    # When set (24 characters or more, e.g. from PORTAIL_METRICS__TOKEN), `GET <path>` needs
    # `Authorization: Bearer <token>` (Prometheus: `authorization: {credentials: …}`); empty: open, to
    # be restricted by the reverse proxy.
    token: str = Field(default="", pattern=r"^(|[!-~]{24,})$")


@dataclass(frozen=True, config=STRICT)
class BackgroundConfig:
    """`[background]`: the in-process worker of each server process: outbox every `poll_seconds`,
    maintenance once across the cluster every `maintenance_minutes`."""

    poll_seconds: float = Field(default=15.0, gt=0)
    maintenance_minutes: int = Field(default=60, ge=1)


@dataclass(frozen=True, config=STRICT)
class AccountsConfig:
    """`[accounts]`: who besides admins may open access to a household.

    `opening_services` lists the service codes whose agents may open a household's account and create
    a household from scratch (seed guide 001: « le compte est ouvert par les services »). Empty: admins only.
    """

    opening_services: StrList = ()


@dataclass(frozen=True, config=STRICT)
class PluginsSection:
    enabled: StrList = ()


@dataclass(frozen=True, config=STRICT)
class DatabaseSection:
    url: str = "sqlite://data/portail.sqlite3"


@dataclass(frozen=True, config=STRICT)
class StorageSection:
    path: str = "data/files"
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1)


@dataclass(frozen=True, config=STRICT)
class HouseholdsSection:
    medical_questions: tuple[Choice, ...] = ()
    authorizations: tuple[Choice, ...] = ()


@dataclass(frozen=True, config=STRICT)
class DemarchesSection:
    """`[demarches]`: which service handles each démarche type.

    `handling_services` maps a démarche type code to a service code or a service kind
    (`inscription_scolaire = "scolaire_latresne"`); it overrides the type's own default (a built-in
    school registration goes to the « scolaire » kind, a plugin type names its own)."""

    handling_services: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True, config=STRICT)
class Activity:
    """A tariff grid shown to families (« Tarifs »); `grid` is checked by `core.billing.rules`."""

    code: str
    label: str
    service: str = ""
    grid: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, config=STRICT)
class BillingConfig:
    activities: tuple[Activity, ...] = ()


@dataclass(frozen=True, config=STRICT)
class PayfipRegie:
    numcli: str = ""


@dataclass(frozen=True, config=STRICT)
class PayfipConfig:
    numcli: str = ""
    base_url: str = ""  # empty: the DGFiP endpoint
    payment_url: str = "https://www.payfip.gouv.fr/tpa/paiementws.web"
    saisie: Literal["T", "X", "W"] = "T"  # T = test, X = activation, W = production
    timeout: float = Field(default=15.0, gt=0)
    pending_minutes: float = Field(default=20, gt=0)  # an operation without result is then expired
    regies: dict[str, PayfipRegie] = Field(default_factory=dict)


class ConfigFile(BaseModel):
    """The TOML file, section by section, exactly as written (no unknown section or key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    community: Community
    plugins: PluginsSection = PluginsSection()
    database: DatabaseSection = DatabaseSection()
    storage: StorageSection = StorageSection()
    smtp: SmtpConfig = SmtpConfig()
    security: SecurityConfig = SecurityConfig()
    accounts: AccountsConfig = AccountsConfig()
    services: tuple[ServiceConfig, ...] = ()
    regies: tuple[RegieConfig, ...] = ()
    households: HouseholdsSection = HouseholdsSection()
    demarches: DemarchesSection = DemarchesSection()
    document_types: tuple[Choice, ...] = ()
    billing: BillingConfig = BillingConfig()
    payfip: PayfipConfig = PayfipConfig()
    rgpd: RetentionPolicy = RetentionPolicy()  # durations and their sources: core/rgpd/rules.py
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()
    background: BackgroundConfig = BackgroundConfig()
    plugin: dict[str, dict[str, Any]] = Field(default_factory=dict)


# ---- the settings the code reads ---------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
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
    accounts: AccountsConfig = AccountsConfig()
    billing: BillingConfig = BillingConfig()
    payfip: PayfipConfig = PayfipConfig()
    rgpd: RetentionPolicy = RetentionPolicy()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()
    background: BackgroundConfig = BackgroundConfig()
    demarches: DemarchesSection = DemarchesSection()
    # The validated sections as plain data (`section()`, `plugin_config()`); plugin tables are
    # replaced by their validated values when the plugins are loaded.
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    origin: ConfigOrigin | None = dataclasses.field(default=None, compare=False, repr=False)

    def plugin_config(self, name: str) -> dict[str, Any]:
        """The `[plugin.<name>]` table (validated by the plugin's model; empty when absent)."""
        return dict(self.raw.get("plugin", {}).get(name, {}))

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.raw.get(name, {}))

    def service(self, code: str) -> ServiceConfig | None:
        return next((s for s in self.services if s.code == code), None)

    def regie(self, code: str) -> RegieConfig | None:
        return next((r for r in self.regies if r.code == code), None)


@dataclasses.dataclass
class ConfigOrigin:
    """Where each value came from: the file's own tables and the environment variables applied."""

    path: Path
    file_data: dict[str, Any]
    env: dict[tuple[str, ...], str]  # key path -> environment variable name

    def label(self) -> str:
        return str(self.path)

    def env_var(self, loc: tuple[Any, ...]) -> str | None:
        for length in range(len(loc), 0, -1):
            name = self.env.get(tuple(str(p) for p in loc[:length]))
            if name:
                return name
        return None

    def source(self, loc: tuple[Any, ...]) -> str:
        name = self.env_var(loc)
        if name:
            return f"env {name}"
        node: Any = self.file_data
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                return "défaut"
        return "fichier"

    def line(self, loc: tuple[Any, ...], message: str) -> str:
        """One line: file, section and key, environment variable, what is wrong."""
        where = describe_location(loc)
        env = self.env_var(loc)
        return f"{self.label()}: {where}{f' ({env})' if env else ''} : {message}"


# ---- environment layering ------------------------------------------------------------------------
SECTION_NAMES = tuple(ConfigFile.model_fields)


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: Any, var: str, origin: ConfigOrigin) -> None:
    node: Any = data
    for i, part in enumerate(path[:-1]):
        child = node.get(part) if isinstance(node, dict) else None
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(origin.line(path[: i + 1], f"{var} ne peut pas remplacer un élément d'une liste"))
        node = child
    node[path[-1]] = value


def apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str], origin: ConfigOrigin) -> dict[str, Any]:
    """Environment wins over the file. Values stay strings here; the section models type them."""
    errors: list[str] = []
    for var in sorted(environ):
        value = environ[var]
        if var == "DATABASE_URL":
            path: tuple[str, ...] = ("database", "url")
        elif var == "PORTAIL_PLUGINS":
            path = ("plugins", "enabled")
        elif var.startswith(ENV_PREFIX) and "__" in var:
            path = tuple(p.lower() for p in var[len(ENV_PREFIX):].split("__"))
            if not all(path):
                errors.append(f"{var} : nom de variable invalide (PORTAIL_SECTION__CLE)")
                continue
        else:
            rest = var[len(ENV_PREFIX):].lower() if var.startswith(ENV_PREFIX) else ""
            section = next((s for s in SECTION_NAMES if rest.startswith(s + "_")), None)
            if section:  # PORTAIL_SMTP_HOST: a single underscore, silently ignored before
                errors.append(f"{var} : variable ignorée, écrivez PORTAIL_{section.upper()}__"
                              f"{rest[len(section) + 1:].upper()} (deux « _ » entre section et clé)")
            continue
        origin.env[path] = var
        try:
            _set_path(data, path, value, var, origin)
        except ConfigError as exc:
            errors.extend(exc.lines)
    if errors:
        raise ConfigError(errors)
    return data


# ---- error messages ------------------------------------------------------------------------------
SECRET_KEY_RE = re.compile(r"(^|_)(password|passwd|secret|token|api_key|private_key)$", re.IGNORECASE)


def is_secret(key: str) -> bool:
    """A key whose value `config show` and error messages never print (`smtp.password`…)."""
    return bool(SECRET_KEY_RE.search(key))


def mask_url(value: str) -> str:
    """`postgres://user:pw@host/db` -> `postgres://user:***@host/db`."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^:/@]*):[^@/]*@", r"\1:***@", value, flags=re.IGNORECASE)


def mask(key: str, value: Any) -> Any:
    if is_secret(key) and value not in ("", None):
        return "***"
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def describe_location(loc: tuple[Any, ...]) -> str:
    """('smtp', 'port') -> "[smtp] port"; ('services', 2, 'code') -> "[[services]] n°3 code"."""
    parts = list(loc)
    if not parts:
        return "fichier"
    if parts[0] == "plugin" and len(parts) >= 2:
        head, rest = f"[plugin.{parts[1]}]", parts[2:]
    elif len(parts) >= 2 and isinstance(parts[1], int):
        head, rest = f"[[{parts[0]}]] n°{parts[1] + 1}", parts[2:]
    else:
        head, rest = f"[{parts[0]}]", parts[1:]
    key = ""
    for part in rest:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return f"{head} {key}".strip()


def _fields_of(model: Any) -> dict[str, Any]:
    fields = getattr(model, "__pydantic_fields__", None)
    return {name: info.annotation for name, info in fields.items()} if fields else {}


def _model_at(model: Any, loc: tuple[Any, ...]) -> Any:
    """The model class that holds the last key of `loc` (for "did you mean…")."""
    current: Any = model
    for part in loc:
        while get_origin(current) in (tuple, list, dict) or get_origin(current) is Annotated:
            args = [a for a in get_args(current) if a is not Ellipsis]
            current = args[-1] if args else None
        if isinstance(part, int):
            continue
        current = _fields_of(current).get(part)
        if current is None:
            return None
    while get_origin(current) in (tuple, list, dict):
        args = [a for a in get_args(current) if a is not Ellipsis]
        current = args[-1] if args else None
    return current


_MESSAGES = {
    "missing": "clé obligatoire absente",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "float_parsing": "nombre attendu",
    "float_type": "nombre attendu",
    "bool_parsing": "booléen attendu (true ou false)",
    "bool_type": "booléen attendu (true ou false)",
    "string_type": "texte attendu (entre guillemets dans le fichier)",
    "tuple_type": "liste attendue",
    "list_type": "liste attendue",
    "dict_type": "table attendue",
    "model_type": "table attendue",
    "dataclass_type": "table attendue",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_type": "date attendue (AAAA-MM-JJ)",
}


def _message(error: Mapping[str, Any], root_model: Any, loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        parent = _model_at(root_model, loc[:-1]) if root_model is not None else None
        known = [k for k in _fields_of(parent) if k != "secret_key"]
        if loc[-1] == "secret_key":
            return "clé retirée : secret_key n'est lue par rien (voir CHANGELOG), supprimez-la"
        what = "section inconnue" if len(loc) == 1 else "clé inconnue"
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            return f"{what}, vouliez-vous dire « {close[0]} » ?"
        return f"{what}" + (f" (clés possibles : {', '.join(known)})" if known else "")
    if kind == "literal_error":
        text = f"valeur attendue parmi {ctx.get('expected', '')}"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        sign = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}[kind]
        text = f"valeur {sign} {bound} attendue"
    elif kind == "value_error":
        text = str(ctx.get("error") or error["msg"])
    else:
        text = _MESSAGES.get(kind, error["msg"])
    if kind != "missing" and not isinstance(error.get("input"), dict | list | tuple):
        key = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
        text += f", reçu « {mask(key, error.get('input'))} »"
    return text


def validation_lines(exc: ValidationError, origin: ConfigOrigin, *, prefix: tuple[Any, ...] = (),
                     root_model: Any = None) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        lines.append(origin.line(prefix + loc, _message(error, root_model, loc)))
    return lines


# ---- cross checks --------------------------------------------------------------------------------
def cross_check(cfg: ConfigFile, origin: ConfigOrigin) -> list[str]:
    """What one field alone cannot say: references between sections, unique codes, bank details."""
    from schwifty import BIC, IBAN
    from schwifty.exceptions import SchwiftyException

    from core.billing.rules import TariffConfigError, tariff_grid_from_config
    from core.calendar import CalendarError, normalize_subdivision, normalize_zone
    from core.plugins import available_plugins

    lines: list[str] = []
    for key, check in (("holiday_subdivision", normalize_subdivision), ("school_zone", normalize_zone)):
        try:
            check(getattr(cfg.community, key))
        except CalendarError as exc:
            lines.append(origin.line(("community", key), str(exc)))
    for name, items in (("services", cfg.services), ("regies", cfg.regies), ("document_types", cfg.document_types)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.code in seen:
                lines.append(origin.line((name, i, "code"), f"code « {item.code} » en double"))
            seen.add(item.code)
    regies = {r.code for r in cfg.regies}
    for i, service in enumerate(cfg.services):
        if service.regie and service.regie not in regies:
            lines.append(origin.line(("services", i, "regie"), f"régie « {service.regie} » inconnue "
                                     f"(régies : {', '.join(sorted(regies)) or 'aucune'})"))
    services = {s.code for s in cfg.services}
    for code in cfg.accounts.opening_services:
        if code not in services:
            lines.append(origin.line(("accounts", "opening_services"), f"service « {code} » inconnu"))
    kinds = {s.kind for s in cfg.services}
    for type_code, target in cfg.demarches.handling_services.items():
        if target and target not in services and target not in kinds:
            lines.append(origin.line(("demarches", "handling_services", type_code),
                                     f"« {target} » n'est ni un service, ni un type de service"))
    requirers = {s.code for s in cfg.services} | {s.kind for s in cfg.services} | set(available_plugins())
    for i, doc in enumerate(cfg.document_types):
        for key in ("required_by", "handled_by"):
            for code in getattr(doc, key):
                if code not in requirers:
                    lines.append(origin.line(("document_types", i, key),
                                             f"« {code} » n'est ni un service, ni un type de service, ni un plugin"))
    for i, regie in enumerate(cfg.regies):
        if regie.creditor_iban:
            try:
                IBAN(regie.creditor_iban)
            except SchwiftyException as exc:
                lines.append(origin.line(("regies", i, "creditor_iban"), f"IBAN invalide ({exc})"))
        if regie.creditor_bic:
            try:
                BIC(regie.creditor_bic)
            except SchwiftyException as exc:
                lines.append(origin.line(("regies", i, "creditor_bic"), f"BIC invalide ({exc})"))
        for service_code in (regie.pes.products if regie.pes else {}):
            if service_code not in services:
                lines.append(origin.line(("regies", i, "pes", "products", service_code),
                                         f"service « {service_code} » inconnu"))
    for i, activity in enumerate(cfg.billing.activities):
        if activity.service and activity.service not in services:
            lines.append(origin.line(("billing", "activities", i, "service"), f"service « {activity.service} » inconnu"))
        try:
            tariff_grid_from_config(activity.grid)
        except TariffConfigError as exc:
            lines.append(origin.line(("billing", "activities", i, "grid"), str(exc)))
    for code in cfg.payfip.regies:
        if code not in regies:
            lines.append(origin.line(("payfip", "regies", code), f"régie « {code} » inconnue"))
    return lines


# ---- loading -------------------------------------------------------------------------------------
def _postgres_url(url: str) -> str:
    # Tortoise names the asyncpg scheme "postgres"; accept the usual "postgresql" spellings too.
    for prefix in ("postgresql+asyncpg://", "postgresql://", "asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix):]
    return url


def settings_from_file(cfg: ConfigFile, base_dir: Path, origin: ConfigOrigin | None = None) -> Settings:
    storage_path = Path(cfg.storage.path)
    if not storage_path.is_absolute():
        storage_path = base_dir / storage_path
    same_name = {f.name for f in dataclasses.fields(Settings)} & set(ConfigFile.model_fields)
    return Settings(
        **{name: getattr(cfg, name) for name in same_name},
        database_url=_postgres_url(cfg.database.url),
        enabled_plugins=tuple(cfg.plugins.enabled),
        storage_path=storage_path,
        max_upload_bytes=cfg.storage.max_upload_bytes,
        medical_questions=cfg.households.medical_questions,
        authorizations=cfg.households.authorizations,
        raw=cfg.model_dump(mode="python"),
        origin=origin,
    )


def settings_from_dict(raw: Mapping[str, Any], base_dir: Path, *, label: str = "configuration") -> Settings:
    """Validate an in-memory configuration (tools, tests) exactly like a file, without the environment."""
    origin = ConfigOrigin(path=Path(label), file_data=_copy(dict(raw)), env={})
    try:
        cfg = ConfigFile.model_validate(_copy(dict(raw)))
    except ValidationError as exc:
        raise ConfigError(validation_lines(exc, origin, root_model=ConfigFile)) from None
    problems = cross_check(cfg, origin)
    if problems:
        raise ConfigError(problems)
    return settings_from_file(cfg, base_dir, origin)


def config_path(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None, *,
                allow_demo: bool = False) -> Path:
    """The file to read: an explicit path, `PORTAIL_CONFIG`, `./portail.toml`; nothing else is guessed."""
    environ = os.environ if environ is None else environ
    if path:
        if not Path(path).is_file():
            raise ConfigError(f"{path}: fichier de configuration introuvable")
        return Path(path)
    if environ.get("PORTAIL_CONFIG"):
        named = Path(environ["PORTAIL_CONFIG"])
        if not named.is_file():
            raise ConfigError(f"{named}: fichier de configuration introuvable (PORTAIL_CONFIG)")
        return named
    if Path("portail.toml").is_file():
        return Path("portail.toml")
    if allow_demo:
        return BUNDLED_DEMO_CONFIG
    raise ConfigError("aucun fichier de configuration : indiquez-le avec PORTAIL_CONFIG=/chemin/portail.toml "
                      "(ou --config), ou créez ./portail.toml ; `portail demo` utilise la configuration "
                      "de démonstration")


def merge_tables(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`overrides` laid over `base` (a copy): tables merge key by key, any other value replaces."""
    merged = _copy(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = _copy(dict(value) if isinstance(value, Mapping) else value)
    return merged


def load_settings(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None, *,
                  allow_demo: bool = False, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read, layer and validate the configuration; raise `ConfigError` naming every mistake.

    `overrides` (TOML-shaped, tools and tests) is merged over the file, before the environment."""
    environ = dict(os.environ if environ is None else environ)
    file = config_path(path, environ, allow_demo=allow_demo)
    try:
        file_data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: TOML invalide : {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{file}: illisible : {exc.strerror}") from None
    if overrides:
        file_data = merge_tables(file_data, overrides)
    origin = ConfigOrigin(path=file, file_data=file_data, env={})
    data = apply_env_overrides(_copy(file_data), environ, origin)
    try:
        cfg = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_lines(exc, origin, root_model=ConfigFile)) from None
    problems = cross_check(cfg, origin)
    if problems:
        raise ConfigError(problems)
    base_dir = Path.cwd() if file.resolve() == BUNDLED_DEMO_CONFIG.resolve() else file.resolve().parent
    return settings_from_file(cfg, base_dir, origin)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def validate_plugin_section(settings: Settings, name: str, model: type[BaseModel]) -> BaseModel:
    """Validate `[plugin.<name>]` with the plugin's model; keep its typed values in `settings.raw`."""
    section = settings.raw.setdefault("plugin", {}).get(name, {})
    origin = settings.origin or ConfigOrigin(path=Path("configuration"), file_data={}, env={})
    try:
        value = model.model_validate(section)
    except ValidationError as exc:
        raise ConfigError(validation_lines(exc, origin, prefix=("plugin", name), root_model=model)) from None
    settings.raw["plugin"][name] = value.model_dump(mode="json", exclude_unset=True)
    return value


def effective_values(settings: Settings, plugin_models: Mapping[str, type[BaseModel]] | None = None
                     ) -> list[tuple[str, Any, str]]:
    """Every leaf value of the effective configuration: (dotted key, value masked, source)."""
    origin = settings.origin
    data = _copy(settings.raw)
    for name, model in (plugin_models or {}).items():
        if name in settings.enabled_plugins:
            data.setdefault("plugin", {})[name] = model.model_validate(
                data.get("plugin", {}).get(name, {})).model_dump(mode="json")
    out: list[tuple[str, Any, str]] = []

    def walk(node: Any, loc: tuple[Any, ...]) -> None:
        if isinstance(node, dict) and node:
            for key, child in node.items():
                walk(child, (*loc, key))
            return
        if isinstance(node, list | tuple) and node and all(isinstance(x, dict) for x in node) and loc[-1] != "grid":
            for i, child in enumerate(node):
                walk(child, (*loc, i))
            return
        key = ".".join(f"{p}" if i == 0 else (f"[{p}]" if isinstance(p, int) else f".{p}") for i, p in enumerate(loc))
        key = key.replace("..", ".").replace(".[", "[")
        last = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
        value = mask(last, list(node) if isinstance(node, tuple) else node)
        out.append((key, value, origin.source(loc) if origin else "défaut"))

    walk(data, ())
    return out


_active: Settings | None = None


def activate(settings: Settings) -> Settings:
    """Make `settings` the process-wide configuration (the app factory and tests call this)."""
    global _active
    _active = settings
    return settings


def get_settings() -> Settings:
    """The active configuration, loaded from file and environment on first use."""
    return _active if _active is not None else activate(load_settings())
