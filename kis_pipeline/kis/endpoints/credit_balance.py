"""Margin (credit) balances per stock per day, daily-credit-balance FHPST04760000 (SPEC §9.9).

At most 30 records a call, those whose settlement date is on or before `fid_input_date_1`;
older ones are reached by moving that date back before the oldest settlement date returned
(SPEC §6.2). A record is keyed by its trade date (`deal_date`), which its settlement date
trails by two sessions, so a window for trade dates up to D asks up to D plus a margin that
covers two sessions and the longest holiday.

Two sides: margin loans (융자, bought on credit) and stock loans (대주, sold short on credit),
each with the shares newly lent, repaid and outstanding, and their amounts. Units are not
stated: shares, and KRW as the amounts' magnitudes against the close suggest; the rates are
percent (the balance against listed shares, and the day's new credit against its volume).
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import SYMBOL, SymbolTrend, Window, quotation
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, PRICES, ZERO_MEANS_NO_PRICE
from kis_pipeline.kis.records import RecordSpec, field_map

_SIDES = {"loan": "loan", "stln": "stock_loan"}
# Per side, `whol_<side>_<figure>` -> `<side>_<column>`.
_FIGURES = field_map(
    """
    new_stcn   new_volume
    rdmp_stcn  repaid_volume
    rmnd_stcn  balance_volume
    new_amt    new_value
    rdmp_amt   repaid_value
    rmnd_amt   balance_value
    rmnd_rate  balance_rate
    gvrt       supply_rate
    """
)
CREDIT_BALANCE_FIELDS = {
    "deal_date": "date",
    "stlm_date": "settlement_date",
    **{
        f"whol_{kis_side}_{kis}": f"{side}_{column}"
        for kis_side, side in _SIDES.items()
        for kis, column in _FIGURES.items()
    },
    "stck_prpr": "close",
    "prdy_vrss": "change",
    "prdy_ctrt": "change_rate",
    "acml_vol": "volume",
    "stck_oprc": "open",
    "stck_hgpr": "high",
    "stck_lwpr": "low",
}
_BALANCES = tuple(f"{side}_{column}" for side in _SIDES.values() for column in _FIGURES.values())
CREDIT_BALANCE_ROWS = RecordSpec(
    table="credit_balance",
    schema=schemas.CREDIT_BALANCE,
    fields=CREDIT_BALANCE_FIELDS,
    no_trade=ZERO_MEANS_NO_PRICE,
    required=("date", "settlement_date", "loan_balance_volume", "stock_loan_balance_volume"),
    positive=PRICES,
    non_negative=(*_BALANCES, "volume"),
    ordered=(*OHLC_ORDER, ("date", "settlement_date")),
)
# Two settlement sessions and the longest KRX closure (Chuseok or Lunar New Year with a
# weekend) fit in this many calendar days.
SETTLEMENT_LEAD = dt.timedelta(days=12)
CREDIT_BALANCE = SymbolTrend(
    quotation("§9.9", "daily-credit-balance", "FHPST04760000", CREDIT_BALANCE_ROWS),
    Window("fid_input_date_1", rows=30, by="settlement_date"),
    {"fid_cond_mrkt_div_code": "J", "fid_cond_scr_div_code": "20476", "fid_input_iscd": SYMBOL},
    lead=SETTLEMENT_LEAD,
)
