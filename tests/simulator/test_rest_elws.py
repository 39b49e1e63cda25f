"""The simulator's ELW volatility daily trend: the model's newest 30 sessions in KIS's fields,
newest first, read back by the pipeline's record spec; a stock, an unknown code or another
market is KIS's error."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis.endpoints.elw_prices import ELW_PRICE_ROWS
from kis_pipeline.kis.records import Source, split_rows
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_elws import ELWS, Elw
from kis_pipeline.simulator.rest_common import BusinessError, Params
from kis_pipeline.simulator.rest_elws import ROWS_PER_CALL, volatility_trend_daily
from kis_pipeline.simulator.rest_market import MarketView
from tests.helpers.simulator import SIM_CONFIG


@pytest.fixture(scope="module")
def view() -> MarketView:
    return MarketView(Market(SIM_CONFIG))


def _ask(view: MarketView, code: str, market: str = "W") -> list[dict]:
    query = {"FID_COND_MRKT_DIV_CODE": market, "FID_INPUT_ISCD": code}
    return volatility_trend_daily(view, Params(query), "").body["output"]


@pytest.mark.parametrize("elw", ELWS, ids=lambda elw: elw.code)
def test_the_answer_is_the_models_newest_sessions_newest_first(view: MarketView, elw: Elw) -> None:
    records = _ask(view, elw.code)
    sessions = view.sessions_until(view.session(), ROWS_PER_CALL)
    assert [r["stck_bsop_date"] for r in records] == [f"{d:%Y%m%d}" for d in sessions]
    split = split_rows(records, ELW_PRICE_ROWS, Source("", "", "sim"), constants={"symbol": "x"})
    assert split.rejects == []
    bars = view.market.elw_bars(elw.code, sessions[-1], sessions[0])[::-1]
    frame = split.frame
    assert frame["close"].to_list() == [b.close for b in bars]
    assert frame["high"].to_list() == [b.high for b in bars]
    assert frame["change"].to_list() == [b.close - b.prev_close for b in bars]
    assert frame["implied_vol"].to_list() == [round(b.vol * 100, 2) for b in bars]
    assert frame["hist_vol_20d"].to_list() == [round(b.historical[1] * 100, 2) for b in bars]
    assert frame["volume"].to_list() == [b.volume for b in bars]


@pytest.mark.parametrize(
    ("code", "market", "msg_cd"),
    [("005930", "W", "MCA05918"), ("99Z999", "W", "MCA05918"), ("57K001", "J", "OPSQ2001")],
)
def test_a_stock_an_unknown_code_or_another_market_is_kis_error(
    view: MarketView, code: str, market: str, msg_cd: str
) -> None:
    with pytest.raises(BusinessError) as error:
        _ask(view, code, market)
    assert error.value.msg_cd == msg_cd
    assert view.session() == dt.date(2026, 11, 20)
