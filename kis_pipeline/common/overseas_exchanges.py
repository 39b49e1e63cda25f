"""The overseas exchanges KIS serves daily prices for (SPEC §13.3's `EXCD` list), one
declaration each: adding an exchange is one `OverseasExchange` line here.

`zone` and `close` say when a local day's bar is final (the closing auction included);
`sessions` are the local trading periods of a regular day (a lunch break between two), whose
minutes the intraday bars (§13.5) cover;
`currency` is the trading currency of `value_local` and the prices; `decimals` is the tick
precision of a price on that market (whole yen and dong) and `zdiv` the decimal places KIS
formats them with (§13.3 output1); `country` and `product_type` are the country
(`natn_eng_abrv_cd`) and KIS product type (`prdt_type_cd`: 512 NASDAQ, 513 NYSE, 529 AMEX, 501
Hong Kong, 515 Tokyo, 551 Shanghai A, 552 Shenzhen A, 508 Ho Chi Minh, 507 Hanoi) the
settlement calendar (§13.8) answers for it. The Shanghai and Shenzhen indices (`SHI`, `SZI`)
follow their exchange's calendar.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass


@dataclass(frozen=True)
class OverseasExchange:
    code: str
    name: str
    zone: zoneinfo.ZoneInfo
    close: dt.time
    currency: str
    decimals: int
    zdiv: int
    country: str
    product_type: str
    sessions: tuple[tuple[dt.time, dt.time], ...] = ()

    def minutes(self) -> list[dt.time]:
        """The local start of every one-minute bar of a regular session."""
        out = []
        for start, end in self.sessions:
            moment = dt.datetime.combine(dt.date(2000, 1, 3), start)
            stop = dt.datetime.combine(moment.date(), end)
            while moment < stop:
                out.append(moment.time())
                moment += dt.timedelta(minutes=1)
        return out


def _declare(
    code: str,
    name: str,
    zone: str,
    close: str,
    currency: str,
    decimals: int,
    zdiv: int,
    country: str,
    product_type: str,
    sessions: str,
) -> OverseasExchange:
    tz, closes = zoneinfo.ZoneInfo(zone), dt.time.fromisoformat(close)
    periods = tuple(
        (dt.time.fromisoformat(a), dt.time.fromisoformat(b))
        for a, b in (part.split("-") for part in sessions.split(","))
    )
    return OverseasExchange(
        code, name, tz, closes, currency, decimals, zdiv, country, product_type, periods
    )


US, CN, VN = "09:30-16:00", "09:30-11:30,13:00-15:00", "09:00-11:30,13:00-14:45"
_DECLARED = (
    _declare("NAS", "NASDAQ", "America/New_York", "16:00", "USD", 2, 4, "US", "512", US),
    _declare("NYS", "NYSE", "America/New_York", "16:00", "USD", 2, 4, "US", "513", US),
    _declare("AMS", "NYSE American", "America/New_York", "16:00", "USD", 2, 4, "US", "529", US),
    _declare(
        "HKS",
        "Hong Kong",
        "Asia/Hong_Kong",
        "16:10",
        "HKD",
        2,
        2,
        "HK",
        "501",
        "09:30-12:00,13:00-16:00",
    ),
    _declare(
        "TSE", "Tokyo", "Asia/Tokyo", "15:30", "JPY", 0, 2, "JP", "515", "09:00-11:30,12:30-15:30"
    ),
    _declare("SHS", "Shanghai", "Asia/Shanghai", "15:00", "CNY", 2, 2, "CN", "551", CN),
    _declare("SHI", "Shanghai index", "Asia/Shanghai", "15:00", "CNY", 2, 2, "CN", "551", CN),
    _declare("SZS", "Shenzhen", "Asia/Shanghai", "15:00", "CNY", 2, 2, "CN", "552", CN),
    _declare("SZI", "Shenzhen index", "Asia/Shanghai", "15:00", "CNY", 2, 2, "CN", "552", CN),
    _declare("HSX", "Ho Chi Minh", "Asia/Ho_Chi_Minh", "15:00", "VND", 0, 0, "VN", "508", VN),
    _declare("HNX", "Hanoi", "Asia/Ho_Chi_Minh", "15:00", "VND", 0, 0, "VN", "507", VN),
)
EXCHANGES: dict[str, OverseasExchange] = {e.code: e for e in _DECLARED}

# US day-session codes (SPEC §13): New York's hours and currency, not served by §13.3.
DAY_SESSION_CODES = ("BAQ", "BAY", "BAA")
