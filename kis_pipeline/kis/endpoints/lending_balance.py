"""Securities lending (대차거래) per stock per day, daily-loan-trans HHPST074500C0 (SPEC §9.11).

A range endpoint (`START_DATE`, `END_DATE`, `CTS` sent blank) of at most 100 records a call;
a longer range walks the end back before the oldest record. `MRKT_DIV_CLS_CODE` `3` asks for
one issue. Shares lent, repaid and outstanding; the outstanding amount is taken as KRW (SPEC
states no unit; the amount is the balance at about the close).
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import SYMBOL, SymbolTrend, Window, quotation
from kis_pipeline.kis.records import RecordSpec, field_map

LENDING_BALANCE_FIELDS = field_map(
    """
    bsop_date       date
    new_stcn        new_volume
    rdmp_stcn       repaid_volume
    prdy_rmnd_vrss  balance_change
    rmnd_stcn       balance_volume
    rmnd_amt        balance_value
    stck_prpr       close
    prdy_vrss       change
    prdy_ctrt       change_rate
    acml_vol        volume
    """
)
LENDING_BALANCE_ROWS = RecordSpec(
    table="lending_balance",
    schema=schemas.LENDING_BALANCE,
    fields=LENDING_BALANCE_FIELDS,
    required=("date", "new_volume", "repaid_volume", "balance_volume"),
    positive=("close",),
    non_negative=("new_volume", "repaid_volume", "balance_volume", "balance_value", "volume"),
)
LENDING_BALANCE = SymbolTrend(
    quotation("§9.11", "daily-loan-trans", "HHPST074500C0", LENDING_BALANCE_ROWS, "output1"),
    Window("END_DATE", start="START_DATE", rows=100),
    {"MRKT_DIV_CLS_CODE": "3", "MKSC_SHRN_ISCD": SYMBOL, "CTS": ""},
)
