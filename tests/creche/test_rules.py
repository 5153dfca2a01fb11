"""Worked examples of the crèche rules (figures written out so a reader can check them by hand)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plugins.creche import rules
from plugins.creche.rules import Config, DayFacts, DayStatus, MonthInput, Motive


def test_taux_effort_collective_barème():
    assert [rules.taux_effort(n) for n in (1, 2, 3, 4, 7, 8, 11)] == [
        Decimal("0.000619"), Decimal("0.000516"), Decimal("0.000413"), Decimal("0.000310"), Decimal("0.000310"),
        Decimal("0.000206"), Decimal("0.000206")]
    # a child with AEEH in the household: one more dependent child
    assert rules.children_for_rate(1, has_aeeh=True) == 2
    assert rules.children_for_rate(0, has_aeeh=False) == 1


def test_plancher_and_plafond_per_period():
    assert rules.plafond_cents(date(2024, 8, 31)) == 600_000
    assert rules.plafond_cents(date(2025, 8, 31)) == 700_000
    assert rules.plafond_cents(date(2025, 9, 1)) == 850_000
    assert rules.plancher_cents(date(2024, 6, 1)) == 76_577
    assert rules.plancher_cents(date(2025, 6, 1)) == 80_100


def test_hourly_fee_worked_examples():
    # 42 000 €/year N-2 -> 3 500 €/month; 4 children -> 0,0310 %: 3 500 × 0,00031 = 1,085 -> 1,09 € (HALF_UP)
    assert rules.hourly_fee_cents(4_200_000, 4, False, date(2025, 1, 10)) == 109
    # 30 000 €/year -> 2 500 €/month; 1 child: 2 500 × 0,000619 = 1,5475 -> 1,55 €
    assert rules.hourly_fee_cents(3_000_000, 1, False, date(2025, 1, 10)) == 155
    # same family with an AEEH child counts 2 children: 2 500 × 0,000516 = 1,29 €
    assert rules.hourly_fee_cents(3_000_000, 1, True, date(2025, 1, 10)) == 129
    # 120 000 €/year = 10 000 €/month, above the plafond:
    # until 31/08/2025: 7 000 × 0,000619 = 4,333 -> 4,33 € ; from 01/09/2025: 8 500 × 0,000619 = 5,2615 -> 5,26 €
    assert rules.hourly_fee_cents(12_000_000, 1, False, date(2025, 8, 31)) == 433
    assert rules.hourly_fee_cents(12_000_000, 1, False, date(2025, 9, 1)) == 526
    # 6 000 €/year = 500 €/month, below the 2025 plancher 801 €: 801 × 0,000619 = 0,495819 -> 0,50 €
    assert rules.hourly_fee_cents(600_000, 1, False, date(2025, 3, 1)) == 50
    # unknown resources: the plafond applies (maximum tariff)
    assert rules.hourly_fee_cents(None, 2, False, date(2025, 10, 1)) == 439  # 8 500 × 0,000516 = 4,386


def test_mensualisation_worked_example():
    # Mon, Tue, Thu, Fri 09:15-17:15 = 4 × 8 h = 32 h/week, 45 weeks
    schedule = rules.normalize_schedule([(d, "09:15", "17:15") for d in (0, 1, 3, 4)])
    assert rules.weekly_hours(schedule) == Decimal("32.00")
    # 32 × 45 / 12 = 120 hours a month ; 1,09 € × 120 = 130,80 €
    assert rules.monthly_hours(Decimal(32), 45) == Decimal("120.00")
    assert rules.monthly_fee_cents(109, Decimal(32), 45) == 13_080
    # 40 h × 47 weeks / 12 = 156,67 h ; 1,55 × 40 × 47 / 12 = 242,833 -> 242,83 €
    assert rules.monthly_fee_cents(155, Decimal(40), 47) == 24_283


def test_schedule_errors():
    with pytest.raises(rules.RuleError) as exc:
        rules.normalize_schedule([(0, "17:00", "09:00")])
    assert exc.value.code == "INVALID_PERIOD"
    with pytest.raises(rules.RuleError) as exc:
        rules.parse_hhmm("25:00")
    assert exc.value.code == "INVALID_TIME"


def test_deductions_carence_hospitalisation_closure():
    start, end = date(2025, 3, 3), date(2025, 3, 7)  # Monday to Friday
    # illness with certificate: carence 3 calendar days (3, 4, 5 March billed), 6 and 7 deducted
    assert rules.deductible_days(Motive.ILLNESS, True, start, end) == {date(2025, 3, 6), date(2025, 3, 7)}
    assert rules.deductible_days(Motive.ILLNESS, False, start, end) == set()
    assert len(rules.deductible_days(Motive.HOSPITALISATION, False, start, end)) == 5
    assert len(rules.deductible_days(Motive.CLOSURE, False, start, end)) == 5
    assert rules.deductible_days(Motive.OTHER, True, start, end) == set()
    assert rules.deductible_days(Motive.ILLNESS, True, start, end, Config(carence_days=1)) == {
        date(2025, 3, 4), date(2025, 3, 5), date(2025, 3, 6), date(2025, 3, 7)}


def test_cancellation_or_absence():
    today = date(2025, 3, 3)
    assert rules.absence_kind(date(2025, 3, 5), today) == "cancellation"  # 2 days ahead
    assert rules.absence_kind(date(2025, 3, 4), today) == "absence"
    assert rules.absence_kind(date(2025, 3, 3), today) == "absence"


def test_capacity_per_slot():
    nine, noon = rules.parse_hhmm("09:00"), rules.parse_hhmm("12:00")
    intervals = [(nine, noon), (rules.parse_hhmm("11:00"), rules.parse_hhmm("18:00"))]
    assert rules.has_room(intervals, rules.parse_hhmm("14:00"), rules.parse_hhmm("15:00"), 2, 30)
    # 11:00-12:00 has two children already
    assert not rules.has_room(intervals, rules.parse_hhmm("11:30"), rules.parse_hhmm("13:00"), 2, 30)
    with pytest.raises(rules.RuleError) as exc:
        rules.check_within_opening(date(2025, 3, 3), rules.parse_hhmm("06:00"), noon, {0: (450, 1110)}, set())
    assert exc.value.code == "OUTSIDE_OPENING_HOURS"


def test_day_status_legend():
    d, t = date(2025, 3, 10), date(2025, 3, 12)
    planned = (555, 1035)  # 09:15-17:15
    assert rules.day_status(DayFacts(d, t, True, planned, attendance=(555, 1035))) == DayStatus.PRESENT
    assert rules.day_status(DayFacts(d, t, True, planned, attendance=(555, 1060))) == DayStatus.MAJORATION
    assert rules.day_status(DayFacts(d, t, True, planned)) == DayStatus.ABSENCE  # past, nobody came
    assert rules.day_status(DayFacts(date(2025, 3, 13), t, True, planned)) == DayStatus.RESERVEE
    assert rules.day_status(DayFacts(d, t, True, planned, absence="excused")) == DayStatus.ABSENCE_EXCUSEE
    assert rules.day_status(DayFacts(d, t, True, planned, absence="cancellation")) == DayStatus.ANNULEE
    assert rules.day_status(DayFacts(d, t, True, occasional=("pending", 540, 720))) == DayStatus.A_VALIDER
    assert rules.day_status(DayFacts(d, t, True, waiting=True)) == DayStatus.LISTE_ATTENTE
    assert rules.day_status(DayFacts(d, t, True, contract_ended_before=True)) == DayStatus.SORTIE
    assert rules.day_status(DayFacts(d, t, True)) == DayStatus.NON_INSCRIT
    assert rules.day_status(DayFacts(d, t, False)) is None


def _march_2025(**kw) -> MonthInput:
    days = rules.month_days(2025, 3)
    schedule = rules.normalize_schedule([(wd, "09:15", "17:15") for wd in range(5)])  # 40 h/week
    base = dict(year=2025, month=3, monthly_fee_cents=16_350, hourly_fee_cents=109,
                contract_start=date(2025, 1, 1), contract_end=None, schedule=schedule,
                open_days={d for d in days if d.weekday() < 5})  # March 2025: 21 open days
    return MonthInput(**{**base, **kw})


def test_month_full_fee_overtime_and_deduction():
    # 1,09 € × 40 h × 45 weeks / 12 = 163,50 €
    assert rules.monthly_fee_cents(109, Decimal(40), 45) == 16_350
    m = _march_2025(attendance={date(2025, 3, 3): (555, 1045),   # left 17:25: 10 min -> 1 started half hour
                                date(2025, 3, 4): (520, 1035)},  # came 08:40: 35 min -> 2 half hours
                    deducted_days={date(2025, 3, 6), date(2025, 3, 7), date(2025, 3, 8)})  # 8 = Saturday
    lines = {line.kind: line for line in rules.contract_month_lines(m)}
    assert lines["fee"].amount_cents == 16_350
    # 3 half hours = 1,5 h × 1,09 € = 1,635 -> 1,64 €
    assert (lines["overtime"].quantity, lines["overtime"].amount_cents) == (Decimal("1.50"), 164)
    # Thursday + Friday = 16 h × 1,09 = 17,44 € deducted (Saturday is not a contract day)
    assert (lines["deduction"].quantity, lines["deduction"].amount_cents) == (Decimal("16.00"), -1744)


def test_month_overtime_by_quarter_hour_when_configured():
    m = _march_2025(attendance={date(2025, 3, 3): (555, 1045)})  # 10 minutes late
    line = [x for x in rules.contract_month_lines(m, Config(overtime_rounding_minutes=15)) if x.kind == "overtime"][0]
    assert line.quantity == Decimal("0.25")


def test_first_and_last_partial_months_prorated_by_open_days():
    # starts Monday 17 March 2025: 11 of the 21 open days -> 163,50 × 11 / 21 = 85,642 -> 85,64 €
    first = rules.contract_month_lines(_march_2025(contract_start=date(2025, 3, 17)))
    assert first[0].amount_cents == 8_564 and "11/21" in first[0].designation
    # ends Friday 7 March: 5 of 21 -> 163,50 × 5 / 21 = 38,928 -> 38,93 €
    last = rules.contract_month_lines(_march_2025(contract_end=date(2025, 3, 7)))
    assert last[0].amount_cents == 3_893
    assert rules.prorated_fee_cents(16_350, 21, 0) == 0


def test_config_from_toml_table():
    cfg = Config.from_dict({"carence_days": 1, "overtime_rounding_minutes": 15,
                            "planchers": [{"start": "2026-01-01", "cents": 81_000}]})
    assert (cfg.carence_days, cfg.overtime_rounding_minutes) == (1, 15)
    assert rules.plancher_cents(date(2026, 2, 1), cfg) == 81_000


def test_deduction_reason_matches_deductible_days():
    cfg = Config(carence_days=3)
    monday, friday = date(2025, 3, 3), date(2025, 3, 7)
    # hospitalisation and closure: deducted from day 1
    assert rules.deduction_reason(Motive.HOSPITALISATION, False, monday, friday, cfg).startswith("Hospitalisation")
    assert "pas facturées" in rules.deduction_reason(Motive.CLOSURE, False, monday, monday, cfg)
    # illness with certificate, 3 days of carence: Mon, Tue, Wed billed, deduction from Thursday 06/03/2025
    assert rules.deductible_days(Motive.ILLNESS, True, monday, friday, cfg) == {date(2025, 3, 6), friday}
    assert "à partir du 06/03/2025" in rules.deduction_reason(Motive.ILLNESS, True, monday, friday, cfg)
    # 2 days of illness with certificate: all within the carence, billed
    assert rules.deductible_days(Motive.ILLNESS, True, monday, date(2025, 3, 4), cfg) == set()
    assert "reste facturée" in rules.deduction_reason(Motive.ILLNESS, True, monday, date(2025, 3, 4), cfg)
    # without certificate or for personal reasons: billed
    assert "sans certificat" in rules.deduction_reason(Motive.ILLNESS, False, monday, friday, cfg)
    assert "convenance" in rules.deduction_reason(Motive.OTHER, False, monday, friday, cfg)
