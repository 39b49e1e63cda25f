"""Financial statements and ratios: balance sheet §10.1, income statement §10.2, ratios §10.3,
and the profitability (§10.4), other major (§10.5), stability (§10.6) and growth (§10.7) ratios.

Each call returns the fiscal periods KIS has for one symbol, newest first, keyed by `stac_yymm`
(`period`, `YYYYMM`); annual or quarterly by `FID_DIV_CLS_CODE`. Quarterly figures are year-to-
date cumulative (SPEC §18.14): differencing is left to the caller. Rows are stamped `as_of`, the
fetch date, so the warehouse keeps every restatement point in time.

Units: statement items come in KRW 100 million (억원) and leave in KRW. Unpopulated lines come
back as the placeholder `99.99` (SPEC §10.1, §10.2, §18.14); since real items are whole 억원
amounts, `99.99` in a statement item is null. Ratios stay as KIS gives them (percent; EPS, BPS
and sales per share in KRW), placeholders included, because 99.99 % is a possible ratio; the
amounts among them (EVA, EBITDA of §10.5) are KRW 100 million and leave in KRW.

Each period is declared as a `RecordSpec`: a `YYYYMM` period and the statement's key lines
must be there and be numbers. A period that breaks one is refused into the client's rejects
alone; the other periods are kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.parse import KRW_PER_HUNDRED_MILLION, today_kst
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

BALANCE_SHEET_PATH = "/uapi/domestic-stock/v1/finance/balance-sheet"
BALANCE_SHEET_TR_ID = "FHKST66430100"
INCOME_STATEMENT_PATH = "/uapi/domestic-stock/v1/finance/income-statement"
INCOME_STATEMENT_TR_ID = "FHKST66430200"
FINANCIAL_RATIOS_PATH = "/uapi/domestic-stock/v1/finance/financial-ratio"
FINANCIAL_RATIOS_TR_ID = "FHKST66430300"

PERIOD_CODES = {"annual": "0", "quarter": "1"}
PLACEHOLDERS = ("99.99",)

# §10.1 output.
BALANCE_SHEET_FIELDS = {
    "stac_yymm": "period",
    "cras": "current_assets",
    "fxas": "fixed_assets",
    "total_aset": "total_assets",
    "flow_lblt": "current_liabilities",
    "fix_lblt": "fixed_liabilities",
    "total_lblt": "total_liabilities",
    "cpfn": "capital",
    "cfp_surp": "capital_surplus",
    "prfi_surp": "retained_earnings",
    "total_cptl": "total_equity",
}
BALANCE_SHEET_REQUIRED = ("stac_yymm", "total_aset", "total_lblt", "total_cptl")

# §10.2 output.
INCOME_STATEMENT_FIELDS = {
    "stac_yymm": "period",
    "sale_account": "revenue",
    "sale_cost": "cost_of_sales",
    "sale_totl_prfi": "gross_profit",
    "depr_cost": "depreciation",
    "sell_mang": "selling_admin_expense",
    "bsop_prti": "operating_profit",
    "bsop_non_ernn": "non_operating_income",
    "bsop_non_expn": "non_operating_expense",
    "op_prfi": "ordinary_profit",
    "spec_prfi": "extraordinary_gain",
    "spec_loss": "extraordinary_loss",
    "thtr_ntin": "net_income",
}
INCOME_STATEMENT_REQUIRED = ("stac_yymm", "sale_account", "bsop_prti", "thtr_ntin")

# §10.3 output.
FINANCIAL_RATIOS_FIELDS = {
    "stac_yymm": "period",
    "grs": "revenue_growth",
    "bsop_prfi_inrt": "operating_profit_growth",
    "ntin_inrt": "net_income_growth",
    "roe_val": "roe",
    "eps": "eps",
    "sps": "sps",
    "bps": "bps",
    "rsrv_rate": "reserve_ratio",
    "lblt_rate": "debt_ratio",
}
FINANCIAL_RATIOS_REQUIRED = ("stac_yymm", "roe_val", "eps", "bps", "lblt_rate")

# §10.4-§10.7 outputs: (path name, TR_ID, field map, fields every period carries, amounts).
RATIO_FAMILIES: dict[str, tuple[str, str, dict[str, str], tuple[str, ...], tuple[str, ...]]] = {
    "profit_ratios": (
        "profit-ratio",
        "FHKST66430400",
        {
            "stac_yymm": "period",
            "cptl_ntin_rate": "return_on_assets",
            "self_cptl_ntin_inrt": "return_on_equity",
            "sale_ntin_rate": "net_margin",
            "sale_totl_rate": "gross_margin",
        },
        ("stac_yymm", "self_cptl_ntin_inrt", "sale_ntin_rate"),
        (),
    ),
    "other_ratios": (
        "other-major-ratios",
        "FHKST66430500",
        {"stac_yymm": "period", "eva": "eva", "ebitda": "ebitda", "ev_ebitda": "ev_ebitda"},
        ("stac_yymm", "ebitda"),
        ("eva", "ebitda"),
    ),
    "stability_ratios": (
        "stability-ratio",
        "FHKST66430600",
        {
            "stac_yymm": "period",
            "lblt_rate": "debt_ratio",
            "bram_depn": "borrowing_dependence",
            "crnt_rate": "current_ratio",
            "quck_rate": "quick_ratio",
        },
        ("stac_yymm", "lblt_rate", "crnt_rate"),
        (),
    ),
    "growth_ratios": (
        "growth-ratio",
        "FHKST66430800",
        {
            "stac_yymm": "period",
            "grs": "revenue_growth",
            "bsop_prfi_inrt": "operating_profit_growth",
            "equt_inrt": "equity_growth",
            "totl_aset_inrt": "total_assets_growth",
        },
        ("stac_yymm", "grs", "totl_aset_inrt"),
        (),
    ),
}


def _periods(
    table: str,
    fields: Mapping[str, str],
    carried: tuple[str, ...],
    *,
    amounts: bool,
    money: tuple[str, ...] = (),
) -> RecordSpec:
    """The periods of a statement; `amounts`: every item is KRW 100 million, with KIS's
    placeholder for the lines it does not fill; else only the columns of `money` are."""
    items = [column for column in fields.values() if column != "period"]
    scaled = items if amounts else list(money)
    return RecordSpec(
        table=table,
        schema=schemas.ALL[table],
        fields=fields,
        carried=carried,
        scale=dict.fromkeys(scaled, KRW_PER_HUNDRED_MILLION),
        null_values={c: PLACEHOLDERS for c in items} if amounts else {},
        required=("period",),
        patterns={"period": r"^\d{6}$"},
        date="as_of",
    )


# The `RecordSpec` of each statement's periods is its endpoint's `rows`.
BALANCE_SHEET = Endpoint(
    "balance-sheet",
    BALANCE_SHEET_PATH,
    BALANCE_SHEET_TR_ID,
    rows=_periods("balance_sheet", BALANCE_SHEET_FIELDS, BALANCE_SHEET_REQUIRED, amounts=True),
)
INCOME_STATEMENT = Endpoint(
    "income-statement",
    INCOME_STATEMENT_PATH,
    INCOME_STATEMENT_TR_ID,
    rows=_periods(
        "income_statement", INCOME_STATEMENT_FIELDS, INCOME_STATEMENT_REQUIRED, amounts=True
    ),
)
FINANCIAL_RATIOS = Endpoint(
    "financial-ratio",
    FINANCIAL_RATIOS_PATH,
    FINANCIAL_RATIOS_TR_ID,
    rows=_periods(
        "financial_ratios", FINANCIAL_RATIOS_FIELDS, FINANCIAL_RATIOS_REQUIRED, amounts=False
    ),
)

FINANCE = "/uapi/domestic-stock/v1/finance"
# Every statement endpoint by the table its periods fill.
STATEMENTS: dict[str, Endpoint] = {
    "balance_sheet": BALANCE_SHEET,
    "income_statement": INCOME_STATEMENT,
    "financial_ratios": FINANCIAL_RATIOS,
    **{
        table: Endpoint(
            name,
            f"{FINANCE}/{name}",
            tr_id,
            rows=_periods(table, fields, carried, amounts=False, money=money),
            section=f"§10.{4 + i}",
        )
        for i, (table, (name, tr_id, fields, carried, money)) in enumerate(RATIO_FAMILIES.items())
    },
}

PeriodType = Literal["annual", "quarter"]


def fetch_balance_sheet(
    client: KisClient,
    symbol: str,
    *,
    period_type: PeriodType = "annual",
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Balance sheet by fiscal period, balance-sheet FHKST66430100 (SPEC §10.1).

    Returns `schemas.BALANCE_SHEET`, items in KRW, newest period first; `as_of` defaults to
    today in KST.
    """
    return _statement(client, BALANCE_SHEET, symbol, period_type=period_type, as_of=as_of)


def fetch_income_statement(
    client: KisClient,
    symbol: str,
    *,
    period_type: PeriodType = "annual",
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Income statement by fiscal period, income-statement FHKST66430200 (SPEC §10.2).

    Returns `schemas.INCOME_STATEMENT`, items in KRW, newest period first; quarterly rows are
    year-to-date cumulative.
    """
    return _statement(client, INCOME_STATEMENT, symbol, period_type=period_type, as_of=as_of)


def fetch_financial_ratios(
    client: KisClient,
    symbol: str,
    *,
    period_type: PeriodType = "annual",
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Financial ratios by fiscal period, financial-ratio FHKST66430300 (SPEC §10.3).

    Returns `schemas.FINANCIAL_RATIOS`, newest period first.
    """
    return _statement(client, FINANCIAL_RATIOS, symbol, period_type=period_type, as_of=as_of)


def fetch_statement(
    client: KisClient,
    table: str,
    symbol: str,
    *,
    period_type: PeriodType = "annual",
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """`table`'s periods of `symbol` as KIS shows them today (`STATEMENTS`), newest first."""
    return _statement(client, STATEMENTS[table], symbol, period_type=period_type, as_of=as_of)


def _statement(
    client: KisClient,
    endpoint: Endpoint,
    symbol: str,
    *,
    period_type: str,
    as_of: dt.date | None,
) -> pl.DataFrame:
    if period_type not in PERIOD_CODES:
        raise ValueError(f"period_type must be one of {list(PERIOD_CODES)}, got {period_type!r}")
    params = {
        "FID_DIV_CLS_CODE": PERIOD_CODES[period_type],
        "fid_cond_mrkt_div_code": "J",
        "fid_input_iscd": symbol,
    }
    constants = {"as_of": as_of or today_kst(), "symbol": symbol, "period_type": period_type}
    frame = endpoint.fetch(client, params, constants=constants).frame
    return frame.unique(subset=["period"], keep="first", maintain_order=True)
