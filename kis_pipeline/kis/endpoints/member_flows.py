"""A stock's daily trading by one member firm (broker), inquire-member-daily FHPST04540000
(SPEC §9.13).

A range endpoint (`FID_INPUT_DATE_1` from, `FID_INPUT_DATE_2` to) for one stock and one member
firm (`FID_INPUT_ISCD_2`, a 5-digit code of KIS's memcode master); `FID_SCTN_CLS_CODE` is sent
blank, as SPEC says. SPEC states no cap per call: 100 records, as the other range trends, is
the planning figure, and a full page walks the end back. Each stock is asked once per member of
`KIS_MEMBERS` (default: 00003, the member of KIS's own sample), so a night costs symbols x
members calls. KIS sends shares only (bought, sold and net), no amounts.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import SYMBOL, Fan, SymbolTrend, Window, quotation
from kis_pipeline.kis.records import RecordSpec, field_map

MEMBER_FLOWS_FIELDS = field_map(
    """
    stck_bsop_date  date
    total_shnu_qty  buy_volume
    total_seln_qty  sell_volume
    ntby_qty        net_volume
    stck_prpr       close
    prdy_vrss       change
    prdy_ctrt       change_rate
    acml_vol        volume
    """
)
MEMBER_FLOWS_ROWS = RecordSpec(
    table="member_flows",
    schema=schemas.MEMBER_FLOWS,
    fields=MEMBER_FLOWS_FIELDS,
    required=("date", "buy_volume", "sell_volume", "net_volume"),
    positive=("close",),
    non_negative=("buy_volume", "sell_volume", "volume"),
    # One member's trades are trades of the day: neither side exceeds the day's volume.
    ordered=(("buy_volume", "volume"), ("sell_volume", "volume")),
)
MEMBERS = Fan(
    "FID_INPUT_ISCD_2",
    "member",
    env="KIS_MEMBERS",
    default=("00003",),
    pattern=r"\d{5}",
    what="5-digit member codes of KIS's memcode master like 00003",
)
MEMBER_FLOWS = SymbolTrend(
    quotation("§9.13", "inquire-member-daily", "FHPST04540000", MEMBER_FLOWS_ROWS),
    Window("FID_INPUT_DATE_2", start="FID_INPUT_DATE_1", rows=100),
    {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SYMBOL, "FID_SCTN_CLS_CODE": ""},
    each=MEMBERS,
)
