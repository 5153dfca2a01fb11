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
    # a child with AEEH in the household: one more dependent child, once per AEEH child
    assert rules.children_for_rate(1, aeeh_children=1) == 2
    assert rules.children_for_rate(0, aeeh_children=0) == 1


def test_plancher_and_plafond_per_period():
    assert rules.plafond_cents(date(2024, 8, 31)) == 600_000
    assert rules.plafond_cents(date(2025, 8, 31)) == 700_000
    assert rules.plafond_cents(date(2025, 9, 1)) == 850_000
    assert rules.plancher_cents(date(2024, 6, 1)) == 76_577
    assert rules.plancher_cents(date(2025, 6, 1)) == 80_100
    # Published planchers (RSA socle of the previous April × 1,5 − forfait logement, see rules.py):
    # 2022: 712,33 € (the old code had it as 2023's); 2023: 598,54 × 1,5 − 143,65 = 754,16 €;
    # 2026: 646,52 × 1,5 − 155,16 = 814,62 € (no longer 801 € carried forward).
    assert rules.plancher_cents(date(2022, 6, 1)) == 71_233
    assert rules.plancher_cents(date(2023, 6, 1)) == 75_416
    assert rules.plancher_cents(date(2026, 1, 1)) == 81_462
    # 500 €/month in 2026: 814,62 × 0,000619 = 0,50425 -> 0,50 €
    assert rules.hourly_fee_cents(600_000, 1, 0, date(2026, 2, 1)) == 50


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


# ---- issue 11: fees follow the barème and the resources in force each month ------------------------
def test_aeeh_counts_once_per_child_with_aeeh():
    # LC CNAF 2019-005: the next lower rate « autant de fois qu'il y a d'enfants à charge en situation de
    # handicap ». Two children, both with AEEH, 3 500 €/month: 2 + 2 = the four-children rate
    # 0,0310 %: 3 500 × 0,000310 = 1,085 -> 1,09 € (counting the AEEH once gave 0,0413 %: 1,4455 -> 1,45 €).
    assert rules.children_for_rate(2, aeeh_children=2) == 4
    assert rules.hourly_fee_cents(4_200_000, 2, 2, date(2025, 1, 10)) == 109
    assert rules.hourly_fee_cents(4_200_000, 2, 1, date(2025, 1, 10)) == 145


def test_barème_per_establishment_kind():
    # LC CNAF 2019-005, final rates of 1 January 2022. 30 000 €/year -> 2 500 €/month.
    on = date(2025, 3, 1)
    # collective and micro-crèche (aligned on the collective barème): 1 child 0,0619 % -> 1,5475 -> 1,55 €
    assert rules.hourly_fee_cents(3_000_000, 1, 0, on, kind=rules.Kind.COLLECTIF) == 155
    assert rules.hourly_fee_cents(3_000_000, 1, 0, on, kind=rules.Kind.MICRO) == 155
    # familial and parental: 1 child 0,0516 % -> 1,29 €; 3 to 5 children 0,0310 % -> 0,775 -> 0,78 €;
    # 6 children and more 0,0206 % -> 0,515 -> 0,52 €
    assert rules.hourly_fee_cents(3_000_000, 1, 0, on, kind=rules.Kind.FAMILIAL) == 129
    assert rules.hourly_fee_cents(3_000_000, 3, 0, on, kind=rules.Kind.PARENTAL) == 78
    assert rules.hourly_fee_cents(3_000_000, 5, 0, on, kind=rules.Kind.FAMILIAL) == 78
    assert rules.hourly_fee_cents(3_000_000, 6, 0, on, kind=rules.Kind.FAMILIAL) == 52
    # collective: 4 to 7 children share 0,0310 %, 8 and more 0,0206 %
    assert rules.hourly_fee_cents(3_000_000, 5, 0, on) == 78


def test_emergency_fee_when_resources_are_unknown():
    # Accueil d'urgence, resources unknown (LC CNAF 2014-009 / 2019-005): the manager's fixed fee (the
    # previous year's participations / hours billed), else the plancher: 801 × 0,000516 = 0,4133 -> 0,41 €
    # for two children in 2025 — not the plafond (4,39 €) a family refusing to give its resources pays.
    assert rules.emergency_fee_cents(2, 0, date(2025, 10, 1)) == 41
    assert rules.emergency_fee_cents(2, 0, date(2025, 10, 1), fixed_cents=180) == 180
    assert rules.hourly_fee_cents(None, 2, 0, date(2025, 10, 1)) == 439


def test_fee_periods_follow_the_plafond_of_september_2025():
    # The worked example (caf.fr, 15/05/2025: the 8 500 € plafond applies « pour tous les contrats,
    # y compris ceux en cours »). Contract of 01/03/2025, 10 000 €/month (120 000 €/year), 1 child,
    # 40 h × 46 weeks, collective care:
    #   until 31/08/2025: 7 000 × 0,000619 = 4,333 -> 4,33 €/h; 4,33 × 40 × 46 / 12 = 663,933 -> 663,93 €
    #   from 01/09/2025: 8 500 × 0,000619 = 5,2615 -> 5,26 €/h; 5,26 × 40 × 46 / 12 = 806,533 -> 806,53 €
    # The plancher changes of 1 January 2026 do not move a fee at the plafond: no new period then.
    history = [rules.ResourcesAt(date(2025, 1, 1), 12_000_000, 1)]
    periods = rules.fee_periods(date(2025, 3, 1), date(2026, 7, 31), history, Decimal(40), 46)
    assert [(p.start, p.end, p.hourly_fee_cents, p.monthly_fee_cents) for p in periods] == [
        (date(2025, 3, 1), date(2025, 8, 31), 433, 66_393),
        (date(2025, 9, 1), date(2026, 7, 31), 526, 80_653)]
    assert periods[0].reasons == ("Début du contrat",)
    assert "8\u202f500,00\xa0€" in periods[1].reasons[0]
    assert periods[1].resources_monthly_cents == 850_000 and periods[1].taux == Decimal("0.000619")
    # billed month by month: August at 663,93 €, September at 806,53 € (142,60 € more)
    schedule = rules.normalize_schedule([(wd, "08:30", "16:30") for wd in range(5)])
    for month, fee in ((8, 66_393), (9, 80_653)):
        days = rules.month_days(2025, month)
        m = MonthInput(year=2025, month=month, monthly_fee_cents=0, hourly_fee_cents=0,
                       contract_start=date(2025, 3, 1), contract_end=None, schedule=schedule,
                       open_days={d for d in days if d.weekday() < 5}, periods=periods)
        assert [(x.kind, x.amount_cents) for x in rules.contract_month_lines(m)] == [("fee", fee)]


def test_fee_periods_follow_the_family_resources():
    # 30 000 €/year (2 500 €/month), 1 child: 1,55 €/h. January 2026 update (revenus 2024: 36 000 €/year,
    # 3 000 €/month): 3 000 × 0,000619 = 1,857 -> 1,86 €/h from 01/01/2026. A second child with AEEH
    # from 01/04/2026: 2 children + 1 AEEH = 3 -> 0,0413 %: 3 000 × 0,000413 = 1,239 -> 1,24 €/h.
    # 32 h × 45 weeks / 12 = 120 h: 186,00 € then 148,80 €.
    history = [rules.ResourcesAt(date(2025, 1, 1), 3_000_000, 1),
               rules.ResourcesAt(date(2026, 1, 1), 3_600_000, 1, reason="Mise à jour de janvier (revenus 2024)"),
               rules.ResourcesAt(date(2026, 4, 1), 3_600_000, 2, 1, reason="Naissance ; AEEH")]
    periods = rules.fee_periods(date(2025, 9, 1), None, history, Decimal(32), 45)
    assert [(p.start, p.end, p.hourly_fee_cents, p.monthly_fee_cents) for p in periods] == [
        (date(2025, 9, 1), date(2025, 12, 31), 155, 18_600),
        (date(2026, 1, 1), date(2026, 3, 31), 186, 22_320),
        (date(2026, 4, 1), None, 124, 14_880)]
    assert "Mise à jour de janvier (revenus 2024)" in periods[1].reasons
    assert periods[2].children_for_rate == 3


def test_month_split_when_the_fee_changes_mid_month():
    # March 2025, 21 open days, 40 h/week. Fee 163,50 € (1,09 €/h) until Friday 14, then 196,50 € (1,31 €/h)
    # from Monday 17: 10 open days at the first fee, 11 at the second.
    #   163,50 × 10 / 21 = 77,857 -> 77,86 € ; 196,50 × 11 / 21 = 102,928 -> 102,93 €
    # A dépassement of half an hour on the 18th is billed at 1,31 €/h: 0,655 -> 0,66 €.
    first = rules.FeePeriod(date(2025, 1, 1), date(2025, 3, 16), 0, 1, Decimal("0"), 109, 16_350, ("Début du contrat",))
    second = rules.FeePeriod(date(2025, 3, 17), None, 0, 1, Decimal("0"), 131, 19_650, ("Nouvel avis",))
    lines = rules.contract_month_lines(_march_2025(periods=[first, second],
                                                   attendance={date(2025, 3, 18): (555, 1045)}))
    assert [(x.kind, x.key, x.amount_cents) for x in lines] == [
        ("fee", "fee", 7_786), ("fee", "fee:2025-03-17", 10_293), ("overtime", "overtime", 66)]
    assert "du 03/03 au 14/03 (prorata 10/21" in lines[0].designation


def test_eviction_by_the_crèche_doctor_is_deducted_from_day_one():
    # LC CNAF 2014-009, déductions admises: éviction by the crèche's doctor, from the first day.
    days = rules.deductible_days(Motive.EVICTION, False, date(2025, 3, 3), date(2025, 3, 4))
    assert days == {date(2025, 3, 3), date(2025, 3, 4)}
    assert "Éviction" in rules.deduction_reason(Motive.EVICTION, False, date(2025, 3, 3), date(2025, 3, 4))


def test_public_holidays_close_the_crèche_in_the_community_subdivision():
    # May 2025: 22 weekdays, minus Thursday 1, Thursday 8 and Ascension Thursday 29 = 19 open days.
    opening = {d: (450, 1110) for d in range(5)}
    may = rules.open_days(2025, 5, opening, set(), None)
    assert len(may) == 19 and date(2025, 5, 8) not in may
    # Alsace-Moselle (Code du travail L3134-13): Good Friday 18/04/2025 and 26/12/2025 are holidays too.
    april_57 = rules.open_days(2025, 4, opening, set(), "57")
    assert date(2025, 4, 18) not in april_57 and date(2025, 4, 18) in rules.open_days(2025, 4, opening, set(), None)
    assert date(2025, 12, 26) not in rules.open_days(2025, 12, opening, set(), "68")
    # a contract starting Monday 12 May 2025: 14 of the 19 open days (Ascension excluded):
    # 163,50 × 14 / 19 = 120,473 -> 120,47 €
    assert rules.prorated_fee_cents(16_350, len(may), len([d for d in may if d >= date(2025, 5, 12)])) == 12_047


def test_config_overrides_taux_and_establishment_kinds():
    cfg = Config.from_dict({
        "taux_effort": [{"table": "familial", "start": "2027-01-01", "rates": [[1, "0.000600"], [2, "0.000500"]]}],
        "establishments": {"creche_x": {"kind": "micro_creche", "emergency_hourly_cents": 150}}})
    assert rules.taux_effort(1, date(2026, 12, 31), rules.Kind.FAMILIAL, cfg) == Decimal("0.000516")
    assert rules.taux_effort(1, date(2027, 1, 1), rules.Kind.FAMILIAL, cfg) == Decimal("0.000600")
    assert cfg.establishment("creche_x").kind == rules.Kind.MICRO
    assert cfg.establishment("creche_x").emergency_hourly_cents == 150
    assert cfg.establishment("other").kind == rules.Kind.COLLECTIF
    with pytest.raises(ValueError):
        Config.from_dict({"establishments": {"creche_x": {"kind": "garderie"}}})
