"""An ETF's (or ETN's) close against its NAV day by day, nav-comparison-daily-trend
FHPST02440200 (NAV 비교추이(일)).

SPEC lists it only in §17.2; the fields come from the official samples
(`examples_llm/etfetn/nav_comparison_daily_trend`, 국내주식-071), see docs/etf_nav.md. A range
endpoint (`FID_INPUT_DATE_1` from, `FID_INPUT_DATE_2` to) for one code under market `J`; a real
account gets at most 100 records a call, newest first, so a longer range walks its end back
like the other range trends. KIS sends the close, its change and volume, the NAV (two
decimals) and its change, the close less the NAV (`nav_vrss_prpr`, KRW) and the disparity
(`dprt`, 괴리율: that difference over the NAV, percent). No mock (VTS) TR_ID.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.endpoints._trend import SYMBOL, SymbolTrend, Window
from kis_pipeline.kis.records import RecordSpec, field_map

ETF_QUOTATIONS = "/uapi/etfetn/v1/quotations"

ETF_NAV_FIELDS = field_map(
    """
    stck_bsop_date  date
    stck_clpr       close
    prdy_vrss       change
    prdy_ctrt       change_rate
    acml_vol        volume
    nav             nav
    nav_prdy_vrss   nav_change
    nav_prdy_ctrt   nav_change_rate
    nav_vrss_prpr   close_vs_nav
    dprt            premium_rate
    """
)
ETF_NAV_ROWS = RecordSpec(
    table="etf_nav",
    schema=schemas.ETF_NAV,
    fields=ETF_NAV_FIELDS,
    required=("date", "close", "nav", "premium_rate"),
    positive=("close", "nav"),
    non_negative=("volume",),
)
ETF_NAV = SymbolTrend(
    Endpoint(
        "nav-comparison-daily-trend",
        f"{ETF_QUOTATIONS}/nav-comparison-daily-trend",
        "FHPST02440200",
        "output",
        ETF_NAV_ROWS,
        section="§17.2",
    ),
    Window("FID_INPUT_DATE_2", start="FID_INPUT_DATE_1", rows=100),
    {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SYMBOL},
)
