"""Pure rules of ALSH bookings, with the worked examples of plugins/alsh_paj/rules.py."""

from __future__ import annotations

from datetime import date, datetime

from core.timeutil import PARIS
from plugins.alsh_paj import rules

UNITS = {
    1: rules.UnitRule(1, "JOURNEE_REPAS", "MERCREDI JOURNEE AVEC REPAS", excludes=("MATIN_SANS_REPAS",)),
    2: rules.UnitRule(2, "MATIN_SANS_REPAS", "MERCREDI MATIN SANS REPAS", excludes=("JOURNEE_REPAS",)),
    3: rules.UnitRule(3, "REPAS", "REPAS", requires=("MATIN_SANS_REPAS",)),
}


def test_age_on_birthday_boundary():
    assert rules.age_on(date(2017, 5, 10), date(2023, 5, 9)) == 5
    assert rules.age_on(date(2017, 5, 10), date(2023, 5, 10)) == 6
    assert rules.age_allowed(date(2017, 5, 10), date(2023, 5, 10), 6, 11)
    assert not rules.age_allowed(date(2017, 5, 10), date(2023, 5, 9), 6, 11)
    assert not rules.age_allowed(date(2010, 1, 1), date(2023, 5, 9), 3, 12)  # 13 years old
    assert not rules.age_allowed(None, date(2023, 5, 9), 3, 12)


def test_deadline_calendar_days():
    # Wednesday 26/04/2023, "2 days before at 12:00" -> Monday 24/04/2023 12:00 Paris.
    assert rules.cancellation_deadline(date(2023, 4, 26), 2, "12:00") == datetime(2023, 4, 24, 12, 0, tzinfo=PARIS)


def test_deadline_working_days_skips_weekend_and_public_holiday():
    # Wednesday 10/05/2023: Tuesday 9 counts, Monday 8 May is a public holiday, the weekend is skipped.
    assert rules.cancellation_deadline(date(2023, 5, 10), 2, "12:00", working_days=True) == \
        datetime(2023, 5, 5, 12, 0, tzinfo=PARIS)
    # Wednesday 03/05/2023: Tuesday 2, then Monday 1 May (Fête du Travail) skipped -> Friday 28/04.
    assert rules.cancellation_deadline(date(2023, 5, 3), 2, "18:30", working_days=True) == \
        datetime(2023, 4, 28, 18, 30, tzinfo=PARIS)
    # Same days counted as calendar days: Monday 1 May.
    assert rules.cancellation_deadline(date(2023, 5, 3), 2, "18:30").date() == date(2023, 5, 1)


def test_public_holidays_and_bookable_days():
    assert rules.public_holiday(date(2023, 5, 8)) is not None
    assert rules.public_holiday(date(2023, 5, 10)) is None
    # Wednesdays of May 2023 minus a closed day (17/05).
    days = rules.bookable_days(date(2023, 5, 1), date(2023, 5, 31), [3], [date(2023, 5, 17)])
    assert days == [date(2023, 5, 3), date(2023, 5, 10), date(2023, 5, 24), date(2023, 5, 31)]
    # Monday 1 May and Monday 8 May are holidays: no Monday of early May is open.
    assert rules.bookable_days(date(2023, 5, 1), date(2023, 5, 8), [1], []) == []


def test_exclusion_and_requirement():
    d = date(2023, 5, 10)
    problems = rules.check_day_rules({d: {1, 2}}, UNITS)
    assert {p.code for p in problems} == {"UNIT_EXCLUDED"}
    assert "ne peuvent pas être réservés le même jour" in problems[0].message
    problems = rules.check_day_rules({d: {3}}, UNITS)
    assert [p.code for p in problems] == ["UNIT_REQUIRES"]
    assert rules.check_day_rules({d: {2, 3}}, UNITS) == []
    assert rules.check_day_rules({d: {1}}, UNITS) == []


def test_expand_copy_weekdays_and_range():
    open_days = [date(2023, 4, 26), date(2023, 5, 3), date(2023, 5, 10), date(2023, 5, 17), date(2023, 5, 24)]
    out = rules.expand_copy({date(2023, 4, 26): {2}}, date(2023, 4, 26), date(2023, 5, 17), None, open_days)
    assert sorted(out) == open_days[:4] and all(v == {2} for v in out.values())
    # a weekday filter that excludes Wednesday keeps only the source day
    assert rules.expand_copy({date(2023, 4, 26): {2}}, date(2023, 4, 26), date(2023, 5, 31), [1], open_days) == \
        {date(2023, 4, 26): {2}}
    # a range after the source day: the source day is not returned
    out = rules.expand_copy({date(2023, 4, 26): {2}}, date(2023, 5, 10), date(2023, 5, 24), None, open_days)
    assert sorted(out) == open_days[2:]


def test_prerequisites_message_pending_versus_missing():
    msg = rules.prerequisites_message([
        {"kind": "child_file", "code": "MEDICAL_MISSING", "label": "Fiche sanitaire incomplète"},
        {"kind": "document", "code": "carnet_sante", "label": "Carnet de santé", "status": "pending"},
        {"kind": "document", "code": "attestation_assurance", "label": "Attestation d'assurance", "status": "missing"},
        {"kind": "document", "code": "photo", "label": "Photo", "status": "refused"}])
    assert msg == ("Pour accéder aux réservations, le dossier de l'enfant doit être complet et les documents "
                   "demandés validés par le service. À compléter : Fiche sanitaire incomplète. À transmettre : "
                   "Attestation d'assurance, Photo (refusé, à transmettre de nouveau). Transmis, en attente de "
                   "validation : Carnet de santé.")


def test_window_number_and_absence_delay():
    opens = datetime(2023, 4, 1, 8, 0, tzinfo=PARIS)
    closes = datetime(2023, 4, 8, 8, 0, tzinfo=PARIS)
    assert rules.window_open(datetime(2023, 4, 5, tzinfo=PARIS), opens, closes)
    assert not rules.window_open(closes, opens, closes)
    assert rules.booking_number(5) == "00005"
    assert rules.absence_justified_in_time(date(2023, 5, 10), date(2023, 5, 13))
    assert not rules.absence_justified_in_time(date(2023, 5, 10), date(2023, 5, 14))


def test_effective_state_expiry():
    d, before, after = date(2023, 5, 10), date(2023, 5, 9), date(2023, 5, 11)
    assert rules.effective_state("en_attente", d, before) == "en_attente"
    assert rules.effective_state("en_attente", d, after) == "expiree"
    assert rules.effective_state("liste_attente", d, after) == "expiree"
    assert rules.effective_state("demande_annulation", d, after) == "demande_annulation_expiree"
    assert rules.effective_state("acceptee", d, after) == "acceptee"


def test_waiting_ranks_count_each_unit_and_day_apart_in_arrival_order():
    d1, d2 = date(2026, 4, 1), date(2026, 4, 8)
    waiting = [(10, 1, d1), (11, 1, d1), (12, 2, d1), (13, 1, d2), (14, 1, d1)]
    assert rules.waiting_ranks(waiting) == {10: 1, 11: 2, 12: 1, 13: 1, 14: 3}
    assert rules.waiting_ranks([]) == {}
