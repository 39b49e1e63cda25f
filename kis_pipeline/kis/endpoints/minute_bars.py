"""A stock's one-minute bars: any day of the last year (SPEC §7.6, FHKST03010230, real only,
120 bars a call) or today's (§7.5, FHKST03010200, in paper too, 30 bars a call).

Neither pages with tr_cont. A call answers the bars that start at or before
`FID_INPUT_HOUR_1`, newest first; the next call asks from a minute before the oldest bar it got,
until an answer holds fewer bars than the cap or reaches the session's open. A KRX session
has 381 bars (380 continuous minutes and the closing auction), so a symbol-day costs 4 calls
through §7.6 and 13 through §7.5. `cntg_vol` is the bar's volume; `acml_tr_pbmn` is the day's
value so far, from which each bar's own value is the difference (`bars_frame`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.common.intraday_schemas import MINUTE_BARS, MINUTE_RECORDS
from kis_pipeline.kis.endpoints._base import Endpoint, venue_of
from kis_pipeline.kis.endpoints._trend import quotation
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, PRICES
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.parse import yyyymmdd
from kis_pipeline.kis.records import RecordSpec, field_map

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

MINUTE_FIELDS = field_map(
    """
    stck_bsop_date  date
    stck_cntg_hour  time
    stck_oprc       open
    stck_hgpr       high
    stck_lwpr       low
    stck_prpr       close
    cntg_vol        volume
    acml_tr_pbmn    cum_value
    """
)
MINUTE_ROWS = RecordSpec(
    table="minute_bars",
    schema=MINUTE_RECORDS,
    fields=MINUTE_FIELDS,
    required=("date", "time", *PRICES, "volume", "cum_value"),
    positive=PRICES,
    non_negative=("volume", "cum_value"),
    ordered=OHLC_ORDER,
    patterns={"time": r"^([01]\d|2[0-3])[0-5]\d[0-5]\d$"},
)
# Bars of a regular KRX session: 09:00-15:19 and the closing auction at 15:30.
KRX_SESSION_BARS = 381


@dataclass(frozen=True)
class MinuteChart:
    """One minute-bar endpoint: `bars` per call, whether it takes a date (`dated`), and how far
    back KIS answers (`kept`; None: today only)."""

    endpoint: Endpoint
    bars: int
    dated: bool
    kept: dt.timedelta | None

    @property
    def table(self) -> str:
        return "minute_bars"

    def calls(self, bars_in_day: int = KRX_SESSION_BARS) -> int:
        """Calls one symbol-day takes: full answers, then one short (or empty) one."""
        return bars_in_day // self.bars + 1

    def serves(self, day: dt.date, today: dt.date) -> bool:
        if self.kept is None:
            return day == today
        return today - self.kept <= day <= today

    def fetch_day(
        self,
        client: KisClient,
        symbol: str,
        day: dt.date,
        *,
        opens: dt.time,
        closes: dt.time,
        market: str = "J",
    ) -> pl.DataFrame:
        """Every bar of `symbol` on `day` between `opens` and `closes`, oldest first, in
        `MINUTE_BARS`."""
        params = {
            "FID_COND_MRKT_DIV_CODE": market,
            "FID_INPUT_ISCD": symbol,
            "FID_PW_DATA_INCU_YN": "N",
        }
        if self.dated:
            params |= {"FID_INPUT_DATE_1": yyyymmdd(day), "FID_FAKE_TICK_INCU_YN": ""}
        else:
            params |= {"FID_ETC_CLS_CODE": ""}
        constants = {"symbol": symbol, "venue": venue_of(market)}
        first = f"{opens:%H%M%S}"
        hour = f"{closes:%H%M%S}"
        frames: list[pl.DataFrame] = []
        # A day has at most 1,440 bars: more pages than that means the answers do not move.
        for _ in range(1440 // self.bars + 2):
            response = self.endpoint.call(client, {**params, "FID_INPUT_HOUR_1": hour})
            records = self.endpoint.records(response)
            mine = [r for r in records if r.get("stck_bsop_date", "") == yyyymmdd(day)]
            container = self.endpoint.container
            split = self.endpoint.parse_rows(
                client, mine, container, MINUTE_ROWS, constants=constants
            )
            frames.append(split.frame)
            times = sorted(
                t for r in mine if len(t := r.get("stck_cntg_hour", "")) == 6 and t.isdigit()
            )
            if len(records) < self.bars or not times or times[0] <= first:
                return bars_frame(pl.concat(frames, how="vertical"))
            earlier = _minute_before(times[0])
            if earlier >= hour:
                break
            hour = earlier
        raise PayloadError(
            f"{self.endpoint.where()}: the minute bars of {symbol} on {day} did not move back "
            f"past {hour}; KIS answered the same page again"
        )


def _minute_before(hhmmss: str) -> str:
    moment = dt.datetime.strptime(hhmmss, "%H%M%S") - dt.timedelta(minutes=1)
    return "000000" if moment.day != 1 else f"{moment:%H%M%S}"


def bars_frame(records: pl.DataFrame) -> pl.DataFrame:
    """Parsed records as table rows: the time made a KST timestamp, one row per minute (a bar
    asked for twice is kept once), each bar's own value out of the running total."""
    time = pl.col("time")
    since_midnight = pl.duration(
        hours=time.str.slice(0, 2).cast(pl.Int64),
        minutes=time.str.slice(2, 2).cast(pl.Int64),
        seconds=time.str.slice(4, 2).cast(pl.Int64),
    )
    ts = (pl.col("date").cast(pl.Datetime("us")) + since_midnight).dt.replace_time_zone(KST_NAME)
    frame = (
        records.with_columns(ts.alias("ts"))
        .unique(subset=["symbol", "ts"], keep="first", maintain_order=True)
        .sort("symbol", "ts")
    )
    value = pl.col("cum_value") - pl.col("cum_value").shift(1).over("symbol", "date")
    frame = frame.with_columns(value.fill_null(pl.col("cum_value")).alias("value"))
    return frame.select(MINUTE_BARS.names()).cast(dict(MINUTE_BARS))  # type: ignore[arg-type]


DATED = MinuteChart(
    quotation("§7.6", "inquire-time-dailychartprice", "FHKST03010230", MINUTE_ROWS, "output2"),
    bars=120,
    dated=True,
    kept=dt.timedelta(days=365),
)
TODAY = MinuteChart(
    quotation("§7.5", "inquire-time-itemchartprice", "FHKST03010200", MINUTE_ROWS, "output2"),
    bars=30,
    dated=False,
    kept=None,
)
