"""The simulator's bond model: prices follow the yield path by the bond formula."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.simulator.market_bonds import TREASURIES, Bond, clean_price, yield_path

DAYS = [dt.date(2026, 11, 16) + dt.timedelta(days=i) for i in range(5)]
BOND = Bond("KR103502GD98", "test", 3.0, dt.date(2033, 12, 10), 3.0, dt.date(2023, 12, 10), 10**12)


def test_a_bond_at_its_coupon_yield_is_near_par() -> None:
    assert clean_price(BOND, dt.date(2026, 12, 10), 3.0) == pytest.approx(10_000.0, abs=1.0)


def test_a_higher_yield_means_a_lower_price() -> None:
    day = dt.date(2026, 11, 20)
    assert clean_price(BOND, day, 3.5) < clean_price(BOND, day, 3.0) < clean_price(BOND, day, 2.5)


def test_the_yield_path_is_the_same_for_the_same_seed_and_differs_by_bond() -> None:
    first, again = (yield_path(7, TREASURIES[0], DAYS) for _ in range(2))
    assert first == again
    assert first != yield_path(7, TREASURIES[1], DAYS)
    assert all(0.05 <= v < 10 for v in first.values())
