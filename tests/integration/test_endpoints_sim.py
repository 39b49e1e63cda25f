"""Every typed endpoint against the in-process simulator, checked against the market's own truth.

The simulator's `Market` is the ground truth: each frame an endpoint returns must carry the
market's numbers, converted into the warehouse's units (KRW and shares). Where KIS reports a
figure in a coarser unit (KRW million, KRW 100 million, thousand shares), the frame must be a
whole multiple of that unit and within one unit of the truth.

Most tests use the session simulator of `tests/conftest.py` (history from 2023). Split
adjustment needs older history (005930 split 1:50 on 2018-05-04), so a module-scoped simulator
with history from 2017 serves those tests and the 61-symbol multi-quote (it has 64 listings).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import (
    fetch_balance_sheet,
    fetch_current_price,
    fetch_daily_chart,
    fetch_dividends,
    fetch_financial_ratios,
    fetch_fluctuation_ranking,
    fetch_income_statement,
    fetch_index_daily,
    fetch_investor_flows,
    fetch_market_cap_ranking,
    fetch_market_investor_flows,
    fetch_multi_quote,
    fetch_overseas_daily,
    fetch_trading_calendar,
    fetch_volume_ranking,
    unknown_symbols,
)
from kis_pipeline.kis.endpoints.master import fetch_master, fetch_universe
from kis_pipeline.kis.errors import BusinessError
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market, price_limits, tick_size
from kis_pipeline.simulator.server import SimulatorServer
from tests.helpers.simulator import SIM_NOW, sim_environ

CHART_TR = "FHKST03010100"
MULTI_QUOTE_TR = "FHKST11300006"
INDEX_TR = "FHKUP03500100"
OVERSEAS_TR = "HHDFS76240000"
CALENDAR_TR = "CTCA0903R"

KRW_MILLION = 1_000_000
KRW_100M = 100_000_000
THOUSAND = 1_000

# History from 2017 so that the 2018 splits are inside it; 64 listings for a 61-symbol quote.
HISTORY_CONFIG = SimConfig(
    seed=5, universe=64, start=dt.date(2017, 1, 2), now=SIM_NOW, rate_limit=50.0
)
HISTORY_CLIENT_RATE = "45"
# KRX moves a price at most 30 % from its base price in one session.
DAILY_LIMIT = 0.30
KIS_DIVIDEND_KINDS = {"결산": "year_end", "중간": "interim", "분기": "quarterly"}
KIS_SHARE_CLASSES = {"보통": "common", "우선": "preferred"}


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def market(sim_server: SimulatorServer) -> Market:
    return sim_server.state.market


@pytest.fixture(scope="module")
def history_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(HISTORY_CONFIG) as server:
        yield server


@pytest.fixture
def history_client(history_server: SimulatorServer, tmp_path: Path) -> Iterator[KisClient]:
    environ = sim_environ(history_server, tmp_path / "state", KIS_RATE_LIMIT=HISTORY_CLIENT_RATE)
    with KisClient(KisSettings.from_env(environ), backoff_base_s=0.01) as client:
        yield client


# ---- helpers ----------------------------------------------------------------------------------


def session_of(market: Market) -> dt.date:
    return market.last_completed_session()


def first_trading_day_from(market: Market, day: dt.date) -> dt.date:
    return market.trading_days(day, day + dt.timedelta(days=14))[0]


def previous_session(market: Market, day: dt.date) -> dt.date:
    return market.trading_days(day - dt.timedelta(days=14), day - dt.timedelta(days=1))[-1]


def assert_in_units(
    actual: int | None, truth: float, unit: int, what: str, *, within: float = 0.5
) -> None:
    """`actual` is `truth` as KIS reports it: whole `unit`s, converted back to KRW or shares.

    A rounded KIS figure is off by at most half a unit; a truncated one, or a net of two
    rounded figures, by at most one unit (`within=1`).
    """
    assert actual is not None, f"{what}: null"
    assert actual % unit == 0, f"{what}: {actual} is not in whole units of {unit}"
    assert abs(actual - truth) <= unit * within + 1e-6, f"{what}: {actual} vs truth {truth}"


def chart_calls(client: KisClient) -> int:
    return client.stats.calls_by_tr_id[CHART_TR]


def expected_daily(market: Market, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
    """The original-price chart the market implies, in `schemas.DAILY_PRICES`."""
    bars = market.daily_bars(symbol, start, end)
    return pl.DataFrame(
        {
            "date": [b.date for b in bars],
            "symbol": [symbol] * len(bars),
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "value": [b.value for b in bars],
            "change": [b.close - b.prev_close for b in bars],
            "venue": ["KRX"] * len(bars),
            "ex_rights_code": [b.flng_cls_code for b in bars],
            # KIS gives the split ratio with two decimals.
            "split_ratio": [float(f"{b.prtt_rate:.2f}") for b in bars],
            "revaluation_reason": [b.revl_issu_reas or None for b in bars],
            "is_modified": [False] * len(bars),
            "quality_flag": [None] * len(bars),
        },
        schema=schemas.DAILY_PRICES,
    )


def expected_adjusted(market: Market, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
    """Adjusted bars: raw prices x `adj_factor` (whole KRW), volumes divided by it."""
    rows = []
    for b in market.daily_bars(symbol, start, end):
        factor = market.adj_factor(symbol, b.date)
        close = round(b.close * factor)
        rows.append(
            {
                "date": b.date,
                "symbol": symbol,
                "open": round(b.open * factor),
                "high": round(b.high * factor),
                "low": round(b.low * factor),
                "close": close,
                "volume": round(b.volume / factor),
                "adj_factor": close / b.close,
                "value": b.value,
                "change": close - round(b.prev_close * factor),
                "venue": "KRX",
                "quality_flag": None,
            }
        )
    return pl.DataFrame(rows, schema=schemas.DAILY_PRICES_ADJUSTED)


def max_daily_move(closes: list[int]) -> float:
    """The largest |close / previous close - 1| of a series."""
    return max(abs(b / a - 1.0) for a, b in itertools.pairwise(closes))


# ---- §7.1 current price -----------------------------------------------------------------------


@pytest.mark.parametrize("board", ["KOSPI", "KOSDAQ", "KONEX"])
def test_current_price_is_the_last_session_of_the_market(
    sim_client: KisClient, market: Market, board: str
) -> None:
    listing = next(x for x in market.listings if x.market == board)
    symbol = listing.symbol
    session = session_of(market)
    bar = market.bar(symbol, session)
    stats = market.quote_stats(symbol, session)
    assert bar is not None and stats is not None

    frame = fetch_current_price(sim_client, symbol)

    assert frame.schema == schemas.CURRENT_PRICE
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert row["symbol"] == symbol and row["venue"] == "KRX"
    assert (row["price"], row["open"], row["high"], row["low"]) == (
        bar.close,
        bar.open,
        bar.high,
        bar.low,
    )
    assert (row["volume"], row["value"]) == (bar.volume, bar.value)
    assert row["base_price"] == bar.prev_close
    assert row["change"] == bar.close - bar.prev_close
    assert row["change_rate"] == pytest.approx(
        (bar.close - bar.prev_close) / bar.prev_close * 100.0, abs=0.005
    )
    assert (row["upper_limit"], row["lower_limit"]) == price_limits(bar.prev_close)
    assert row["tick_size"] == tick_size(bar.close)
    assert row["listed_shares"] == market.listed_shares(symbol, session)
    assert row["par_value"] == listing.par_value
    # KIS sends market cap and capital in KRW 100 million; the frame holds KRW.
    assert_in_units(row["market_cap"], market.market_cap(symbol, session), KRW_100M, "market_cap")
    assert_in_units(row["capital"], stats.listed_shares * listing.par_value, KRW_100M, "capital")
    assert (row["w52_high"], row["w52_high_date"]) == (stats.w52_high, stats.w52_high_date)
    assert (row["w52_low"], row["w52_low_date"]) == (stats.w52_low, stats.w52_low_date)
    assert (row["ytd_high"], row["ytd_low"]) == (stats.year_high, stats.year_low)
    assert row["sector_name"] == listing.sector
    assert row["is_halted"] is False
    assert sim_client.stats.calls_by_tr_id["FHKST01010100"] == 1


# ---- §7.3 daily chart -------------------------------------------------------------------------


def test_daily_chart_over_three_years_pages_by_100_and_returns_each_day_once(
    sim_client: KisClient, market: Market
) -> None:
    session = session_of(market)
    # A Saturday: the walk cannot stop on a row dated `start`, only on the short last page.
    start = dt.date(2023, 11, 18)
    assert not market.is_trading_day(start)
    days = market.trading_days(start, session)
    assert len(days) > 700 and len(days) % 100 != 0

    frame = fetch_daily_chart(sim_client, "005930", start, session, adjusted=False)

    assert chart_calls(sim_client) == math.ceil(len(days) / 100)
    assert sim_client.stats.retries == 0
    assert frame["date"].to_list() == days
    assert frame["date"].n_unique() == frame.height
    assert frame.equals(expected_daily(market, "005930", start, session))


def test_daily_chart_of_a_range_without_trading_days_is_empty(
    sim_client: KisClient, market: Market
) -> None:
    # Chuseok (Thursday and Friday) and the weekend after it: four days without a session.
    start, end = dt.date(2026, 9, 24), dt.date(2026, 9, 27)
    assert market.trading_days(start, end) == []

    frame = fetch_daily_chart(sim_client, "000660", start, end, adjusted=False)

    assert frame.is_empty() and frame.schema == schemas.DAILY_PRICES


def test_adjusted_chart_without_corporate_actions_equals_the_original(
    sim_client: KisClient, market: Market
) -> None:
    symbol = "000660"
    assert market.corporate_actions(symbol) == []
    session = session_of(market)
    start = first_trading_day_from(market, dt.date(2026, 6, 1))

    original = fetch_daily_chart(sim_client, symbol, start, session, adjusted=False)
    calls_for_original = chart_calls(sim_client)
    adjusted = fetch_daily_chart(
        sim_client, symbol, start, session, adjusted=True, original=original
    )

    # Passing the original bars saves their calls: only the adjusted walk is made.
    assert chart_calls(sim_client) == 2 * calls_for_original
    assert adjusted.schema == schemas.DAILY_PRICES_ADJUSTED
    assert adjusted["adj_factor"].to_list() == [1.0] * adjusted.height
    shared = ["date", "open", "high", "low", "close", "volume", "value", "change"]
    assert adjusted.select(shared).equals(original.select(shared))


def test_daily_chart_of_an_unknown_symbol_is_a_business_error_without_retries(
    sim_client: KisClient, market: Market
) -> None:
    symbol = "999999"
    assert market.listing(symbol) is None

    with pytest.raises(BusinessError) as caught:
        fetch_daily_chart(
            sim_client, symbol, dt.date(2026, 1, 2), dt.date(2026, 3, 31), adjusted=False
        )

    error = caught.value
    assert error.msg_cd == "MCA05918"
    assert error.tr_id == CHART_TR
    assert error.params["FID_INPUT_ISCD"] == symbol
    assert symbol in str(error) and "MCA05918" in str(error)
    assert chart_calls(sim_client) == 1
    assert sim_client.stats.retries == 0


def test_adjusted_005930_is_continuous_across_the_2018_split(
    history_client: KisClient, history_server: SimulatorServer
) -> None:
    market = history_server.state.market
    symbol, split_day = "005930", dt.date(2018, 5, 4)
    assert [(a.date, a.ratio) for a in market.corporate_actions(symbol)] == [(split_day, 50.0)]
    session = session_of(market)
    start = first_trading_day_from(market, HISTORY_CONFIG.start)
    days = market.trading_days(start, session)
    pages = math.ceil(len(days) / 100)

    original = fetch_daily_chart(history_client, symbol, start, session, adjusted=False)
    adjusted = fetch_daily_chart(
        history_client, symbol, start, session, adjusted=True, original=original
    )

    assert chart_calls(history_client) == 2 * pages
    assert original.equals(expected_daily(market, symbol, start, session))
    assert adjusted.equals(expected_adjusted(market, symbol, start, session))
    assert adjusted["date"].to_list() == days

    # The original series drops to 1/50 on the split day; the adjusted one stays in the limit.
    raw_closes = original["close"].to_list()
    split_at = days.index(split_day)
    assert raw_closes[split_at] / raw_closes[split_at - 1] < 0.05
    assert max_daily_move(adjusted["close"].to_list()) <= DAILY_LIMIT + 0.01
    split_row = original.row(split_at, named=True)
    assert split_row["ex_rights_code"] == "01"
    assert split_row["split_ratio"] == 0.02
    assert split_row["revaluation_reason"] == "99"
    # adj_factor is 1/50 before the split and 1 from the split day on.
    factors = adjusted["adj_factor"].to_list()
    assert all(f == pytest.approx(1 / 50, rel=1e-3) for f in factors[:split_at])
    assert all(f == 1.0 for f in factors[split_at:])


def test_adjusted_charts_are_continuous_across_every_split_of_the_market(
    history_client: KisClient, history_server: SimulatorServer
) -> None:
    market = history_server.state.market
    splits = [a for x in market.listings for a in market.corporate_actions(x.symbol)]
    real_codes = {"005930", "035420", "035720"}
    assert real_codes <= {a.symbol for a in splits}
    assert len({a.symbol for a in splits} - real_codes) >= 2, "no synthetic split in the market"

    for action in splits:
        start = action.date - dt.timedelta(days=45)
        end = action.date + dt.timedelta(days=45)
        original = fetch_daily_chart(history_client, action.symbol, start, end, adjusted=False)
        adjusted = fetch_daily_chart(
            history_client, action.symbol, start, end, adjusted=True, original=original
        )
        where = f"{action.symbol} split {action.date} x{action.ratio:g}"

        assert original.equals(expected_daily(market, action.symbol, start, end)), where
        assert adjusted.equals(expected_adjusted(market, action.symbol, start, end)), where
        day_of_split = original.filter(pl.col("date") == action.date)
        if action.kind == "merger":
            # New shares of a merger list at an unchanged basis: nothing flagged, nothing adjusted.
            assert day_of_split["split_ratio"].fill_null(0).to_list() == [0], where
            assert adjusted["close"].equals(original["close"]), where
            continue
        # A capital reduction's relisting is no ex-rights day: its base is re-evaluated (02).
        code = "00" if action.kind == "capital_reduction" else "01"
        assert day_of_split["ex_rights_code"].to_list() == [code], where
        assert day_of_split["split_ratio"].to_list() == [round(1 / action.ratio, 2)], where
        raw_move = max_daily_move(original["close"].to_list())
        assert raw_move > 1 - 1 / action.ratio - 0.15, f"{where}: no jump in the original"
        assert max_daily_move(adjusted["close"].to_list()) <= DAILY_LIMIT + 0.01, where
        before = adjusted.filter(pl.col("date") < action.date)["adj_factor"]
        expected_factor = market.adj_factor(action.symbol, start)
        assert before.to_list() == pytest.approx([expected_factor] * before.len(), rel=1e-3)


# ---- §7.11 multi-quote ------------------------------------------------------------------------


def test_multi_quote_of_61_symbols_takes_three_calls_and_reports_the_unknown_one(
    history_client: KisClient, history_server: SimulatorServer
) -> None:
    market = history_server.state.market
    session = session_of(market)
    previous = previous_session(market, session)
    unknown = "999990"
    assert market.listing(unknown) is None
    known = [x.symbol for x in market.listings[:60]]
    requested = [*known[:45], unknown, *known[45:]]
    assert len(requested) == 61

    frame = fetch_multi_quote(history_client, requested)

    assert history_client.stats.calls_by_tr_id[MULTI_QUOTE_TR] == 3
    assert frame.schema == schemas.MULTI_QUOTE
    assert frame["symbol"].to_list() == requested
    assert unknown_symbols(frame) == [unknown]
    missing = frame.row(45, named=True)
    assert missing["found"] is False
    measures = ("name", "price", "change", "open", "high", "low", "volume", "value", "prev_close")
    assert all(missing[column] is None for column in measures)

    for row in frame.filter(pl.col("found")).iter_rows(named=True):
        symbol = row["symbol"]
        listing = market.listing(symbol)
        bar = market.bar(symbol, session)
        prev = market.bar(symbol, previous)
        assert listing is not None and bar is not None and prev is not None
        upper, lower = price_limits(bar.prev_close)
        expected: dict[str, Any] = {
            "name": listing.name,
            "is_traded": True,
            "venue": "KRX",
            "price": bar.close,
            "change": bar.close - bar.prev_close,
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "volume": bar.volume,
            "value": bar.value,
            "prev_close": prev.close,
            "base_price": bar.prev_close,
            "upper_limit": upper,
            "lower_limit": lower,
            "bid": bar.close,
            "ask": bar.close + tick_size(bar.close),
        }
        assert {k: row[k] for k in expected} == expected, symbol
        assert row["change_rate"] == pytest.approx(
            (bar.close - bar.prev_close) / bar.prev_close * 100.0, abs=0.005
        )


# ---- §12.3 index daily ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "since"),
    [
        ("0001", dt.date(2025, 11, 20)),
        ("1001", dt.date(2026, 9, 1)),
        ("2001", dt.date(2026, 10, 5)),
    ],
)
def test_index_daily_matches_the_index_bars(
    sim_client: KisClient, market: Market, code: str, since: dt.date
) -> None:
    session = session_of(market)
    start = first_trading_day_from(market, since)
    bars = market.index_bars(code, start, session)
    assert bars

    frame = fetch_index_daily(sim_client, code, start, session)

    assert sim_client.stats.calls_by_tr_id[INDEX_TR] == math.ceil(len(bars) / 50)
    assert frame.schema == schemas.INDEX_DAILY
    assert frame["date"].to_list() == [b.date for b in bars] == market.trading_days(start, session)
    assert frame["index_code"].unique().to_list() == [code]
    for column in ("open", "high", "low", "close"):
        assert frame[column].to_list() == pytest.approx(
            [round(getattr(b, column), 2) for b in bars], abs=1e-9
        ), column
    # KIS counts index volume in thousand shares and value in KRW million.
    for row, bar in zip(frame.iter_rows(named=True), bars, strict=True):
        assert_in_units(row["volume"], bar.volume, THOUSAND, f"{bar.date} volume", within=1.0)
        assert_in_units(row["value"], bar.value, KRW_MILLION, f"{bar.date} value", within=1.0)


# ---- §13.3 overseas daily ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exchange", "symbol", "currency", "since"),
    [
        ("NAS", "AAPL", "USD", dt.date(2025, 11, 20)),
        ("NYS", "KO", "USD", dt.date(2026, 8, 3)),
        ("HKS", "00700", "HKD", dt.date(2026, 8, 3)),
        ("TSE", "7203", "JPY", dt.date(2026, 10, 1)),
        ("SHS", "600519", "CNY", dt.date(2026, 8, 3)),
        ("SHI", "000001", "CNY", dt.date(2026, 8, 3)),
        ("SZS", "000858", "CNY", dt.date(2026, 8, 3)),
        ("SZI", "399001", "CNY", dt.date(2026, 8, 3)),
        ("HSX", "VNM", "VND", dt.date(2026, 8, 3)),
        ("HNX", "PVS", "VND", dt.date(2026, 8, 3)),
    ],
)
def test_overseas_daily_matches_the_exchange_bars(
    sim_client: KisClient,
    market: Market,
    exchange: str,
    symbol: str,
    currency: str,
    since: dt.date,
) -> None:
    end = SIM_NOW.date()
    bars = market.overseas_bars(exchange, symbol, since, end)
    assert [b.date for b in bars] == market.overseas_days(exchange, since, end)

    frame = fetch_overseas_daily(sim_client, exchange, symbol, since, end)

    assert sim_client.stats.calls_by_tr_id[OVERSEAS_TR] == math.ceil(len(bars) / 100)
    assert frame.schema == schemas.OVERSEAS_DAILY_PRICES
    assert frame["date"].to_list() == [b.date for b in bars]
    assert set(frame["currency"]) == {currency} and set(frame["is_adjusted"]) == {False}
    for column in ("open", "high", "low", "close"):
        assert frame[column].to_list() == pytest.approx(
            [getattr(b, column) for b in bars], abs=1e-6
        ), column
    assert frame["volume"].to_list() == [b.volume for b in bars]
    assert frame["value_local"].to_list() == pytest.approx([b.value for b in bars], abs=0.5)
    # KIS sends the change unsigned with its direction apart; the frame's change is signed.
    assert frame["change"].to_list() == pytest.approx(
        [b.close - b.prev_close for b in bars], abs=1e-6
    )
    assert frame["change_rate"].to_list() == pytest.approx(
        [(b.close - b.prev_close) / b.prev_close * 100.0 for b in bars], abs=0.0051
    )


# ---- §8 rankings ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["volume", "rise", "fall", "market_cap"])
def test_rankings_are_the_markets_top_30(sim_client: KisClient, market: Market, kind: str) -> None:
    session = session_of(market)
    if kind == "volume":
        frame = fetch_volume_ranking(sim_client, session)
    elif kind == "market_cap":
        frame = fetch_market_cap_ranking(sim_client, session)
    else:
        frame = fetch_fluctuation_ranking(sim_client, session, direction=kind)  # type: ignore[arg-type]

    assert frame.schema == schemas.RANKINGS
    assert frame["symbol"].to_list() == market.ranking(session, kind)[:30]
    assert frame["rank"].to_list() == list(range(1, 31))
    assert set(frame["ranking"]) == {kind} and set(frame["date"]) == {session}
    assert set(frame["source"]) == {"kis"} and set(frame["venue"]) == {"KRX"}
    for row in frame.iter_rows(named=True):
        bar = market.bar(row["symbol"], session)
        listing = market.listing(row["symbol"])
        assert bar is not None and listing is not None
        assert row["name"] == listing.name
        assert (row["price"], row["volume"]) == (bar.close, bar.volume)
        assert row["change"] == bar.close - bar.prev_close
        if kind == "market_cap":
            truth = market.market_cap(row["symbol"], session)
            assert_in_units(row["market_cap"], truth, KRW_100M, f"{row['symbol']} market_cap")
            assert row["listed_shares"] == market.listed_shares(row["symbol"], session)
        if kind == "volume":
            assert row["value"] == bar.value


# ---- §9 investor flows ------------------------------------------------------------------------


FLOW_GROUPS = ("individual", "foreign", "institution", "other_corp")


def test_investor_flows_of_a_stock_are_in_shares_and_krw(
    sim_client: KisClient, market: Market
) -> None:
    symbol = "035420"
    session = session_of(market)
    start = dt.date(2026, 8, 3)
    days = market.trading_days(start, session)

    frame = fetch_investor_flows(sim_client, symbol, start, session)

    assert frame.schema == schemas.INVESTOR_FLOWS
    assert frame["date"].to_list() == days
    assert set(frame["symbol"]) == {symbol}
    for row in frame.iter_rows(named=True):
        day = row["date"]
        flow = market.investor_flow(symbol, day)
        bar = market.bar(symbol, day)
        assert flow is not None and bar is not None
        assert (row["close"], row["open"], row["high"], row["low"]) == (
            bar.close,
            bar.open,
            bar.high,
            bar.low,
        )
        assert (row["volume"], row["value"]) == (bar.volume, bar.value)
        for group in FLOW_GROUPS:
            for side in ("buy", "sell", "net"):
                truth_volume = getattr(flow, f"{group}_{side}_volume")
                assert row[f"{group}_{side}_volume"] == truth_volume, (day, group, side)
                # Amounts come in KRW million: a net is two rounded amounts.
                assert_in_units(
                    row[f"{group}_{side}_value"],
                    getattr(flow, f"{group}_{side}_value"),
                    KRW_MILLION,
                    f"{day} {group}_{side}_value",
                    within=1.0 if side == "net" else 0.5,
                )
        institution_parts = (
            "securities",
            "investment_trust",
            "private_fund",
            "bank",
            "insurance",
            "merchant_bank",
            "pension_fund",
        )
        assert (
            sum(row[f"{p}_net_volume"] for p in institution_parts)
            == (row["institution_net_volume"])
        )


@pytest.mark.parametrize("board", ["KOSPI", "KOSDAQ"])
def test_investor_flows_of_a_market_are_in_shares_and_krw(
    sim_client: KisClient, market: Market, board: str
) -> None:
    session = session_of(market)
    start = dt.date(2026, 9, 14)
    days = market.trading_days(start, session)
    index_code = {"KOSPI": "0001", "KOSDAQ": "1001"}[board]
    index = {b.date: b for b in market.index_bars(index_code, start, session)}

    frame = fetch_market_investor_flows(sim_client, board, start, session)

    assert frame.schema == schemas.MARKET_INVESTOR_FLOWS
    assert frame["date"].to_list() == days
    assert set(frame["market"]) == {board} and set(frame["index_code"]) == {index_code}
    for row in frame.iter_rows(named=True):
        day = row["date"]
        flow = market.market_investor_flow(board, day)
        assert flow is not None
        assert row["index_close"] == pytest.approx(round(index[day].close, 2), abs=1e-9)
        for group in FLOW_GROUPS:
            # Thousand shares and KRW million on the wire; nets of two rounded figures.
            assert_in_units(
                row[f"{group}_net_volume"],
                getattr(flow, f"{group}_net_volume"),
                THOUSAND,
                f"{day} {group}_net_volume",
                within=1.0,
            )
            assert_in_units(
                row[f"{group}_net_value"],
                getattr(flow, f"{group}_net_value"),
                KRW_MILLION,
                f"{day} {group}_net_value",
                within=1.0,
            )


# ---- §10.1-10.3 fundamentals ------------------------------------------------------------------

STATEMENTS = {
    "balance": (fetch_balance_sheet, "balance", {
        "cras": "current_assets", "fxas": "fixed_assets", "total_aset": "total_assets",
        "flow_lblt": "current_liabilities", "fix_lblt": "fixed_liabilities",
        "total_lblt": "total_liabilities", "cpfn": "capital", "cfp_surp": "capital_surplus",
        "prfi_surp": "retained_earnings", "total_cptl": "total_equity",
    }),
    "income": (fetch_income_statement, "income", {
        "sale_account": "revenue", "sale_cost": "cost_of_sales", "sale_totl_prfi": "gross_profit",
        "depr_cost": "depreciation", "sell_mang": "selling_admin_expense",
        "bsop_prti": "operating_profit", "bsop_non_ernn": "non_operating_income",
        "bsop_non_expn": "non_operating_expense", "op_prfi": "ordinary_profit",
        "spec_prfi": "extraordinary_gain", "spec_loss": "extraordinary_loss",
        "thtr_ntin": "net_income",
    }),
    "ratios": (fetch_financial_ratios, "ratios", {
        "grs": "revenue_growth", "bsop_prfi_inrt": "operating_profit_growth",
        "ntin_inrt": "net_income_growth", "roe_val": "roe", "eps": "eps", "sps": "sps",
        "bps": "bps", "rsrv_rate": "reserve_ratio", "lblt_rate": "debt_ratio",
    }),
}  # fmt: skip
PLACEHOLDER = "99.99"


@pytest.mark.parametrize("period_type", ["annual", "quarter"])
@pytest.mark.parametrize("statement", list(STATEMENTS))
def test_financial_statements_match_the_published_periods(
    sim_client: KisClient, market: Market, statement: str, period_type: str
) -> None:
    fetch, section, fields = STATEMENTS[statement]
    symbol = "005380"
    as_of = session_of(market)
    periods = [p for p in market.financials(symbol) if p.period_type == period_type]
    assert periods

    frame = fetch(sim_client, symbol, period_type=period_type, as_of=as_of)  # type: ignore[operator]

    assert frame["period"].to_list() == [p.period for p in periods]
    assert set(frame["symbol"]) == {symbol} and set(frame["as_of"]) == {as_of}
    assert set(frame["period_type"]) == {period_type}
    for row, period in zip(frame.iter_rows(named=True), periods, strict=True):
        values: dict[str, float] = getattr(period, section)
        for kis_name, column in fields.items():
            text = f"{values.get(kis_name, float(PLACEHOLDER)):.2f}"
            where = f"{period.period} {column}"
            if section == "ratios":
                # Ratios stay as KIS gives them, placeholders included.
                assert row[column] == pytest.approx(float(text), abs=1e-9), where
            elif text == PLACEHOLDER:
                assert row[column] is None, where
            else:
                # Statement items: KRW 100 million (two decimals) on the wire, KRW here.
                assert row[column] == round(float(text) * KRW_100M), where


# ---- §10.8 dividends --------------------------------------------------------------------------


def test_dividends_of_a_symbol_over_three_years(sim_client: KisClient, market: Market) -> None:
    symbol = "005930"
    session = session_of(market)
    start = dt.date(2023, 11, 20)
    truth = [d for d in market.dividends(symbol) if start <= d.record_date <= session]
    assert len(truth) >= 8
    listing = market.listing(symbol)
    assert listing is not None

    frame = fetch_dividends(sim_client, start, session, symbol=symbol)

    windows = math.ceil(((session - start).days + 1) / 366)
    assert sim_client.stats.calls_by_tr_id["HHKDB669102C0"] == windows
    assert frame.schema == schemas.DIVIDENDS
    assert frame.sort("record_date")["record_date"].to_list() == [d.record_date for d in truth]
    by_date = {row["record_date"]: row for row in frame.iter_rows(named=True)}
    for div in truth:
        row = by_date[div.record_date]
        assert row["symbol"] == symbol and row["name"] == listing.name
        assert row["pay_date"] == div.pay_date
        assert row["dividend_kind"] == KIS_DIVIDEND_KINDS[div.kind]
        assert row["share_class"] == KIS_SHARE_CLASSES[div.stock_kind]
        assert row["dividend_per_share"] == div.dividend_per_share
        assert row["face_value"] == div.face_value
        assert row["cash_dividend_rate"] == pytest.approx(div.cash_rate, abs=0.005)
        assert row["stock_dividend_rate"] == pytest.approx(div.stock_rate, abs=0.005)
        assert row["is_high_dividend"] == (True if div.high_dividend else None)


def test_dividends_of_all_issues_in_a_month(sim_client: KisClient, market: Market) -> None:
    start, end = dt.date(2025, 12, 1), dt.date(2025, 12, 31)
    truth = sorted(
        (d.symbol, d.record_date, d.dividend_per_share)
        for x in market.listings
        for d in market.dividends(x.symbol)
        if start <= d.record_date <= end
    )
    assert len({symbol for symbol, _, _ in truth}) >= 10

    frame = fetch_dividends(sim_client, start, end)

    assert sim_client.stats.calls_by_tr_id["HHKDB669102C0"] == 1
    got = sorted(frame.select("symbol", "record_date", "dividend_per_share").iter_rows())
    assert got == truth


# ---- §11.1 calendar ---------------------------------------------------------------------------


def test_trading_calendar_follows_the_market_calendar(
    sim_client: KisClient, market: Market
) -> None:
    base, end = dt.date(2026, 11, 1), dt.date(2027, 1, 31)

    frame = fetch_trading_calendar(sim_client, base, end=end)

    every_day = [base + dt.timedelta(days=i) for i in range((end - base).days + 1)]
    assert frame.schema == schemas.TRADING_CALENDAR
    assert frame["date"].to_list() == every_day
    # 24 days a page: several pages, followed by tr_cont.
    assert sim_client.stats.calls_by_tr_id[CALENDAR_TR] == math.ceil(len(every_day) / 24)
    expected = [
        (d, market.is_trading_day(d), market.is_business_day(d), market.is_settlement_day(d))
        for d in every_day
    ]
    got = list(
        frame.select("date", "is_trading_day", "is_business_day", "is_settlement_day").iter_rows()
    )
    assert got == expected
    assert frame["is_market_open"].to_list() == frame["is_trading_day"].to_list()
    assert not frame.filter(pl.col("date") == dt.date(2026, 12, 25))["is_trading_day"].item()
    assert not frame.filter(pl.col("date") == dt.date(2027, 1, 1))["is_trading_day"].item()


# ---- §14 master files -------------------------------------------------------------------------


def test_universe_from_the_master_files_is_the_listed_stocks(
    sim_client: KisClient, market: Market
) -> None:
    session = session_of(market)

    universe = fetch_universe(sim_client)
    kospi = fetch_master(sim_client, "KOSPI")

    assert sorted(universe["symbol"]) == sorted(x.symbol for x in market.listings)
    assert universe["symbol"].n_unique() == universe.height
    # The KOSPI file also lists an ETF, an ETN and a REIT: the universe leaves them out.
    assert set(kospi["security_group"]) - {"ST"}
    assert set(universe["security_group"]) <= {"ST", "FS", "KN"}
    for row in universe.iter_rows(named=True):
        listing = market.listing(row["symbol"])
        assert listing is not None
        where = row["symbol"]
        assert (row["name"], row["market"]) == (listing.name, listing.market), where
        assert (row["par_value"], row["list_date"]) == (listing.par_value, listing.list_date)
        # The file carries thousands of shares and KRW 100 million.
        assert_in_units(row["listed_shares"], listing.listed_shares, THOUSAND, f"{where} shares")
        assert_in_units(
            row["market_cap"],
            market.market_cap(row["symbol"], session),
            KRW_100M,
            where,
            within=1.0,
        )
    # Downloads are not KIS API calls and need no token.
    assert sim_client.stats.token_issues == 0
