"""Tariff rules: worked examples of the communities' tariff sheets (edges included)."""

from decimal import Decimal

import pytest

from core.billing.rules import (
    TariffConfigError,
    TariffGrid,
    bracket_index,
    invoice_number,
    invoice_status,
    quantity_amount_cents,
    tariff_grid_from_config,
    unit_price_cents,
)

QF = TariffGrid(method="qf_brackets", brackets=((700, 850), (1100, 1100), (None, 1400)))


def test_flat():
    assert unit_price_cents(TariffGrid(method="flat", flat_cents=800), None) == 800
    assert unit_price_cents(TariffGrid(method="flat", flat_cents=800), 300) == 800


@pytest.mark.parametrize(("qf", "price", "idx"), [
    (0, 850, 0), (700, 850, 0), (701, 1100, 1), (1100, 1100, 1), (1101, 1400, 2), (5000, 1400, 2),
    (None, 1400, 2),  # no QF on file: maximum tariff
])
def test_qf_brackets_bounds_inclusive(qf, price, idx):
    assert unit_price_cents(QF, qf) == price
    assert bracket_index(QF, qf) == idx


def test_qf_brackets_without_open_last_bracket_uses_highest():
    grid = TariffGrid(method="qf_brackets", brackets=((700, 850), (1100, 1100)))
    assert unit_price_cents(grid, 1500) == 1100
    assert bracket_index(grid, None) == 1
    assert bracket_index(TariffGrid(method="flat", flat_cents=1), 500) is None


def test_taux_effort_rounding_half_up_and_bounds():
    grid = TariffGrid(method="taux_effort", rate=Decimal("0.000619"), floor_cents=50, ceiling_cents=450)
    # 284500 * 0.000619 = 176.1055 -> 176
    assert unit_price_cents(grid, None, 284500) == 176
    # 250000 * 0.000619 = 154.75 -> 155 (half up)
    assert unit_price_cents(grid, None, 250000) == 155
    grid2 = TariffGrid(method="taux_effort", rate=Decimal("0.001"), floor_cents=0, ceiling_cents=0)
    assert unit_price_cents(grid2, None, 12345) == 12  # 12.345 cents -> 12
    assert unit_price_cents(grid2, None, 12500) == 13  # 12.5 cents -> 13 (half up)
    assert unit_price_cents(grid2, None, 12350) == 12  # 12.35 cents -> 12
    assert unit_price_cents(grid, None, 10000) == 50  # floor
    assert unit_price_cents(grid, None, 2_000_000) == 450  # ceiling
    assert unit_price_cents(grid, None, None) == 450  # no resources: ceiling


def test_degressive():
    grid = TariffGrid(method="degressive", degressive_cents=(1200, 1000, 800))
    assert [unit_price_cents(grid, None, child_rank_same_day=r) for r in (1, 2, 3, 4, 0)] == [1200, 1000, 800, 800, 1200]


def test_from_config():
    grid = tariff_grid_from_config({"method": "qf_brackets", "brackets": [[700, 850], [1100, 1100], ["max", 1400]]})
    assert grid == QF
    te = tariff_grid_from_config({"method": "taux_effort", "rate": "0.000619", "floor_cents": 50, "ceiling_cents": 450})
    assert te.rate == Decimal("0.000619") and te.ceiling_cents == 450
    assert tariff_grid_from_config({"method": "degressive", "degressive_cents": [1200, 1000]}).degressive_cents == (1200, 1000)
    with pytest.raises(TariffConfigError):
        tariff_grid_from_config({"method": "bogus"})
    with pytest.raises(TariffConfigError):
        tariff_grid_from_config({"method": "qf_brackets", "brackets": [[1100, 1], [700, 2]]})
    with pytest.raises(TariffConfigError):
        tariff_grid_from_config({"method": "qf_brackets", "brackets": [[None, 1], [700, 2]]})
    with pytest.raises(TariffConfigError):
        tariff_grid_from_config({"method": "flat", "flat_cents": 8.5})


def test_invoice_helpers():
    assert invoice_number("CDC", 2026, 1) == "CDC-2026-00001"
    assert invoice_status(1000, 0) == "non_soldee"
    assert invoice_status(1000, 400) == "partiellement_payee"
    assert invoice_status(1000, 1000) == "soldee"
    assert quantity_amount_cents("12.5", 176) == 2200
    assert quantity_amount_cents("0.5", 5) == 3  # 2.5 -> 3 half up


def test_period_phrase_and_apportion():
    from datetime import date

    from core.billing.rules import apportion, payfip_refdet, period_phrase

    assert period_phrase(date(2023, 3, 1), date(2023, 3, 31)) == "du 1er au 31 mars 2023"
    assert period_phrase(date(2023, 2, 15), date(2023, 3, 14)) == "du 15 février au 14 mars 2023"
    assert period_phrase(date(2022, 12, 1), date(2023, 1, 31)) == "du 1er décembre 2022 au 31 janvier 2023"
    assert apportion(1000, [1, 1, 1]) == [334, 333, 333]
    assert apportion(1300, [1300]) == [1300]
    assert apportion(500, [0, 0]) == [500, 0]
    assert sum(apportion(999, [3, 7, 11])) == 999
    assert payfip_refdet("CDC-2026-00001") == "CDC202600001"
