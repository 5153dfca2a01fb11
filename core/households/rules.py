"""Pure rules of the household file: ages, input checks, and what is missing in a file.

No I/O here: the service loads the rows, these functions decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.config import Choice
from core.errors import ValidationError
from core.households.models import FamilySituation, Regime

SEXES = ("", "F", "M")


@dataclass(frozen=True)
class Age:
    years: int
    months: int


def child_age(birth_date: date | None, today: date) -> Age | None:
    """Completed years and months on `today` (Europe/Paris), None for a child not born yet.

    Worked examples: born 2020-03-15, on 2026-03-14 -> 5 years 11 months, on 2026-03-15 -> 6 years
    0 month. Born 2024-01-31, on 2024-02-29 -> 0 year 0 month (the 31st has not come back yet),
    on 2024-03-31 -> 0 year 2 months.
    """
    if birth_date is None or birth_date > today:
        return None
    months = (today.year - birth_date.year) * 12 + (today.month - birth_date.month)
    if today.day < birth_date.day:
        months -= 1
    return Age(years=months // 12, months=months % 12)


def check_child_dates(birth_date: date | None, expected_birth_date: date | None, today: date) -> None:
    """A born child has a birth date not in the future, an expected child ("à naître") a due date
    in the future and no birth date."""
    if birth_date is not None:
        if birth_date > today:
            raise ValidationError("La date de naissance ne peut pas être dans le futur.",
                                  code="BIRTH_DATE_IN_FUTURE", field="birthDate")
        if birth_date.year < today.year - 30:
            raise ValidationError("Date de naissance invalide.", code="INVALID_BIRTH_DATE", field="birthDate")
        return
    if expected_birth_date is None:
        raise ValidationError("La date de naissance est obligatoire.", code="BIRTH_DATE_REQUIRED", field="birthDate")
    if expected_birth_date <= today:
        raise ValidationError("La date de naissance prévue doit être dans le futur.",
                              code="EXPECTED_BIRTH_DATE_NOT_IN_FUTURE", field="expectedBirthDate")


def required_text(value: str | None, field: str, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(f"{label} : champ obligatoire.", code="REQUIRED", field=field)
    return text


def check_choice(value: str, choices: Sequence[str], field: str, code: str) -> str:
    value = (value or "").strip()
    if value and value not in choices:
        raise ValidationError(f"Valeur inconnue : {value}. Valeurs possibles : {', '.join(choices)}.",
                              code=code, field=field)
    return value


def check_family_situation(value: str) -> str:
    return check_choice(value, FamilySituation.CHOICES, "familySituation", "INVALID_FAMILY_SITUATION")


def check_regime(value: str) -> str:
    return check_choice(value, Regime.CHOICES, "regime", "INVALID_REGIME")


def check_sex(value: str) -> str:
    return check_choice((value or "").upper(), SEXES[1:], "sex", "INVALID_SEX")


def check_non_negative(value: int | None, field: str) -> int | None:
    if value is not None and value < 0:
        raise ValidationError("La valeur ne peut pas être négative.", code="NEGATIVE_VALUE", field=field)
    return value


def check_income_date(income_given_on: date | None, today: date) -> date | None:
    if income_given_on is not None and income_given_on > today:
        raise ValidationError("La date ne peut pas être dans le futur.", code="DATE_IN_FUTURE", field="incomeGivenOn")
    return income_given_on


def medical_answers(answers: Iterable[tuple[str, bool, str]], questions: Sequence[Choice],
                    antecedents: str = "") -> dict[str, dict[str, Any]]:
    """Check the answers `(code, yes/no, text)` to the configured questions and return what is stored.

    Every configured question must be answered; a question with `requires_text` answered yes needs
    a text (its own, or the "antécédents médicaux" as the guide of CC de l'Estuaire says: "lorsque
    vous validez « autre » il est nécessaire de préciser la maladie").
    """
    by_code = {q.code: q for q in questions}
    stored: dict[str, dict[str, Any]] = {}
    for code, answer, text in answers:
        question = by_code.get(code)
        if question is None:
            raise ValidationError(f"Question inconnue : {code}.", code="UNKNOWN_QUESTION", field="answers")
        if code in stored:
            raise ValidationError(f"Question en double : {code}.", code="DUPLICATE_ANSWER", field="answers")
        text = (text or "").strip()
        if question.requires_text and answer and not (text or (antecedents or "").strip()):
            raise ValidationError(f"« {question.label} » : précisez la maladie.",
                                  code="MEDICAL_TEXT_REQUIRED", field="answers", details={"question": code})
        stored[code] = {"answer": bool(answer), "text": text}
    missing = [q.code for q in questions if q.code not in stored]
    if missing:
        raise ValidationError("Répondez à toutes les questions médicales.", code="MEDICAL_ANSWER_REQUIRED",
                              field="answers", details={"questions": missing})
    return stored


def authorization_answers(answers: Iterable[tuple[str, bool]], choices: Sequence[Choice],
                          current: Mapping[str, bool] | None = None) -> dict[str, bool]:
    """Merge yes/no answers into the current ones; an unknown code is rejected."""
    known = {c.code for c in choices}
    stored = {k: bool(v) for k, v in (current or {}).items() if k in known}
    for code, granted in answers:
        if code not in known:
            raise ValidationError(f"Autorisation inconnue : {code}.", code="UNKNOWN_AUTHORIZATION", field="answers")
        stored[code] = bool(granted)
    return stored


def check_authorized_person(last_name: str, phone_mobile: str, phone_home: str) -> None:
    required_text(last_name, "lastName", "Nom")
    if not (phone_mobile or "").strip() and not (phone_home or "").strip():
        raise ValidationError("Indiquez au moins un numéro de téléphone.", code="PHONE_REQUIRED", field="phoneMobile")


# ---- completeness of the file (September update, ALSH booking gate) -------------------------------
@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    child_id: int | None = None


def _child_name(child: Any) -> str:
    return f"{child.first_name}".strip() or "l'enfant"


def household_problems(household: Any, responsables: Sequence[Any]) -> list[Problem]:
    out: list[Problem] = []
    if not any(r.rank == 1 for r in responsables):
        out.append(Problem("RESPONSABLE_MISSING", "Le responsable du foyer n'est pas renseigné."))
    if not (household.address_line1.strip() and household.postal_code.strip() and household.city.strip()):
        out.append(Problem("ADDRESS_MISSING", "L'adresse du foyer est incomplète."))
    phones = [household.phone] + [p for r in responsables for p in (r.phone_mobile, r.phone_home, r.phone_work)]
    if not any((p or "").strip() for p in phones):
        out.append(Problem("PHONE_MISSING", "Aucun numéro de téléphone n'est renseigné."))
    if not household.family_situation:
        out.append(Problem("FAMILY_SITUATION_MISSING", "La situation familiale n'est pas renseignée."))
    if not household.regime:
        out.append(Problem("REGIME_MISSING", "Le régime d'appartenance (général, MSA, autre) n'est pas renseigné."))
    if (not household.allocataire_number.strip() and household.quotient_familial is None
            and household.reference_income_cents is None):
        out.append(Problem("INCOME_MISSING", "Renseignez votre numéro d'allocataire CAF / MSA ou vos revenus "
                                             "de référence (sinon le tarif maximum s'applique)."))
    return out


def child_problems(child: Any, people: Sequence[Any], settings: Any) -> list[Problem]:
    """What is missing for one child; an expected child ("à naître") has nothing to fill in yet."""
    if child.birth_date is None:
        return []
    name = _child_name(child)
    out: list[Problem] = []
    answers = child.medical_answers or {}
    if any(q.code not in answers for q in settings.medical_questions):
        out.append(Problem("MEDICAL_MISSING", f"Les renseignements médicaux de {name} ne sont pas complets.", child.id))
    granted = child.authorizations or {}
    if any(a.code not in granted for a in settings.authorizations):
        out.append(Problem("AUTHORIZATIONS_MISSING", f"Les autorisations de {name} ne sont pas toutes renseignées.",
                           child.id))
    if not any(p.is_contact or p.may_collect for p in people):
        out.append(Problem("CONTACT_MISSING", f"Aucune personne à contacter ou autorisée à récupérer {name}.",
                           child.id))
    return out


def file_problems(household: Any, responsables: Sequence[Any], children: Sequence[Any], settings: Any,
                  people_by_child: Mapping[int, Sequence[Any]] | None = None) -> list[Problem]:
    """Everything missing in a household file, household first then child by child.

    `people_by_child` maps a child id to its authorized people; when omitted, each child's
    prefetched `authorized_people` is used.
    """
    out = household_problems(household, responsables)
    for child in children:
        if people_by_child is not None:
            people = list(people_by_child.get(child.id, ()))
        else:
            people = list(child.authorized_people)
        out.extend(child_problems(child, people, settings))
    return out


# ---- structured postal address ----------------------------------------------------------------
@dataclass(frozen=True)
class PostalAddress:
    """A structured postal address (ISO 20022 PostalAddress6 / 24): town and country always, street
    and building number in their own fields. Since 15 November 2026 the SEPA schemes accept only
    structured or hybrid addresses (EPC guidance EPC153-22 v2.1, « Provision of Addresses », §4)."""

    town: str
    country: str
    postal_code: str = ""
    street_name: str = ""
    building_number: str = ""

    @property
    def complete(self) -> bool:
        return bool(self.town.strip()) and len(self.country) == 2


_STREET_NUMBER = re.compile(r"^(\d+(?:\s*(?:bis|ter|quater|[a-d])\b)?)[\s,]+(.+)$", re.IGNORECASE)


def split_street(line: str) -> tuple[str, str]:
    """A French street line into (building number, street name):
    "12 bis rue de la Paix" -> ("12 bis", "rue de la Paix"), "3, allée des Pins" -> ("3", "allée des Pins"),
    "Lieu-dit Le Bourg" -> ("", "Lieu-dit Le Bourg")."""
    text = " ".join((line or "").split())
    match = _STREET_NUMBER.match(text)
    if match:
        return " ".join(match.group(1).lower().split()), match.group(2).strip()
    return "", text


def street_line(building_number: str, street_name: str) -> str:
    """The display line of a structured street: ("12 bis", "rue de la Paix") -> "12 bis rue de la Paix"."""
    return " ".join(part for part in (building_number.strip(), street_name.strip()) if part)


def check_country(code: str | None) -> str:
    """An ISO 3166-1 alpha-2 country code known to CLDR (Babel): " fr" -> "FR"."""
    from babel import Locale

    value = (code or "").strip().upper()
    if len(value) != 2 or value not in Locale("fr").territories:
        raise ValidationError("Pays inconnu : indiquez le code ISO à deux lettres (FR, BE, CH…).",
                              code="INVALID_COUNTRY", field="country")
    return value


def postal_address(household: Any) -> PostalAddress:
    """The household's address in structured form (street split from the display line when only that
    line is known, as for files created before the address was structured)."""
    number, street = household.street_number, household.street_name
    if not (number or street):
        number, street = split_street(household.address_line1)
    return PostalAddress(town=household.city.strip(), country=(household.country or "FR").upper(),
                         postal_code=household.postal_code.strip(), street_name=street, building_number=number)


# ---- household search ---------------------------------------------------------------------------
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d"})


def search_key(*parts: str | None) -> str:
    """What staff search compares: lower case, accents and punctuation dropped, so that « Hélène
    LE GOFF-DURAND » and « helene le goff durand » are the same text."""
    import unicodedata

    text = unicodedata.normalize("NFKD", " ".join(p or "" for p in parts))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().translate(_LIGATURES)
    return " ".join(re.sub(r"[^0-9a-z@.]+", " ", text).split())


SEARCH_TEXT_MAX = 2000  # Household.search_text (a varchar on PostgreSQL: longer would be a driver error)


def search_index(*parts: str | None, max_length: int = SEARCH_TEXT_MAX) -> str:
    """`Household.search_text`: the distinct words of `search_key`, in first-seen order (a family of
    five « Le Goff » holds « le goff » once), cut at a word boundary to fit the column."""
    words = list(dict.fromkeys(search_key(*parts).split()))
    text = " ".join(words)
    if len(text) <= max_length:
        return text
    return text[:max_length + 1].rsplit(" ", 1)[0]


def search_tokens(text: str) -> list[str]:
    """The words of a staff query, each of which a household must contain (at most 8)."""
    return search_key(text).split()[:8]


def search_rank(name_key: str, tokens: Sequence[str]) -> int:
    """Higher first: the household name is the query (3), starts with it (2), one of its words starts
    with the first word (1), the words are found elsewhere in the file (0)."""
    query = " ".join(tokens)
    if name_key == query:
        return 3
    if name_key.startswith(query):
        return 2
    if tokens and any(word.startswith(tokens[0]) for word in name_key.split()):
        return 1
    return 0
