"""Asking the simulator for a KSD schedule and for the daily chart around its events: what the
bonus-issue and capital-reduction tests both read."""

from __future__ import annotations

import datetime as dt

from tests.simulator.rest_api import Api

CHART = ("/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice", "FHKST03010100")


def schedule(
    api: Api, route: tuple[str, str], start: str, end: str, symbol: str = ""
) -> list[dict[str, str]]:
    """The `output1` rows of a KSD schedule `route` (path, TR_ID) for record dates in range."""
    response = api.get(route, {"CTS": "", "F_DT": start, "T_DT": end, "SHT_CD": symbol})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rt_cd"] == "0"
    return body["output1"]


def daily_chart(
    api: Api, symbol: str, start: dt.date, end: dt.date, *, adjusted: bool
) -> list[dict]:
    """The daily chart's bars of `symbol`, oldest first."""
    params = {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": symbol,
        "FID_INPUT_DATE_1": f"{start:%Y%m%d}",
        "FID_INPUT_DATE_2": f"{end:%Y%m%d}",
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "0" if adjusted else "1",
    }
    response = api.get(CHART, params)
    assert response.status_code == 200, response.text
    return sorted(response.json()["output2"], key=lambda r: r["stck_bsop_date"])
