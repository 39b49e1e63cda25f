"""Domestic rankings: volume (§8.1), fluctuation rise/fall (§8.2) and market cap (§8.3).

Each call returns at most 30 rows, a snapshot with no date and no paging (SPEC §8, §18.7): the
caller passes the session date the snapshot describes. All three land in `schemas.RANKINGS`
with `source = "kis"`; measures a ranking does not carry are null. Units: prices KRW, volumes
shares, `value` KRW, `market_cap` KRW (KIS: KRW 100 million).

Each row is declared as a `RecordSpec`: the rank and the symbol must be there, the price must
be positive and volumes, values and market caps not negative. A row that breaks one is
refused into the client's rejects alone; the rest of the snapshot is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint, venue_of
from kis_pipeline.kis.parse import KRW_PER_HUNDRED_MILLION
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

VOLUME_RANK_PATH = "/uapi/domestic-stock/v1/quotations/volume-rank"
VOLUME_RANK_TR_ID = "FHPST01710000"
FLUCTUATION_RANK_PATH = "/uapi/domestic-stock/v1/ranking/fluctuation"
FLUCTUATION_RANK_TR_ID = "FHPST01700000"
MARKET_CAP_RANK_PATH = "/uapi/domestic-stock/v1/ranking/market-cap"
MARKET_CAP_RANK_TR_ID = "FHPST01740000"
SOURCE = "kis"

# Fields every ranking shares.
_COMMON_FIELDS = {
    "data_rank": "rank",
    "hts_kor_isnm": "name",
    "stck_prpr": "price",
    "prdy_vrss": "change",
    "prdy_ctrt": "change_rate",
    "acml_vol": "volume",
}
_COMMON_REQUIRED = ("data_rank", "stck_prpr", "prdy_vrss", "prdy_ctrt", "acml_vol")

# §8.1 output.
VOLUME_RANK_FIELDS = {
    "mksc_shrn_iscd": "symbol",
    **_COMMON_FIELDS,
    "acml_tr_pbmn": "value",
    "prdy_vol": "prev_volume",
    "avrg_vol": "avg_volume",
    "avrg_tr_pbmn": "avg_value",
    "vol_inrt": "volume_increase_rate",
    "vol_tnrt": "volume_turnover",
    "tr_pbmn_tnrt": "value_turnover",
    "lstn_stcn": "listed_shares",
}
VOLUME_RANK_REQUIRED = ("mksc_shrn_iscd", *_COMMON_REQUIRED)

# §8.2 output.
FLUCTUATION_RANK_FIELDS = {
    "stck_shrn_iscd": "symbol",
    **_COMMON_FIELDS,
    "stck_hgpr": "high",
    "stck_lwpr": "low",
    "oprc_vrss_prpr_rate": "open_change_rate",
    "cnnt_ascn_dynu": "consecutive_up_days",
    "cnnt_down_dynu": "consecutive_down_days",
    "prd_rsfl_rate": "period_change_rate",
}
FLUCTUATION_RANK_REQUIRED = ("stck_shrn_iscd", *_COMMON_REQUIRED)

# §8.3 output.
MARKET_CAP_RANK_FIELDS = {
    "mksc_shrn_iscd": "symbol",
    **_COMMON_FIELDS,
    "lstn_stcn": "listed_shares",
    "stck_avls": "market_cap",
    "mrkt_whol_avls_rlim": "market_cap_weight",
}
MARKET_CAP_RANK_REQUIRED = ("mksc_shrn_iscd", *_COMMON_REQUIRED, "stck_avls")
MARKET_CAP_RANK_SCALE = {"market_cap": KRW_PER_HUNDRED_MILLION}
_NOT_NEGATIVE = ("volume", "value", "listed_shares", "market_cap", "high", "low")


def _rows(fields: Mapping[str, str], carried: tuple[str, ...], **scale: int) -> RecordSpec:
    return RecordSpec(
        table="rankings",
        schema=schemas.RANKINGS,
        fields=fields,
        carried=carried,
        scale=scale,
        required=("symbol", "rank"),
        positive=("price", "rank"),
        non_negative=tuple(c for c in _NOT_NEGATIVE if c in fields.values()),
    )


VOLUME_RANK_ROWS = _rows(VOLUME_RANK_FIELDS, VOLUME_RANK_REQUIRED)
FLUCTUATION_RANK_ROWS = _rows(FLUCTUATION_RANK_FIELDS, FLUCTUATION_RANK_REQUIRED)
MARKET_CAP_RANK_ROWS = _rows(
    MARKET_CAP_RANK_FIELDS, MARKET_CAP_RANK_REQUIRED, **MARKET_CAP_RANK_SCALE
)

# fid_rank_sort_cls_code of §8.2.
DIRECTIONS = {"rise": "0", "fall": "1"}

VOLUME_RANK = Endpoint("volume-rank", VOLUME_RANK_PATH, VOLUME_RANK_TR_ID, rows=VOLUME_RANK_ROWS)
FLUCTUATION_RANK = Endpoint(
    "fluctuation", FLUCTUATION_RANK_PATH, FLUCTUATION_RANK_TR_ID, rows=FLUCTUATION_RANK_ROWS
)
MARKET_CAP_RANK = Endpoint(
    "market-cap", MARKET_CAP_RANK_PATH, MARKET_CAP_RANK_TR_ID, rows=MARKET_CAP_RANK_ROWS
)


def fetch_volume_ranking(
    client: KisClient, session_date: dt.date, *, market: str = "J", universe: str = "0000"
) -> pl.DataFrame:
    """Top 30 by volume, volume-rank FHPST01710000 (SPEC §8.1); `ranking = "volume"`.

    `universe` is `0000` (all) or a sector code. Returns `schemas.RANKINGS`.
    """
    params = {
        "FID_COND_MRKT_DIV_CODE": market,
        "FID_COND_SCR_DIV_CODE": "20171",
        "FID_INPUT_ISCD": universe,
        "FID_DIV_CLS_CODE": "0",
        "FID_BLNG_CLS_CODE": "0",
        "FID_TRGT_CLS_CODE": "111111111",
        "FID_TRGT_EXLS_CLS_CODE": "0000000000",
        "FID_INPUT_PRICE_1": "",
        "FID_INPUT_PRICE_2": "",
        "FID_VOL_CNT": "",
    }
    return _ranking(client, VOLUME_RANK, params, _constants(session_date, "volume", market))


def fetch_fluctuation_ranking(
    client: KisClient,
    session_date: dt.date,
    *,
    direction: Literal["rise", "fall"] = "rise",
    market: str = "J",
    universe: str = "0000",
) -> pl.DataFrame:
    """Top 30 by change rate, fluctuation FHPST01700000 (SPEC §8.2); `ranking` = direction.

    Ranks by the change against the previous close (`fid_prc_cls_code = 1`). `universe` is
    `0000`, `0001` KOSPI, `1001` KOSDAQ or `2001` KOSPI200. Returns `schemas.RANKINGS`.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
    params = {
        "fid_rsfl_rate2": "",
        "fid_cond_mrkt_div_code": market,
        "fid_cond_scr_div_code": "20170",
        "fid_input_iscd": universe,
        "fid_rank_sort_cls_code": DIRECTIONS[direction],
        "fid_input_cnt_1": "0",
        "fid_prc_cls_code": "1",
        "fid_input_price_1": "",
        "fid_input_price_2": "",
        "fid_vol_cnt": "",
        "fid_trgt_cls_code": "0",
        "fid_trgt_exls_cls_code": "0",
        "fid_div_cls_code": "0",
        "fid_rsfl_rate1": "",
    }
    return _ranking(client, FLUCTUATION_RANK, params, _constants(session_date, direction, market))


def fetch_market_cap_ranking(
    client: KisClient, session_date: dt.date, *, market: str = "J", universe: str = "0000"
) -> pl.DataFrame:
    """Top 30 by market cap, market-cap FHPST01740000 (SPEC §8.3); `ranking = "market_cap"`.

    `universe` is `0000`, `0001` KOSPI, `1001` KOSDAQ or `2001` KOSPI200. Returns
    `schemas.RANKINGS` with `market_cap` in KRW.
    """
    params = {
        "fid_input_price_2": "",
        "fid_cond_mrkt_div_code": market,
        "fid_cond_scr_div_code": "20174",
        "fid_div_cls_code": "0",
        "fid_input_iscd": universe,
        "fid_trgt_cls_code": "0",
        "fid_trgt_exls_cls_code": "0",
        "fid_input_price_1": "",
        "fid_vol_cnt": "",
    }
    return _ranking(client, MARKET_CAP_RANK, params, _constants(session_date, "market_cap", market))


def _constants(session_date: dt.date, ranking: str, market: str) -> dict[str, object]:
    return {
        "date": session_date,
        "ranking": ranking,
        "source": SOURCE,
        "venue": venue_of(market),
    }


def _ranking(
    client: KisClient,
    endpoint: Endpoint,
    params: Mapping[str, str],
    constants: Mapping[str, object],
) -> pl.DataFrame:
    return endpoint.fetch(client, params, constants=constants).frame.sort("rank")
