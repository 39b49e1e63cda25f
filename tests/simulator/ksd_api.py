"""Asking the simulator for a KSD schedule and for the daily chart around its events: what the
bonus-issue, capital-reduction, rights-issue and merger tests read."""

from __future__ import annotations

import datetime as dt

from kis_pipeline.simulator.config import SimConfig
from tests.helpers.simulator import SIM_NOW
from tests.simulator.rest_api import Api

KSD_CONFIG = SimConfig(seed=11, universe=48, start=dt.date(2023, 1, 2), now=SIM_NOW)

CHART = ("/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice", "FHKST03010100")


def schedule(
    api: Api,
    route: tuple[str, str],
    start: str,
    end: str,
    symbol: str = "",
    extra: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """The `output1` rows of a KSD schedule `route` (path, TR_ID) for record dates in range;
    `extra` are further parameters (`GB1` of the rights-issue schedule)."""
    params = {"CTS": "", **(extra or {}), "F_DT": start, "T_DT": end, "SHT_CD": symbol}
    response = api.get(route, params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rt_cd"] == "0"
    return body["output1"]


def day(text: str) -> dt.date:
    """A `YYYYMMDD` date as KIS sends it."""
    return dt.datetime.strptime(text, "%Y%m%d").date()


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
