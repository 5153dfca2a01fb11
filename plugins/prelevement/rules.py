"""Pure rules of SEPA direct debit (no I/O): IBAN / BIC checks, RUM, sequence types, lapse, amounts.

Worked examples:
- "fr76 3000 1007 9412 3456 7890 185" -> IBAN "FR7630001007941234567890185", masked
  "FR76 **** **** **** **** ***0 185".
- A BIC must name the same country as the IBAN ("DEUTDEFF" with a French IBAN is refused),
  except the French overseas banks (BIC country RE, GP, MQ… with an FR IBAN).
- RUM "CDC-000042-20261123-7F3A9C" (<= 35 characters, A-Z 0-9 and "-").
- Sequence types (EPC SDD Core rulebook, since the November 2016 version): first collection of a
  mandate FRST, then RCUR, one-off mandate OOFF, last collection FNAL. A change of debtor account
  keeps the mandate (same RUM) and sends the amendment on the next collection: since Nov 2016 that
  collection is RCUR with AmdmntInd=true and, when the debtor changed bank, OrgnlDbtrAcct "SMNDA"
  (Same Mandate New Debtor Agent). Under the rulebooks before 2016 a change of debtor bank made
  the next collection FRST again (`rulebook_2016=False`).
- A mandate with no collection for 36 months lapses (rulebook 4.5.1): last collection 2023-01-10
  -> still valid on 2026-01-10, lapsed on 2026-01-11.
- Amounts are integer cents: 1234 -> "12.34" in the XML, control sum of 1234 + 66 -> "13.00".
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from core.errors import ValidationError

SEQ_FRST = "FRST"
SEQ_RCUR = "RCUR"
SEQ_OOFF = "OOFF"
SEQ_FNAL = "FNAL"
SEQUENCE_TYPES = (SEQ_FRST, SEQ_RCUR, SEQ_OOFF, SEQ_FNAL)

SMNDA = "SMNDA"
LAPSE_MONTHS = 36
RUM_MAX = 35
SEPA_FORMATS = ("pain.008.001.08", "pain.008.001.02")

# Reason codes of R-transactions most seen on SDD Core (ISO 20022 ExternalStatusReason1Code).
REJECT_REASONS = {
    "AC01": "Numéro de compte incorrect",
    "AC04": "Compte clôturé",
    "AC06": "Compte bloqué",
    "AG01": "Transaction interdite sur ce type de compte",
    "AM04": "Provision insuffisante",
    "MD01": "Pas de mandat",
    "MD02": "Informations du mandat manquantes ou erronées",
    "MD06": "Remboursement demandé par le débiteur",
    "MD07": "Débiteur décédé",
    "MS02": "Refus du débiteur",
    "MS03": "Raison non précisée",
    "RC01": "BIC incorrect",
    "SL01": "Service spécifique de la banque du débiteur",
}

# EEA + the other SEPA scheme countries and territories (EPC409-09, 2024).
SEPA_COUNTRIES = frozenset(
    "AD AT BE BG CH CY CZ DE DK EE ES FI FR GB GI GR HR HU IE IS IT LI LT LU LV MC MT NL NO PL PT "
    "RO SE SI SK SM VA AX BL GF GP MF MQ PM RE YT GG IM JE".split()
)
# Banks of the French overseas departments have BICs with their own country code and FR IBANs.
_FR_BIC_COUNTRIES = frozenset("FR GP MQ GF RE YT PM BL MF NC PF WF MC".split())

_ALLOWED_RUM = re.compile(r"^[A-Z0-9+?/:().,' -]{1,35}$")


@dataclass(frozen=True)
class BankAccount:
    iban: str
    bic: str
    bank_name: str
    country: str


def _compact(value: str) -> str:
    return "".join((value or "").split()).upper()


def normalize_iban(raw: str) -> str:
    """Validate and return the compact IBAN: spaces and case ignored, checksum and SEPA zone checked."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    value = _compact(raw)
    if not value:
        raise ValidationError("L'IBAN est obligatoire.", code="REQUIRED", field="iban")
    try:
        iban = IBAN(value)
    except SchwiftyException as exc:
        raise ValidationError("IBAN invalide : vérifiez les caractères saisis (clé de contrôle incorrecte "
                              "ou longueur inattendue).", code="INVALID_IBAN", field="iban") from exc
    if iban.country_code not in SEPA_COUNTRIES:
        raise ValidationError("Cet IBAN n'appartient pas à la zone SEPA : le prélèvement est impossible.",
                              code="INVALID_IBAN", field="iban")
    return str(iban.compact)


def normalize_bic(raw: str, iban: str) -> str:
    """Validate the BIC (8 or 11 characters) and its consistency with the IBAN's country.

    An empty BIC is derived from the IBAN when the bank registry knows it."""
    from schwifty import BIC, IBAN
    from schwifty.exceptions import SchwiftyException

    value = _compact(raw)
    if not value:
        derived = IBAN(iban).bic
        if derived is None:
            raise ValidationError("Le BIC est obligatoire.", code="REQUIRED", field="bic")
        return str(derived.compact)
    try:
        bic = BIC(value)
    except SchwiftyException as exc:
        raise ValidationError("BIC invalide : 8 ou 11 caractères (ex. BNPAFRPPXXX).", code="INVALID_BIC",
                              field="bic") from exc
    iban_country = iban[:2]
    bic_country = bic.country_code
    same = bic_country == iban_country or (iban_country == "FR" and bic_country in _FR_BIC_COUNTRIES)
    if not same:
        raise ValidationError("Le BIC ne correspond pas au pays de l'IBAN.", code="INVALID_BIC", field="bic")
    return str(bic.compact)


def bank_name_for(iban: str, bic: str) -> str:
    """The bank's name from the registries shipped with schwifty ("" when unknown)."""
    from schwifty import BIC, IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        name = IBAN(iban).bank_name
    except SchwiftyException:
        name = None
    if not name:
        try:
            names = BIC(bic).bank_names
            name = names[0] if names else None
        except SchwiftyException:
            name = None
    return name or ""


def check_account(iban: str, bic: str, bank_name: str = "") -> BankAccount:
    """The whole check a family's form goes through; bank name derived when not given."""
    iban_c = normalize_iban(iban)
    bic_c = normalize_bic(bic, iban_c)
    name = bank_name_for(iban_c, bic_c) or (bank_name or "").strip()
    if not name:
        raise ValidationError("Indiquez le nom de votre banque.", code="REQUIRED", field="bankName")
    return BankAccount(iban=iban_c, bic=bic_c, bank_name=name[:140], country=iban_c[:2])


def mask_iban(iban: str) -> str:
    """"FR7630001007941234567890185" -> "FR76 **** **** **** **** ***0 185" (country, key, last 4)."""
    compact = _compact(iban)
    if len(compact) < 8:
        return "****"
    masked = compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return " ".join(masked[i:i + 4] for i in range(0, len(masked), 4))


def sepa_text(value: str, max_len: int = 140) -> str:
    """Text restricted to the SEPA Latin character set (accents removed), trimmed to `max_len`."""
    ascii_text = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    cleaned = _SPACES.sub(" ", _NOT_SEPA.sub(" ", ascii_text)).strip()
    return cleaned[:max_len] or "-"


# compiled once: a 10,000-debit file cleans some 300,000 values
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/?:().,'+ -]")
_SPACES = re.compile(r"\s+")


def build_rum(regie_code: str, household_id: int, created_on: date, token: str | None = None) -> str:
    """Unique Mandate Reference: "<REGIE>-<household>-<yyyymmdd>-<random>", <= 35 SEPA characters.

    The random part (6 hex digits by default) keeps two mandates created the same day distinct; the
    database's unique constraint is the final guard."""
    prefix = re.sub(r"[^A-Z0-9]", "", regie_code.upper())[:10] or "PF"
    suffix = (token or secrets.token_hex(3)).upper()
    rum = f"{prefix}-{household_id:06d}-{created_on:%Y%m%d}-{suffix}"
    rum = rum[:RUM_MAX]
    if not _ALLOWED_RUM.match(rum):
        raise ValueError(f"RUM invalide : {rum!r}")
    return rum


def is_valid_rum(rum: str) -> bool:
    return bool(_ALLOWED_RUM.match(rum or "")) and not rum.startswith(" ") and not rum.endswith(" ")


@dataclass(frozen=True)
class Amendment:
    """What a collection must say about a changed mandate (AmdmntInfDtls)."""

    original_iban: str = ""
    new_debtor_agent: bool = False  # the debtor changed bank: OrgnlDbtrAcct = "SMNDA"

    @property
    def pending(self) -> bool:
        return bool(self.original_iban) or self.new_debtor_agent


def sequence_type(*, one_off: bool = False, has_previous_collection: bool, final: bool = False,
                  amendment: Amendment | None = None, rulebook_2016: bool = True) -> str:
    """FRST / RCUR / OOFF / FNAL of the next collection of a mandate (see module docstring)."""
    if one_off:
        return SEQ_OOFF
    if not has_previous_collection:
        return SEQ_FRST
    if amendment is not None and amendment.new_debtor_agent and not rulebook_2016:
        return SEQ_FRST
    if final:
        return SEQ_FNAL
    return SEQ_RCUR


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def is_lapsed(reference: date | None, on: date) -> bool:
    """True when a mandate unused since `reference` (last collection, else signature/activation)
    has lapsed on `on`: 36 months without collection."""
    if reference is None:
        return False
    return on > add_months(reference, LAPSE_MONTHS)


def check_paper_signature(signed_on: date, on: date) -> None:
    """A paper mandate registered at the desk carries the date the debtor signed it: not in the
    future (a mandate is valid from its signature, EPC SDD Core rulebook PT-04.12 / AT-25 « date of
    signing »), and not so old that it has already lapsed unused (36 months, rulebook 4.5.1 — the
    same rule `is_lapsed` applies to active mandates).

    Worked examples (registered on 2026-11-24): signed 2026-11-24 or 2023-11-24 is accepted;
    2026-11-25 is SIGNED_ON_IN_FUTURE; 2023-11-23 is SIGNED_ON_TOO_OLD (it lapsed on 2026-11-24)."""
    if signed_on > on:
        raise ValidationError("La date de signature du mandat ne peut pas être dans le futur.",
                              code="SIGNED_ON_IN_FUTURE", field="signedOn")
    if is_lapsed(signed_on, on):
        raise ValidationError(f"Un mandat signé il y a plus de {LAPSE_MONTHS} mois sans avoir servi est caduc : "
                              "faites signer un nouveau mandat.", code="SIGNED_ON_TOO_OLD", field="signedOn")


def amount_text(cents: int) -> str:
    """Integer cents -> XML decimal with two digits ("12.34")."""
    if cents < 0:
        raise ValueError("montant négatif")
    return f"{cents // 100}.{cents % 100:02d}"


def control_sum(amounts: Iterable[int]) -> int:
    return sum(int(a) for a in amounts)


def should_suspend(reject_count: int, max_rejects: int) -> bool:
    return max_rejects > 0 and reject_count >= max_rejects


def first_of_month(day: date) -> date:
    return day.replace(day=1)


# ---- creditor identifier (ICS) ----------------------------------------------------------------
_ICS_SHAPE = re.compile(r"^([A-Z]{2})(\d{2})([A-Z0-9]{3})([A-Z0-9]{1,28})$")


def is_valid_ics(ics: str) -> bool:
    """The SEPA creditor identifier's check digits (EPC262-08 « Creditor Identifier Overview »,
    ISO 7064 MOD 97-10): positions 3-4 are computed over the national identifier (from position 8)
    followed by the country code and "00", letters as A=10 … Z=35; the creditor business code
    (positions 5-7, "ZZZ" by default) is left out. "FR72ZZZ123456" is valid, "FR45ZZZ123456" not."""
    match = _ICS_SHAPE.match(_compact(ics))
    if not match:
        return False
    country, check, _business_code, national = match.groups()
    digits = "".join(str(int(c, 36)) for c in national + country + "00")
    return 98 - int(digits) % 97 == int(check)


# ---- TARGET2 calendar, due dates and pre-notification -----------------------------------------
DEFAULT_PRENOTIFICATION_DAYS = 14


def is_target_day(day: date) -> bool:
    """A TARGET2 business day: not a weekend nor a TARGET closing day (1 January, Good Friday,
    Easter Monday, 1 May, 25 and 26 December — ECB, « TARGET2 closing days »), as published in the
    `holidays` package's ECB financial calendar."""
    import holidays

    return day.weekday() < 5 and day not in holidays.financial_holidays("XECB", years=day.year)


def next_target_day(day: date) -> date:
    """The first TARGET business day strictly after `day`."""
    candidate = day + timedelta(days=1)
    while not is_target_day(candidate):
        candidate += timedelta(days=1)
    return candidate


def earliest_due_date(built_on: date, prenotification_days: int = DEFAULT_PRENOTIFICATION_DAYS) -> date:
    """The first collection date a file built on `built_on` may ask for.

    Two rules (EPC SDD Core rulebook 2025, §4.3 « time cycle »): the collection must reach the debtor
    bank at the latest one TARGET business day before the due date (D-1 since November 2016), so a
    whole TARGET business day must stand between the day the file is built and the due date; and the
    debtor must receive the pre-notification at least 14 calendar days before the due date unless the
    mandate says otherwise (rulebook PT-02.02, configurable in `[plugin.prelevement]
    prenotification_days`). The due date itself is a TARGET business day (settlement day)."""
    business = next_target_day(next_target_day(built_on))
    notified = built_on + timedelta(days=max(prenotification_days, 0))
    earliest = max(business, notified)
    return earliest if is_target_day(earliest) else next_target_day(earliest)


def check_due_date(built_on: date, due_date: date, prenotification_days: int = DEFAULT_PRENOTIFICATION_DAYS) -> None:
    """Raise a ValidationError with a precise code unless `due_date` respects `earliest_due_date`.

    Worked examples (files built on Monday 2 November 2026, pre-notification 14 days): 2026-11-16
    is accepted; 2026-11-13 is PRENOTIFICATION_TOO_LATE; with no pre-notification delay, Tuesday
    2026-11-03 is DUE_DATE_TOO_SOON (no whole TARGET day in between), Wednesday 2026-11-04 is
    accepted, Saturday 2026-11-07 is NOT_A_TARGET_DAY."""
    from babel.dates import format_date

    if due_date < built_on:
        raise ValidationError("La date d'échéance ne peut pas être passée.", code="INVALID_DUE_DATE", field="dueDate")
    earliest = earliest_due_date(built_on, prenotification_days)
    shown = format_date(earliest, "EEEE d MMMM y", locale="fr_FR")
    if not is_target_day(due_date):
        raise ValidationError(f"Le {format_date(due_date, 'd MMMM y', locale='fr_FR')} n'est pas un jour "
                              f"ouvré TARGET (week-end ou jour férié bancaire) : choisissez une autre échéance, "
                              f"au plus tôt le {shown}.", code="NOT_A_TARGET_DAY", field="dueDate")
    if due_date < built_on + _days(prenotification_days):
        raise ValidationError(f"Les familles doivent être prévenues au moins {prenotification_days} jours "
                              f"avant le prélèvement : choisissez une échéance à partir du {shown}.",
                              code="PRENOTIFICATION_TOO_LATE", field="dueDate")
    if due_date < earliest:
        raise ValidationError(f"La banque doit recevoir le fichier au moins un jour ouvré TARGET avant "
                              f"l'échéance : choisissez une échéance à partir du {shown}.",
                              code="DUE_DATE_TOO_SOON", field="dueDate")


def _days(count: int) -> timedelta:
    return timedelta(days=max(count, 0))


# ---- postal addresses (EPC guidance EPC153-22 v2.1, « Provision of Addresses ») ---------------
# The European Economic Area: the EU 27 with their outermost regions, Iceland, Liechtenstein and
# Norway. A debtor whose bank is in a SEPA country outside it (CH, GB, MC, SM, VA, AD, GI, the
# Channel Islands, the Isle of Man…) must be given with a postal address (Regulation (EU) 2023/1113
# on information accompanying transfers, and SDD Core rulebook 2025 attribute AT-09).
EEA_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK "
    "IS LI NO AX GF GP MQ RE YT MF".split()
)


def address_required(debtor_iban: str) -> bool:
    """True when the debtor's bank (the IBAN's country) is outside the EEA."""
    return _compact(debtor_iban)[:2] not in EEA_COUNTRIES
