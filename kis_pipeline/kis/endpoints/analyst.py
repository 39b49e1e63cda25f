"""Analyst coverage: per-stock broker opinions, invest-opinion FHKST663300C0 (SPEC §10.12), and
KIS Research's estimated results, estimate-perform HHKST668300C0 (§10.11).

Opinions: one record per report (trading date, broker), at most 100 a call, newest first; the
dates go as `00YYYYMMDD` (SPEC §1). A full page is followed by narrowing the window's end to
its oldest date (the rows of that day come again and are kept once) until a page is short.
Target prices and closes are KRW; `invt_opnn_cls_code` is kept as KIS sends it.

Estimates: a positional layout. `output4` lists the fiscal periods (`YYYYMM`); `output2` holds
six rows (revenue, its growth, operating profit, its growth, net income, its growth) and
`output3` eight (EBITDA, EPS, EPS growth, PER, EV/EBITDA, ROE, debt ratio, interest coverage),
columns `data1`..`data5` for those periods. Each period becomes one record of named fields,
checked by the `RecordSpec`. Units: SPEC gives `output3`'s (EBITDA KRW billion, EPS KRW, the
rates and multiples in tenths: 0.1 %, 0.1 x); `output2`'s are not stated: its amounts are read
as KRW 100 million and its growth rates in tenths of a percent, like the rates of `output3`.
They leave in KRW, percent and times. KIS Research covers about 160 companies: another symbol
answers empty arrays, which is no row and no error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import quotation
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.parse import KRW_PER_HUNDRED_MILLION, yyyymmdd
from kis_pipeline.kis.records import RecordSpec, field_map

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

# ---- §10.12 invest-opinion ---------------------------------------------------------------

OPINION_FIELDS = field_map(
    """
    stck_bsop_date           date
    mbcr_name                broker
    invt_opnn                opinion
    invt_opnn_cls_code       opinion_code
    rgbf_invt_opnn           previous_opinion
    rgbf_invt_opnn_cls_code  previous_opinion_code
    hts_goal_prc             target_price
    stck_prdy_clpr           prev_close
    stck_nday_esdg           nday_divergence
    nday_dprt                nday_disparity_rate
    stft_esdg                futures_divergence
    dprt                     disparity_rate
    """
)
OPINION_ROWS = RecordSpec(
    table="analyst_opinions",
    schema=schemas.ANALYST_OPINIONS,
    fields=OPINION_FIELDS,
    carried=("hts_goal_prc", "stck_prdy_clpr"),
    required=("date", "broker", "opinion"),
    non_negative=("target_price",),
    positive=("prev_close",),
)
ANALYST_OPINIONS = quotation("§10.12", "invest-opinion", "FHKST663300C0", OPINION_ROWS)
OPINION_PAGE_ROWS = 100
OPINION_KEY = ["date", "broker"]


def fetch_opinions(
    client: KisClient, symbol: str, start: dt.date, end: dt.date, *, as_of: dt.date
) -> pl.DataFrame:
    """Every broker report on `symbol` dated in [start, end], invest-opinion FHKST663300C0
    (SPEC §10.12): `schemas.ANALYST_OPINIONS` stamped `as_of`, newest first."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    constants = {"as_of": as_of, "symbol": symbol}
    pages: list[pl.DataFrame] = [pl.DataFrame(schema=schemas.ANALYST_OPINIONS)]
    window_end = end
    while True:
        params = {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_COND_SCR_DIV_CODE": "16633",
            "FID_INPUT_ISCD": symbol,
            "FID_INPUT_DATE_1": "00" + yyyymmdd(start),
            "FID_INPUT_DATE_2": "00" + yyyymmdd(window_end),
        }
        split = ANALYST_OPINIONS.fetch(client, params, constants=constants)
        pages.append(split.frame)
        dates = [*split.frame["date"].to_list(), *(r.date for r in split.rejects if r.date)]
        if split.received < OPINION_PAGE_ROWS or not dates:
            break
        oldest = min(dates)
        # A day of more than a page would never move the window: go past it.
        window_end = oldest if oldest < window_end else oldest - dt.timedelta(days=1)
        if window_end < start:
            break
    frame = pl.concat(pages, how="vertical").unique(OPINION_KEY, keep="first", maintain_order=True)
    return frame.sort(["date", "broker"], descending=[True, False])


# ---- §10.11 estimate-perform -------------------------------------------------------------

# The rows of output2 and output3, in order, and the unit each leaves in.
_OUTPUT2 = ("revenue", "revenue_growth", "operating_profit")
_OUTPUT2 += ("operating_profit_growth", "net_income", "net_income_growth")
_OUTPUT3 = ("ebitda", "eps", "eps_growth", "per", "ev_ebitda", "roe", "debt_ratio")
_OUTPUT3 += ("interest_coverage",)
PERIODS = 5
KRW_PER_BILLION = 1_000_000_000
_TENTHS = ("revenue_growth", "operating_profit_growth", "net_income_growth", "eps_growth")
_TENTHS += ("per", "ev_ebitda", "roe", "debt_ratio", "interest_coverage")
ESTIMATE_ROWS = RecordSpec(
    table="analyst_estimates",
    schema=schemas.ANALYST_ESTIMATES,
    fields={"dt": "period", **{name: name for name in (*_OUTPUT2, *_OUTPUT3)}},
    scale={
        "revenue": KRW_PER_HUNDRED_MILLION,
        "operating_profit": KRW_PER_HUNDRED_MILLION,
        "net_income": KRW_PER_HUNDRED_MILLION,
        "ebitda": KRW_PER_BILLION,
    },
    required=("period",),
    non_negative=("revenue",),
    patterns={"period": r"^\d{6}$"},
    date="as_of",
)
ANALYST_ESTIMATES = quotation(
    "§10.11", "estimate-perform", "HHKST668300C0", ESTIMATE_ROWS, container="output4"
)


def fetch_estimates(client: KisClient, symbol: str, *, as_of: dt.date) -> pl.DataFrame:
    """KIS Research's figures of `symbol`'s fiscal years, estimate-perform HHKST668300C0
    (SPEC §10.11): `schemas.ANALYST_ESTIMATES` stamped `as_of`, oldest period first; empty
    for a symbol KIS Research does not cover."""
    endpoint = ANALYST_ESTIMATES
    response = endpoint.call(client, {"SHT_CD": symbol})
    periods = endpoint.records(response)
    head = endpoint.records(response, "output1")
    name = head[0].get("item_kor_nm") if head else None
    records = _by_period(
        periods,
        {
            "output2": (_OUTPUT2, endpoint.records(response, "output2")),
            "output3": (_OUTPUT3, endpoint.records(response, "output3")),
        },
        endpoint.where(),
    )
    constants = {"as_of": as_of, "symbol": symbol, "name": name}
    frame = endpoint.parse_rows(client, records, "output2/3", ESTIMATE_ROWS, constants=constants)
    return frame.frame.with_columns(pl.col(c) / 10 for c in _TENTHS)


def _by_period(
    periods: list[dict[str, str]],
    tables: Mapping[str, tuple[tuple[str, ...], list[dict[str, str]]]],
    where: str,
) -> list[dict[str, str]]:
    """One record per period of `output4`: its `dt` and each named row's value for it."""
    if not periods:
        return []
    if len(periods) > PERIODS:
        raise PayloadError(f"{where}: output4 holds {len(periods)} periods, not {PERIODS}")
    for container, (names, rows) in tables.items():
        if len(rows) != len(names):
            raise PayloadError(f"{where}: {container} holds {len(rows)} rows, not {len(names)}")
    return [
        {
            "dt": period.get("dt", ""),
            **{
                name: row.get(f"data{i}", "")
                for names, rows in tables.values()
                for name, row in zip(names, rows, strict=True)
            },
        }
        for i, period in enumerate(periods, start=1)
    ]
