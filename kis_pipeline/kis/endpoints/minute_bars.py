"""A stock's one-minute bars: any day of the last year (SPEC §7.6, FHKST03010230, real only,
120 bars a call) or today's (§7.5, FHKST03010200, in paper too, 30 bars a call); an index's
bars of the current session (§12.5, FHKUP03500200, real only); an overseas stock's bars of its
exchange's newest session (§13.5, HHDFS76950200, real only, 120 a call, paged with `KEYB`).

Neither pages with tr_cont. A call answers the bars that start at or before
`FID_INPUT_HOUR_1`, newest first; the next call asks from a minute before the oldest bar it got,
until an answer holds fewer bars than the cap or reaches the session's open. A KRX session
has 381 bars (380 continuous minutes and the closing auction), so a symbol-day costs 4 calls
through §7.6 and 13 through §7.5. `cntg_vol` is the bar's volume; `acml_tr_pbmn` is the day's
value so far, from which each bar's own value is the difference (`bars_frame`).

§12.5 answers only the newest 102 bars of the session, of the size asked (`FID_INPUT_HOUR_1`,
in seconds) and pages no further: one-minute bars reach back 102 minutes from the close, ten-
minute bars cover the whole session (39 bars) in one call. Its volumes are thousands of shares
and its values KRW millions (the index chart's units), stored as shares and KRW.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.common import krx_calendar
from kis_pipeline.common.intraday_schemas import (
    INDEX_MINUTE_BARS,
    INDEX_MINUTE_RECORDS,
    MINUTE_BARS,
    MINUTE_RECORDS,
    OVERSEAS_MINUTE_BARS,
    OVERSEAS_MINUTE_RECORDS,
)
from kis_pipeline.kis.endpoints._base import Endpoint, venue_of
from kis_pipeline.kis.endpoints._trend import quotation
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, PRICES
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.parse import kst_timestamp, yyyymmdd
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
INDEX_MINUTE_ROWS = RecordSpec(
    table="index_minute_bars",
    schema=INDEX_MINUTE_RECORDS,
    fields=field_map(
        """
        stck_bsop_date  date
        stck_cntg_hour  time
        bstp_nmix_oprc  open
        bstp_nmix_hgpr  high
        bstp_nmix_lwpr  low
        bstp_nmix_prpr  close
        cntg_vol        volume
        acml_tr_pbmn    cum_value
        """
    ),
    scale={"volume": 1000, "cum_value": 1_000_000},
    required=("date", "time", *PRICES, "volume", "cum_value"),
    positive=PRICES,
    non_negative=("volume", "cum_value"),
    ordered=OHLC_ORDER,
    patterns={"time": r"^([01]\d|2[0-3])[0-5]\d[0-5]\d$"},
    symbol="index_code",
)
INDEX_BARS = quotation(
    "§12.5", "inquire-time-indexchartprice", "FHKUP03500200", INDEX_MINUTE_ROWS, "output2"
)


def fetch_index_bars(client: KisClient, code: str, *, seconds: int) -> pl.DataFrame:
    """The newest bars (at most 102) of `seconds` each of index `code`'s current session, in
    `INDEX_MINUTE_BARS`, oldest first."""
    params = {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_ETC_CLS_CODE": "0",
        "FID_INPUT_ISCD": code,
        "FID_INPUT_HOUR_1": str(seconds),
        "FID_PW_DATA_INCU_YN": "N",
    }
    constants = {"index_code": code, "bar_seconds": seconds}
    split = INDEX_BARS.fetch(client, params, constants=constants)
    frame = bars_frame(split.frame, key="index_code", schema=INDEX_MINUTE_BARS)
    if frame.is_empty():
        return frame
    # The bar before the oldest one returned is out of reach: unless the oldest opens the
    # session, its own value is unknown (its cum_value holds the whole day so far).
    opens = krx_calendar.session_hours(frame["date"][0])[0]
    first = (pl.col("ts") == pl.col("ts").min()) & (pl.col("ts").dt.time() > opens)
    return frame.with_columns(pl.when(first).then(None).otherwise(pl.col("value")).alias("value"))


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


def bars_frame(
    records: pl.DataFrame, *, key: str = "symbol", schema: pl.Schema = MINUTE_BARS
) -> pl.DataFrame:
    """Parsed records as rows of `schema`: the time made a KST timestamp, one row per `key`
    and time (a bar asked for twice is kept once), each bar's own value out of the running
    total."""
    ts = kst_timestamp()
    frame = (
        records.with_columns(ts.alias("ts"))
        .unique(subset=[key, "ts"], keep="first", maintain_order=True)
        .sort(key, "ts")
    )
    value = pl.col("cum_value") - pl.col("cum_value").shift(1).over(key, "date")
    frame = frame.with_columns(value.fill_null(pl.col("cum_value")).alias("value"))
    return frame.select(schema.names()).cast(dict(schema))  # type: ignore[arg-type]


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


OVERSEAS_MINUTE_ROWS = RecordSpec(
    table="overseas_minute_bars",
    schema=OVERSEAS_MINUTE_RECORDS,
    fields=field_map(
        """
        tymd  date
        xymd  local_date
        xhms  local_time
        kymd  korea_date
        khms  korea_time
        open  open
        high  high
        low   low
        last  close
        evol  volume
        eamt  value_local
        """
    ),
    required=("date", "korea_date", "korea_time", "local_date", "local_time", *PRICES, "volume"),
    positive=PRICES,
    non_negative=("volume", "value_local"),
    ordered=OHLC_ORDER,
    patterns={t: r"^([01]\d|2[0-3])[0-5]\d[0-5]\d$" for t in ("local_time", "korea_time")},
)
OVERSEAS_BARS = Endpoint(
    "inquire-time-itemchartprice",
    "/uapi/overseas-price/v1/quotations/inquire-time-itemchartprice",
    "HHDFS76950200",
    "output2",
    OVERSEAS_MINUTE_ROWS,
    section="§13.5",
)
OVERSEAS_BARS_PER_CALL = 120


def fetch_overseas_session(client: KisClient, excd: str, symbol: str) -> pl.DataFrame:
    """Every bar of the newest regular session of `excd:symbol` (§13.5), oldest first, in
    `OVERSEAS_MINUTE_BARS`; no rows for a ticker the exchange does not list. The first call
    asks for the newest bars, the next ones from a minute before the oldest bar received
    (`KEYB`, local time), until a bar of an earlier session appears or a call comes back
    short."""
    params = {
        "AUTH": "",
        "EXCD": excd,
        "SYMB": symbol,
        "NMIN": "1",
        "PINC": "1",
        "NEXT": "",
        "NREC": str(OVERSEAS_BARS_PER_CALL),
        "FILL": "",
        "KEYB": "",
    }
    constants = {"exchange": excd, "symbol": symbol}
    frames: list[pl.DataFrame] = []
    session: dt.date | None = None
    for _ in range(1440 // OVERSEAS_BARS_PER_CALL + 2):
        records = OVERSEAS_BARS.records(OVERSEAS_BARS.call(client, params))
        split = OVERSEAS_BARS.parse_rows(
            client, records, "output2", OVERSEAS_MINUTE_ROWS, constants=constants
        )
        page = split.frame
        if page.is_empty():
            break
        session = session or page["date"].max()
        frames.append(page.filter(pl.col("date") == session))
        oldest = page.sort("local_date", "local_time").row(0, named=True)
        if len(records) < OVERSEAS_BARS_PER_CALL or oldest["date"] != session:
            break
        start = dt.datetime.combine(
            oldest["local_date"], dt.time.fromisoformat(_colons(oldest["local_time"]))
        )
        params |= {"NEXT": "1", "KEYB": f"{start - dt.timedelta(minutes=1):%Y%m%d%H%M%S}"}
    if not frames:
        return pl.DataFrame(schema=OVERSEAS_MINUTE_BARS)
    frame = pl.concat(frames, how="vertical")
    ts = kst_timestamp("korea_date", "korea_time").alias("ts")
    return (
        frame.with_columns(ts)
        .unique(subset=["ts"], keep="first")
        .sort("ts")
        .select(OVERSEAS_MINUTE_BARS.names())
    )


def _colons(hhmmss: str) -> str:
    return f"{hhmmss[:2]}:{hhmmss[2:4]}:{hhmmss[4:]}"
