"""The simulator's bond period prices: the model's bars in KIS's fields, read back by the
pipeline's record spec; an unknown code or market is KIS's error."""

from __future__ import annotations

import pytest

from kis_pipeline.kis.endpoints.bond_prices import BOND_PRICE_ROWS, bond_price_params
from kis_pipeline.kis.records import Source, split_rows
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_bonds import TREASURIES
from kis_pipeline.simulator.rest_bonds import BOND_ROWS, daily_itemchartprice, served_bars
from kis_pipeline.simulator.rest_common import BusinessError, Params
from kis_pipeline.simulator.rest_market import MarketView
from tests.helpers.simulator import SIM_CONFIG


@pytest.fixture(scope="module")
def view() -> MarketView:
    return MarketView(Market(SIM_CONFIG))


def test_the_answer_is_the_model_newest_first(view: MarketView) -> None:
    code = TREASURIES[1].code
    body = daily_itemchartprice(view, Params(bond_price_params(code)), "").body
    split = split_rows(
        body["output"], BOND_PRICE_ROWS, Source("", "", "sim"), constants={"symbol": code}
    )
    assert split.rejects == []
    bars = served_bars(view, code)[-BOND_ROWS:][::-1]
    assert split.frame["date"].to_list() == [b.day for b in bars]
    assert split.frame["close"].to_list() == [b.close for b in bars]
    assert split.frame["volume"].to_list() == [b.volume for b in bars]
    assert 9_000 < bars[0].close < 11_000


@pytest.mark.parametrize(
    ("market", "code", "msg_cd"),
    [("B", "KR0000000000", "MCA05918"), ("J", TREASURIES[0].code, None)],
)
def test_a_bad_request_is_kis_error(
    view: MarketView, market: str, code: str, msg_cd: str | None
) -> None:
    query = {"FID_COND_MRKT_DIV_CODE": market, "FID_INPUT_ISCD": code}
    with pytest.raises(BusinessError) as error:
        daily_itemchartprice(view, Params(query), "")
    if msg_cd:
        assert error.value.msg_cd == msg_cd
