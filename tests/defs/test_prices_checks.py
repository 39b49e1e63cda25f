"""The price checks as pure functions: each names exactly the offending keys."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.defs.prices import checks

D1, D2, D3 = dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)
KEY = ("date", "symbol")


def test_ohlc_violations_name_the_bad_bars_and_skip_null_prices() -> None:
    frame = pl.DataFrame(
        {
            "date": [D1, D2, D3],
            "symbol": ["A", "A", "A"],
            "open": [100, 120, None],  # D2: open above high
            "high": [110, 115, 100],
            "low": [90, 95, 90],
            "close": [105, 100, 95],  # D3: a day without trades has no open
        }
    )
    assert checks.ohlc_violations(frame, KEY)["date"].to_list() == [D2]


def test_duplicates_and_missing_rows() -> None:
    frame = pl.DataFrame({"date": [D1, D1, D2], "symbol": ["A", "A", "B"]})
    assert checks.duplicate_keys(frame, KEY).to_dicts() == [{"date": D1, "symbol": "A", "rows": 2}]
    expected = pl.DataFrame({"date": [D1, D2, D2], "symbol": ["A", "A", "B"]})
    missing, extra = checks.missing_rows(frame, expected, KEY)
    assert missing.to_dicts() == [{"date": D2, "symbol": "A"}]
    assert extra.is_empty()


def test_factor_may_jump_only_by_the_split_ratio_on_the_split_day() -> None:
    adjusted = pl.DataFrame(
        {
            "date": [D1, D2, D3, D1, D2, D3],
            "symbol": ["S"] * 3 + ["J"] * 3,
            # S splits 1:5 on D2 (history x0.2); J jumps on D3 without any event.
            "adj_factor": [0.2, 1.0, 1.0, 1.0, 1.0, 0.5],
        }
    )
    raw = pl.DataFrame(
        {
            "date": [D1, D2, D3, D1, D2, D3],
            "symbol": ["S"] * 3 + ["J"] * 3,
            "split_ratio": [0.0, 0.2, 0.0, 0.0, 0.0, 0.0],
            "ex_rights_code": ["00", "01", "00", "00", "00", "00"],
        }
    )
    breaks = checks.factor_breaks(adjusted, raw)
    assert breaks.select(KEY).to_dicts() == [{"date": D3, "symbol": "J"}]
    # A split whose history was not restated (factor still 1 before it) is a break too.
    stale = adjusted.with_columns(
        adj_factor=pl.when(pl.col("symbol") == "S").then(1.0).otherwise(pl.col("adj_factor"))
    )
    assert {"S"} <= set(checks.factor_breaks(stale, raw)["symbol"].to_list())


def test_freshness_warns_with_both_dates() -> None:
    stale = checks.freshness_result("daily_prices", D1, D3, [D1, D3])
    assert not stale.passed
    assert stale.metadata["newest"].value == str(D1)
    assert checks.freshness_result("daily_prices", D3, D3, [D3]).passed


def test_a_backfill_of_older_days_does_not_judge_freshness() -> None:
    # A run that ends before the newest due day cannot tell whether the table is stale.
    older = checks.freshness_result("daily_prices", D1, D3, [D1])
    assert older.passed
    assert "before the newest due day" in older.metadata["not_evaluated"].value
