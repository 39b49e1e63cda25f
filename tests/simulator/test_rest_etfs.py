"""The simulator's ETF NAV daily trend: the model's sessions in KIS's fields, newest first and at
most 100 a call, read back by the pipeline's record spec; KIS's disparity is the close against
the NAV; a stock, an unknown code or another market is KIS's error."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis.endpoints.etf_nav import ETF_NAV_ROWS
from kis_pipeline.kis.records import Source, split_rows
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_etfs import ETFS, Etf
from kis_pipeline.simulator.rest_common import BusinessError, Params
from kis_pipeline.simulator.rest_etfs import ROWS_PER_CALL, nav_comparison_daily_trend
from kis_pipeline.simulator.rest_market import MarketView
from tests.helpers.simulator import SIM_CONFIG


@pytest.fixture(scope="module")
def view() -> MarketView:
    return MarketView(Market(SIM_CONFIG))


def _ask(view: MarketView, code: str, start: str, end: str, market: str = "J") -> list[dict]:
    query = {
        "FID_COND_MRKT_DIV_CODE": market,
        "FID_INPUT_ISCD": code,
        "FID_INPUT_DATE_1": start,
        "FID_INPUT_DATE_2": end,
    }
    return nav_comparison_daily_trend(view, Params(query), "").body["output"]


@pytest.mark.parametrize("etf", ETFS, ids=lambda etf: etf.code)
def test_the_answer_is_the_model_newest_first(view: MarketView, etf: Etf) -> None:
    records = _ask(view, etf.code, "20261102", "20261120")
    split = split_rows(records, ETF_NAV_ROWS, Source("", "", "sim"), constants={"symbol": etf.code})
    assert split.rejects == []
    bars = view.market.etf_bars(etf.code, dt.date(2026, 11, 2), dt.date(2026, 11, 20))[::-1]
    frame = split.frame
    assert frame["date"].to_list() == [b.date for b in bars] and len(bars) == 15
    assert frame["close"].to_list() == [b.close for b in bars]
    assert frame["nav"].to_list() == [b.nav for b in bars]
    assert frame["change"].to_list() == [b.close - b.prev_close for b in bars]
    assert frame["volume"].to_list() == [b.volume for b in bars]
    for row in frame.iter_rows(named=True):
        assert row["close_vs_nav"] == pytest.approx(row["close"] - row["nav"], abs=0.006)
        premium = (row["close"] - row["nav"]) / row["nav"] * 100
        assert row["premium_rate"] == pytest.approx(premium, abs=0.005 + 1e-9)
        assert abs(row["premium_rate"]) < 0.6


def test_a_call_answers_the_newest_hundred_sessions_of_the_range(view: MarketView) -> None:
    records = _ask(view, "069500", "20250101", "20261120")
    assert len(records) == ROWS_PER_CALL
    assert records[0]["stck_bsop_date"] == "20261120"
    sessions = view.sessions_until(dt.date(2026, 11, 20), ROWS_PER_CALL)
    assert [r["stck_bsop_date"] for r in records] == [f"{d:%Y%m%d}" for d in sessions]
    assert _ask(view, "069500", "20261121", "20261130") == []


@pytest.mark.parametrize(
    ("code", "market", "msg_cd"),
    [("005930", "J", "MCA05918"), ("999999", "J", "MCA05918"), ("069500", "U", "OPSQ2001")],
)
def test_a_stock_an_unknown_code_or_another_market_is_kis_error(
    view: MarketView, code: str, market: str, msg_cd: str
) -> None:
    with pytest.raises(BusinessError) as error:
        _ask(view, code, "20261116", "20261120", market)
    assert error.value.msg_cd == msg_cd
