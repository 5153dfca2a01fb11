"""Pure rules of SEPA direct debit: IBAN / BIC edge cases, RUM, sequence types, lapse, amounts."""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import ValidationError
from plugins.prelevement import rules

FR_IBAN = "FR7630001007941234567890185"


@pytest.mark.parametrize("raw", [
    "FR76 3000 1007 9412 3456 7890 185",
    "fr7630001007941234567890185",
    "  fr76 3000 1007 9412\t3456 7890 185 ",
])
def test_iban_spaces_and_case_are_normalised(raw):
    assert rules.normalize_iban(raw) == FR_IBAN


@pytest.mark.parametrize("raw", [
    "FR7630001007941234567890186",  # bad checksum (last digit)
    "FR7730001007941234567890185",  # bad check digits
    "FR76300010079412345678901",  # too short
    "XX7630001007941234567890185",  # unknown country
    "FR76 3000 1007 9412 3456 7890 18!",
])
def test_invalid_iban_names_the_field(raw):
    with pytest.raises(ValidationError) as err:
        rules.normalize_iban(raw)
    assert (err.value.code, err.value.field) == ("INVALID_IBAN", "iban")


def test_empty_iban_is_required():
    with pytest.raises(ValidationError) as err:
        rules.normalize_iban("   ")
    assert (err.value.code, err.value.field) == ("REQUIRED", "iban")


def test_iban_outside_sepa_zone_is_refused():
    # A valid Brazilian IBAN (checksum right) is not in the SEPA zone.
    with pytest.raises(ValidationError) as err:
        rules.normalize_iban("BR1800360305000010009795493C1")
    assert (err.value.code, err.value.field) == ("INVALID_IBAN", "iban")
    assert "zone SEPA" in err.value.message


def test_sepa_but_non_eu_countries_are_accepted():
    assert rules.normalize_iban("CH93 0076 2011 6238 5295 7") == "CH9300762011623852957"
    assert rules.normalize_iban("GB29 NWBK 6016 1331 9268 19") == "GB29NWBK60161331926819"


def test_bic_normalised_and_checked_against_iban_country():
    assert rules.normalize_bic(" bdfe frpp xxx ", FR_IBAN) == "BDFEFRPPXXX"
    assert rules.normalize_bic("AGRIFRPP", FR_IBAN) == "AGRIFRPP"
    with pytest.raises(ValidationError) as err:
        rules.normalize_bic("COBADEFFXXX", FR_IBAN)  # German BIC with a French IBAN
    assert (err.value.code, err.value.field) == ("INVALID_BIC", "bic")
    with pytest.raises(ValidationError) as err:
        rules.normalize_bic("BDFEFR", FR_IBAN)  # wrong length
    assert (err.value.code, err.value.field) == ("INVALID_BIC", "bic")
    # French overseas banks: FR IBAN, BIC country RE.
    assert rules.normalize_bic("BNPARERXXXX", FR_IBAN) == "BNPARERXXXX"


def test_empty_bic_is_derived_from_the_iban_and_bank_name_found():
    account = rules.check_account("FR76 3000 6000 0112 3456 7890 189", "")
    assert account.bic.startswith("AGRIFRPP")
    assert account.bank_name == "CREDIT AGRICOLE SA"
    assert rules.check_account(FR_IBAN, "BDFEFRPPXXX").bank_name == "BANQUE DE FRANCE"


def test_mask_iban_keeps_country_key_and_last_four():
    assert rules.mask_iban(FR_IBAN) == "FR76 **** **** **** **** ***0 185"
    assert rules.mask_iban("FR1420041010050500013M02606") == "FR14 **** **** **** **** ***2 606"
    assert "3000" not in rules.mask_iban(FR_IBAN)


def test_rum_is_short_sepa_safe_and_unique():
    rum = rules.build_rum("st_caprais", 42, date(2026, 11, 23), token="7f3a9c")
    assert rum == "STCAPRAIS-000042-20261123-7F3A9C"
    assert len(rum) <= 35 and rules.is_valid_rum(rum)
    long_code = rules.build_rum("une_regie_au_nom_tres_long_vraiment", 1234567, date(2026, 1, 1))
    assert len(long_code) <= 35 and rules.is_valid_rum(long_code)
    many = {rules.build_rum("cdc", 1, date(2026, 1, 1)) for _ in range(2000)}
    assert len(many) >= 1990  # random part: the DB unique constraint catches the rare collision
    assert not rules.is_valid_rum("RUM_AVEC_ÉACCENT")


def test_sequence_types():
    # First collection of a new mandate, then recurrent ones.
    assert rules.sequence_type(has_previous_collection=False) == "FRST"
    assert rules.sequence_type(has_previous_collection=True) == "RCUR"
    # A new mandate (new RUM) starts again with FRST.
    assert rules.sequence_type(has_previous_collection=False, amendment=rules.Amendment()) == "FRST"
    assert rules.sequence_type(one_off=True, has_previous_collection=False) == "OOFF"
    assert rules.sequence_type(has_previous_collection=True, final=True) == "FNAL"
    # Change of debtor bank (SMNDA): RCUR since the Nov 2016 rulebook, FRST before.
    smnda = rules.Amendment(new_debtor_agent=True)
    assert rules.sequence_type(has_previous_collection=True, amendment=smnda) == "RCUR"
    assert rules.sequence_type(has_previous_collection=True, amendment=smnda, rulebook_2016=False) == "FRST"
    # Same bank, other account: always RCUR with the original IBAN.
    same_bank = rules.Amendment(original_iban=FR_IBAN)
    assert same_bank.pending
    assert rules.sequence_type(has_previous_collection=True, amendment=same_bank, rulebook_2016=False) == "RCUR"


def test_mandate_lapses_after_36_months_without_collection():
    last = date(2023, 1, 10)
    assert not rules.is_lapsed(last, date(2026, 1, 10))
    assert rules.is_lapsed(last, date(2026, 1, 11))
    assert not rules.is_lapsed(None, date(2030, 1, 1))
    assert rules.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def test_amounts_in_cents():
    assert rules.amount_text(1234) == "12.34"
    assert rules.amount_text(5) == "0.05"
    assert rules.amount_text(100000) == "1000.00"
    assert rules.amount_text(rules.control_sum([1234, 66])) == "13.00"
    with pytest.raises(ValueError):
        rules.amount_text(-1)


def test_sepa_text_strips_accents_and_forbidden_characters():
    assert rules.sepa_text("Élodie Müller & fils") == "Elodie Muller fils"
    assert rules.sepa_text("x" * 200, 70) == "x" * 70
    assert rules.sepa_text("") == "-"


def test_suspension_threshold():
    assert not rules.should_suspend(1, 2)
    assert rules.should_suspend(2, 2)
    assert not rules.should_suspend(5, 0)  # 0 = never suspend


# ---- ICS, TARGET days, due dates, addresses (rulebook 2025) ------------------------------------
@pytest.mark.parametrize("ics,valid", [
    ("FR72ZZZ123456", True),   # EPC262-08 worked example shape; check digits recomputed by hand
    ("FR19ZZZ654321", True),
    ("fr72 zzz 123456", True),  # spaces and case ignored
    ("FR45ZZZ123456", False),  # the demo's old, wrong key
    ("FR12ZZZ654321", False),
    ("DE98ZZZ09999999999", True),  # the Deutsche Bundesbank's published example
    ("FR72ZZZ", False),
    ("", False),
])
def test_creditor_identifier_check_digits(ics, valid):
    assert rules.is_valid_ics(ics) is valid


def test_target_closing_days_and_weekends():
    assert not rules.is_target_day(date(2026, 4, 3))  # Good Friday
    assert not rules.is_target_day(date(2026, 4, 6))  # Easter Monday
    assert not rules.is_target_day(date(2026, 12, 26))  # 26 December (a Saturday anyway)
    assert not rules.is_target_day(date(2026, 5, 1))
    assert not rules.is_target_day(date(2026, 11, 7))  # Saturday
    assert rules.is_target_day(date(2026, 11, 11))  # French public holiday, but TARGET is open
    assert rules.next_target_day(date(2026, 12, 24)) == date(2026, 12, 28)


def test_earliest_due_date_worked_examples():
    monday = date(2026, 11, 2)
    assert rules.earliest_due_date(monday) == date(2026, 11, 16)  # 14 days of pre-notification
    assert rules.earliest_due_date(monday, 0) == date(2026, 11, 4)  # one whole TARGET day in between
    assert rules.earliest_due_date(date(2026, 11, 6), 0) == date(2026, 11, 10)  # Friday: Monday in between
    # Built on 20 March 2026: 14 days later is Friday 3 April, Good Friday -> Tuesday 7 April.
    assert rules.earliest_due_date(date(2026, 3, 20)) == date(2026, 4, 7)


@pytest.mark.parametrize("due,code", [
    (date(2026, 11, 13), "PRENOTIFICATION_TOO_LATE"),
    (date(2026, 11, 14), "NOT_A_TARGET_DAY"),
    (date(2026, 11, 1), "INVALID_DUE_DATE"),
    (date(2026, 11, 16), None),
])
def test_check_due_date_codes(due, code):
    if code is None:
        rules.check_due_date(date(2026, 11, 2), due)
        return
    with pytest.raises(ValidationError) as err:
        rules.check_due_date(date(2026, 11, 2), due)
    assert err.value.code == code and err.value.field == "dueDate"


def test_due_date_too_soon_for_the_bank():
    with pytest.raises(ValidationError) as err:
        rules.check_due_date(date(2026, 11, 2), date(2026, 11, 3), 0)
    assert err.value.code == "DUE_DATE_TOO_SOON"
    assert "mercredi 4 novembre 2026" in err.value.message


@pytest.mark.parametrize("iban,required", [
    ("FR7630006000011234567890189", False),
    ("DE89370400440532013000", False),
    ("CH9300762011623852957", True),
    ("GB29NWBK60161331926819", True),
    ("MC5811222000010123456789030", True),
    ("SM86U0322509800000000270100", True),
])
def test_address_required_outside_the_eea(iban, required):
    assert rules.address_required(iban) is required



@pytest.mark.parametrize(("signed", "code"), [(date(2026, 11, 24), None), (date(2023, 11, 24), None),
                                              (date(2026, 11, 25), "SIGNED_ON_IN_FUTURE"),
                                              (date(2023, 11, 23), "SIGNED_ON_TOO_OLD")])
def test_paper_signature_date_worked_examples(signed, code):
    """Registered on 2026-11-24: signed that day or exactly 36 months before is fine; a day in the
    future, or a day before the 36 months (lapsed unused, rulebook 4.5.1), is refused."""
    on = date(2026, 11, 24)
    if code is None:
        rules.check_paper_signature(signed, on)
        return
    with pytest.raises(ValidationError) as err:
        rules.check_paper_signature(signed, on)
    assert (err.value.code, err.value.field) == (code, "signedOn")
