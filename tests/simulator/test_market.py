"""The synthetic market: determinism, price sanity, calendar, splits, flows, fundamentals."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.common.clock import KST
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_ticks import is_on_grid, price_limits, round_tick, tick_size

NOW = dt.datetime(2025, 11, 14, 16, 0, tzinfo=KST)  # a Friday, after the close
D = dt.date


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(SimConfig(seed=7, universe=60, now=NOW))


@pytest.fixture(scope="module")
def wide() -> Market:
    # 320 symbols reaches the synthetic split at universe position 300.
    return Market(SimConfig(seed=11, universe=320, start=D(2016, 1, 4), now=NOW))


# --- determinism ------------------------------------------------------------------------


def test_same_config_same_data(market: Market) -> None:
    again = Market(SimConfig(seed=7, universe=60, now=NOW))
    frame = market.prices_frame(D(2015, 1, 1), D(2025, 12, 31))
    assert frame.equals(again.prices_frame(D(2015, 1, 1), D(2025, 12, 31)))
    assert market.index_bars("0001", D(2024, 1, 1), D(2024, 12, 31)) == again.index_bars(
        "0001", D(2024, 1, 1), D(2024, 12, 31)
    )
    assert market.investor_flow("000660", D(2023, 5, 8)) == again.investor_flow(
        "000660", D(2023, 5, 8)
    )
    assert market.financials("005930") == again.financials("005930")
    assert market.dividends("005930") == again.dividends("005930")


def test_other_seed_other_prices_same_universe(market: Market) -> None:
    other = Market(SimConfig(seed=8, universe=60, now=NOW))
    assert [x.symbol for x in other.listings] == [x.symbol for x in market.listings]
    assert other.bar("005930", D(2024, 6, 3)) != market.bar("005930", D(2024, 6, 3))


def test_symbol_paths_do_not_depend_on_universe_size_or_clock(market: Market) -> None:
    bigger = Market(SimConfig(seed=7, universe=250, now=NOW + dt.timedelta(days=30)))
    day = D(2025, 3, 4)
    for symbol in ("005930", market.listings[45].symbol):
        assert bigger.bar(symbol, day) == market.bar(symbol, day)


# --- calendar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        D(2024, 2, 9),
        D(2024, 2, 10),
        D(2024, 2, 11),
        D(2024, 2, 12),  # Seollal + substitute
        D(2025, 10, 3),
        D(2025, 10, 6),
        D(2025, 10, 8),
        D(2025, 10, 9),  # Foundation, Chuseok
        D(2025, 1, 1),
        D(2025, 3, 3),
        D(2025, 5, 1),
        D(2025, 5, 6),
        D(2025, 6, 3),
        D(2024, 4, 10),
        D(2024, 10, 1),
        D(2024, 12, 25),
        D(2018, 9, 26),
        D(2024, 12, 31),
        D(2025, 12, 31),
        D(2023, 12, 29),  # year-end closing days
        D(2025, 11, 15),
        D(2025, 11, 16),  # weekend
    ],
)
def test_closed_days(market: Market, day: dt.date) -> None:
    assert not market.is_trading_day(day)
    assert not market.is_settlement_day(day)


@pytest.mark.parametrize(
    "day", [D(2024, 2, 13), D(2025, 10, 10), D(2024, 12, 30), D(2023, 12, 28), D(2025, 11, 14)]
)
def test_open_days(market: Market, day: dt.date) -> None:
    assert market.is_trading_day(day)
    assert market.is_business_day(day)
    assert market.is_settlement_day(day)


def test_year_end_closing_day_is_a_business_day(market: Market) -> None:
    for day in (D(2024, 12, 31), D(2023, 12, 29), D(2022, 12, 30)):
        assert market.is_business_day(day)
        assert not market.is_trading_day(day)
    assert not market.is_business_day(D(2024, 12, 25))
    assert not market.is_business_day(D(2025, 11, 15))


def test_last_completed_session_follows_the_close(market: Market) -> None:
    friday = dt.datetime(2025, 11, 14, 15, 29, tzinfo=KST)
    assert market.last_completed_session(friday) == D(2025, 11, 13)
    assert market.last_completed_session(friday.replace(minute=30)) == D(2025, 11, 14)
    sunday = dt.datetime(2025, 11, 16, 12, 0, tzinfo=KST)
    assert market.last_completed_session(sunday) == D(2025, 11, 14)
    after_seollal = dt.datetime(2024, 2, 13, 10, 0, tzinfo=KST)
    assert market.last_completed_session(after_seollal) == D(2024, 2, 8)
    utc = dt.datetime(2025, 11, 14, 6, 45, tzinfo=dt.UTC)  # 15:45 KST
    assert market.last_completed_session(utc) == D(2025, 11, 14)


def test_history_runs_from_start_to_last_session(market: Market) -> None:
    days = market.history_days()
    assert days[0] == D(2015, 1, 2)
    assert days[-1] == D(2025, 11, 14)
    assert all(market.is_trading_day(d) for d in days)
    assert market.trading_days(D(2024, 2, 5), D(2024, 2, 16)) == [
        D(2024, 2, 5),
        D(2024, 2, 6),
        D(2024, 2, 7),
        D(2024, 2, 8),
        D(2024, 2, 13),
        D(2024, 2, 14),
        D(2024, 2, 15),
        D(2024, 2, 16),
    ]
    assert market.bar("005930", D(2025, 11, 17)) is None  # not yet traded
    assert market.session_bar("005930", D(2025, 11, 17)) is not None  # the next session
    assert market.bar("005930", D(2025, 11, 15)) is None  # Saturday


def test_calendar_covers_2015_to_2028() -> None:
    for year in range(cal.FIRST_LISTED_YEAR, cal.LAST_LISTED_YEAR + 1):
        days = cal.trading_days(D(year, 1, 1), D(year, 12, 31))
        assert 240 <= len(days) <= 252, year
        assert D(year, 1, 1) not in days
        assert cal.year_end_closing_day(year) not in days


# --- prices -----------------------------------------------------------------------------


def test_tick_table() -> None:
    assert [
        tick_size(p)
        for p in (
            1_999,
            2_000,
            4_995,
            5_000,
            19_990,
            20_000,
            49_950,
            50_000,
            199_900,
            200_000,
            499_500,
            500_000,
        )
    ] == [1, 5, 5, 10, 10, 50, 50, 100, 100, 500, 500, 1_000]
    assert price_limits(10_000) == (13_000, 7_000)
    assert price_limits(19_360) == (25_150, 13_560)


def test_ohlc_sanity_on_the_whole_book(wide: Market) -> None:
    frame = wide.prices_frame(D(2016, 1, 1), D(2025, 12, 31))
    o, h, lo, c, v, value = (
        frame[col].to_numpy() for col in ("open", "high", "low", "close", "volume", "value")
    )
    assert len(frame) == len(wide.history_days()) * 320
    assert (lo <= o).all() and (lo <= c).all() and (o <= h).all() and (c <= h).all()
    assert (lo >= 1).all() and (v > 0).all()
    assert (value >= v * lo).all() and (value <= v * h).all()
    for prices in (o, h, lo, c):
        ticks = np.array([tick_size(p) for p in np.unique(prices)])
        assert (np.unique(prices) % ticks == 0).all()


def test_daily_limits_and_prev_close(wide: Market) -> None:
    symbol = wide.listings[100].symbol
    bars = wide.daily_bars(symbol, D(2016, 1, 1), D(2025, 12, 31))
    for before, bar in itertools.pairwise(bars):
        assert bar.prev_close == before.close
        upper, lower = price_limits(bar.prev_close)
        assert lower <= bar.low <= bar.high <= upper
        assert is_on_grid(bar.prev_close)


def test_bars_match_the_bulk_frame(market: Market) -> None:
    frame = market.prices_frame(D(2024, 3, 1), D(2024, 3, 31), ["000660", "035720"])
    assert frame["symbol"].unique().sort().to_list() == ["000660", "035720"]
    for row in frame.iter_rows(named=True):
        bar = market.bar(row["symbol"], row["date"])
        assert bar is not None
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.value) == (
            row["open"],
            row["high"],
            row["low"],
            row["close"],
            row["volume"],
            row["value"],
        )
    bars = market.daily_bars("000660", D(2024, 3, 1), D(2024, 3, 31))
    assert [b.date for b in bars] == sorted(frame["date"].unique().to_list())


# --- splits -----------------------------------------------------------------------------


def test_samsung_split_resets_the_base_and_adjusts_continuously(market: Market) -> None:
    actions = market.corporate_actions("005930")
    assert [(a.date, a.kind, a.ratio) for a in actions] == [(D(2018, 5, 4), "split", 50.0)]
    before, split = market.daily_bars("005930", D(2018, 5, 3), D(2018, 5, 4))
    assert split.prev_close == int(round_tick(np.array([before.close / 50]))[0])
    assert split.close < before.close / 10  # the raw series jumps
    assert (split.flng_cls_code, split.prtt_rate, split.revl_issu_reas) == ("01", 0.02, "99")
    assert (before.flng_cls_code, before.prtt_rate) in {("00", 0.0), ("02", 0.0), ("05", 0.0)}
    assert market.adj_factor("005930", D(2018, 5, 3)) == pytest.approx(1 / 50)
    assert market.adj_factor("005930", D(2018, 5, 4)) == 1.0
    adjusted_prev = before.close * market.adj_factor("005930", before.date)
    assert abs(split.close / adjusted_prev - 1) < 0.3
    assert abs(adjusted_prev / split.prev_close - 1) < 0.01
    cap_before = market.market_cap("005930", before.date)
    cap_after = market.market_cap("005930", split.date)
    assert abs(cap_after / cap_before - 1) < 0.3
    assert (
        market.listed_shares("005930", before.date) * 50 == market.listing("005930").listed_shares
    )


def test_splits_on_synthetic_names_and_future_ones_hidden(wide: Market) -> None:
    synthetic = [wide.listings[i].symbol for i in (40, 47, 300)]
    dates = [[a.date for a in wide.corporate_actions(s)] for s in synthetic]
    assert dates == [[D(2020, 6, 15)], [D(2023, 9, 11)], [D(2016, 8, 22)]]
    early = Market(
        SimConfig(
            seed=11,
            universe=320,
            start=D(2016, 1, 4),
            now=dt.datetime(2019, 1, 10, 9, 0, tzinfo=KST),
        )
    )
    assert early.corporate_actions(synthetic[0]) == []
    assert early.adj_factor(synthetic[0], D(2018, 1, 2)) == 1.0
    # The raw history is the same whatever the clock: only its visibility moves.
    assert early.bar(synthetic[0], D(2018, 1, 2)) == wide.bar(synthetic[0], D(2018, 1, 2))
    assert (
        early.listing(synthetic[0]).listed_shares * 10 == wide.listing(synthetic[0]).listed_shares
    )


# --- flows, rankings, indices, overseas -------------------------------------------------


def test_investor_flows_net_to_zero(market: Market) -> None:
    day = D(2025, 6, 10)
    for symbol in ("005930", "247540", market.listings[50].symbol):
        flow = market.investor_flow(symbol, day)
        bar = market.bar(symbol, day)
        assert flow is not None and bar is not None
        groups = ("individual", "foreign", "institution", "other_corp")
        assert sum(getattr(flow, f"{g}_net_volume") for g in groups) == 0
        assert sum(getattr(flow, f"{g}_net_value") for g in groups) == 0
        assert sum(getattr(flow, f"{g}_buy_volume") for g in groups) == bar.volume
        assert sum(getattr(flow, f"{g}_sell_volume") for g in groups) == bar.volume
        assert sum(getattr(flow, f"{g}_buy_value") for g in groups) == bar.value
        for g in groups:
            assert getattr(flow, f"{g}_net_volume") == (
                getattr(flow, f"{g}_buy_volume") - getattr(flow, f"{g}_sell_volume")
            )
    kospi = market.market_investor_flow("KOSPI", day)
    assert kospi is not None
    assert (
        kospi.individual_net_value
        + kospi.foreign_net_value
        + kospi.institution_net_value
        + kospi.other_corp_net_value
        == 0
    )
    assert market.investor_flow("005930", D(2025, 11, 17)) is None


def test_flow_detail_adds_up_to_its_parents(market: Market) -> None:
    day = D(2025, 6, 10)
    for key, flow in (
        ("005930", market.investor_flow("005930", day)),
        ("KOSDAQ", market.market_investor_flow("KOSDAQ", day)),
    ):
        assert flow is not None
        detail = market.investor_flow_detail(key, day)
        institution = [v for k, v in detail.items() if not k.startswith("frgn")]
        foreign = [detail["frgn_reg"], detail["frgn_nreg"]]
        assert len(institution) == 7
        assert [sum(v[i] for v in institution) for i in range(4)] == [
            flow.institution_buy_volume,
            flow.institution_sell_volume,
            flow.institution_buy_value,
            flow.institution_sell_value,
        ]
        assert [sum(v[i] for v in foreign) for i in range(4)] == [
            flow.foreign_buy_volume,
            flow.foreign_sell_volume,
            flow.foreign_buy_value,
            flow.foreign_sell_value,
        ]
    assert market.investor_flow_detail("005930", D(2025, 11, 15)) == {}


def test_rankings_are_sorted(market: Market) -> None:
    day = D(2025, 11, 14)
    by_volume = market.ranking(day, "volume")
    assert len(by_volume) == 60
    volumes = [market.bar(s, day).volume for s in by_volume]
    assert volumes == sorted(volumes, reverse=True)
    rates = [
        (b.close - b.prev_close) / b.prev_close
        for b in (market.bar(s, day) for s in market.ranking(day, "rise"))
    ]
    assert all(a >= b - 1e-4 for a, b in itertools.pairwise(rates))
    assert market.ranking(day, "fall")[0] == market.ranking(day, "rise")[-1]
    caps = [market.market_cap(s, day) for s in market.ranking(day, "market_cap")]
    assert caps == sorted(caps, reverse=True)
    assert market.ranking(day, "market_cap")[0] == "005930"
    with pytest.raises(ValueError):
        market.ranking(day, "nope")


def test_indices_every_trading_day(market: Market) -> None:
    days = market.trading_days(D(2024, 1, 1), D(2024, 12, 31))
    for code in market.INDEX_CODES:
        bars = market.index_bars(code, D(2024, 1, 1), D(2024, 12, 31))
        assert [b.date for b in bars] == days
        for bar in bars:
            assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
            assert bar.close == round(bar.close, 2) and bar.volume > 0 and bar.value > 0
    kospi = market.index_bars("0001", D(2015, 1, 1), D(2015, 1, 31))
    assert 1500 < kospi[0].close < 2400
    assert "005930" in market.index_members("2001")


def test_overseas_weekdays(market: Market) -> None:
    exchanges = {excd for excd, _, _ in market.OVERSEAS}
    assert {"NAS", "NYS", "AMS", "HKS", "TSE"} <= exchanges
    days = market.overseas_days("NAS", D(2025, 11, 1), D(2025, 11, 30))
    # 16:00 KST Friday is 02:00 Friday in New York: Thursday is the last complete session.
    assert days[-1] == D(2025, 11, 13)
    assert all(d.weekday() < 5 for d in days)
    bars = market.overseas_bars("NAS", "AAPL", D(2025, 11, 1), D(2025, 11, 30))
    assert [b.date for b in bars] == days
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)
    assert market.overseas_days("TSE", D(2025, 11, 14), D(2025, 11, 14)) == [D(2025, 11, 14)]


# --- fundamentals -----------------------------------------------------------------------


def test_financials_only_published_periods(market: Market) -> None:
    periods = market.financials("005930")
    assert periods and all(p.published <= NOW.date() for p in periods)
    keys = [(p.period, p.period_type) for p in periods]
    assert keys == sorted(keys, key=lambda k: (k[0], k[1] == "annual"), reverse=True)
    assert keys[0] == ("202509", "quarter")  # Q3 2025: published 45 days after 30 September
    assert ("202412", "annual") in keys and ("202512", "annual") not in keys
    assert all(p.period[4:] in {"03", "06", "09", "12"} for p in periods)
    assert all(p.period[4:] == "12" for p in periods if p.period_type == "annual")
    by_key = {(p.period, p.period_type): p for p in periods}
    q1, q2 = by_key[("202403", "quarter")], by_key[("202406", "quarter")]
    assert q2.income["sale_account"] > q1.income["sale_account"]  # year-to-date cumulative
    assert by_key[("202312", "annual")].income == by_key[("202312", "quarter")].income
    assert set(q1.balance) >= {"cras", "fxas", "total_aset", "total_lblt", "cpfn", "total_cptl"}
    assert set(q1.income) >= {"sale_account", "sale_cost", "bsop_prti", "op_prfi", "thtr_ntin"}
    assert set(q1.ratios) == {
        "grs",
        "bsop_prfi_inrt",
        "ntin_inrt",
        "roe_val",
        "eps",
        "sps",
        "bps",
        "rsrv_rate",
        "lblt_rate",
    }
    assert q1.balance["total_aset"] == q1.balance["total_lblt"] + q1.balance["total_cptl"]
    earlier = market.financials("005930", as_of=D(2025, 11, 13))
    assert earlier[0].period == "202506"


def test_dividends_and_ex_dividend_flags(market: Market) -> None:
    dividends = market.dividends("005930")
    assert dividends and all(d.record_date <= D(2025, 11, 14) for d in dividends)
    assert {d.kind for d in dividends} == {"분기", "결산"}
    year_end = [d for d in dividends if d.kind == "결산"]
    assert year_end[-1].record_date == D(2024, 12, 30)  # last trading day of 2024
    for d in dividends:
        assert d.dividend_per_share > 0 and d.face_value > 0
        assert d.cash_rate == round(d.dividend_per_share / d.face_value * 100, 2)
        assert d.ex_date is not None and market.is_trading_day(d.ex_date)
        assert d.pay_date is None or (
            d.pay_date > d.record_date and market.is_business_day(d.pay_date)
        )
        bar = market.bar("005930", d.ex_date)
        assert bar is not None
        assert bar.flng_cls_code == ("02" if d.kind == "결산" else "05")
    assert market.dividends("373220") == []


def test_quote_stats(market: Market) -> None:
    stats = market.quote_stats("005930", D(2025, 11, 14))
    bar = market.bar("005930", D(2025, 11, 14))
    assert stats is not None and bar is not None
    assert stats.w52_low <= bar.close <= stats.w52_high
    assert (stats.upper_limit, stats.lower_limit) == price_limits(bar.prev_close)
    assert stats.market_cap == market.market_cap("005930", D(2025, 11, 14))
    assert stats.per > 0 and stats.pbr > 0 and stats.eps > 0 and stats.bps > 0
