"""Pure rules of the household file, with worked examples."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from core.config import Choice
from core.errors import ValidationError
from core.households import rules

QUESTIONS = (Choice("asthme", "Asthme"), Choice("autre", "Autre", requires_text=True))
AUTHS = (Choice("photos", "Photos"), Choice("sorties", "Sorties"))
SETTINGS = SimpleNamespace(medical_questions=QUESTIONS, authorizations=AUTHS)


@pytest.mark.parametrize(("birth", "on", "years", "months"), [
    (date(2020, 3, 15), date(2026, 3, 14), 5, 11),
    (date(2020, 3, 15), date(2026, 3, 15), 6, 0),
    (date(2024, 1, 31), date(2024, 2, 29), 0, 0),
    (date(2024, 1, 31), date(2024, 3, 31), 0, 2),
    (date(2019, 12, 1), date(2026, 11, 23), 6, 11),
])
def test_child_age_worked_examples(birth, on, years, months):
    assert rules.child_age(birth, on) == rules.Age(years, months)


def test_child_age_none_for_expected_child():
    assert rules.child_age(None, date(2026, 1, 1)) is None
    assert rules.child_age(date(2026, 2, 1), date(2026, 1, 1)) is None


def test_child_dates():
    today = date(2026, 9, 1)
    rules.check_child_dates(date(2026, 9, 1), None, today)  # born today
    rules.check_child_dates(None, date(2026, 12, 1), today)  # à naître
    for birth, expected, code in [(date(2026, 9, 2), None, "BIRTH_DATE_IN_FUTURE"),
                                  (None, None, "BIRTH_DATE_REQUIRED"),
                                  (None, date(2026, 9, 1), "EXPECTED_BIRTH_DATE_NOT_IN_FUTURE"),
                                  (date(1900, 1, 1), None, "INVALID_BIRTH_DATE")]:
        with pytest.raises(ValidationError) as exc:
            rules.check_child_dates(birth, expected, today)
        assert exc.value.code == code


def test_medical_answers():
    stored = rules.medical_answers([("asthme", True, ""), ("autre", True, "Eczéma")], QUESTIONS)
    assert stored == {"asthme": {"answer": True, "text": ""}, "autre": {"answer": True, "text": "Eczéma"}}
    # the CC de l'Estuaire guide: the text of « autre » may be written in « antécédents médicaux »
    assert rules.medical_answers([("asthme", False, ""), ("autre", True, "")], QUESTIONS, antecedents="Eczéma")
    cases = [([("asthme", False, ""), ("autre", True, "  ")], "MEDICAL_TEXT_REQUIRED"),
             ([("asthme", False, "")], "MEDICAL_ANSWER_REQUIRED"),
             ([("asthme", False, ""), ("autre", False, ""), ("diabolo", False, "")], "UNKNOWN_QUESTION"),
             ([("asthme", False, ""), ("asthme", True, ""), ("autre", False, "")], "DUPLICATE_ANSWER")]
    for answers, code in cases:
        with pytest.raises(ValidationError) as exc:
            rules.medical_answers(answers, QUESTIONS)
        assert (exc.value.code, exc.value.field) == (code, "answers")


def test_authorization_answers_merge_and_reject_unknown():
    assert rules.authorization_answers([("photos", False)], AUTHS, {"sorties": True, "old": True}) == \
        {"sorties": True, "photos": False}
    with pytest.raises(ValidationError) as exc:
        rules.authorization_answers([("baignade", True)], AUTHS)
    assert exc.value.code == "UNKNOWN_AUTHORIZATION"


def _household(**kw):
    base = dict(address_line1="1 rue", postal_code="33360", city="LATRESNE", phone="0556000000",
                family_situation="marie", regime="general", allocataire_number="123", quotient_familial=None,
                reference_income_cents=None)
    return SimpleNamespace(**{**base, **kw})


def test_file_problems_lists_what_is_missing():
    resp = [SimpleNamespace(rank=1, phone_mobile="", phone_home="", phone_work="")]
    complete_child = SimpleNamespace(id=1, first_name="Léa", birth_date=date(2020, 1, 1),
                                     medical_answers={"asthme": {}, "autre": {}},
                                     authorizations={"photos": True, "sorties": False})
    contact = SimpleNamespace(is_contact=True, may_collect=False)
    assert rules.file_problems(_household(), resp, [complete_child], SETTINGS, {1: [contact]}) == []

    bare = SimpleNamespace(id=2, first_name="Tom", birth_date=date(2021, 1, 1), medical_answers={"asthme": {}},
                           authorizations={"photos": True})
    unborn = SimpleNamespace(id=3, first_name="Bébé", birth_date=None, medical_answers={}, authorizations={})
    problems = rules.file_problems(_household(address_line1="", regime="", allocataire_number="", phone=""), [],
                                   [complete_child, bare, unborn], SETTINGS, {1: [contact]})
    assert [(p.code, p.child_id) for p in problems] == [
        ("RESPONSABLE_MISSING", None), ("ADDRESS_MISSING", None), ("PHONE_MISSING", None),
        ("REGIME_MISSING", None), ("INCOME_MISSING", None),
        ("MEDICAL_MISSING", 2), ("AUTHORIZATIONS_MISSING", 2), ("CONTACT_MISSING", 2)]
    # a reference income replaces the allocataire number
    assert not rules.household_problems(_household(allocataire_number="", reference_income_cents=3_000_000), resp)


@pytest.mark.parametrize("line,parts", [
    ("12 bis rue de la Paix", ("12 bis", "rue de la Paix")),
    ("3, allée des Pins", ("3", "allée des Pins")),
    ("7B  avenue Foch", ("7b", "avenue Foch")),
    ("Lieu-dit Le Bourg", ("", "Lieu-dit Le Bourg")),
    ("1789", ("", "1789")),  # a number alone is not a street
    ("", ("", "")),
])
def test_street_line_split_into_number_and_street(line, parts):
    assert rules.split_street(line) == parts


def test_postal_address_from_an_old_file_and_country_codes():
    class Old:
        street_number, street_name, address_line1 = "", "", "5 place du Marché"
        postal_code, city, country = "33360", "LATRESNE", "fr"

    assert rules.postal_address(Old()) == rules.PostalAddress(
        town="LATRESNE", country="FR", postal_code="33360", street_name="place du Marché", building_number="5")
    assert rules.check_country(" ch ") == "CH"
    for bad in ("", "XX", "FRA", None):
        with pytest.raises(ValidationError) as err:
            rules.check_country(bad)
        assert err.value.code == "INVALID_COUNTRY"


def test_search_key_ignores_accents_case_and_punctuation():
    assert rules.search_key("Hélène LE GOFF-Durand", "h.duval@exemple.fr") == "helene le goff durand h.duval@exemple.fr"
    assert rules.search_key("Œdipe", "  Zoë ") == "oedipe zoe"
    assert rules.search_tokens("  HÉLÈNE   le-goff ") == ["helene", "le", "goff"]


def test_search_index_keeps_each_word_once_and_fits_its_column():
    assert rules.search_index("LE GOFF", "Anne", "Le Goff", "Paul", "Le Goff") == "le goff anne paul"
    many = [f"Prenom{i}" for i in range(600)]  # a bench household with 600 children
    text = rules.search_index("Martin", *many)
    assert len(text) <= rules.SEARCH_TEXT_MAX and text.startswith("martin prenom0 ") and not text.endswith(" ")
    assert set(text.split()) <= {"martin", *(name.lower() for name in many)}  # no word cut in half


def test_search_rank_puts_the_household_name_first():
    tokens = ["martin"]
    ranks = {name: rules.search_rank(name, tokens) for name in ("martin", "martinez", "le martin", "dupont")}
    assert ranks == {"martin": 3, "martinez": 2, "le martin": 1, "dupont": 0}
