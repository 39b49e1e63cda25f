"""`rankings` against the simulator: the latest session is captured from KIS, earlier ones are
derived from `daily_prices` the way KIS ranks, and the two agree on a day where both exist."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from kis_pipeline.defs.rankings import rankings
from kis_pipeline.defs.rankings.sources import SOURCE_TAG
from kis_pipeline.ingest.derived_rankings import shares_on
from kis_pipeline.simulator.market import RANKING_KINDS, Market
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import (
    check_evaluations,
    materialization_metadata,
    run_assets,
    seed_calendar,
    seed_daily_prices,
    seed_symbols,
    tr_calls,
)

LATEST = dt.date(2026, 11, 20)
SAME = ["rank", "symbol", "name", "price", "change", "change_rate", "volume"]
ALSO_SAME = {
    "volume": ["value", "prev_volume", "listed_shares"],
    "rise": ["high", "low", "open_change_rate"],
    "fall": ["high", "low", "open_change_rate"],
    "market_cap": ["listed_shares"],
}


@pytest.fixture
def wh(wh: Warehouse, market: Market) -> Warehouse:
    """The shared warehouse with the universe of `LATEST` seeded."""
    seed_symbols(wh, market, LATEST)
    return wh


def _by_ranking(frame: pl.DataFrame, day: dt.date, kind: str) -> pl.DataFrame:
    return frame.filter((pl.col("date") == day) & (pl.col("ranking") == kind)).sort("rank")


def test_latest_session_is_captured_from_kis(wh: Warehouse, market: Market) -> None:
    result = run_assets([rankings], partition_key=LATEST.isoformat())
    meta = materialization_metadata(result, "rankings")
    assert meta["sources"] == {LATEST.isoformat(): "kis"}
    assert tr_calls(meta, "FHPST01710000") == 1
    assert tr_calls(meta, "FHPST01700000") == 2
    assert tr_calls(meta, "FHPST01740000") == 1
    assert all(e.passed for e in check_evaluations(result).values())

    frame = wh.read("rankings")
    assert set(frame["source"].to_list()) == {"kis"}
    for kind in RANKING_KINDS:
        got = _by_ranking(frame, LATEST, kind)
        assert got["symbol"].to_list() == market.ranking(LATEST, kind)[:30], kind


def test_derived_rankings_equal_kis_on_the_same_session(wh: Warehouse, market: Market) -> None:
    seed_daily_prices(wh, market, [dt.date(2026, 11, 19), LATEST])
    run_assets([rankings], partition_key=LATEST.isoformat(), tags={SOURCE_TAG: "derived"})
    derived = wh.read("rankings")
    assert set(derived["source"].to_list()) == {"derived"}
    run_assets([rankings], partition_key=LATEST.isoformat())
    captured = wh.read("rankings")
    assert set(captured["source"].to_list()) == {"kis"}

    for kind in RANKING_KINDS:
        ours = _by_ranking(derived, LATEST, kind)
        kis = _by_ranking(captured, LATEST, kind)
        assert ours.height == kis.height == 30
        columns = SAME + ALSO_SAME[kind]
        assert ours.select(columns).equals(kis.select(columns)), kind
    # KIS rounds market cap to KRW 100 million.
    ours = _by_ranking(derived, LATEST, "market_cap")
    kis = _by_ranking(captured, LATEST, "market_cap")
    gap = (ours["market_cap"] - kis["market_cap"]).abs().max()
    assert gap is not None and gap <= 50_000_000
    weight_gap = (ours["market_cap_weight"] - kis["market_cap_weight"]).abs().max()
    assert weight_gap is not None and weight_gap <= 0.01


def test_past_sessions_are_derived_from_daily_prices(wh: Warehouse, market: Market) -> None:
    days = [dt.date(2026, 11, d) for d in (16, 17, 18, 19)]
    seed_daily_prices(wh, market, days)
    result = run_assets([rankings], partition_range=("2026-11-17", "2026-11-19"))
    meta = materialization_metadata(result, "rankings")
    assert set(meta["sources"].values()) == {"derived"}
    # One index chart call to learn the latest session; no ranking calls.
    assert meta["calls_by_tr_id"].get("FHKUP03500100") == 1
    assert not any(tr.startswith("FHPST") for tr in meta["calls_by_tr_id"])
    assert all(e.passed for e in check_evaluations(result).values())

    frame = wh.read("rankings")
    for day in days[1:]:
        for kind in RANKING_KINDS:
            got = _by_ranking(frame, day, kind)
            assert got["symbol"].to_list() == market.ranking(day, kind)[:30], (day, kind)
    # Reruns replace the partitions with the same rows.
    run_assets([rankings], partition_range=("2026-11-17", "2026-11-19"))
    assert wh.read("rankings").equals(frame)


def test_a_kis_capture_is_never_replaced_by_a_derivation(wh: Warehouse, market: Market) -> None:
    seed_daily_prices(wh, market, [dt.date(2026, 11, 19)])
    day = "2026-11-19"
    captured = pl.DataFrame(
        {
            "date": [dt.date(2026, 11, 19)],
            "ranking": ["volume"],
            "rank": [1],
            "symbol": ["005930"],
            "source": ["kis"],
        },
    )
    schema = wh.read("rankings").schema
    frame = captured.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c not in captured.columns]
    ).select(list(schema))
    wh.write_partition("rankings", day, frame)
    result = run_assets([rankings], partition_key=day)
    assert materialization_metadata(result, "rankings")["sources"] == {day: "kis (kept)"}
    assert wh.read("rankings", [day]).equals(frame)


def test_missing_daily_prices_fail_with_a_clear_message(wh: Warehouse) -> None:
    result = run_assets([rankings], partition_key="2026-11-18", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no daily_prices partition for 2026-11-18" in failure.step_failure_data.error.message


def test_closed_days_make_no_calls(wh: Warehouse, market: Market) -> None:
    seed_calendar(wh, market, years=[2026])
    result = run_assets([rankings], partition_key="2026-09-24")  # Chuseok
    meta = materialization_metadata(result, "rankings")
    assert meta["calls"] == 0
    assert "2026-09-24" in wh.partitions("rankings")
    assert wh.read("rankings").is_empty()


def test_listed_shares_move_across_splits() -> None:
    # A 1:50 split on 2018-05-04 (split_ratio = new base / old close = 0.02).
    splits = pl.DataFrame({"date": [dt.date(2018, 5, 4)], "split_ratio": [0.02]})
    after = 5_969_782_550
    assert shares_on(after, dt.date(2026, 11, 20), dt.date(2018, 5, 3), splits) == round(
        after * 0.02
    )
    assert shares_on(after, dt.date(2026, 11, 20), dt.date(2018, 5, 4), splits) == after
    assert shares_on(119_395_651, dt.date(2018, 1, 2), dt.date(2019, 1, 2), splits) == round(
        119_395_651 / 0.02
    )
