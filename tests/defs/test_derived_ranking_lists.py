"""The ranking screens with a derived history (`DERIVATIONS`) against the simulator: a past
session derived from `daily_prices` is the screen the simulator answers for that session, the
newest session is KIS's capture and no derivation replaces it, and a day whose prices are
missing is reported, not stored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.defs.rankings.lists import BUILT, DERIVED
from kis_pipeline.defs.rankings.sources import SOURCE_TAG
from kis_pipeline.ingest.derived_lists import DERIVATIONS, DISPARITY_WINDOWS, Day, disparity_rows
from kis_pipeline.kis.endpoints.ranking_lists import (
    DISPARITY,
    EXECUTION_STRENGTH,
    RANKING_LISTS,
    RankingList,
)
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.rest_common import Params
from kis_pipeline.simulator.rest_market import MarketView
from kis_pipeline.simulator.rest_ranking_lists import DISPARITY_SCREEN, STRENGTH_SCREEN, Screen
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

# 50 names: the universe holds a bonus issue (position 46, 2026-02-10), which resets the base
# price the way a split does; the top 30 above and the top 30 below cover every name.
CONFIG = seed.fast_config(SIM_CONFIG, universe=50)
server, market = own_simulator(CONFIG)
TABLE = "disparity_rankings"
ASSET = BUILT[TABLE].asset
LATEST = SIM_NOW.date()  # a Friday session
PAST = dt.date(2026, 3, 6)  # 18 sessions after the bonus issue: inside its 20-session window
FIGURES = [f"disparity_{n}d" for n in DISPARITY_WINDOWS]
HEAD = ["rank", "symbol", "name", "price", "change", "change_rate", "volume"]
SAME = [*HEAD, *FIGURES]

_warehouse = seed.warehouse_at(SIM_NOW)


def _weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [d for d in days if d.weekday() < 5]


def _simulator_screen(
    market: Market,
    day: dt.date,
    ranking: str,
    declared: RankingList = DISPARITY,
    screen: Screen = DISPARITY_SCREEN,
) -> pl.DataFrame:
    """The simulator's screen as it answers for `day`, in the table's columns (the disparity
    screen unless another is given)."""
    ordering = declared.orderings[ranking]
    query = {**declared.params, **ordering.extra, "fid_cond_mrkt_div_code": "J"}
    rows = screen.build(MarketView(market), Params(query), day)
    key = screen.key
    if screen.sorts is not None and ordering.code is not None:
        key = screen.sorts[ordering.code]
    top = sorted(rows, key=lambda r: (-r[2][key], r[0]))[:30]
    fields = declared.endpoint.rows
    assert fields is not None
    names = {field: ours for field, ours in fields.fields.items() if ours != "rank"}
    frame = pl.DataFrame(
        [
            {"rank": rank, **{ours: row[field] for field, ours in names.items()}}
            for rank, (_, row, _) in enumerate(top, start=1)
        ]
    )
    return frame.select(
        pl.col(c).cast(fields.schema[c]) if c != "rank" else pl.col(c).cast(pl.Int64)
        for c in frame.columns
    )


def _stored(wh: Warehouse, day: dt.date, ranking: str) -> pl.DataFrame:
    frame = wh.read(TABLE, [day.isoformat()])
    return frame.filter(pl.col("ranking") == ranking).sort("rank")


def _failure(result: object) -> str:
    event = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")  # type: ignore[attr-defined]
    return event.step_failure_data.error.message


def test_the_derived_screens_are_strength_and_disparity() -> None:
    # The others are not reproducible from the warehouse: lists.py says why, one line each.
    derived = ["execution_strength_rankings", TABLE]
    assert [a.key.to_user_string() for a in DERIVED] == derived
    assert [t for t in RANKING_LISTS if t in DERIVATIONS] == derived


def test_a_past_session_is_the_simulators_screen_of_that_day(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    seed.seed_daily_prices(wh, market, _weekdays(dt.date(2025, 8, 1), PAST))
    result = seed.run_assets([ASSET], partition_key=PAST.isoformat())
    meta = seed.materialization_metadata(result, TABLE)
    assert meta["sources"] == {PAST.isoformat(): "derived"}
    # One index chart call to learn the newest session; not one to the screen.
    assert seed.tr_calls(meta, DISPARITY.endpoint.tr_id) == 0
    checks = seed.check_evaluations(result)
    assert len(checks) == len(BUILT[TABLE].checks)
    assert all(c.passed for c in checks.values()), [n for n, c in checks.items() if not c.passed]

    stored = wh.read(TABLE)
    assert set(stored["source"]) == {"derived"} and set(stored["date"]) == {PAST}
    for ranking in DISPARITY.orderings:
        ours = _stored(wh, PAST, ranking).select(SAME)
        assert ours.height == 30
        assert ours.equals(_simulator_screen(market, PAST, ranking)), ranking

    # The bonus issue's name is averaged over raw closes, as KIS averages them: its 20-session
    # disparity mixes closes before the reset base with closes after it.
    reset = market.listings[46].symbol
    bars = market.daily_bars(reset, dt.date(2026, 1, 1), PAST)[-20:]
    (issue,) = [i for i, b in enumerate(bars) if b.prtt_rate]
    raw = [b.close for b in bars]
    adjusted = [c * bars[issue].prtt_rate for c in raw[:issue]] + raw[issue:]
    (row,) = stored.filter(pl.col("symbol") == reset).unique("symbol").iter_rows(named=True)
    assert row["disparity_20d"] == round(raw[-1] / (sum(raw) / 20) * 100, 2)
    assert abs(row["disparity_20d"] - raw[-1] / (sum(adjusted) / 20) * 100) > 1


def test_the_newest_session_is_kis_capture_and_no_derivation_replaces_it(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    seed.seed_daily_prices(wh, market, _weekdays(dt.date(2026, 4, 20), LATEST))
    latest = LATEST.isoformat()
    # Derived first (the run tag), then captured: the two agree.
    seed.run_assets([ASSET], partition_key=latest, tags={SOURCE_TAG: "derived"})
    derived = wh.read(TABLE)
    assert set(derived["source"]) == {"derived"}
    result = seed.run_assets([ASSET], partition_key=latest)
    meta = seed.materialization_metadata(result, TABLE)
    assert meta["sources"] == {latest: "kis"}
    assert seed.tr_calls(meta, DISPARITY.endpoint.tr_id) == DISPARITY.calls
    captured = wh.read(TABLE)
    assert set(captured["source"]) == {"kis"}
    for ranking in DISPARITY.orderings:
        ours = derived.filter(pl.col("ranking") == ranking).sort("rank").select(SAME)
        kis = captured.filter(pl.col("ranking") == ranking).sort("rank").select(SAME)
        assert ours.height == 30 and ours.equals(kis), ranking

    # A derivation of the captured day keeps KIS's rows, even under the tag.
    result = seed.run_assets([ASSET], partition_key=latest, tags={SOURCE_TAG: "derived"})
    assert seed.materialization_metadata(result, TABLE)["sources"] == {latest: "kis (kept)"}
    assert wh.read(TABLE).equals(captured)
    # A range: the newest session captured again, the day before derived.
    before = dt.date(2026, 11, 19)
    result = seed.run_assets([ASSET], partition_range=(before.isoformat(), latest))
    meta = seed.materialization_metadata(result, TABLE)
    assert meta["sources"] == {before.isoformat(): "derived", latest: "kis"}
    assert all(c.passed for c in seed.check_evaluations(result).values())
    for ranking in DISPARITY.orderings:
        assert (
            _stored(wh, before, ranking)
            .select(SAME)
            .equals(_simulator_screen(market, before, ranking))
        )


def test_missing_prices_are_reported_and_short_history_is_null(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    # No partition of the day itself.
    result = seed.run_assets([ASSET], partition_key="2026-11-18", raise_on_error=False)
    assert not result.success
    assert "no daily_prices partition for 2026-11-18" in _failure(result)
    assert wh.partitions(TABLE) == []

    # The day, and only 10 sessions before it: no 20-session average, so nothing is stored and
    # the partition the walk back stopped at is named.
    day = dt.date(2026, 11, 18)
    seed.seed_daily_prices(wh, market, _weekdays(dt.date(2026, 11, 4), day))
    result = seed.run_assets([ASSET], partition_key=day.isoformat(), raise_on_error=False)
    assert not result.success
    message = _failure(result)
    assert "no daily_prices partition for 2026-11-03" in message, message
    assert "20 sessions" in message
    assert wh.partitions(TABLE) == []

    # 40 sessions: ranked, the 60- and 120-session columns null (never zero), and said so.
    seed.seed_daily_prices(wh, market, _weekdays(dt.date(2026, 9, 21), day))
    result = seed.run_assets([ASSET], partition_key=day.isoformat())
    meta = seed.materialization_metadata(result, TABLE)
    assert meta["sources"] == {day.isoformat(): "derived"}
    assert list(meta["short_history"]) == [day.isoformat()]
    assert all(c.passed for c in seed.check_evaluations(result).values())
    stored = wh.read(TABLE)
    assert stored.height == 60
    assert stored["disparity_60d"].null_count() == stored["disparity_120d"].null_count() == 60
    assert stored["disparity_20d"].null_count() == 0
    for ranking in DISPARITY.orderings:
        truth = _simulator_screen(market, day, ranking)
        ours = _stored(wh, day, ranking)
        same = [c for c in SAME if c not in ("disparity_60d", "disparity_120d")]
        assert ours.select(same).equals(truth.select(same)), ranking


def test_a_split_inside_a_window_averages_raw_closes() -> None:
    days = _weekdays(dt.date(2026, 6, 1), dt.date(2026, 6, 26))[::-1]  # 20 sessions, newest first
    # A 1:2 split ten sessions back: the closes before it are twice those after it.
    closes = {"000010": [5_100] + [5_000] * 9 + [10_000] * 10, "000020": [1_000] * 20}
    window = pl.DataFrame(
        [
            {"date": day, "symbol": symbol, "close": close, "change": 100 if i == 0 else 0}
            for symbol, series in closes.items()
            for i, (day, close) in enumerate(zip(days, series, strict=True))
        ]
    ).with_columns(volume=pl.lit(1, dtype=pl.Int64))
    listing = pl.DataFrame({"symbol": list(closes), "name": ["a", "b"]})
    rows = disparity_rows(Day(window, days, listing))
    split = rows.filter(pl.col("symbol") == "000010").unique("symbol").row(0, named=True)
    assert split["disparity_5d"] == round(5_100 / (25_100 / 5) * 100, 2) == 101.59
    assert split["disparity_10d"] == round(5_100 / (50_100 / 10) * 100, 2) == 101.8
    # Raw, not adjusted: on adjusted closes the name would sit just above its average.
    assert split["disparity_20d"] == round(5_100 / (150_100 / 20) * 100, 2) == 67.95
    # Twenty sessions known: the longer windows are null, never zero.
    assert split["disparity_60d"] is None and split["disparity_120d"] is None
    below = rows.filter(pl.col("ranking") == "below_20d").sort("rank")
    assert below["symbol"].to_list() == ["000010", "000020"]


def test_a_past_sessions_strength_is_the_simulators_screen_of_that_day(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = "execution_strength_rankings"
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    day = dt.date(2026, 11, 18)
    asset = BUILT[table].asset
    seed.seed_daily_prices(wh, market, [day])
    # Without the day's volume by side: reported, nothing stored.
    result = seed.run_assets([asset], partition_key=day.isoformat(), raise_on_error=False)
    assert not result.success
    assert "no daily_trade_volume partition for 2026-11-18" in _failure(result)
    assert wh.partitions(table) == []

    seed.seed_trade_volume(wh, market, [day])
    result = seed.run_assets([asset], partition_key=day.isoformat())
    meta = seed.materialization_metadata(result, table)
    assert meta["sources"] == {day.isoformat(): "derived"}
    assert seed.tr_calls(meta, EXECUTION_STRENGTH.endpoint.tr_id) == 0
    assert all(c.passed for c in seed.check_evaluations(result).values())
    stored = wh.read(table).sort("rank")
    assert set(stored["source"]) == {"derived"}
    columns = [*HEAD, "strength", "buy_volume", "sell_volume"]
    truth = _simulator_screen(market, day, "strength", EXECUTION_STRENGTH, STRENGTH_SCREEN)
    assert stored.height == 30
    assert stored.select(columns).equals(truth.select(columns))
