"""The snapshot rankings of SPEC §8.4-§8.16, declared: one `RankingList` per KIS screen.

A screen answers at most 30 rows of the standings after the latest session, with no paging and
no date to ask for (§8): the caller passes the session the snapshot describes. A declaration
names the endpoint (path, TR_ID, container, fields and units), the request parameters it always
sends, the parameter that picks an ordering and the orderings kept (`Ordering`: its code and,
where the SPEC documents it, the column KIS orders it by, largest first). Screens that send no
rank (§8.11-§8.13, §8.16) are ranked in the order KIS lists them.

Three screens rank annual accounts (`fid_input_option_1` the fiscal year, `_2` `3` the annual
settlement): a run asks for the latest year whose annual reports are out (`settled_year`) and
stores it in `fiscal_year`. The dividend screen asks for cash dividends with a record date in
the year to the session. Amounts KIS sends in KRW 100 million leave in KRW.

The block-trade screen counts the trades of at least `BLOCK_TRADE_MIN_KRW` each; the
expected-execution screen is asked for the closing auction (`fid_mkop_cls_code` `1`), the
phase that describes the session once it has closed (the pre-open phase is the next
morning's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint, venue_of
from kis_pipeline.kis.parse import KRW_PER_HUNDRED_MILLION, yyyymmdd
from kis_pipeline.kis.records import RecordSpec, field_map

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

RANKING = "/uapi/domestic-stock/v1/ranking"
SOURCE = "kis"
RANK_FIELD = "data_rank"
# Annual reports are due 90 days after a December year end: from April on, last year's are out.
ANNUAL_REPORTS_OUT = 4
# The credit screen's balance change is measured over this many sessions (`FID_OPTION`).
CREDIT_CHANGE_DAYS = 5
# Near a new high (low): within this many percent of it (§8.13 `fid_input_cnt_2`).
NEAR_PERCENT = 10
# A block trade (§8.14 `fid_input_price_1`): one execution of at least KRW 100 million.
BLOCK_TRADE_MIN_KRW = 100_000_000
# §8.16 `fid_mkop_cls_code`: the closing auction.
CLOSING_AUCTION = "1"

_QUOTE = field_map(
    """
    hts_kor_isnm  name
    stck_prpr     price
    prdy_vrss     change
    prdy_ctrt     change_rate
    """
)


@dataclass(frozen=True)
class Ordering:
    """One ordering of a screen: `code` for its sort parameter (None: the screen has one),
    `by`, the column KIS orders it by, largest first, where the SPEC says so, and any other
    parameters it needs (`extra`)."""

    code: str | None
    by: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RankingList:
    """One ranking screen: its endpoint, the parameters it always sends, the orderings kept,
    the parameters and columns that follow from the session (`per_session`), the request
    parameter carrying the market division (None: KRX only), and whether KIS leaves the rows
    unranked (`numbered`: ranked here in the order they come). The screens the warehouse can
    reproduce exactly for past sessions are declared in `ingest.derived_lists.DERIVATIONS`."""

    endpoint: Endpoint
    params: Mapping[str, str]
    orderings: Mapping[str, Ordering]
    sort_param: str | None = None
    per_session: Callable[[dt.date], tuple[dict[str, str], dict[str, Any]]] | None = None
    market_param: str | None = None
    numbered: bool = False

    @property
    def table(self) -> str:
        assert self.endpoint.rows is not None
        return self.endpoint.rows.table

    @property
    def calls(self) -> int:
        return len(self.orderings)

    def fetch(self, client: KisClient, session: dt.date, *, market: str = "J") -> pl.DataFrame:
        """Every ordering's rows as KIS shows them now; they describe `session`."""
        spec = self.endpoint.rows
        assert spec is not None
        extra, stamped = self.per_session(session) if self.per_session else ({}, {})
        frames = [pl.DataFrame(schema=spec.schema)]
        for ranking, ordering in self.orderings.items():
            params = {**self.params, **extra, **ordering.extra}
            if self.sort_param is not None and ordering.code is not None:
                params[self.sort_param] = ordering.code
            if self.market_param is not None:
                params[self.market_param] = market
            response = self.endpoint.call(client, params)
            records = self.endpoint.records(response)
            if self.numbered:
                records = [{**r, RANK_FIELD: str(i)} for i, r in enumerate(records, start=1)]
            constants = {
                "date": session,
                "ranking": ranking,
                "source": SOURCE,
                "venue": venue_of(market if self.market_param else "J"),
                **stamped,
            }
            split = self.endpoint.parse_rows(
                client, records, self.endpoint.container, spec, constants=constants
            )
            frames.append(split.frame)
        return pl.concat(frames, how="vertical").sort("ranking", "rank")


def settled_year(session: dt.date) -> int:
    """The latest fiscal year whose annual reports are out on `session`."""
    return session.year - (1 if session.month >= ANNUAL_REPORTS_OUT else 2)


def _annual(session: dt.date) -> tuple[dict[str, str], dict[str, Any]]:
    year = settled_year(session)
    return {"fid_input_option_1": str(year), "fid_input_option_2": "3"}, {"fiscal_year": year}


def _dividend_year(session: dt.date) -> tuple[dict[str, str], dict[str, Any]]:
    first = session - dt.timedelta(days=365)
    return {"F_DT": yyyymmdd(first), "T_DT": yyyymmdd(session)}, {}


def _rows(
    table: str,
    symbol: str,
    figures: str,
    *,
    rank: str = RANK_FIELD,
    quote: bool = True,
    volume: str | None = "acml_vol",
    krw: tuple[str, ...] = (),
    non_negative: tuple[str, ...] = (),
) -> RecordSpec:
    """`volume`: the field of the day's volume in a quote (None: the screen sends none)."""
    day_volume = {volume: "volume"} if quote and volume else {}
    fields = {
        symbol: "symbol",
        rank: "rank",
        **(_QUOTE if quote else {}),
        **day_volume,
        **field_map(figures),
    }
    volumes = tuple(day_volume.values())
    return RecordSpec(
        table=table,
        schema=schemas.ALL[table],
        fields=fields,
        scale=dict.fromkeys(krw, KRW_PER_HUNDRED_MILLION),
        required=("symbol", "rank"),
        positive=("rank", *(("price",) if quote else ())),
        non_negative=(*volumes, *non_negative),
        patterns={"symbol": r"^[0-9A-Z]{6}$"},
    )


def _screen(
    name: str, tr_id: str, section: str, rows: RecordSpec, container: str = "output"
) -> Endpoint:
    return Endpoint(name, f"{RANKING}/{name}", tr_id, container, rows, section=section)


# The filters every `fid_*` screen takes, left open: all names, no price or volume bounds.
_OPEN = {
    "fid_trgt_cls_code": "0",
    "fid_trgt_exls_cls_code": "0",
    "fid_input_iscd": "0000",
    "fid_div_cls_code": "0",
    "fid_input_price_1": "",
    "fid_input_price_2": "",
    "fid_vol_cnt": "",
}

VALUATION = RankingList(
    _screen(
        "market-value",
        "FHPST01790000",
        "§8.4",
        _rows(
            "valuation_rankings",
            "mksc_shrn_iscd",
            """
            per            per
            pbr            pbr
            psr            psr
            eps            eps
            eva            eva
            ebitda         ebitda
            pv_div_ebitda  ev_ebitda
            stac_month     fiscal_month
            """,
            krw=("eva", "ebitda"),
        ),
    ),
    {**_OPEN, "fid_cond_scr_div_code": "20179", "fid_blng_cls_code": "0"},
    {
        "per": Ordering("23", "per"),
        "pbr": Ordering("24", "pbr"),
        "psr": Ordering("26", "psr"),
        "eps": Ordering("27", "eps"),
        "eva": Ordering("28", "eva"),
        "ebitda": Ordering("29", "ebitda"),
        "ev_ebitda": Ordering("30", "ev_ebitda"),
    },
    sort_param="fid_rank_sort_cls_code",
    per_session=_annual,
    market_param="fid_cond_mrkt_div_code",
)

FINANCE_RATIO = RankingList(
    _screen(
        "finance-ratio",
        "FHPST01750000",
        "§8.5",
        _rows(
            "finance_ratio_rankings",
            "mksc_shrn_iscd",
            """
            cptl_op_prfi    return_on_capital
            cptl_ntin_rate  capital_net_margin
            sale_totl_rate  gross_margin
            sale_ntin_rate  net_margin
            bis             equity_ratio
            lblt_rate       debt_ratio
            bram_depn       borrowing_dependence
            rsrv_rate       reserve_ratio
            grs             revenue_growth
            op_prfi_inrt    ordinary_profit_growth
            bsop_prfi_inrt  operating_profit_growth
            ntin_inrt       net_income_growth
            equt_inrt       equity_growth
            cptl_tnrt       capital_turnover
            totl_aset_inrt  asset_growth
            stac_month      fiscal_month
            """,
        ),
    ),
    {**_OPEN, "fid_cond_scr_div_code": "20175", "fid_blng_cls_code": "0"},
    # The SPEC names the groups, not the ratio each is ordered by: no order to check.
    {
        "profitability": Ordering("7"),
        "stability": Ordering("11"),
        "growth": Ordering("15"),
        "activity": Ordering("20"),
    },
    sort_param="fid_rank_sort_cls_code",
    per_session=_annual,
    market_param="fid_cond_mrkt_div_code",
)

_TOTALS = (
    "gross_profit",
    "operating_profit",
    "ordinary_profit",
    "net_income",
    "total_assets",
    "total_liabilities",
    "total_equity",
)
PROFIT_ASSET = RankingList(
    _screen(
        "profit-asset-index",
        "FHPST01730000",
        "§8.6",
        _rows(
            "profit_asset_rankings",
            "mksc_shrn_iscd",
            """
            sale_totl_prfi  gross_profit
            bsop_prti       operating_profit
            op_prfi         ordinary_profit
            thtr_ntin       net_income
            total_aset      total_assets
            total_lblt      total_liabilities
            total_cptl      total_equity
            stac_month      fiscal_month
            """,
            krw=_TOTALS,
        ),
    ),
    {**_OPEN, "fid_cond_scr_div_code": "20173", "fid_blng_cls_code": "0"},
    {column: Ordering(str(code), column) for code, column in enumerate(_TOTALS)},
    sort_param="fid_rank_sort_cls_code",
    per_session=_annual,
    market_param="fid_cond_mrkt_div_code",
)

QUOTE_BALANCE = RankingList(
    _screen(
        "quote-balance",
        "FHPST01720000",
        "§8.7",
        _rows(
            "quote_balance_rankings",
            "mksc_shrn_iscd",
            """
            total_askp_rsqn       total_ask_volume
            total_bidp_rsqn       total_bid_volume
            total_ntsl_bidp_rsqn  net_bid_volume
            shnu_rsqn_rate        bid_ratio
            seln_rsqn_rate        ask_ratio
            """,
            non_negative=("total_ask_volume", "total_bid_volume"),
        ),
    ),
    {**_OPEN, "fid_cond_scr_div_code": "20172"},
    # The net ask residual orders by the bid's net negated: no column to check it by.
    {
        "net_bid": Ordering("0", "net_bid_volume"),
        "net_ask": Ordering("1"),
        "bid_ratio": Ordering("2", "bid_ratio"),
        "ask_ratio": Ordering("3", "ask_ratio"),
    },
    sort_param="fid_rank_sort_cls_code",
    market_param="fid_cond_mrkt_div_code",
)

EXECUTION_STRENGTH = RankingList(
    _screen(
        "volume-power",
        "FHPST01680000",
        "§8.8",
        _rows(
            "execution_strength_rankings",
            "stck_shrn_iscd",
            """
            tday_rltv       strength
            shnu_cnqn_smtn  buy_volume
            seln_cnqn_smtn  sell_volume
            """,
            non_negative=("buy_volume", "sell_volume"),
        ),
    ),
    {**_OPEN, "fid_cond_scr_div_code": "20168"},
    {"strength": Ordering(None, "strength")},
    market_param="fid_cond_mrkt_div_code",
)

DISPARITY = RankingList(
    _screen(
        "disparity",
        "FHPST01780000",
        "§8.9",
        _rows(
            "disparity_rankings",
            "mksc_shrn_iscd",
            """
            d5_dsrt    disparity_5d
            d10_dsrt   disparity_10d
            d20_dsrt   disparity_20d
            d60_dsrt   disparity_60d
            d120_dsrt  disparity_120d
            """,
        ),
    ),
    {**_OPEN, "fid_cond_scr_div_code": "20178"},
    # Against the 20-session average, the furthest above first and the furthest below first.
    {
        "above_20d": Ordering("0", "disparity_20d", {"fid_hour_cls_code": "20"}),
        "below_20d": Ordering("1", None, {"fid_hour_cls_code": "20"}),
    },
    sort_param="fid_rank_sort_cls_code",
    market_param="fid_cond_mrkt_div_code",
)

DIVIDEND_YIELD = RankingList(
    _screen(
        "dividend-rate",
        "HHKDB13470100",
        "§8.10",
        _rows(
            "dividend_yield_rankings",
            "sht_cd",
            """
            isin_name         name
            record_date       record_date
            per_sto_divi_amt  dividend_per_share
            divi_rate         dividend_rate
            divi_kind         dividend_kind
            """,
            rank="rank",
            quote=False,
            non_negative=("dividend_per_share", "dividend_rate"),
        ),
        container="output1",
    ),
    # Cash dividends (GB3 2) of every kind (GB4 0), common and preferred (GB2 0).
    {"CTS_AREA": "", "GB2": "0", "GB3": "2", "GB4": "0"},
    {
        "kospi": Ordering("1", "dividend_rate", {"UPJONG": "0001"}),
        "kosdaq": Ordering("3", "dividend_rate", {"UPJONG": "1001"}),
    },
    sort_param="GB1",
    per_session=_dividend_year,
)

SHORT_SALE = RankingList(
    _screen(
        "short-sale",
        "FHPST04820000",
        "§8.11",
        _rows(
            "short_sale_rankings",
            "mksc_shrn_iscd",
            """
            acml_tr_pbmn       value
            ssts_cntg_qty      short_volume
            ssts_vol_rlim      short_volume_share
            ssts_tr_pbmn       short_value
            ssts_tr_pbmn_rlim  short_value_share
            avrg_prc           avg_price
            stnd_date1         from_date
            stnd_date2         to_date
            """,
            non_negative=("value", "short_volume", "short_value"),
        ),
    ),
    # The session alone (`D`, lookback `0`), every name and price.
    {
        "FID_APLY_RANG_VOL": "",
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_COND_SCR_DIV_CODE": "20482",
        "FID_INPUT_ISCD": "0000",
        "FID_PERIOD_DIV_CODE": "D",
        "FID_INPUT_CNT_1": "0",
        "FID_TRGT_EXLS_CLS_CODE": "",
        "FID_TRGT_CLS_CODE": "",
        "FID_APLY_RANG_PRC_1": "",
        "FID_APLY_RANG_PRC_2": "",
    },
    # The SPEC does not say what the screen is ordered by.
    {"day": Ordering(None)},
    numbered=True,
)

CREDIT = RankingList(
    _screen(
        "credit-balance",
        "FHKST17010000",
        "§8.12",
        _rows(
            "credit_rankings",
            "mksc_shrn_iscd",
            """
            whol_loan_rmnd_stcn       loan_balance_volume
            whol_loan_rmnd_amt        loan_balance_value
            whol_loan_rmnd_rate       loan_balance_rate
            whol_stln_rmnd_stcn       stock_loan_balance_volume
            whol_stln_rmnd_amt        stock_loan_balance_value
            whol_stln_rmnd_rate       stock_loan_balance_rate
            nday_vrss_loan_rmnd_inrt  loan_balance_change_rate
            nday_vrss_stln_rmnd_inrt  stock_loan_balance_change_rate
            """,
            non_negative=("loan_balance_volume", "stock_loan_balance_volume"),
        ),
        container="output2",
    ),
    {
        "FID_COND_SCR_DIV_CODE": "11701",
        "FID_INPUT_ISCD": "0000",
        "FID_OPTION": str(CREDIT_CHANGE_DAYS),
        "FID_COND_MRKT_DIV_CODE": "J",
    },
    {
        "loan_rate": Ordering("0", "loan_balance_rate"),
        "stock_loan_rate": Ordering("5", "stock_loan_balance_rate"),
    },
    sort_param="FID_RANK_SORT_CLS_CODE",
    numbered=True,
)

NEW_HIGH_LOW = RankingList(
    _screen(
        "near-new-highlow",
        "FHPST01870000",
        "§8.13",
        _rows(
            "new_high_low_rankings",
            "mksc_shrn_iscd",
            """
            askp            ask
            bidp            bid
            new_hgpr        new_high
            hprc_near_rate  high_proximity_rate
            new_lwpr        new_low
            lwpr_near_rate  low_proximity_rate
            stck_sdpr       base_price
            """,
            non_negative=("new_high", "new_low"),
        ),
    ),
    {
        "fid_aply_rang_vol": "0",
        "fid_cond_mrkt_div_code": "J",
        "fid_cond_scr_div_code": "20187",
        "fid_div_cls_code": "0",
        "fid_input_cnt_1": "0",
        "fid_input_cnt_2": str(NEAR_PERCENT),
        "fid_input_iscd": "0000",
        "fid_trgt_cls_code": "0",
        "fid_trgt_exls_cls_code": "0",
        "fid_aply_rang_prc_1": "",
        "fid_aply_rang_prc_2": "",
    },
    # The SPEC does not say how near names are ordered.
    {"near_high": Ordering("0"), "near_low": Ordering("1")},
    sort_param="fid_prc_cls_code",
    numbered=True,
)

BLOCK_TRADES = RankingList(
    _screen(
        "bulk-trans-num",
        "FHKST190900C0",
        "§8.14",
        _rows(
            "block_trade_rankings",
            "mksc_shrn_iscd",
            """
            shnu_cntg_csnu  buy_block_count
            seln_cntg_csnu  sell_block_count
            ntby_cnqn       net_buy_volume
            """,
            non_negative=("buy_block_count", "sell_block_count"),
        ),
    ),
    {
        "fid_cond_scr_div_code": "11909",
        "fid_input_iscd": "0000",
        "fid_div_cls_code": "0",
        "fid_input_price_1": str(BLOCK_TRADE_MIN_KRW),
        "fid_aply_rang_prc_1": "",
        "fid_aply_rang_prc_2": "",
        "fid_input_iscd_2": "",
        "fid_trgt_exls_cls_code": "0",
        "fid_trgt_cls_code": "0",
        "fid_vol_cnt": "",
    },
    {"buy": Ordering("0", "buy_block_count"), "sell": Ordering("1", "sell_block_count")},
    sort_param="fid_rank_sort_cls_code",
    market_param="fid_cond_mrkt_div_code",
)

WATCHLIST = RankingList(
    _screen(
        "top-interest-stock",
        "FHPST01800000",
        "§8.15",
        _rows(
            "watchlist_rankings",
            "mksc_shrn_iscd",
            """
            acml_tr_pbmn         value
            askp                 ask
            bidp                 bid
            inter_issu_reg_csnu  registrations
            """,
            non_negative=("value", "registrations"),
        ),
    ),
    # From the first rank on (`fid_input_cnt_1`); `fid_input_iscd_2` must be `000000`.
    {
        **_OPEN,
        "fid_cond_scr_div_code": "20180",
        "fid_input_iscd_2": "000000",
        "fid_input_cnt_1": "1",
    },
    {"registrations": Ordering(None, "registrations")},
    market_param="fid_cond_mrkt_div_code",
)

EXPECTED_EXECUTION = RankingList(
    _screen(
        "exp-trans-updown",
        "FHPST01820000",
        "§8.16",
        _rows(
            "expected_execution_rankings",
            "stck_shrn_iscd",
            """
            stck_sdpr        base_price
            askp             ask
            bidp             bid
            seln_rsqn        ask_volume
            shnu_rsqn        bid_volume
            total_askp_rsqn  total_ask_volume
            total_bidp_rsqn  total_bid_volume
            cntg_vol         executed_volume
            antc_tr_pbmn     executed_value
            """,
            volume=None,
            non_negative=(
                "ask_volume",
                "bid_volume",
                "total_ask_volume",
                "total_bid_volume",
                "executed_volume",
                "executed_value",
            ),
        ),
    ),
    {
        "fid_cond_mrkt_div_code": "J",
        "fid_cond_scr_div_code": "20182",
        "fid_input_iscd": "0000",
        "fid_div_cls_code": "0",
        "fid_aply_rang_prc_1": "",
        "fid_vol_cnt": "",
        "fid_pbmn": "",
        "fid_blng_cls_code": "0",
        "fid_mkop_cls_code": CLOSING_AUCTION,
    },
    # Kept: the rates (the amounts `1`, `4` favour dear names) and what the auction executed,
    # in shares and in KRW; the unchanged (`2`) have no order. The fall runs lowest rate first.
    {
        "rise": Ordering("0", "change_rate"),
        "fall": Ordering("3"),
        "volume": Ordering("5", "executed_volume"),
        "value": Ordering("6", "executed_value"),
    },
    sort_param="fid_rank_sort_cls_code",
    numbered=True,
)

RANKING_LISTS: dict[str, RankingList] = {
    r.table: r
    for r in (
        VALUATION,
        FINANCE_RATIO,
        PROFIT_ASSET,
        QUOTE_BALANCE,
        EXECUTION_STRENGTH,
        DISPARITY,
        DIVIDEND_YIELD,
        SHORT_SALE,
        CREDIT,
        NEW_HIGH_LOW,
        BLOCK_TRADES,
        WATCHLIST,
        EXPECTED_EXECUTION,
    )
}
